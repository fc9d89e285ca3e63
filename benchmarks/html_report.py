"""The benchmark results as one offline HTML page: plots first, then docs/benchmarks.md.

    python benchmarks/html_report.py                                  # benchmarks/results -> build/report.html
    python benchmarks/html_report.py --results DIR --out FILE
    hark report --out build/report.html                               # the same, through the `hark` command

The markdown has every number but hides the shapes (what a smaller file costs, which scenes are taken for which, how
far p95 sits from p50): the page draws them as inline SVG, each plot naming its result file. All inline, nothing
fetched, so it opens offline. A missing or malformed file, or a missing field, leaves a note; nothing is filled in.
"""
from __future__ import annotations

import argparse
import collections
import datetime
import json
import os
import re
import sys
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `hark report` loads this file by path
from _markdown import markdown_to_html  # noqa: E402
from _svg import Skip, bars_svg, heatmap_svg, scatter_svg  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS, DOC, OUT = ROOT / "benchmarks" / "results", ROOT / "docs" / "benchmarks.md", ROOT / "build" / "report.html"


@dataclass(frozen=True)
class Figure:
    title: str
    caption: str
    svg: str = ""
    note: str = ""  # shown instead of the plot, or under it when part of the data was missing


# ------------------------------------------------------------------------------------------------ SVG helpers


# ----------------------------------------------------------------------------------------------- the plots


def load_results(results_dir: Path) -> tuple[dict[str, dict], dict[str, str]]:
    """The readable result files by name, and why each unreadable one was left out."""
    data, errors = {}, {}
    for path in sorted(results_dir.glob("*.json")) if results_dir.is_dir() else []:
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(loaded, dict):
                raise ValueError(f"a JSON {type(loaded).__name__}, not an object")
        except (OSError, ValueError, RecursionError) as exc:
            errors[path.name] = f"{type(exc).__name__}: {exc}"
        else:
            data[path.name] = loaded
    return data, errors


def _need(results: Mapping[str, dict], file: str) -> dict:
    if file not in results:
        raise Skip(f"{file} is missing or unreadable")
    return results[file]


#: the bare intent models' result files, and their names in the plots
INTENT_FILES = (("intent_snips.json", "SNIPS"), ("intent_atis.json", "ATIS"),
                ("intent_snips_small.json", "SNIPS small"))


def accuracy_vs_size(results: Mapping[str, dict], metric: str, name: str) -> Figure:
    """One point per exported variant (fp32, int8, int4, ...) of each intent model: its test score against its size."""
    series, gaps, measured = {}, [], set()
    for file, label in INTENT_FILES:
        variants = results.get(file, {}).get("variants")
        if not isinstance(variants, dict):
            gaps.append(f"{file}: {'no variants' if file in results else 'missing or unreadable'}")
            continue
        for vname, v in variants.items():
            score = (v.get("test") or {}).get(metric) if isinstance(v, dict) else None
            if not isinstance(score, (int, float)) or not isinstance(v.get("bytes"), (int, float)):
                gaps.append(f"{file}: variant {vname} lacks bytes or test.{metric}")
                continue
            series.setdefault(label, []).append((v["bytes"] / 1e6, float(score), vname))
            measured |= {vname} if v.get("source") == "measured" else set()
    if not series:
        raise Skip("; ".join(gaps))
    svg = scatter_svg(series, x_label="model file size (MB, log scale)", y_label=f"{name} (%)", log_x=True)
    return Figure(f"{name} against model size", f"{name} (test split, %) of each exported variant of the intent "
                  f"models against its ONNX file size (MB, log scale). From {', '.join(f for f, _ in INTENT_FILES)}: "
                  f"variants.*.bytes and variants.*.test.{metric}. Measured by the benchmark: "
                  f"{', '.join(sorted(measured)) or 'none'}; the others' numbers are from the model's meta.json at "
                  "training time (variants.*.source). Latency was measured for the shipped int8 file only: next plot.",
                  svg, "; ".join(gaps))


def lowbit_vs_size(results: Mapping[str, dict], metric: str, name: str) -> Figure:
    """Every variant of each model in lowbit.json (fp32 down to 2 bits), scored through Engine.parse, by file size."""
    models = _need(results, "lowbit.json").get("models")
    if not isinstance(models, dict) or not models:
        raise Skip("lowbit.json has no models")
    series: dict[str, list] = {}
    for key, m in models.items():
        for vname, v in (m.get("variants") or {}).items():
            if isinstance(v, dict) and isinstance(v.get(metric), (int, float)) and isinstance(v.get("bytes"), (int, float)):
                series.setdefault(key, []).append((v["bytes"] / 1e6, float(v[metric]), vname))
    if not series:
        raise Skip(f"lowbit.json: no variant has bytes and {metric}")
    svg = scatter_svg(series, x_label="model file size (MB, log scale)", y_label=f"{name} (%)", log_x=True)
    return Figure(f"Low-bit models: {name.lower()} against size", f"{name} (test split, %, through Engine.parse) of "
                  "each variant of each model: fp32, int8, onnxruntime's 4-bit blockwise rounding, and 4/3/2-bit "
                  "weights rounded after training (ptq), trained with plain QAT, or trained squashed. From "
                  f"lowbit.json: models.*.variants.*.bytes and .{metric}.", svg)


PERCENTILE = re.compile(r"^(?:(?P<prefix>[a-z0-9_]+?)_)?p(?P<q>\d{2})(?:_ms)?$")


def latency_groups(tree: Any, path: tuple[str, ...] = (), in_ms: bool = False) -> dict[str, dict[str, float]]:
    """Every set of percentiles (p50, text_p95, p99_ms, ...; not cpu_*) under ``tree`` whose key or path says
    milliseconds, by its path: {"per file / clean / end of speech to action": {"p50": 816, "p95": 1088}}."""
    out: dict[str, dict[str, float]] = {}
    if not isinstance(tree, dict):
        return out
    found: dict[str | None, dict[str, float]] = collections.defaultdict(dict)
    for key, v in tree.items():
        m = PERCENTILE.match(str(key))
        if m and m["prefix"] != "cpu" and isinstance(v, (int, float)) and not isinstance(v, bool) \
                and (in_ms or str(key).endswith("_ms")):
            found[m["prefix"]][f"p{m['q']}"] = float(v)
    for prefix, got in found.items():
        label = " / ".join(p.removesuffix("_ms") for p in (*path, *([prefix] if prefix else [])))
        out[label.replace("_", " ") or "all"] = got
    for key, sub in tree.items():
        out.update(latency_groups(sub, (*path, str(key)), in_ms or str(key).endswith("_ms")))
    return out


def latency_figure(results: Mapping[str, dict], sources: Sequence[tuple[str, str, str]], title: str,
                   caption: str) -> Figure:
    """Bars of every percentile found under each (file, part, row label prefix); a missing file is noted."""
    groups, gaps = {}, []
    for file, part, prefix in sources:
        if file not in results:
            gaps.append(f"{file} is missing or unreadable")
            continue
        found = latency_groups(results[file].get(part) if part else results[file], (), part.endswith("_ms"))
        groups.update({(prefix + RENAME.get(k, k)).strip(", "): v for k, v in found.items()})
        gaps += [] if found else [f"{file} has no latency percentiles (no p50/p95/p99 field under a *_ms key)"]
    if not groups:
        raise Skip("; ".join(gaps))
    order = sorted({p for g in groups.values() for p in g}, key=lambda p: int(p[1:]))
    shared = {k.rpartition(" / ")[2] for k in groups}  # "... / end of speech to action" on every row: say it once
    shared_tail = shared.pop() if len(shared) == 1 and len(groups) > 1 and " / " in next(iter(groups)) else ""
    rows = [k.removesuffix(" / " + shared_tail) if shared_tail else k for k in groups]
    svg = bars_svg(rows, {p: [g.get(p) for g in groups.values()] for p in order},
                   value_label=f"{shared_tail or 'latency'} (ms)")
    return Figure(title, caption, svg, "; ".join(gaps))


RENAME = {"batch1": "1-best", "nbest5": "5-best", "text": "typed text"}
#: (result file, the part of it to look in, what its numbers time)
LATENCY_SOURCES = (
    ("templates.json", "latency_ms", "Engine.parse with the template tier only: typed text and a 5-best list"),
    ("skills_all_tiers.json", "latency_ms", "Engine.parse with both tiers (templates, then the intent model)"),
    ("spoken_commands.json", "results", "end of speech to action for real recordings (Engine.open_stream)"),
    ("spoken_commands_esc50.json", "results", "the same recordings with ESC-50 noise at 12 dB"),
    ("audio.json", "results", "synthetic speech through Engine.open_stream, clean and noisy"),
    ("entity_slurp.json", "latency_ms", "resolving one heard span against a catalog"),
    ("g2p.json", "variants", "the grapheme-to-phoneme model, one word"),
    ("requests.json", "", "the requests benchmark"),
    ("tutor.json", "", "the pronunciation tutor"),
    ("load.json", "phases", "requests and audio streams to hark serve under load, clients on the same machine"),
)


def scene_confusion(results: Mapping[str, dict]) -> Figure:
    conf = _need(results, "scene.json").get("scenes", {}).get("confusion")
    if not isinstance(conf, dict) or not {"rows", "columns", "counts"} <= set(conf):
        raise Skip("scene.json has no scenes.confusion {rows, columns, counts}")
    svg = heatmap_svg(conf["rows"], conf["columns"], conf["counts"], row_label="true scene",
                      column_label="predicted scene", value_label="recordings (count)")
    return Figure("Scene confusion matrix", f"Counts of the {sum(map(sum, conf['counts']))} held-out 10 s recordings, "
                  "true scene (rows) against the scene the shipped model predicted (columns). From "
                  "benchmarks/results/scene.json, scenes.confusion.", svg)


TIER_FILES = (("templates.json", "templates only"), ("skills_all_tiers.json", "both tiers"))


def per_skill_accuracy(results: Mapping[str, dict]) -> Figure:
    found = {tier: acc for file, tier in TIER_FILES
             if isinstance(acc := results.get(file, {}).get("per_skill_intent_accuracy"), dict)}
    if not found:
        raise Skip("neither templates.json nor skills_all_tiers.json has per_skill_intent_accuracy")
    skills = sorted({s for acc in found.values() for s in acc})
    values = [[None if acc.get(s) is None else 100.0 * acc[s] for s in skills] for acc in found.values()]
    svg = heatmap_svg(list(found), skills, values, row_label="tier", column_label="skill",
                      value_label="intent accuracy (%)", vmin=50.0, vmax=100.0,
                      fmt=lambda v: f"{v:.0f}", cell=52)
    return Figure("Intent accuracy per skill", "Not a confusion matrix (neither file records what was predicted for "
                  "the sentences that were right): intent accuracy (%) on each bundled skill's held-out sentences, "
                  "shaded from 50 to 100 %. From benchmarks/results/templates.json and skills_all_tiers.json, "
                  "per_skill_intent_accuracy.", svg)


def failure_matrix(results: Mapping[str, dict], file: str, tier: str) -> Figure:
    failures = _need(results, file).get("failures")
    if not isinstance(failures, list) or not all(isinstance(f, dict) and "expected" in f for f in failures):
        raise Skip(f"{file} has no failures list with expected intents")
    skill = lambda intent: str(intent).split(".")[0] if intent else "(no answer)"  # noqa: E731
    counts = collections.Counter((skill(f["expected"]), skill(f.get("got"))) for f in failures)
    rows, answered = sorted({r for r, _ in counts}), {c for _, c in counts}
    columns = sorted(answered - {"(no answer)"}) + ["(no answer)"] * ("(no answer)" in answered)
    svg = heatmap_svg(rows, columns, [[counts.get((r, c)) for c in columns] for r in rows],
                      row_label="expected skill", column_label="skill of the answer",
                      value_label="failed sentences (count)")
    return Figure(f"Where the failures went ({tier})", f"Only the {len(failures)} failed held-out sentences (the "
                  f"failures list of benchmarks/results/{file}), by expected skill and the skill of the intent the "
                  "engine answered; a diagonal cell is a wrong intent or slot inside the right skill. The right "
                  "sentences are not listed in the file, so this is not a full confusion matrix. – = none.", svg)


def scene_class_ap(results: Mapping[str, dict]) -> Figure:
    ap = _need(results, "scene.json").get("tagging", {}).get("per_class_ap")
    if not isinstance(ap, dict) or not ap:
        raise Skip("scene.json has no tagging.per_class_ap")
    ranked = sorted(ap.items(), key=lambda kv: -kv[1])
    svg = bars_svg([k for k, _ in ranked], {"AP": [v for _, v in ranked]}, value_label="average precision (0-1)",
                   bar=11)
    return Figure("Sound events: average precision per class", "The shipped scene model's AP per ESC-50 class on "
                  "held-out clips, best first. From benchmarks/results/scene.json, tagging.per_class_ap.", svg)


def no_per_class(results: Mapping[str, dict]) -> Figure:
    """Say which files one might look in for a confusion matrix hold none, rather than leave the reader guessing."""
    per_class = re.compile(r"confusion|per_class|per_skill|per_label|per_scene")
    lacking = [f for f in ("spoken_commands.json", "spoken_commands_esc50.json", "tutor.json", "requests.json")
               if f in results and not per_class.search(json.dumps(results[f]))]
    raise Skip(f"No confusion or per-class field in {', '.join(lacking)}: aggregate scores only." if lacking else "")


def _safely(title: str, make: Callable[[], Figure]) -> Figure | None:
    """The figure, or a note saying why it could not be drawn: one odd file must not cost the page."""
    try:
        return make()
    except Skip as exc:
        return Figure(title, "", note=str(exc)) if str(exc) else None
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, ZeroDivisionError) as exc:
        return Figure(title, "", note=f"could not be drawn: {type(exc).__name__}: {exc}")


def sections(results: Mapping[str, dict]) -> list[tuple[str, list[Figure | None]]]:
    intent_caption = ("Wall-clock time of one call to the bare int8 intent model (tokenising, ONNX, constrained "
                      "Viterbi; one onnxruntime thread): 1-best = one sentence (latency_ms.batch1), 5-best = one "
                      "batched call of 5 hypotheses (latency_ms.nbest5). From "
                      f"{', '.join(f for f, _ in INTENT_FILES)}; the machine was shared (load_average_1min). "
                      "Targets: 5 ms p50 / 15 ms p95 for a 5-best list.")
    return [
        ("Accuracy, model size and latency", [
            _safely("Slot F1 against model size", lambda: accuracy_vs_size(results, "slot_f1", "Slot F1")),
            _safely("Intent accuracy against model size",
                    lambda: accuracy_vs_size(results, "intent_acc", "Intent accuracy")),
            _safely("Low-bit: intent accuracy against size",
                    lambda: lowbit_vs_size(results, "intent_acc", "Intent accuracy")),
            _safely("Low-bit: slot F1 against size", lambda: lowbit_vs_size(results, "slot_f1", "Slot F1")),
            _safely("Intent model latency", lambda: latency_figure(
                results, [(f, "latency_ms", f"{label}, ") for f, label in INTENT_FILES],
                "Intent model latency: 1-best against 5-best", intent_caption))]),
        ("Confusions and per-class results", [
            _safely("Scene confusion matrix", lambda: scene_confusion(results)),
            _safely("Intent accuracy per skill", lambda: per_skill_accuracy(results)),
            *(_safely(f"Failures: {f}", lambda f=f, t=t: failure_matrix(results, f, t)) for f, t in TIER_FILES),
            _safely("Sound events: AP per class", lambda: scene_class_ap(results)),
            _safely("Files without per-class data", lambda: no_per_class(results))]),
        ("Latency distributions", [_safely(f"Latency: {f}", lambda f=f, p=p, w=w: latency_figure(
            results, [(f, p, "")], f"Latency: {f}", f"{w[0].upper()}{w[1:]}. From benchmarks/results/{f}, "
            f"{p or 'the whole file'}: one row per field path, one bar per percentile; wall-clock on a shared 2-core "
            "machine.")) for f, p, w in LATENCY_SOURCES])]


def provenance_lines(results: Mapping[str, dict], errors: Mapping[str, str]) -> list[str]:
    """One line per commit the results were measured at (how many files, when), then the files without one."""
    dates: dict[str, list[str]] = collections.defaultdict(list)
    for name, d in results.items():
        prov = d.get("provenance") if isinstance(d.get("provenance"), dict) else {}
        dates[str(prov.get("commit") or "")].append(name if not prov.get("commit") else
                                                    str(prov.get("started_utc") or "")[:16].replace("T", " "))
    undated = sorted(dates.pop("", []))
    lines = []
    for commit, when in sorted(dates.items(), key=lambda cw: -len(cw[1])):
        known = sorted(w for w in when if w)
        span = "date not recorded" if not known else " to ".join(dict.fromkeys([known[0], known[-1]])) + " UTC"
        lines.append(f"commit <code>{escape(commit[:10])}</code>: {len(when)} file{'s' * (len(when) > 1)}, {span}")
    lines += [f"no provenance (commit unknown): {escape(', '.join(undated))}"] if undated else []
    lines += [f"<strong>skipped</strong> {escape(name)}: {escape(why)}" for name, why in sorted(errors.items())]
    return lines or ["no result files found"]


# ---------------------------------------------------------------------------------------------------- the page

CSS = ('body{font:15px/1.5 system-ui,sans-serif;color:#222;margin:0;background:#f4f5f7}'
       'main{max-width:1240px;margin:0 auto;padding:24px 32px;background:white}.meta{color:#555;font-size:14px}'
       'h1{margin:0 0 4px}h2{border-bottom:2px solid #dde;padding-bottom:4px;margin-top:40px}'
       '.plots{display:flex;flex-wrap:wrap;gap:20px;align-items:flex-start}svg.plot{display:block;max-width:100%;height:auto}'
       'figure{margin:0;padding:12px;border:1px solid #ddd;border-radius:6px;max-width:100%;box-sizing:border-box}'
       'figure h3{margin:0 0 6px;font-size:15px}figcaption,.note{font-size:12.5px;color:#555;max-width:560px;margin-top:6px}'
       '.note{background:#fff7e0;color:#333;border-left:4px solid #e0a800;padding:6px 10px}.table{overflow-x:auto}'
       'table{border-collapse:collapse;font-size:13px;margin:10px 0}th{background:#eef0f5}pre{background:#f0f1f4;padding:10px}'
       'th,td{border:1px solid #ccd;padding:3px 7px;text-align:left;vertical-align:top}blockquote{border-left:4px solid #ccd}'
       'code{background:#f0f1f4;padding:0 3px;border-radius:3px;font-size:12.5px}blockquote{margin:8px 0;padding:0 12px}')


def _figure_html(fig: Figure) -> str:
    return (f"<figure><h3>{escape(fig.title)}</h3>{fig.svg}" + (f"<figcaption>{escape(fig.caption)}</figcaption>"
            if fig.caption else "") + (f'<div class="note">{escape(fig.note)}</div>' if fig.note else "") + "</figure>")


def build_html(results_dir: Path, markdown: str | None, *, link_base: str = "") -> str:
    """The whole page; ``markdown`` is docs/benchmarks.md (None: a note instead), ``link_base`` is put before its
    relative links so they lead to docs/ from where the page is written."""
    results, errors = load_results(results_dir)
    built = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>hark benchmarks</title><style>{CSS}</style></head><body><main>", "<h1>hark benchmarks</h1>",
             f'<p class="meta">{len(results)} result files from <code>{escape(str(results_dir))}</code>, page built '
             f"{built}. Measured at:</p>",
             '<ul class="meta">' + "".join(f"<li>{line}</li>" for line in provenance_lines(results, errors)) + "</ul>"]
    for title, figures in sections(results):
        parts += [f"<h2>{escape(title)}</h2>", '<div class="plots">', *(_figure_html(f) for f in figures if f),
                  "</div>"]
    parts += ['<p class="meta" id="report">Below: docs/benchmarks.md, rendered.</p>',
              markdown_to_html(markdown, link_base) if markdown is not None else
              '<div class="note">docs/benchmarks.md not found: run <code>python benchmarks/report.py</code></div>',
              "</main></body></html>"]
    return "\n".join(parts) + "\n"


def write_report(results_dir: Path, out: Path, doc: Path = DOC) -> Path:
    """Write the page to ``out`` with the markdown of ``doc`` if it exists; the path written."""
    markdown = doc.read_text(encoding="utf-8") if doc.is_file() else None
    out = out.resolve()
    link_base = Path(os.path.relpath(doc.resolve().parent, out.parent)).as_posix() + "/"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(build_html(results_dir, markdown, link_base=link_base), encoding="utf-8")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", type=Path, default=RESULTS, help="folder of result files (default: %(default)s)")
    ap.add_argument("--out", type=Path, default=OUT, help="HTML file to write (default: %(default)s)")
    args = ap.parse_args(argv)
    print(write_report(args.results, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
