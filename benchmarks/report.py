"""Render docs/benchmarks.md from the result files, so that the doc cannot drift from the results.

    python benchmarks/report.py                          # benchmarks/results/*.json -> docs/benchmarks.md
    python benchmarks/report.py --results-dir /tmp/r --out /tmp/benchmarks.md --commit <sha>

Every number in the doc comes from a file in ``--results-dir``; each section names the command and the result file
that produced it, and the commit and load average it was measured at (from the file's ``provenance``, written by
``_bench.stamp``; a file without one is dated by the last git commit that touched it). The report's commit is
``--commit``, else the commit most result files were measured at, else HEAD: a section measured at another commit,
or without provenance, carries a visible note. Targets are judged on the numbers measured through the public API
(``Engine.parse``, the ``hark`` command), e.g. SNIPS/ATIS from intent_engine_*.json, not from the bare model's
intent_*.json (both are shown, labelled). Comparisons are made on equal terms: 1-best against 1-best, n-best
against n-best, and the strongest baseline (of all of them, Metaphone included) is named.
"""
from __future__ import annotations

import argparse
import collections
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from run_all import BENCHMARKS, PREVIOUS_INTENT_MODEL  # noqa: E402
from report_serve import serve_section  # noqa: E402
from report_lowbit import lowbit_section  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
DOC = ROOT / "docs" / "benchmarks.md"
#: documented command per result file (run_all.BENCHMARKS is the one list of them)
COMMANDS = {r: " ".join(b.command({"previous_model": f"<intent model of {PREVIOUS_INTENT_MODEL[0]}>"}))
            for b in BENCHMARKS for r in b.results}
COMMANDS["scene_ablation.json"] = "python -m training.train_scene --ablation --seeds 0,1,2 --epochs 12"  # a training run
COMMANDS["scene_ablation_24.json"] = ("python -m training.train_scene --ablation --tasks scene,multitask --seeds 0,1,2 "
                                      "--epochs 24 --results benchmarks/results/scene_ablation_24.json")
COMMANDS["tutor_ablation.json"] = "python -m training.tutor_ablation --seeds 0,1"  # a training run
#: the shipped semantic-endpointing settings (plugins/asr_pocketsphinx/settings.py, config.yaml): the grid row shown
SHIPPED_ENDPOINTING = {"mid_pause_ms": 200, "end_of_turn_lm": 0.95, "complete_threshold": 0.9}


# ------------------------------------------------------------------------------------------------ loading


def _git(root: Path, *args: str) -> str:
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


class Result:
    """One result file: its data and where it was measured."""

    def __init__(self, path: Path, root: Path):
        self.path = path
        self.file = path.name
        self.data = json.loads(path.read_text(encoding="utf-8"))
        prov = self.data.get("provenance") if isinstance(self.data, dict) else None
        self.provenance = prov or {}
        self.commit: str | None = self.provenance.get("commit")
        self.dirty = bool(self.provenance.get("dirty"))
        self.dated_by_git = False
        self.date = (self.provenance.get("started_utc") or "")[:16].replace("T", " ")
        if not prov:  # older files: the last commit that wrote the file (measured at or before it)
            log = _git(root, "log", "-1", "--format=%H %cs", "--", str(path))
            if log:
                self.commit, self.date = log.split()[0], log.split()[1]
                self.dated_by_git = True
        self.load = self._load()
        self.command = self.provenance.get("command") or self.data.get("command") or COMMANDS.get(self.file, "?")

    def _load(self) -> tuple[float, float] | None:
        """1-minute load average at start and end, from the provenance or the older machine fields."""
        d, p = self.data, self.provenance
        pairs = [(p.get("load_average_start"), p.get("load_average_end"))]
        m = d.get("machine") if isinstance(d.get("machine"), dict) else {}
        pairs += [(m.get("load_average_at_start"), m.get("load_average_at_end")),
                  (m.get("loadavg_start"), m.get("loadavg_end")),
                  (m.get("load_average_start"), m.get("load_average_end")),
                  (m.get("load_average"), m.get("load_average")), (d.get("load_average"), d.get("load_average"))]
        la = d.get("load_average_1min")
        if isinstance(la, dict):
            pairs.append(([la.get("before")], [la.get("after_latency")]))
        for a, b in pairs:
            if a and b and a[0] is not None and b[0] is not None:
                return float(a[0]), float(b[0])
        return None

    @property
    def short(self) -> str:
        return self.commit[:7] if self.commit else "?"

    def load_text(self) -> str:
        if not self.load:
            return "load not recorded"
        a, b = self.load
        return f"load {a:.1f}" if abs(a - b) < 0.05 else f"load {min(a, b):.1f}-{max(a, b):.1f}"


class Report:
    def __init__(self, results_dir: Path, root: Path = ROOT, commit: str | None = None):
        self.dir, self.root = results_dir, root
        self.results: dict[str, Result] = {}
        for path in sorted(results_dir.glob("*.json")):
            if path.name == "run_all.json":
                continue
            try:
                self.results[path.name] = Result(path, root)
            except (ValueError, OSError) as exc:
                print(f"skipped {path}: {exc}", file=sys.stderr)
        if commit:
            self.commit = _git(root, "rev-parse", commit) or commit
        else:
            measured = collections.Counter(r.commit for r in self.results.values() if r.provenance and r.commit)
            self.commit = measured.most_common(1)[0][0] if measured else (_git(root, "rev-parse", "HEAD") or "?")
        self.used: list[str] = []
        self.targets: list[tuple[str, str, str, bool | None]] = []  # section, target, value, met

    def get(self, file: str) -> Result | None:
        r = self.results.get(file)
        if r is not None and file not in self.used:
            self.used.append(file)
        return r

    def stale(self, r: Result) -> bool:
        return not r.provenance or r.commit != self.commit or r.dirty

    def source(self, *results: Result | None, label: str | None = None) -> str:
        """The command -> result file line(s) of a section, with commit and load, and a note when stale."""
        lines = []
        for r in results:
            if r is None:
                continue
            where = f"commit {r.short}" + (" (+ uncommitted changes)" if r.dirty else "")
            lines.append(f"`{r.command}` -> `benchmarks/results/{r.file}` ({where}, {r.date}, {r.load_text()})")
        text = ";<br>\n".join(lines)
        notes = []
        for r in results:
            if r is None or not self.stale(r):
                continue
            if not r.provenance:
                notes.append(f"> **Not re-measured:** `{r.file}` has no provenance; it was last committed in "
                             f"{r.short} ({r.date}), so it was measured at or before that commit, not at "
                             f"{self.commit[:7]}.")
            elif r.commit != self.commit:
                notes.append(f"> **Measured at another commit:** `{r.file}` at {r.short}, not at {self.commit[:7]}.")
            else:
                notes.append(f"> **Measured on a dirty tree:** `{r.file}` at {r.short} with uncommitted changes "
                             f"({', '.join(r.provenance.get('dirty_files', [])[:5])}).")
        return text + ("\n\n" + "\n\n".join(notes) if notes else "")

    def missing(self, *files: str) -> str:
        return "\n".join(f"*Not measured: `benchmarks/results/{f}` is missing (`{COMMANDS.get(f, '?')}`).*"
                         for f in files if f not in self.results)

    def target(self, section: str, what: str, value: str, met: bool | None) -> str:
        self.targets.append((section, what, value, met))
        return mark(met)


def mark(met: bool | None) -> str:
    return "not measured" if met is None else ("**met**" if met else "**missed**")


def pct(x: float | None, digits: int = 1) -> str:
    """A fraction (0.755) as a percentage."""
    return "–" if x is None else f"{100.0 * x:.{digits}f} %"


def p(x: float | None, digits: int = 1, unit: str = " %") -> str:
    """A number already in percent."""
    return "–" if x is None else f"{x:.{digits}f}{unit}"


def ms(x: float | None) -> str:
    if x is None:
        return "–"
    return f"{x:.2g} ms" if x < 1 else (f"{x:.1f} ms" if x < 10 else f"{x:.0f} ms")


def table(header: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(out)


def reduction(ours: float, base: float) -> float | None:
    """Relative error reduction in % of accuracy ``ours`` over ``base`` (both in %)."""
    return None if base >= 100.0 else 100.0 * (ours - base) / (100.0 - base)


# ----------------------------------------------------------------------------------------------- sections


def requests_section(rep: Report) -> str:
    prev, cur = rep.get("requests_previous_model.json"), rep.get("requests.json")
    out = ["## Requests, not trigger words", "",
           "Two splits, none of them ever trained on (`training/skill_data.heldout_sentences` removes every sentence "
           "of both from the generated training data, and `tests/test_requests.py` checks it):", "",
           "- **test**, measured only: `benchmarks/data/non_requests_test.tsv` (negated commands, questions about "
           "state or history, statements, reported speech and commands buried in other talk across all seven "
           "bundled skills, written by a second author who saw neither the rule check nor the negative generator), "
           "the skills' held-out `tests:` paraphrases, and the out-of-scope requests of "
           "`benchmarks/data/out_of_scope.txt`.",
           "- **dev**, used to tune the rule check and choose the training recipe: `non_requests_dev.tsv` and "
           "`non_requests_dev2.tsv` (a third author, written from the test set's brief), `paraphrases_dev.tsv` "
           "(harder, hand-written paraphrases) and `out_of_scope_dev.txt`.", "",
           '"Acted on" counts an action or a confirmation question. A confirmation question for the right intent '
           "counts as right (UnlockDoor asks first). The previous model is the intent model of commit "
           f"{PREVIOUS_INTENT_MODEL[0]} (before hard negatives), read from git and run with today's code.", ""]
    if cur is None:
        return "\n".join(out + [rep.missing("requests.json")])
    out += [rep.source(cur, prev), ""]

    def cells(split: dict) -> list[str]:
        nr, pa, oo = split["non_requests"], split["paraphrases"], split["out_of_scope"]
        return [f"{nr['acted']}/{nr['n']}", p(pa["intent_accuracy"], 2), f"{oo['false_accepts']}/{oo['n']}"]

    rows = []
    labels = [(prev, "no_request_gate", "previous model, no rule check"),
              (prev, "defaults", "previous model + rule check"),
              (cur, "no_request_gate", "shipped model alone (`engine.request_gate: false`)"),
              (cur, "defaults", "**shipped defaults** (model + rule check)"),
              (cur, "templates_only", "templates only")]
    for r, variant, label in labels:
        v = r.data["variants"].get(variant) if r else None
        if v and "test" in v and "dev" in v:
            rows.append([label, *cells(v["test"]), *cells(v["dev"])])
    out.append(table(["", "test: non-requests acted on", "test: paraphrases, intent", "test: false accepts",
                      "dev: non-requests", "dev: paraphrases", "dev: false accepts"], rows))
    d = cur.data["variants"]["defaults"]["test"]
    nr, pa, oo = d["non_requests"], d["paraphrases"], d["out_of_scope"]
    forms = ", ".join(f"{k} {v}" for k, v in sorted(nr.get("acted_by_form", {}).items()))
    acted, fas = f"{nr['acted']}/{nr['n']}", f"{oo['false_accepts']}/{oo['n']}"
    m1 = rep.target("requests", "0 non-requests acted on", acted, nr["acted"] == 0)
    m2 = rep.target("requests", ">= 97 % paraphrases", p(pa["intent_accuracy"], 2), pa["intent_accuracy"] >= 97)
    m3 = rep.target("requests", "<= 3 false accepts", fas, oo["false_accepts"] <= 3)
    out += ["", f"Targets (issue 14), shipped defaults on test: 0 non-requests acted on ({m1}: {nr['acted']} of "
                f"{nr['n']}; by form: {forms}), >= 97 % on the paraphrases ({m2}, {p(pa['intent_accuracy'], 2)}), "
                f"<= 3 false accepts ({m3}, {fas}).", "",
            "How the numbers were reached, so their optimism can be judged: the shipped model was chosen on the dev "
            "split among three training recipes, and the rule check was tuned on the dev split only. The test split "
            "was measured several times, each time after dev-only changes; its non-request sentences were never "
            "read while tuning, but the 427 paraphrases were not fully untouched: before the dev paraphrase set "
            "existed, the errors of two earlier candidates were read, and that led to the request variants. The "
            "history and how the two layers work: [decisions.md 23](decisions.md#23-requests-not-trigger-words-hard-"
            "negatives-for-the-model-a-per-intent-speech-act-check-in-the-runtime)."]
    return "\n".join(out)


def time_section(rep: Report) -> str:
    r = rep.get("time_expressions.json")
    out = ["## Times people mean", ""]
    if r is None:
        return "\n".join(out + [rep.missing("time_expressions.json")])
    d = r.data
    ok = d["accuracy"] >= 0.98
    out += [f"The phrasings of `{d['table']}` (alarms, wake-ups, cancel/list forms and weather dates at several "
            "clocks, across month and year ends and UTC offsets; expected values written by hand, independently of "
            "the parser, against the policy in [time-expressions.md](time-expressions.md)) through `Engine.parse`: "
            f"**{d['right']}/{d['rows']} right** ({pct(d['accuracy'])}; target >= 98 %: "
            f"{rep.target('times', '>= 98 % right', pct(d['accuracy']), ok)}).", "", rep.source(r)]
    return "\n".join(out)


HOSTILE_BEFORE = [("baseline", "–"), ("10,000-hypothesis", "35-115 s, 4-5 GB"), ("1,000-hypothesis", "10 s, 623 MB"),
                  ("JSON nested 100,000 deep (hark parse", "internal error: RecursionError"),
                  ("JSON nested 100,000 deep (hark stream", "internal error"),
                  ("command + 851 KB", "parsed, unlock 0.67"), ("78 KB WAV", "8 s, 1.7 GB"),
                  ("30 minutes of silence", "many minutes")]


def hostile_section(rep: Report) -> str:
    r = rep.get("hostile_inputs.json")
    out = ["## Hostile inputs", ""]
    if r is None:
        return "\n".join(out + [rep.missing("hostile_inputs.json")])
    out += ["Each input of the issue through `hark` in a fresh process (whole-process wall time and peak memory, "
            "start-up included; the trained tier on). \"Before\" is the issue's own description, not re-measured.",
            "", rep.source(r), ""]
    rows, all_ok = [], True
    for name, run in r.data["runs"].items():
        before = next((b for k, b in HOSTILE_BEFORE if name.startswith(k)), "?")
        said = (run.get("stderr") or "–")[:110]
        rows.append([name, before, f"{run['seconds']:.2f} s, {run['max_rss_mb']:.0f} MB", f"`{said}`" if said != "–"
                     else said])
        all_ok &= bool(run.get("within_2s_300mb"))
    out.append(table(["input", "before (issue)", "now", "what hark says"], rows))
    out += ["", f"Target: refused or bounded within 2 s and 300 MB, start-up included: "
                f"{rep.target('hostile inputs', 'every input within 2 s and 300 MB', 'all' if all_ok else 'not all', all_ok)}."]
    return "\n".join(out)


FUZZ_GROUPS = [("`Engine.parse` (templates)", ["parse"]), ("`Engine.parse` (both tiers)", ["parse_full"]),
               ("`read_jsonl` + `Engine.stream`", ["stream"]), ("WAV bytes (`read_wav`)", ["wav"]),
               ("WAV through `listen --wav`'s path", ["listen_wav"]), ("skill files", ["skill", "skill_engine"]),
               ("`hark` runs (parse, --nbest, stream, transcribe, listen)",
                ["cli_parse", "cli_parse_nbest", "cli_stream", "cli_transcribe", "cli_listen_wav"])]


def fuzz_section(rep: Report) -> str:
    r = rep.get("fuzz.json")
    out = ["## Fuzzing", ""]
    if r is None:
        return "\n".join(out + [rep.missing("fuzz.json")])
    out += ["Hypothesis-generated text, n-best lists, stream lines, WAV bytes and skill files through the Python API, "
            "and `hark parse`, `parse --nbest -`, `stream`, `transcribe` and `listen --wav` runs (a crash is any "
            "exception other than a one-line `HarkError`, an exit status other than 0/1, or a traceback). "
            "`make bench-fuzz` runs it.", "", rep.source(r), ""]
    rows = []
    t = r.data["targets"]
    for label, keys in FUZZ_GROUPS:
        got = [t[k] for k in keys if k in t]
        if not got:
            continue
        cli = keys[0].startswith("cli")
        rows.append([label, " + ".join(f"{g['inputs_tried']:,}" for g in got), str(sum(g["crashes"] for g in got)),
                     f"{max(g['worst_seconds'] for g in got):.2f} s" + (" (whole process)" if cli else ""),
                     f"{max(g['worst_memory_mb'] for g in got):g} MB" + (" (whole process)" if cli else "")])
    out.append(table(["target", "inputs", "crashes", "worst time", "worst memory growth"], rows))
    ok = r.data["crashes"] == 0
    out += ["", f"{r.data['inputs_tried']:,} inputs, {r.data['crashes']} crashes "
                f"({rep.target('fuzzing', 'no crash', str(r.data['crashes']), ok)}). The short version runs in the "
                "default suite (`tests/test_fuzz.py`); the crashes it found while it was written are pinned there as "
                "examples."]
    return "\n".join(out)


def skills_section(rep: Report) -> str:
    t, a = rep.get("templates.json"), rep.get("skills_all_tiers.json")
    out = ["## The bundled skills: templates and the trained tier", ""]
    if t is None and a is None:
        return "\n".join(out + [rep.missing("templates.json", "skills_all_tiers.json")])
    n = (a or t).data["heldout_sentences"]
    oos = (a or t).data["out_of_scope_sentences"]
    out += [f"On the {n} held-out sentences of the bundled skills (hand-written paraphrases, never used to build "
            f"matchers or to train) and {oos} out-of-scope requests, through `Engine.parse`. A sensitive intent's "
            "confirmation question counts as its intent. Latency is measured in the benchmark's process on one "
            "thread, after a warm-up.", "", rep.source(t, a), ""]
    cols = [x for x in (t, a) if x is not None]
    head = [""] + ["templates only" if x is t else "templates + trained model" for x in cols]

    def row(label, f):
        return [label] + [f(x.data) for x in cols]

    lat = lambda k: lambda d: ms(d["latency_ms"][k])  # noqa: E731
    out.append(table(head, [
        row("intent accuracy", lambda d: pct(d["intent_accuracy"])),
        row("precision when answering", lambda d: pct(d["precision_when_answering"])),
        row("slot value accuracy", lambda d: pct(d["slot_value_accuracy"])),
        row("whole sentence right (intent + all slots)", lambda d: pct(d["sentence_accuracy"])),
        row(f"false accepts (of {oos} out-of-scope)",
            lambda d: f"{d['out_of_scope_false_accepts']} ({pct(d['false_accept_rate'])})"),
        row("parse p50 / p95, typed text", lambda d: f"{lat('text_p50')(d)} / {lat('text_p95')(d)}"),
        row("parse p50 / p95, 5-best list", lambda d: f"{lat('nbest5_p50')(d)} / {lat('nbest5_p95')(d)}"),
    ]))
    marks = []
    for x in cols:
        goal = x.data.get("target", {}).get("text_p50_ms")
        if goal:
            v = x.data["latency_ms"]["text_p50"]
            label = "templates only" if x is t else "both tiers"
            m = rep.target("bundled skills", f"typed-text parse p50 <= {goal:g} ms, {label}", ms(v), v <= goal)
            marks.append(f"{label} {ms(v)} ({m})")
    if marks:
        out += ["", f"Target: typed-text parse p50 <= {cols[0].data['target']['text_p50_ms']:g} ms: " + "; ".join(marks) + "."]
    out += ["", "The shipped model (`plugins/intent/model`, int8 ONNX, see its MODEL_CARD.md) was trained on this CPU "
                "from sentences generated from the skills, with hard negatives (negated, question, statement, "
                "reported and buried rewrites of the skills' own sentences) and polite-request variants; "
                "`hark train --full` rebuilds it for your skills."]
    return "\n".join(out)


def public_nlu_section(rep: Report) -> str:
    out = ["## Public NLU benchmarks: SNIPS and ATIS", "",
           "The joint intent + slot model of each data set (`benchmarks/artifacts/<ds>/`, runnable with `hark parse "
           "--config benchmarks/artifacts/snips/config.yaml \"...\"`), scored two ways: **through `Engine.parse`** "
           "(`benchmarks/intent_engine.py`: what a user of the engine gets; the targets are judged on these rows) "
           "and **bare model** (`benchmarks/intent.py`: the shipped ONNX file, int8 or low-bit, with the runtime's "
           "pre- and post-processing on the data set's own tokens, plus size and latency). Slots are decoded with a "
           "BIO-constrained Viterbi plus the model's tag-bigram prior (decisions.md 18).", ""]
    rows, notes, sources = [], [], []
    for ds in ("snips", "atis"):
        eng, bare = rep.get(f"intent_engine_{ds}.json"), rep.get(f"intent_{ds}.json")
        sources += [eng, bare]
        tg = bare.data.get("targets", {}) if bare else {}
        ti, ts = tg.get("intent_acc", {}).get("target"), tg.get("slot_f1", {}).get("target")
        tsent = tg.get("sentence_acc", {}).get("target")
        if eng:
            e = eng.data
            rows.append([f"{ds.upper()}, through `Engine.parse`", p(e["intent_acc"], 2), p(e["slot_f1"], 2),
                         p(e["sentence_acc"], 2), "", ""])
            marks = []
            if ti is not None:
                marks.append(f"intent {p(e['intent_acc'], 2)} >= {ti:g}: "
                             + rep.target("SNIPS/ATIS", f"{ds.upper()} intent >= {ti:g} (Engine.parse)",
                                          p(e["intent_acc"], 2), e["intent_acc"] >= ti))
            if ts is not None:
                marks.append(f"slot F1 {p(e['slot_f1'], 2)} >= {ts:g}: "
                             + rep.target("SNIPS/ATIS", f"{ds.upper()} slot F1 >= {ts:g} (Engine.parse)",
                                          p(e["slot_f1"], 2), e["slot_f1"] >= ts))
            if tsent is not None:
                marks.append(f"sentence {p(e['sentence_acc'], 2)} >= {tsent:g}: "
                             + rep.target("SNIPS/ATIS", f"{ds.upper()} sentence accuracy >= {tsent:g} (Engine.parse)",
                                          p(e["sentence_acc"], 2), e["sentence_acc"] >= tsent))
            notes.append(f"{ds.upper()} through `Engine.parse`: " + "; ".join(marks) + ".")
        if bare:
            b = bare.data
            lat = b["latency_ms"]["nbest5"]
            rows.append([f"{ds.upper()}, bare model", p(b["metrics"]["intent_acc"], 2), p(b["metrics"]["slot_f1"], 2),
                         p(b["metrics"]["sentence_acc"], 2), f"{_shipped_bytes(b) / 1e6:.1f} MB",
                         f"{ms(lat['p50_ms'])} / {ms(lat['p95_ms'])}"])
    small = rep.get("intent_snips_small.json")
    if small:
        b = small.data
        lat = b["latency_ms"]["nbest5"]
        rows.append(["SNIPS, distilled 2-layer student, bare", p(b["metrics"]["intent_acc"], 2),
                     p(b["metrics"]["slot_f1"], 2), p(b["metrics"]["sentence_acc"], 2),
                     f"{_shipped_bytes(b) / 1e6:.1f} MB", f"{ms(lat['p50_ms'])} / {ms(lat['p95_ms'])}"])
        sources.append(small)
    if not rows:
        return "\n".join(out + [rep.missing("intent_engine_snips.json", "intent_engine_atis.json")])
    out += [rep.source(*sources), "",
            table(["", "intent acc", "slot F1", "sentence acc", "file size", "5-best parse p50 / p95"], rows), ""]
    out += [f"- {n}" for n in notes]
    lat_notes = []
    for name, r in (("SNIPS 4-layer", rep.get("intent_snips.json")), ("SNIPS student", small)):
        if r is None:
            continue
        tg = r.data.get("targets", {})
        if "latency_5best_p50_ms" in tg:
            a, b = tg["latency_5best_p50_ms"], tg["latency_5best_p95_ms"]
            m1 = rep.target("SNIPS/ATIS", f"{name}: 5-best p50 <= {a['target']:g} ms (bare model)", ms(a["value"]),
                            a["met"])
            m2 = rep.target("SNIPS/ATIS", f"{name}: 5-best p95 <= {b['target']:g} ms (bare model)", ms(b["value"]),
                            b["met"])
            lat_notes.append(f"{name} {ms(a['value'])} / {ms(b['value'])} ({m1} / {m2})")
    if lat_notes:
        out.append("- Latency (bare model, one thread, pre- and post-processing included; targets 5 ms p50 / 15 ms "
                   "p95 for a 5-best list): " + "; ".join(lat_notes) + ".")
    b = rep.get("intent_snips.json")
    if b and "int4_relative_loss_pct" in b.data.get("targets", {}):
        t4 = b.data["targets"]["int4_relative_loss_pct"]
        worst = f"{max(t4['value'].values()):.2f} %"
        m = rep.target("SNIPS/ATIS", f"4-bit within {t4['target']:g} % relative (bare model)", worst, t4["met"])
        out.append(f"- The SNIPS model's 4-bit variant ({b.data['size_bytes'].get('int4', 0) / 1e6:.1f} MB) loses at "
                   f"most {worst} relative on any metric (target <= {t4['target']:g} %: {m}; 2-4-bit quantisation-aware "
                   "training: `python -m training.train_lowbit`, decision 41).")
    return "\n".join(out)


def slurp_section(rep: Report) -> str:
    r = rep.get("intent_slurp.json")
    out = ["## SLURP with real ASR errors", ""]
    if r is None:
        return "\n".join(out + [rep.missing("intent_slurp.json")])
    res = r.data["results"]
    out += [f"{r.data['pairs']:,} recordings of the dev half of the SLURP test set, model trained on HWU64 train + "
            "SLURP devel, through `Engine.parse`; HerMiT's predictions for the same recordings scored the same way "
            "(entity F1: exact (type, normalised words) match, micro; stricter than SLURP's SLU-F1).", "",
            rep.source(r), ""]
    rows = []
    for key, label in (("", "all pairs"), ("_without_hwu64_overlap", "without the sentences HWU64 train shares")):
        h, m, g = res[f"hark_asr{key}"], res[f"hermit_asr{key}"], res[f"hark_reference{key}"]
        rows.append([f"{label} ({h['n']:,})", p(h["intent_acc"], 2), p(m["intent_acc"], 2), p(g["intent_acc"], 2),
                     p(h["entity_f1"], 1, ""), p(m["entity_f1"], 1, ""), p(g["entity_f1"], 1, "")])
    out.append(table(["", "hark intent, ASR 1-best", "HerMiT intent, ASR 1-best", "hark intent, gold text",
                      "hark entity F1, ASR", "HerMiT entity F1, ASR", "hark entity F1, gold"], rows))
    return "\n".join(out)


AUDIO_ROWS = [("word error rate (1-best)", lambda c: pct(c["wer"])),
              ("intent accuracy with the n-best list", lambda c: pct(c["intent_accuracy"])),
              ("intent accuracy, 1-best only", lambda c: pct(c["intent_accuracy_1best"])),
              ("n-best oracle (right intent from some hypothesis)", lambda c: pct(c["nbest_oracle_accuracy"])),
              ("slot value accuracy", lambda c: pct(c["slot_value_accuracy"])),
              ("false accepts of spoken out-of-scope requests",
               lambda c: f"{c['out_of_scope_false_accepts']} of {c['out_of_scope_utterances']}"
               if "out_of_scope_utterances" in c else "–"),
              ("real-time factor", lambda c: f"{c['real_time_factor']:.2f}"),
              ("end of speech -> action, p50 / p95",
               lambda c: f"{c['end_of_speech_to_action_ms']['p50']} / {c['end_of_speech_to_action_ms']['p95']} ms"),
              ("of which after the endpoint (ASR finish + NLU), p50 / p95",
               lambda c: f"{c['processing_after_endpoint_ms']['p50']} / {c['processing_after_endpoint_ms']['p95']} ms"),
              ("ended as a complete command at the short pause",
               lambda c: pct(c["ended_complete"]) if "ended_complete" in c else "–")]
AUDIO_TARGETS = {"clean": 0.90, "noisy": 0.80}


def audio_targets(rep: Report, label: str, r: Result) -> str:
    marks = []
    for cond, c in r.data["results"].items():
        goal = AUDIO_TARGETS.get(cond)
        if goal is None:
            continue
        acc, rtf, p50 = c["intent_accuracy"], c["real_time_factor"], c["end_of_speech_to_action_ms"]["p50"]
        m1 = rep.target("speech", f"{label}, {cond}: intent >= {goal:.0%}", pct(acc), acc >= goal)
        m2 = rep.target("speech", f"{label}, {cond}: real-time factor <= 0.3", f"{rtf:.2f}", rtf <= 0.3)
        m3 = rep.target("speech", f"{label}, {cond}: end of speech -> action p50 <= 300 ms", f"{p50} ms", p50 <= 300)
        marks.append(f"{cond}: intent {pct(acc)} >= {goal:.0%} {m1}, RTF {rtf:.2f} <= 0.3 {m2}, end of speech -> "
                     f"action p50 {p50} ms <= 300 ms {m3}")
    return "; ".join(marks)


def audio_section(rep: Report) -> str:
    r = rep.get("audio.json")
    out = ["## Speech end to end", ""]
    if r is None:
        out.append(rep.missing("audio.json"))
    else:
        d = r.data
        n = d["sentences"]
        voices = d["voices"]
        over = d.get("settings_overridden") or []
        out += [f"{n} held-out sentences of the bundled skills spoken by {len(voices)} espeak-ng voices the tests do "
                f"not use ({', '.join(voices)}; {d['results'][next(iter(d['results']))]['utterances']} utterances "
                "per condition), streamed in 30 ms frames through `Engine.stream` exactly as `hark listen --wav` "
                "does: VAD with semantic endpointing, pocketsphinx with the skill language model, and both intent "
                "tiers, with the shipped defaults"
                + (f" except {', '.join(f'`{o}`' for o in over)}" if over else
                   " (pocketsphinx's second pass on)" if r.provenance else "") + ". \"noisy\": an ESC-50 "
                "fold-4 clip mixed at 10 dB SNR.", "", rep.source(r), "",
                table(["", *d["results"].keys()], [[label, *(f(c) for c in d["results"].values())]
                                                   for label, f in AUDIO_ROWS]), "",
                f"The same sentences typed: {pct(d.get('typed_intent_accuracy'))} intent accuracy, so the recogniser "
                "is what loses accuracy here: pocketsphinx's acoustic model on synthetic voices (docs/decisions.md "
                "14). Targets: " + audio_targets(rep, "package model", r) + ". The n-best posteriors (pocketsphinx "
                "`score_scale`, generic-LM weight) were chosen on other voices and sentences (decisions.md 21)."]
    off = rep.get("audio_semantic_off_clean.json")
    out += ["", "### Semantic endpointing", "",
            "After 150 ms of silence the ASR plugin judges from its live partial transcription (skill-LM "
            "end-of-sentence probability, then the intent tiers' confidence) whether the request is complete, and "
            "the utterance ends there instead of after 600 ms (decisions.md 20). The A/B below runs the same "
            "sentences, voices and out-of-scope requests, clean, with `vad.early_silence_ms=0` (waiting the full "
            "silence) against the defaults (the clean condition of the run above); the load of each run is in its "
            "source line, and wall-clock parts are only comparable at similar load.", ""]
    if off is None or r is None or "clean" not in r.data["results"]:
        out.append(rep.missing("audio_semantic_off_clean.json", "audio.json"))
    else:
        a, b = off.data["results"]["clean"], r.data["results"]["clean"]
        e2a = lambda c: f"{c['end_of_speech_to_action_ms']['p50']} / {c['end_of_speech_to_action_ms']['p95']} ms"  # noqa: E731
        aft = lambda c: f"{c['processing_after_endpoint_ms']['p50']} / {c['processing_after_endpoint_ms']['p95']} ms"  # noqa: E731
        out += [rep.source(off, r), "",
                table([f"clean, {a['utterances']} utterances", "waiting the full silence", "semantic endpointing"], [
                    ["end of speech -> action, p50 / p95", e2a(a), e2a(b)],
                    ["of which after the endpoint, p50 / p95", aft(a), aft(b)],
                    ["ended at the short pause", "–", pct(b.get("ended_complete"))],
                    ["intent accuracy / slot values / WER",
                     f"{pct(a['intent_accuracy'])} / {pct(a['slot_value_accuracy'])} / {pct(a['wer'])}",
                     f"{pct(b['intent_accuracy'])} / {pct(b['slot_value_accuracy'])} / {pct(b['wer'])}"]])]
    ep = rep.get("endpointing_dev.json")
    if ep is not None:
        row = next((g for g in ep.data["grid"]
                    if all(abs(g.get(k, -1) - v) < 1e-9 for k, v in SHIPPED_ENDPOINTING.items())), None)
        st = ep.data["settings"]
        if row:
            out += ["", f"How often a pause inside a request is taken for its end (`benchmarks/endpointing.py`, "
                        f"development voices {st['voices']}, {st['sentences']} sentences, a {st['pause']} ms hesitation "
                        f"inside every request, judged every {st['early_silence_ms']} ms; shipped `mid_pause_ms` "
                        f"{SHIPPED_ENDPOINTING['mid_pause_ms']}, `end_of_turn_lm` "
                        f"{SHIPPED_ENDPOINTING['end_of_turn_lm']}, `complete_threshold` "
                        f"{SHIPPED_ENDPOINTING['complete_threshold']}): {pct(row['hesitant']['cut'])} of hesitant "
                        f"requests were cut at the hesitation and {pct(row['hesitant']['damage'])} changed intent or "
                        f"slots; {pct(row['fluent']['early'])} of fluent ones ended at the short pause.", "",
                    rep.source(ep)]
    ad, pk = rep.get("audio_adapted.json"), rep.get("audio_package_model_40.json")
    out += ["", "### With the acoustic model adapted to synthetic speech", "",
            "`asr_pocketsphinx.hmm: plugins/asr_pocketsphinx/models/en-us-synthetic`, MAP-adapted to 800 sentences "
            "from eight *other* espeak-ng voices, built without the skills' held-out sentences (decisions.md 22), "
            "against the package's model on the same utterances (the first 40 sentences of the same shuffle, the "
            "same 5 voices).", ""]
    if ad is None:
        out.append(rep.missing("audio_adapted.json"))
    else:
        cols = [(f"adapted, {c}", v) for c, v in ad.data["results"].items()]
        if pk is not None:
            cols += [(f"package model, {c}", v) for c, v in pk.data["results"].items()]
        out += [rep.source(ad, pk), "",
                table(["", *(c for c, _ in cols)], [[label, *(f(v) for _, v in cols)] for label, f in AUDIO_ROWS]), "",
                "Targets with the adapted model: " + audio_targets(rep, "adapted model", ad) + ". It is an adaptation "
                "to espeak-ng, not to people: the default stays the package's model, and for your own voice you "
                "build your own folder from 50-200 recorded commands:", "", "```",
                "python -m training.adapt_asr --recordings my_voice/ --out models/my-voice   # my_voice/*.wav + "
                "same-named .txt", "```"]
    real = rep.get("asr_real_speech.json")
    if real is not None:
        res = real.data["results"]
        out += ["", f"On real read speech ({real.data['data']}, {real.data['recordings']} recordings, "
                    f"{real.data['speakers']} speakers, {real.data['lm']}), word error rate: "
                    + ", ".join(f"`{k}` {pct(v['wer'])}" for k, v in res.items())
                    + ": the adaptation to synthetic voices does not carry over to people.", "", rep.source(real)]
    return "\n".join(out)


BASELINE_LABELS = {"exact": "exact", "wratio": "rapidfuzz WRatio", "metaphone": "Metaphone",
                   "double_metaphone": "Double Metaphone", "dm_wratio": "Double Metaphone + WRatio"}


def entity_slurp_section(rep: Report) -> str:
    r = rep.get("entity_slurp.json")
    out = ["## Entity resolution", "", "### From real ASR errors (SLURP)", ""]
    if r is None:
        return "\n".join(out + [rep.missing("entity_slurp.json"), g2p_part(rep)])
    d = r.data
    top = d["top1"]
    ours = d.get("default", "ours_phonetic")
    out += ["The held-out half of SLURP's entity-resolution rows (split by a hash of the gold value; the ranker was "
            "tuned and the phonetic encoder trained on the other part only); `from hark.plugins.entity_resolver "
            "import Resolver`, or `hark resolve`. Top-1 accuracy:", "", rep.source(r), ""]
    base = [b for b in BASELINE_LABELS if b in top]
    strongest = max(base, key=lambda b: top[b]["changed"])
    rows = [[BASELINE_LABELS[b] + (" (strongest baseline)" if b == strongest else ""), p(top[b]["all"]),
             p(top[b]["changed"])] for b in base]
    rows.append([f"**hark** (`{ours}`: g2p phones, phone n-gram retrieval, phone edit-distance re-rank)",
                 p(top[ours]["all"]), p(top[ours]["changed"])])
    out.append(table(["", f"all rows ({d['rows']:,})", f"rows where the ASR changed the entity ({d['changed_rows']})"],
                     rows))
    v = top[ours]["changed"]
    ea, pn = d.get("error_analysis", {}), d.get("pseudo_nbest", {})
    out += ["", f"hark makes {p(reduction(v, top[strongest]['changed']))} fewer errors than the strongest baseline "
                f"({BASELINE_LABELS[strongest]}) on the changed rows. Target 68 % on the changed rows: "
                f"{rep.target('entity resolution', 'SLURP changed rows >= 68 %', p(v), v >= 68)} ({p(v)})."]
    if ea:
        out[-1] += (f" {p(ea['share_unrecoverable'])} of those rows cannot be recovered from the heard words alone "
                    "(the ASR heard another catalog entry, or words with no phone in common).")
    if pn:
        out[-1] += (f" Given a second transcription of the same words, changed-row accuracy goes from "
                    f"{p(pn['changed_top1_1best'])} to {p(pn['changed_top1_nbest'])}.")
    return "\n".join(out + [g2p_part(rep)])


def _shipped_bytes(b: dict) -> int:
    """Size of the model file benchmarks/intent.py scored (int8, or the low-bit file a model folder ships)."""
    return (b.get("shipped") or {}).get("bytes") or b["size_bytes"]["int8"]


def g2p_part(rep: Report) -> str:
    g = rep.get("g2p.json")
    if g is None:
        return ""
    v8 = g.data["variants"].get("int8") or next(iter(g.data["variants"].values()))
    return "\n".join(["", f"Grapheme-to-phoneme for names missing from CMUdict: {p(v8['per'], 1)} phone error rate "
                           f"on {g.data['test_words']:,} held-out CMUdict words ({p(v8['wer'], 1)} of words with any "
                           f"phone wrong), {ms(v8['latency_ms']['p50'])} p50 a word.", "", rep.source(g)])


def spoken_section(rep: Report) -> str:
    out = ["### Spoken titles", "",
           "250 titles of each full catalog (9,742 MovieLens films, 10,000 goodbooks titles) said as \"play X\" / "
           "\"read X\" by three screened espeak-ng voices and decoded by pocketsphinx's generic LM, plus a second "
           "condition where a phone confusion model learned from SLURP's real ASR pairs rewrites each title into "
           "sound-alike words. Top-1 accuracy, on equal terms: every method given the 1-best span, and every method "
           "given the same n-best list of spans (a baseline picks its best entry for every span, scores that pair "
           "with its own similarity and keeps the best pair; hark's resolver takes the list with its posteriors).", ""]
    files = {"movies": rep.get("entity_movies.json"), "books": rep.get("entity_books.json")}
    present = {k: v for k, v in files.items() if v is not None}
    if not present:
        return "\n".join(out + [rep.missing("entity_movies.json", "entity_books.json")])
    out += [rep.source(*present.values()), ""]
    cols = [(bench, cond, mode) for cond in ("asr", "confusion") for bench, r in present.items()
            if cond in r.data["results"] for mode in ("1best", "nbest")]

    def top1(bench, cond):
        return present[bench].data["results"][cond]["top1"]

    header = [""] + [f"{bench}, {'ASR' if cond == 'asr' else 'confusion'}, {'1-best' if mode == '1best' else 'n-best'}"
                     for bench, cond, mode in cols]
    rows = []
    strongest: dict[tuple, str | None] = {}
    for c in cols:
        t = top1(c[0], c[1])
        cands = [b for b in BASELINE_LABELS if b in t and c[2] in t[b]]
        strongest[c] = max(cands, key=lambda b: t[b][c[2]]) if cands else None
    for b, label in BASELINE_LABELS.items():
        cells = []
        for c in cols:
            v = top1(c[0], c[1]).get(b, {}).get(c[2])
            cells.append("not measured" if v is None else (f"**{v:.1f}**" if strongest[c] == b else f"{v:.1f}"))
        rows.append([label, *cells])
    rows.append(["hark (shipped default)", *(p(top1(c[0], c[1])["ours_default"][c[2]], 1, "") for c in cols)])
    out += [table(header, rows), "", "Bold: the strongest baseline of each column.", ""]
    for bench, r in present.items():
        goal_key = next((k for k in r.data.get("targets", {}).get("asr", {}) if k.startswith("error_reduction")), "")
        m = re.search(r"ge_(\d+(?:\.\d+)?)pct", goal_key)
        goal = float(m.group(1)) if m else None
        for cond in r.data["results"]:
            t = top1(bench, cond)
            parts = []
            for mode, label in (("1best", "1-best"), ("nbest", "n-best")):
                s = strongest.get((bench, cond, mode))
                ours = t["ours_default"][mode]
                if s is None:
                    parts.append(f"{label}: no baseline measured with the {label} list (older result file)")
                    continue
                lex = [b for b in ("exact", "wratio") if mode in t.get(b, {})]
                best_lex = max(lex, key=lambda b: t[b][mode]) if lex else None
                text = (f"{label}: hark {ours:.1f} vs {BASELINE_LABELS[s]} {t[s][mode]:.1f} (strongest baseline), "
                        f"{p(reduction(ours, t[s][mode]), 0)} fewer errors")
                if best_lex and goal is not None and cond == "asr":
                    red = reduction(ours, t[best_lex][mode])
                    text += (f"; vs the best lexical baseline ({BASELINE_LABELS[best_lex]}, {t[best_lex][mode]:.1f}) "
                             f"{p(red, 0)} fewer errors, target >= {goal:g} %: "
                             + rep.target("spoken titles", f"{bench} ASR, {label} vs lexical {label}: >= {goal:g} % "
                                          "fewer errors", p(red, 0), red is not None and red >= goal))
                parts.append(text)
            out.append(f"- **{bench}, {'ASR' if cond == 'asr' else 'confusion'}** (title WER "
                       f"{pct(r.data['results'][cond].get('query_wer'))}): " + "; ".join(parts) + ".")
    cat, nores = rep.get("audio_catalog.json"), rep.get("audio_catalog_no_resolver.json")
    if cat is not None and nores is not None:
        a, b = nores.data["results"]["clean"], cat.data["results"]["clean"]
        out += ["", f"In the engine (`benchmarks/audio.py --catalog-only`: the {cat.data['sentences']} held-out "
                    f"bundled-skill sentences that name a title, artist or book, {len(cat.data['voices'])} voices, "
                    f"skill LM, clean), resolving catalog slots by sound takes spoken requests from "
                    f"{pct(a['intent_accuracy'])} to {pct(b['intent_accuracy'])} right intent and from "
                    f"{pct(a['slot_value_accuracy'])} to {pct(b['slot_value_accuracy'])} right slot values "
                    "(`--disable entity_resolver` for the first).", "", rep.source(nores, cat)]
    return "\n".join(out)


def scale_section(rep: Report) -> str:
    r = rep.get("entity_scale.json")
    out = ["### Large catalogs", ""]
    if r is None:
        return "\n".join(out + [rep.missing("entity_scale.json")])
    out += ["Synthetic title-like names, one thread, the automatic index choice (exact search for small catalogs, "
            "product-quantised codes above, IVF-PQ for the largest); queries are mishearings of random entries.", "",
            rep.source(r), ""]
    rows = []
    for run in r.data["runs"]:
        if not run.get("auto"):
            continue
        rows.append([f"{run['entries']:,}", run["index"], f"{run['build_s']:.1f} s",
                     f"{run['rss_growth_mb']:.0f} / {run.get('rss_after_load_growth_mb', 0):.1f} MB",
                     f"{run['disk_mb']:.1f} MB", f"{ms(run['latency_ms']['p50'])} / {ms(run['latency_ms']['p95'])}",
                     p(run["top1"])])
    out.append(table(["entries", "index", "build", "RSS growth (cold build / from cache)", "index on disk",
                      "resolve p50 / p95", "top-1 on mishearings"], rows))
    names = {"p50_le_2ms_at_10k": "p50 <= 2 ms at 10k", "p50_le_10ms_at_1M": "p50 <= 10 ms at 1M",
             "rss_growth_le_60MB_at_100k": "<= 60 MB RSS growth at 100k"}
    marks = [f"{names.get(k, k)}: {v['value']} "
             f"({rep.target('entity resolution', 'scale: ' + names.get(k, k), str(v['value']), v['met'])})"
             for k, v in r.data.get("targets", {}).items()]
    out += ["", "Targets: " + "; ".join(marks) + ". Latencies are wall-clock on a shared CPU (see the load)."]
    return "\n".join(out)


def vad_section(rep: Report) -> str:
    r = rep.get("vad.json")
    out = ["## Voice activity detection", ""]
    if r is None:
        return "\n".join(out + [rep.missing("vad.json")])
    d = r.data
    out += [f"espeak-ng speech of the test voices ({len(d['voices'])}, never used for tuning), "
            f"{d['utterances_per_condition']} utterances per condition, in ESC-50, white, pink and babble noise at "
            "20-0 dB SNR and clean; every detector under the plugin's default policy. Segment F1: frames inside "
            "the endpointer's utterances against the true utterance spans.", "", rep.source(r), ""]
    rows = []
    for name, det in d["detectors"].items():
        c, n = det["clean"], det["mean_over_noisy"]
        rows.append([("**spectral** (default)" if name == "spectral" else name), f"{c['segment']['f1']:.3f}",
                     f"{n['segment_f1']:.3f}", f"{c['end_error_ms']['median_abs']:.0f} / "
                     f"{n.get('median_abs_end_error_ms', float('nan')):.0f} ms", f"{n['missed']} / {n['false_alarms']}",
                     f"{c.get('us_per_frame', float('nan')):.0f} µs"])
    out.append(table(["detector", "segment F1, clean", "segment F1, noisy (mean)",
                      "median end error, clean / noisy", f"noisy: missed / false alarms (of {n['utterances']})",
                      "time a 30 ms frame"], rows))
    return "\n".join(out)


def load_table(rep: Report) -> str:
    rows = []
    for file in rep.used:
        r = rep.results[file]
        rows.append([f"`{file}`", r.short + (" (dirty)" if r.dirty else "") + ("" if r.provenance else
                                                                            " (no provenance: last commit)"),
                     r.date or "?", r.load_text().replace("load ", ""),
                     f"{r.provenance['seconds']:.0f} s" if r.provenance.get("seconds") is not None else "?",
                     "" if not rep.stale(r) else "**other commit**" if r.provenance else "**not re-measured**"])
    return table(["result file", "commit", "measured (UTC)", "load average (1 min, start-end)", "took", ""], rows)


SPOKEN_TARGETS = {"clean": 0.97, "kitchen_24": 0.97, "kitchen_12": 0.95, "kitchen_6": 0.90}


def spoken_orders_section(rep: Report) -> str:
    """Real recordings of Picovoice's speech-to-intent benchmark (issue 16)."""
    r, esc = rep.get("spoken_commands.json"), rep.get("spoken_commands_esc50.json")
    out = ["## Real people ordering coffee (Picovoice's speech-to-intent benchmark)", ""]
    if r is None:
        return "\n".join(out + [rep.missing("spoken_commands.json")])
    d = r.data
    out += [f"Crowd-sourced recordings of coffee orders from the benchmark's closed grammar, the {d['split']} split "
            f"({d['files']} files; settings were chosen on the other {d['dev_percent']} %, split by a hash of the file "
            "id: see `benchmarks/spoken_commands.py`). The skill is `examples/skills/coffee`, written from the "
            "benchmark's grammar. Everything goes through `Engine.open_stream`, with the shipped config: VAD, "
            "pocketsphinx with the skill LM (decoding live for the endpointer, then the whole utterance again at the "
            "endpoint), semantic endpointing and both intent tiers.", "",
            "Modes:",
            "- *per file*: a new stream per recording, as `hark listen --wav` runs.",
            f"- *continuous*: {d['group']} recordings back to back in one stream, with their own silences between "
            "them.", "",
            "*Accuracy* is the benchmark's command acceptance: exactly one action, with every labelled slot right. "
            "Kitchen noise is mixed the benchmark's way, at the loudest-frame SNR.", ""]
    rows = []
    results = dict(d["results"])
    if esc is not None:
        for mode, by in esc.data["results"].items():
            results.setdefault(mode, {}).update({c: v for c, v in by.items() if c.startswith("esc50")})
    for mode in ("per_file", "continuous"):
        for cond, v in results.get(mode, {}).items():
            if "files" not in v:
                continue
            lat = v.get("end_of_speech_to_action_ms") or {}
            rows.append([mode.replace("_", " "), cond.replace("_", " ") + (" dB" if cond[-1].isdigit() else ""),
                         pct(v["accuracy"]), pct(v["intent_accuracy"]), pct(v["no_action_rate"]),
                         pct(v["several_actions_rate"]), f"{lat.get('p50', '–')} / {lat.get('p95', '–')} ms"])
    out += [table(["mode", "condition", "accuracy", "intent", "no action", "several actions",
                   "end of speech -> action p50 / p95"], rows), ""]
    for cond, goal in SPOKEN_TARGETS.items():
        got = [results.get(m, {}).get(cond, {}).get("accuracy") for m in ("per_file", "continuous")]
        if None in got:
            continue
        rep.target("spoken orders", f"{cond.replace('_', ' ')}: >= {100 * goal:.0f} % per file and continuous",
                   f"{pct(got[0])} / {pct(got[1])}", min(got) >= goal)
    lat = [results.get(m, {}).get("clean", {}).get("end_of_speech_to_action_ms") for m in ("per_file", "continuous")]
    if all(lat):
        rep.target("spoken orders", "clean: end of speech -> action p50 <= 400 ms",
                   f"{lat[0]['p50']} / {lat[1]['p50']} ms", max(x["p50"] for x in lat) <= 400)
    peers = d["peers"]
    out += ["The peers' published numbers, from the benchmark's authors, are for all 619 recordings. This table "
            f"uses {d['files']} of them, and the same speaker can be in both of our splits. "
            "Mean accuracy over cafe and kitchen noise at 6-24 dB: "
            + ", ".join(f"{k} {pct(v)}" for k, v in peers["published_mean_accuracy_cafe_kitchen_6_24db"].items())
            + ". Rhino in kitchen noise: "
            + ", ".join(f"{pct(v)} at {k} dB" for k, v in peers["rhino_kitchen_by_snr"].items()) + ".", "",
            rep.source(r, esc)]
    return "\n".join(out)


def scene_section(rep: Report) -> str:
    """The scene_context plugin on held-out sounds (issue 17)."""
    r = rep.get("scene.json")
    out = ["## Scene context: sounds, rooms and alerts", ""]
    if r is None:
        return "\n".join(out + [rep.missing("scene.json")])
    d = r.data
    m, t, sc, al, cpu = d["model"], d["tagging"], d["scenes"], d["alerts"], d["cpu"]
    a = m.get("alert_model")
    detector = (f", with its alert detector for {len(a['labels'])} safety sounds ({a['file_bytes']:,} bytes, "
                f"{a['precision']}, {a['parameters']:,} parameters, {a['mmac_per_window']} MMAC per window; "
                "decision 48)") if a else ""
    out += [f"The shipped scene model ({m['file_bytes']:,} bytes, {m['precision']}, {m['parameters']:,} parameters, "
            f"{m['mmac_per_window']} MMAC per 1 s window, 2 windows per second){detector} through `Engine.open_stream`, on the "
            "test side of `training/scene_data.py`'s splits (ESC-50 clips by source recording, speechocean762 speakers, "
            f"the last 30 % of the kitchen noise: {d['held_out_check']['test_esc_sources']} ESC sources and "
            f"{d['held_out_check']['test_speakers']} speakers, none of them in the model's training or calibration, "
            "checked from its meta.json). The scenes are synthetic mixtures of those sounds (recipe in "
            "`training/scene_data.py`); ESC-50 has 8 clips a class, so the tagger is an 8-shot one.", "",
            table(["measure", "result", "target"], [
                ["event tagging, held-out clips: mAP / top-1", f"{t['map']:.3f} / {pct(t['top1_accuracy'])} "
                 f"({t['clips']} clips)", "reported (Piczak's CNN, 5-fold ESC-50: 64.5 % top-1)"],
                ["scene accuracy, held-out 10 s recordings", f"{pct(sc['accuracy'])} ({sc['recordings']})", "reported"],
                ["alert recall", f"{pct(al['recall'])} of {al['planted']} planted clips", ">= 90 %"],
                ["false alerts per hour of background", f"{al['false_alerts_per_hour']} ({al['false_alerts']} in "
                 f"{al['background_hours']:.2f} h)", "<= 1"],
                ["CPU, share of one core while streaming", pct(cpu["share_of_one_core"]), "<= 5 %"],
                ["model files", f"{m.get('total_bytes', m['file_bytes']):,} bytes", "<= 1 MB"]]), "",
            "Per scene: " + ", ".join(f"{k} {pct(v)}" for k, v in sc["per_scene"].items()) + ". Alert recall per "
            "label: " + ", ".join(f"{k} {pct(v)}" for k, v in al["recall_per_label"].items()) + ". Per-class AP: "
            "`benchmarks/results/scene.svg`.", ""]
    if "upper_bound_recall_at_zero_false_alerts" in al:
        out += ["Tagger or calibration? The best any per-label threshold could do on these same recordings (just "
                "above each label's highest background probability: no false alert in the hour; an upper bound, "
                f"not a setting): recall {pct(al['upper_bound_recall_at_zero_false_alerts'])}. Median probability "
                "of a planted alert sound against the background's highest: " + ", ".join(
                    f"{k} {al['planted_median_probability'][k]:.2f} / {al['background_max_probability'][k]:.2f}"
                    for k in al["labels"]) + ".", ""]
    rep.target("scene", "alert recall >= 90 % at <= 1 false alert per hour",
               f"{pct(al['recall'])}, {al['false_alerts_per_hour']} / h",
               al["recall"] >= 0.9 and al["false_alerts_per_hour"] <= 1)
    rep.target("scene", "<= 5 % of one core while streaming", pct(cpu["share_of_one_core"]),
               cpu["share_of_one_core"] <= 0.05)
    size = m.get("total_bytes", m["file_bytes"])
    rep.target("scene", "model <= 1 MB", f"{size:,} bytes", size <= 1_000_000)
    out.append(rep.source(r))
    ab = rep.get("scene_ablation.json")
    if ab is None:
        out += ["", rep.missing("scene_ablation.json")]
        return "\n".join(out)
    st = ab.data["settings"]
    out += ["", "### Multitask against scene-only training", "",
            f"The training recipe's ablation: each arm trained from scratch with seeds {', '.join(map(str, st['seeds']))} "
            f"({st['epochs']} epochs x {st['steps']} batches; the shipped model has more), each keeping its best "
            f"valid epoch, scored in torch on {st['test_mixtures']} held-out recordings per scene. "
            "Scene-only trains the scene head alone; multitask adds the event loss (and the clip crops, which carry "
            "event labels only); pretrain trains events for half the epochs, then the scene head.", ""]
    out += _ablation(rep, ab)
    long = rep.get("scene_ablation_24.json")
    if long is not None:
        st = long.data["settings"]
        out += ["", f"The same comparison at the shipped model's length ({st['epochs']} epochs x {st['steps']} "
                    f"batches), scene-only and multitask only, seeds {', '.join(map(str, st['seeds']))}:", ""]
        out += _ablation(rep, long)
    return "\n".join(out)


def _ablation(rep: Report, ab) -> list[str]:
    """One ablation result as a table, and the issue's multitask target judged on it."""
    a = ab.data
    rows = [[task, pct(v["scene_error_mean"]), pct(v["scene_error_std"]), f"{v['event_map_mean']:.3f}",
             "–" if v.get("relative_error_change_vs_scene_only") is None
             else f"{100 * v['relative_error_change_vs_scene_only']:+.1f} %"]
            for task, v in a["summary"].items()]
    multi = a["summary"].get("multitask", {}).get("relative_error_change_vs_scene_only")
    if multi is not None:
        rep.target("scene", f"multitask lowers scene error >= 10 % relative vs scene-only ({a['settings']['epochs']} "
                   "epochs)", f"{100 * multi:+.1f} %", multi <= -0.10)
    return [table(["task", "scene error (mean)", "spread (std)", "window event mAP", "relative error vs scene-only"],
                  rows), "", rep.source(ab)]


def tutor_section(rep: Report) -> str:
    """The pronunciation tutor (issue 18)."""
    r = rep.get("tutor.json")
    out = ["## Pronunciation tutor", ""]
    if r is None:
        return "\n".join(out + [rep.missing("tutor.json")])
    d = r.data
    rows = []
    syn, swap = d.get("synthetic"), d.get("prompt_swap")
    if syn:
        rows += [["synthetic MDD: precision / recall / F1",
                  f"{pct(syn['precision'])} / {pct(syn['recall'])} / **{syn['f1']:.3f}**", "F1 >= 0.60"],
                 ["synthetic: diagnosis accuracy (caught substitutions named right)",
                  f"{pct(syn['diagnosis_accuracy'])} of {syn['caught_substitutions']}", "reported"]]
        rep.target("tutor", "synthetic MDD F1 >= 0.60", f"{syn['f1']:.3f}", syn["f1"] >= 0.60)
    if swap:
        rows += [["real speech, prompt swap: AUC utterance / word",
                  f"**{swap['utterance_auc']:.3f}** / {swap['word_auc']:.3f} ({swap['clips']} clips)", ">= 0.90"],
                 ["real speech: true-prompt words / utterances flagged",
                  f"{pct(swap['true_prompt_words_flagged'])} / {pct(swap['true_prompt_utterances_flagged'])}",
                  "reported (false alarms)"],
                 ["CPU per second of audio (one thread)", f"{swap['cpu_seconds_per_audio_second']:.3f} s", "<= 0.3 s"]]
        rep.target("tutor", "prompt-swap AUC >= 0.90 on real speech", f"{swap['utterance_auc']:.3f}",
                   swap["utterance_auc"] >= 0.90)
        rep.target("tutor", "<= 0.3 s CPU per second of audio", f"{swap['cpu_seconds_per_audio_second']:.3f} s",
                   swap["cpu_seconds_per_audio_second"] <= 0.3)
    out += [f"The shipped tutor ({d['model']}, margin {d['margin']}): real speech through "
            "`Engine.assess_pronunciation`, the synthetic phone sequences through the plugin's `Assessor`. "
            "Synthetic: the human-perceived phones of L2-ARCTIC speakers "
            f"{', '.join(syn['speakers']) if syn else '-'} (never read by training) spoken by espeak-ng voices no "
            "model trained or was tuned on, scored against the canonical phones. Real: speechocean762's test clips "
            "(Mandarin L1 adults and children) of the speakers the word-GOP fusion was not tuned on "
            f"({swap['dev_speaker_clips_skipped'] if swap else '-'} clips of the others skipped), each scored "
            "against its prompt and against the prompt with one word swapped for a phonetically different one.", "", table(["measure", "result", "target"], rows), "",
            rep.source(r)]
    ab = rep.get("tutor_ablation.json")
    if ab is None:
        out += ["", rep.missing("tutor_ablation.json")]
        return "\n".join(out)
    summary = ab.data["summary"]
    out += ["", "### How the mispronounced training speech is made", "",
            "Phone models trained alike except for the mispronounced half of their speech: none, random "
            "substitutions at L2-GEN's rate, hand-written confusions (shipped), L2-GEN samples; each arm's margin "
            "tuned on dev voices, scored on the synthetic test above. Each arm trains on "
            f"{ab.data['settings'].get('utterances', '?')} recordings for {ab.data['settings'].get('epochs', '?')} "
            "epochs (the shipped model: 9000 for 12), so the arms are compared with each other, not with the "
            "shipped model's F1.", "",
            table(["arm", "F1 (mean)", "spread (std)", "seeds"],
                  [[arm, f"{v['f1_mean']:.3f}", f"{v['f1_std']:.3f}", str(v["seeds"])] for arm, v in summary.items()]),
            "", rep.source(ab)]
    if {"l2gen", "none", "random"} <= set(summary):
        best = max(("none", "random"), key=lambda arm: summary[arm]["f1_mean"])
        gain = summary["l2gen"]["f1_mean"] - summary[best]["f1_mean"]
        spread = max(summary["l2gen"]["f1_std"], summary[best]["f1_std"])
        out += ["", f"L2-GEN against the stronger baseline ({best}): {gain:+.3f} F1, against a seed spread of "
                    f"{spread:.3f}. A gain counts only when it is larger than the spread."]
        rep.target("tutor", "L2-GEN beats no augmentation and random substitutions (F1, beyond the seed spread)",
                   f"{gain:+.3f} (spread {spread:.3f})", gain > spread)
    return "\n".join(out)


def render(rep: Report) -> str:
    body = [requests_section(rep), time_section(rep), hostile_section(rep), fuzz_section(rep), skills_section(rep),
            public_nlu_section(rep), slurp_section(rep), audio_section(rep), spoken_orders_section(rep),
            entity_slurp_section(rep),
            spoken_section(rep), scale_section(rep), vad_section(rep), scene_section(rep), tutor_section(rep),
            serve_section(rep, table, mark), lowbit_section(rep, table, mark)]
    stale = [f for f in rep.used if rep.stale(rep.results[f])]
    loads = [x for f in rep.used for x in (rep.results[f].load or ())]
    head = ["# Benchmarks", "",
            "<!-- Generated by `python benchmarks/report.py` from benchmarks/results/*.json: edit the script, not this "
            "file. -->", "",
            f"Every number below comes from a result file in `benchmarks/results/`, named with the command that "
            f"produced it. The report's commit is **{rep.commit[:7]}**"
            + (f"; {len(stale)} of {len(rep.used)} result files were measured elsewhere and say so where they are "
               "used." if stale else ": every result file was measured there.")
            + " Machine: 2 CPU cores shared with other jobs; the 1-minute load average during the runs was "
            + (f"{min(loads):.1f}-{max(loads):.1f}" if loads else "not recorded")
            + " (per file below), so wall-clock latencies are pessimistic where it is above 1. Accuracy goes "
            "through the public API (`Engine.parse`, `Engine.stream`) or the `hark` command with the shipped defaults "
            "unless a row says otherwise. `python benchmarks/run_all.py` (`make bench-all`, hours) re-runs every "
            "benchmark; `python benchmarks/report.py` renders this file.", ""]
    tg = ["## Targets at a glance", "", table(["area", "target", "measured", ""],
                                             [[s, w, v, mark(m)] for s, w, v, m in rep.targets])]
    tail = ["## Where and when each result was measured", "", load_table(rep)]
    return "\n\n".join(["\n".join(head), "\n".join(tg), *body, "\n".join(tail)]) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results-dir", type=Path, default=RESULTS)
    ap.add_argument("--out", type=Path, default=DOC)
    ap.add_argument("--commit", help="the report's commit (default: the one most result files were measured at)")
    ap.add_argument("--root", type=Path, default=ROOT, help="the git checkout the results' history is read from")
    args = ap.parse_args(argv)
    rep = Report(args.results_dir, args.root, args.commit)
    text = render(rep)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    stale = [f for f in rep.used if rep.stale(rep.results[f])]
    unused = sorted(set(rep.results) - set(rep.used))
    print(f"wrote {args.out}: {len(rep.used)} result files at {rep.commit[:7]}, {len(stale)} from elsewhere"
          + (f" ({', '.join(stale)})" if stale else "") + (f"; not reported: {', '.join(unused)}" if unused else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
