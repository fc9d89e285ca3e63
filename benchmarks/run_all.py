"""Run every benchmark that docs/benchmarks.md reports, one after the other, with its documented default command.

    python benchmarks/run_all.py --list                      # the benchmarks, commands, result files, durations
    python benchmarks/run_all.py                             # all of them (hours) -> benchmarks/results/*.json
    python benchmarks/run_all.py --only vad,intent_snips --results-dir /tmp/r
    python benchmarks/run_all.py --skip fuzz,entity_scale --after 'echo {name} {rc} {results}'
    make bench-all

Each benchmark runs as a subprocess of this Python (``sys.executable``) with the checkout this file lives in as
its working directory, in priority order (``BENCHMARKS``), its output to ``--log-dir``. ``--results-dir`` is
passed to each script as its output-path option (``--out``, or ``--summary`` for endpointing); without it the
scripts write where they always do, benchmarks/results/. After each one, ``--after`` (a shell command; ``{name}``,
``{rc}`` and ``{results}``, the space-separated result paths, are filled in) runs, e.g. to copy and commit the
results while the rest still runs. A summary (per benchmark: command, exit status, start/end, seconds, load
average before and after, result files) is written to ``<results-dir>/run_all.json`` as it goes.

Every result file carries its own provenance (``_bench.stamp``: commit, dirty tree, command line, times, load);
``benchmarks/report.py`` renders docs/benchmarks.md from the files.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
#: the model before the hard negatives (issue 14's "previous model"), read from git history for requests.py
PREVIOUS_INTENT_MODEL = ("04b5190", "plugins/intent/model")
ADAPTED_HMM = "plugins/asr_pocketsphinx/models/en-us-synthetic"


@dataclass
class Bench:
    name: str
    #: the script (under benchmarks/) and its arguments, as docs/benchmarks.md documents them
    args: list[str]
    #: result file(s) it writes, relative to the results folder; the first is passed to ``out_flag``
    results: list[str]
    #: rough duration on the 2-core machine at load ~1-2, minutes (cold caches)
    minutes: float
    #: lower runs first
    priority: int
    #: the script's option for its result path ("" when it has none)
    out_flag: str = "--out"
    note: str = ""
    #: something to prepare before the run: "previous_model" extracts PREVIOUS_INTENT_MODEL into a temp folder
    prepare: str = ""

    def command(self, prepared: dict[str, str] | None = None) -> list[str]:
        """The documented command (``python benchmarks/<script> ...``)."""
        args = [a.format(**(prepared or {})) for a in self.args]
        return ["python", f"benchmarks/{args[0]}", *args[1:]]


BENCHMARKS: list[Bench] = [
    Bench("vad", ["vad.py"], ["vad.json"], 4, 10),
    Bench("intent_snips", ["intent.py", "--dataset", "snips"], ["intent_snips.json"], 4, 20),
    Bench("intent_atis", ["intent.py", "--dataset", "atis"], ["intent_atis.json"], 4, 21),
    Bench("intent_engine_snips", ["intent_engine.py", "--dataset", "snips"], ["intent_engine_snips.json"], 1, 30),
    Bench("intent_engine_atis", ["intent_engine.py", "--dataset", "atis"], ["intent_engine_atis.json"], 1, 31),
    Bench("entity_slurp", ["entity.py", "--bench", "slurp"], ["entity_slurp.json"], 3, 40),
    Bench("entity_movies", ["entity_spoken.py", "--bench", "movies"], ["entity_movies.json"], 20, 50,
          note="decodes cached in $HARK_CACHE/entity_spoken (else /tmp/hark-entity-spoken): ~5 min warm"),
    Bench("entity_books", ["entity_spoken.py", "--bench", "books"], ["entity_books.json"], 20, 51),
    Bench("templates_all", ["templates.py", "--tiers", "all"], ["skills_all_tiers.json"], 1, 60),
    Bench("templates", ["templates.py"], ["templates.json"], 1, 61),
    Bench("requests", ["requests.py"], ["requests.json"], 1, 70),
    Bench("time_expressions", ["time_expressions.py"], ["time_expressions.json"], 0.2, 80),
    Bench("hostile_inputs", ["hostile_inputs.py"], ["hostile_inputs.json"], 0.5, 90),
    Bench("audio", ["audio.py", "--sentences", "80", "--oos", "20"], ["audio.json"], 25, 100,
          note="defaults (semantic endpointing and pocketsphinx's second pass on), clean + noisy"),
    Bench("audio_adapted", ["audio.py", "--sentences", "40", "--oos", "20", "--set",
                            f'asr_pocketsphinx.hmm="{ADAPTED_HMM}"', "--out", "benchmarks/results/audio_adapted.json"],
          ["audio_adapted.json"], 8, 110, out_flag="--out"),
    Bench("audio_package_40", ["audio.py", "--sentences", "40", "--oos", "20", "--out",
                               "benchmarks/results/audio_package_model_40.json"],
          ["audio_package_model_40.json"], 10, 111,
          note="the package's model on audio_adapted's 200 utterances per condition: the adapted model's baseline"),
    Bench("slurp", ["slurp.py"], ["intent_slurp.json"], 1, 120),
    Bench("g2p", ["g2p.py"], ["g2p.json"], 1, 130),
    Bench("entity_scale", ["entity_scale.py"], ["entity_scale.json"], 25, 140),
    Bench("asr_real_speech", ["asr_real_speech.py"], ["asr_real_speech.json"], 6, 150),
    Bench("endpointing", ["endpointing.py", "--voices", "en-us+m4,en-gb+m2", "--offset", "100", "--sentences", "40",
                          "--early-silence-ms", "150"],
          ["endpointing_dev.json"], 8, 160, out_flag="--summary"),
    Bench("spoken_commands", ["spoken_commands.py", "--snrs", "24,12,6"], ["spoken_commands.json"], 40, 180,
          note="real spoken coffee orders (needs HARK_DATA/picovoice_s2i_dev): held-out split, per file and continuous"),
    Bench("audio_catalog", ["audio.py", "--catalog-only", "--voices", "en-us+m3,en-gb", "--conditions", "clean",
                            "--out", "benchmarks/results/audio_catalog.json"], ["audio_catalog.json"], 3, 170),
    Bench("audio_catalog_no_resolver", ["audio.py", "--catalog-only", "--voices", "en-us+m3,en-gb", "--conditions",
                                        "clean", "--disable", "entity_resolver",
                                        "--out", "benchmarks/results/audio_catalog_no_resolver.json"],
          ["audio_catalog_no_resolver.json"], 3, 171),
    Bench("scene", ["scene.py"], ["scene.json"], 10, 175,
          note="scene context on held-out ESC-50 sounds (needs HARK_DATA); the ablation is a training run"),
    Bench("tutor", ["tutor.py"], ["tutor.json"], 10, 177,
          note="pronunciation tutor: synthetic MDD on held-out L2-ARCTIC speakers and voices, real-speech prompt "
               "swaps (needs HARK_DATA)"),
    Bench("load", ["load.py"], ["load.json"], 15, 178,
          note="hark serve under load on localhost: text and 5-best throughput, audio streams, a 10-minute soak"),
    Bench("fuzz", ["fuzz.py", "--examples", "2000", "--cli", "300", "--seconds", "600"], ["fuzz.json"], 10, 180),
    Bench("intent_snips_small", ["intent.py", "--dataset", "snips", "--model-dir",
                                 "benchmarks/artifacts/snips/model_small", "--out",
                                 "benchmarks/results/intent_snips_small.json"], ["intent_snips_small.json"], 2, 190,
          note="the distilled 2-layer student"),
    Bench("audio_semantic_off", ["audio.py", "--sentences", "80", "--oos", "20", "--conditions", "clean", "--set",
                                 "vad.early_silence_ms=0", "--out", "benchmarks/results/audio_semantic_off_clean.json"],
          ["audio_semantic_off_clean.json"], 12, 101,
          note="semantic endpointing off, else audio's clean condition: the A/B 'before' arm"),
    Bench("requests_previous_model", ["requests.py", "--model", "{previous_model}", "--variants",
                                      "no_request_gate,defaults", "--out",
                                      "benchmarks/results/requests_previous_model.json"],
          ["requests_previous_model.json"], 1, 210, prepare="previous_model",
          note=f"the intent model of commit {PREVIOUS_INTENT_MODEL[0]} (before hard negatives) with today's code"),
]


def _drop_out(args: list[str], flag: str) -> list[str]:
    """``args`` without ``flag VALUE`` (the documented command names its default path; --results-dir replaces it)."""
    out, skip = [], False
    for i, a in enumerate(args):
        if skip:
            skip = False
            continue
        if flag and a == flag and i + 1 < len(args):
            skip = True
            continue
        out.append(a)
    return out


def by_name() -> dict[str, Bench]:
    return {b.name: b for b in BENCHMARKS}


def prepare(kind: str, tmp: Path) -> dict[str, str]:
    if kind == "previous_model":
        commit, path = PREVIOUS_INTENT_MODEL
        folder = tmp / "previous_intent_model"
        folder.mkdir(parents=True, exist_ok=True)
        listing = subprocess.run(["git", "-C", str(ROOT), "ls-tree", "--name-only", f"{commit}:{path}"],
                                 capture_output=True, text=True, check=True).stdout.split()
        for name in listing:
            blob = subprocess.run(["git", "-C", str(ROOT), "show", f"{commit}:{path}/{name}"], capture_output=True,
                                  check=True).stdout
            (folder / name).write_bytes(blob)
        return {"previous_model": str(folder)}
    return {}


def selected(only: str | None, skip: str | None) -> list[Bench]:
    names = by_name()
    for arg in (only, skip):
        unknown = [n for n in (arg or "").split(",") if n and n not in names]
        if unknown:
            raise SystemExit(f"unknown benchmark(s) {unknown}; --list shows them")
    chosen = [b for b in BENCHMARKS if not only or b.name in only.split(",")]
    chosen = [b for b in chosen if not skip or b.name not in skip.split(",")]
    return sorted(chosen, key=lambda b: b.priority)


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results-dir", type=Path, help="where the result files go (default: benchmarks/results)")
    ap.add_argument("--only", help="comma-separated benchmark names")
    ap.add_argument("--skip", help="comma-separated benchmark names")
    ap.add_argument("--list", action="store_true", help="print the benchmarks and exit")
    ap.add_argument("--log-dir", type=Path, default=Path(tempfile.gettempdir()) / "hark-bench-logs")
    ap.add_argument("--after", help="shell command after each benchmark; {name}, {rc}, {results} filled in")
    args = ap.parse_args(argv)

    chosen = selected(args.only, args.skip)
    redirect = args.results_dir.resolve() if args.results_dir else None
    if redirect == RESULTS.resolve():
        redirect = None
    results_dir = redirect or RESULTS
    if args.list:
        total = 0.0
        for b in chosen:
            total += b.minutes
            cmd = b.command({"previous_model": "<model of " + PREVIOUS_INTENT_MODEL[0] + ">"})
            print(f"{b.priority:4d}  {b.name:26s} ~{b.minutes:5.1f} min  {shlex.join(cmd)}\n"
                  f"{'':34s}-> {', '.join('benchmarks/results/' + r for r in b.results)}"
                  + (f"\n{'':34s}   {b.note}" if b.note else ""))
        print(f"{len(chosen)} benchmarks, ~{total / 60:.1f} h")
        return 0

    results_dir.mkdir(parents=True, exist_ok=True)
    args.log_dir.mkdir(parents=True, exist_ok=True)
    summary_path = results_dir / "run_all.json"
    summary = {"command": "python " + shlex.join(["benchmarks/run_all.py", *(argv if argv is not None else sys.argv[1:])]),
               "root": str(ROOT), "python": sys.executable, "started_utc": dt.datetime.now(dt.timezone.utc)
               .isoformat(timespec="seconds"), "runs": []}
    t_all = time.time()
    failed = []
    with tempfile.TemporaryDirectory(prefix="hark-run-all-") as tmp:
        for i, b in enumerate(chosen, 1):
            prepared = prepare(b.prepare, Path(tmp)) if b.prepare else {}
            cmd = b.command(prepared)
            if redirect is not None:
                cmd = _drop_out(cmd, b.out_flag) + [b.out_flag, str(redirect / b.results[0])]
                if b.name == "endpointing":  # its --out is the large side file: keep it out of results/
                    cmd += ["--out", str(Path(tmp) / "endpointing_judgements.json")]
            run_cmd = [sys.executable, *cmd[1:]]
            log = args.log_dir / f"{b.name}.log"
            started, load_before = dt.datetime.now(dt.timezone.utc), load()
            print(f"[{i}/{len(chosen)}] {b.name} (~{b.minutes:g} min, total {(time.time() - t_all) / 60:.1f} min "
                  f"so far, load {load_before[0]}): {shlex.join(cmd)}", flush=True)
            t0 = time.time()
            with open(log, "w", encoding="utf-8") as fh:
                try:
                    rc = subprocess.run(run_cmd, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT,
                                        timeout=max(1800.0, 4 * 60 * b.minutes)).returncode
                except subprocess.TimeoutExpired:
                    rc = -9
            seconds = time.time() - t0
            paths = [results_dir / r for r in b.results]
            fresh = [p for p in paths if p.is_file() and p.stat().st_mtime >= t0 - 1]
            status = "ok" if rc == 0 and len(fresh) == len(paths) else "FAILED"
            if status != "ok":
                failed.append(b.name)
            print(f"    {status}: exit {rc} in {seconds / 60:.1f} min, load {load()[0]}; "
                  f"{', '.join(str(p) for p in fresh) or 'no result file'} (log {log})", flush=True)
            summary["runs"].append({"name": b.name, "command": shlex.join(cmd), "exit": rc, "status": status,
                                    "started_utc": started.isoformat(timespec="seconds"),
                                    "seconds": round(seconds, 1), "load_before": load_before, "load_after": load(),
                                    "results": [str(p) for p in fresh], "log": str(log)})
            summary["seconds"] = round(time.time() - t_all, 1)
            summary_path.write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
            if args.after:
                hook = args.after.format(name=b.name, rc=rc, results=" ".join(shlex.quote(str(p)) for p in fresh))
                subprocess.run(hook, shell=True, cwd=ROOT)
    print(f"done in {(time.time() - t_all) / 60:.1f} min; {len(failed)} failed: {', '.join(failed) or '-'}; "
          f"summary {summary_path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
