"""Long fuzz run: the properties of tests/test_fuzz.py with thousands of inputs, plus `hark` itself on fuzzed input.

    python benchmarks/fuzz.py --examples 2000 --cli 300 --seconds 600   # make bench-fuzz

Through the Python API (targets parse, parse_full, stream, wav, listen_wav, skill, skill_engine), every input must
end in a result or a one-line HarkError; through the CLI (`hark parse -- TEXT`, `hark parse --nbest -`,
`hark stream`, `hark transcribe`, `hark listen --wav`), in exit status 0 or 1 with no traceback and no "internal
error" (status 2). A crash is recorded with its input and the run goes on, so one bug does not hide the next.
Writes benchmarks/results/fuzz.json: inputs tried, crashes (with inputs), worst time and worst memory per target
(API: growth of this process's peak RSS during one input; CLI: the child's own max RSS, from GNU time), the
machine's load average and the command.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the strategies and properties are the test suite's

from _bench import stamp  # noqa: E402  (benchmarks/ is this script's folder: first on sys.path)
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import fuzz_props as fp  # noqa: E402
from hark import Engine, HarkError, load_config  # noqa: E402

HARK = str(Path(sys.executable).with_name("hark"))


class Target:
    """What one target saw: inputs tried, refused, crashes (with their inputs), the worst time and memory."""

    def __init__(self, name: str, budget_s: float):
        self.name, self.budget_s = name, budget_s
        self.tried = self.refused = 0
        self.crashes: list[dict[str, Any]] = []
        self.worst_s = self.worst_mb = 0.0
        self.worst_input = ""
        self.started = self.last = time.perf_counter()

    def out_of_time(self) -> bool:
        return time.perf_counter() - self.started > self.budget_s

    def record(self, seconds: float, mb: float, shown: str, refused: bool) -> None:
        self.last = time.perf_counter()
        self.tried += 1
        self.refused += refused
        if seconds > self.worst_s:
            self.worst_s, self.worst_input = seconds, shown
        self.worst_mb = max(self.worst_mb, mb)

    def crash(self, shown: str, error: str) -> None:
        self.last = time.perf_counter()
        self.tried += 1
        self.crashes.append({"input": shown, "error": error})

    def summary(self) -> dict[str, Any]:
        return {"inputs_tried": self.tried, "refused_with_error": self.refused, "crashes": len(self.crashes),
                "crash_inputs": self.crashes[:20], "worst_seconds": round(self.worst_s, 3),
                "worst_input": self.worst_input, "worst_memory_mb": round(self.worst_mb, 1),
                "wall_seconds": round(self.last - self.started, 1)}


def shown(value: Any, limit: int = 300) -> str:
    try:
        text = repr(value)
    except RecursionError:
        text = f"<{type(value).__name__} nested too deep to print>"
    return text if len(text) <= limit else text[:limit] + f"... ({len(text):,} characters)"


def run_api(target: Target, strategy: Any, check: Callable[[Any], Any], examples: int) -> None:
    """Hypothesis drives ``check`` over ``strategy``; crashes are recorded, not raised (no shrinking), so the
    run continues to the example count or the time budget."""

    @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(value=strategy)
    def prop(value: Any) -> None:
        if target.out_of_time():
            return
        try:
            out, cost = fp.measure(lambda: check(value))
        except Exception as exc:  # noqa: BLE001 - a crash is what we are looking for
            target.crash(shown(value), "".join(traceback.format_exception_only(type(exc), exc)).strip()[:500])
            return
        target.record(cost.seconds, cost.peak_growth_mb, shown(value), isinstance(out, HarkError))

    prop()


def collect(strategy: Any, n: int) -> list[Any]:
    """``n`` inputs drawn from ``strategy`` (for the CLI runs, which happen outside Hypothesis)."""
    found: list[Any] = []

    @settings(max_examples=n, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(value=strategy)
    def draw(value: Any) -> None:
        found.append(value)

    draw()
    return found[:n]


TIME = "/usr/bin/time"


def run_cli(args: list[str], stdin: bytes, env: dict[str, str], scratch: Path) -> tuple[int, str, float, float]:
    """One `hark` run: exit status, stderr, wall seconds and the child's max RSS in MB.

    The RSS comes from GNU time, which forks the child from its own small process: a child forked from this one
    (which holds two engines) would report our peak as its own, since Linux keeps the high-water mark across exec.
    """
    report = scratch / "time.txt"
    with tempfile.TemporaryFile() as fin, tempfile.TemporaryFile() as fout, tempfile.TemporaryFile() as ferr:
        fin.write(stdin)
        fin.seek(0)
        t0 = time.perf_counter()
        status = subprocess.call([TIME, "-f", "%M", "-o", str(report), HARK, *args], stdin=fin, stdout=fout,
                                 stderr=ferr, env=env, cwd=ROOT)
        seconds = time.perf_counter() - t0
        ferr.seek(0)
        lines = report.read_text().split()
        return status, ferr.read().decode("utf-8", "replace"), seconds, int(lines[-1]) / 1024 if lines else -1.0


def argv_text(text: str) -> str:
    """A command-line argument can hold neither NUL nor a lone surrogate."""
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def cli_cases(n: int, workdir: Path) -> list[tuple[str, list[str], bytes]]:
    """(target, argv, stdin) for ``n`` runs spread over four commands, plus `hark listen --wav` on every third
    fuzzed WAV."""
    share = max(1, n // 4)
    cases: list[tuple[str, list[str], bytes]] = []
    for text in collect(fp.texts, share):
        cases.append(("cli_parse", ["parse", "--compact", "--", argv_text(text)], b""))
    nbest_docs = st.one_of(fp.nbest_lists.map(json.dumps), fp.json_values.map(json.dumps),
                           st.text(max_size=200), fp.stream_lines)
    for doc in collect(nbest_docs, share):
        cases.append(("cli_parse_nbest", ["parse", "--compact", "--nbest", "-"],
                      doc.encode("utf-8", "surrogatepass")))
    for lines in collect(st.lists(fp.stream_lines, max_size=5), share):
        cases.append(("cli_stream", ["stream"], "\n".join(lines).encode("utf-8", "surrogatepass") + b"\n"))
    for i, data in enumerate(collect(st.one_of(fp.plausible_wavs(any_rate=False), fp.wav_bytes), share)):
        path = workdir / f"fuzz{i}.wav"
        path.write_bytes(data)
        cases.append(("cli_transcribe", ["transcribe", "--json", str(path)], b""))
        if i % 3 == 0:  # the whole audio path too: vad, ASR, parse
            cases.append(("cli_listen_wav", ["listen", "--json", "--wav", str(path)], b""))
    return cases


def check_cli(status: int, stderr: str) -> str | None:
    """Why a CLI run counts as a crash, or None."""
    if status not in (0, 1):
        return f"exit status {status}: {stderr.strip()[-300:]}"
    if "Traceback" in stderr or "internal error" in stderr:
        return f"traceback on stderr: {stderr.strip()[-300:]}"
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--examples", type=int, default=2000,
                    help="inputs per API target (parse_full: a tenth, listen_wav: a quarter, skill_engine: a "
                         "twentieth)")
    ap.add_argument("--cli", type=int, default=300, help="CLI runs in all (a quarter per command)")
    ap.add_argument("--seconds", type=float, default=600, help="time budget; API targets share 60 %% of it")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "fuzz.json")
    args = ap.parse_args()
    logging.disable(logging.WARNING)  # the n-best cut warning, thousands of times
    warnings.simplefilter("error", RuntimeWarning)  # numpy overflow / NaN cast: garbage reached the arithmetic
    t_start = time.perf_counter()
    load_start = os.getloadavg()
    api_budget = args.seconds * 0.6 / 7

    env = {k: v for k, v in os.environ.items() if not k.startswith("HARK_") or k == "HARK_DATA"}
    targets: dict[str, Target] = {}
    with tempfile.TemporaryDirectory(prefix="hark-fuzz-") as tmp:
        work = Path(tmp)
        env["HARK_CACHE"] = str(work / "cache")
        os.environ["HARK_CACHE"] = env["HARK_CACHE"]
        templates = Engine(load_config(ROOT / "config.yaml", env={},
                                       **{"plugins.disabled": ["intent", "asr_pocketsphinx"]}))
        full = Engine(load_config(ROOT / "config.yaml", env={}))
        # for listen_wav: without entity_resolver, whose first audio chunk builds every catalog index in a
        # background thread that would compete with the other targets' timings
        audio = Engine(load_config(ROOT / "config.yaml", env={},
                                   **{"plugins.disabled": ["intent", "asr_pocketsphinx", "entity_resolver"]}))
        for engine in (templates, full):
            for text in ("play some music by queen", "set a timer for ten minutes", "wake me up at 7 am"):
                engine.parse(text)
        plans = [
            ("parse", fp.parse_inputs, lambda v: fp.check_parse(templates, v), args.examples),
            ("parse_full", fp.parse_inputs, lambda v: fp.check_parse(full, v), max(1, args.examples // 10)),
            ("stream", st.tuples(st.lists(fp.stream_lines, max_size=6), st.booleans()),
             lambda v: fp.check_stream(templates, v[0], v[1]), args.examples),
            ("wav", fp.wav_bytes, lambda v: fp.check_wav(work / "api.wav", v), args.examples),
            ("listen_wav", st.one_of(fp.wav_bytes, fp.plausible_wavs()),
             lambda v: fp.check_listen_wav(audio, work / "listen.wav", v), max(1, args.examples // 4)),
            ("skill", st.tuples(st.one_of(fp.skill_documents(), fp.yaml_texts), st.booleans()),
             lambda v: fp.check_skill(work / "skill" / "skill.yaml", v[0], templates.slot_types, v[1]),
             args.examples),
            ("skill_engine", st.tuples(fp.skill_documents(), st.lists(fp.texts, min_size=1, max_size=3)),
             lambda v: fp.check_skill_engine(work / "skills", v[0], v[1]), max(1, args.examples // 20)),
        ]
        for name, strategy, check, n in plans:
            targets[name] = Target(name, api_budget)
            run_api(targets[name], strategy, check, n)
            print(f"{name}: {targets[name].summary()['inputs_tried']} inputs, {len(targets[name].crashes)} crashes, "
                  f"worst {targets[name].worst_s:.2f} s / {targets[name].worst_mb:.0f} MB", file=sys.stderr)
        for engine in (templates, full, audio):
            engine.close()

        cli_budget = max(30.0, args.seconds - (time.perf_counter() - t_start))
        cli_start = time.perf_counter()
        for name, argv, stdin in cli_cases(args.cli, work):
            target = targets.setdefault(name, Target(name, cli_budget))
            if time.perf_counter() - cli_start > cli_budget:
                break
            status, stderr, seconds, mb = run_cli(argv, stdin, env, work)
            why = check_cli(status, stderr)
            if why:
                target.crash(shown((argv, stdin[:200])), why)
            else:
                target.record(seconds, mb, shown((argv[:-1] + [argv[-1][:100]], stdin[:100])), status == 1)
        for name in ("cli_parse", "cli_parse_nbest", "cli_stream", "cli_transcribe", "cli_listen_wav"):
            if name in targets:
                t = targets[name]
                print(f"{name}: {t.tried} runs, {len(t.crashes)} crashes, worst {t.worst_s:.2f} s / "
                      f"{t.worst_mb:.0f} MB max RSS", file=sys.stderr)

    summaries = {name: t.summary() for name, t in targets.items()}
    result = {
        "command": " ".join(["python", "benchmarks/fuzz.py", *sys.argv[1:]]),
        "inputs_tried": sum(s["inputs_tried"] for s in summaries.values()),
        "crashes": sum(s["crashes"] for s in summaries.values()),
        "targets": summaries,
        "notes": {
            "api": "worst_memory_mb = growth of this process's peak RSS during one input (0 once an earlier input "
                   "reached that peak)",
            "cli": "worst_memory_mb = the child's own max RSS (GNU time %M); worst_seconds includes start-up "
                   "(Python, plugins, skills)",
            "crash": "API: any exception but a one-line HarkError, or a stream that lost a line; CLI: exit status "
                     "other than 0/1, or a traceback / internal error on stderr",
        },
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count(), "load_average_start": [round(x, 2) for x in load_start],
                    "load_average_end": [round(x, 2) for x in os.getloadavg()]},
        "wall_seconds": round(time.perf_counter() - t_start, 1),
    }
    stamp(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{result['inputs_tried']} inputs, {result['crashes']} crashes -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
