"""Requests, not trigger words: actions taken on things that are not requests, beside accuracy on real requests.

    python benchmarks/requests.py                       # -> benchmarks/results/requests.json
    python benchmarks/requests.py --model build/x       # another intent model directory

Two splits of three sets, none ever trained on (training/skill_data.heldout_sentences removes them in code):
- dev, to tune the gate and the training recipe on: benchmarks/data/non_requests_dev.tsv (285 hand-written negated
  commands, questions about state, statements, reported speech, buried commands), paraphrases_dev.tsv and
  out_of_scope_dev.txt;
- test, measured only: benchmarks/data/non_requests_test.tsv (262, written by a second author who saw neither the
  rules nor the generator), the skills' 427 ``tests:`` paraphrases and out_of_scope.txt (60).
Each is parsed through ``Engine.parse`` with the shipped defaults, and again with the request gate off and with
templates only, so the shares of the model and of the gate can be told apart. Targets (issue 14), on test: 0
actions on the non-requests, >= 97 % intent accuracy on the paraphrases, <= 3 false accepts of 60.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _bench import stamp  # noqa: E402  (benchmarks/ is this script's folder: first on sys.path)
from hark import Engine, load_config  # noqa: E402
from hark.types import Hypothesis, NBest  # noqa: E402
from training.skill_data import non_request_rows, out_of_scope_lines, paraphrase_rows  # noqa: E402

NOW = "2026-11-24T18:30:00+00:00"
VARIANTS = {
    "defaults": {},
    "no_request_gate": {"engine.request_gate": False},
    "templates_only": {"plugins.disabled": ["intent"]},
}


#: --heard: every sentence reaches Engine.parse as a recogniser's 1-best (source "heard"), not as typed text, so
#: what applies only to heard input (the template tier's misheard-word pass) is measured too
HEARD = {"on": False}


def _parse(engine: Engine, text: str, ctx):
    if HEARD["on"]:
        return engine.parse(NBest((Hypothesis(text, 1.0),), source="heard"), ctx)
    return engine.parse(text, ctx)


def _non_requests(engine: Engine, ctx, split: str) -> dict:
    acted, by_form, total_form = [], Counter(), Counter()
    for row in non_request_rows(split):
        r = _parse(engine, row.sentence, ctx)
        total_form[row.form] += 1
        if not r.out_of_scope:
            by_form[row.form] += 1
            acted.append({"form": row.form, "text": row.sentence,
                          "got": f"{r.best.skill}.{r.best.intent}", "confidence": round(r.best.confidence, 3)})
    return {"n": sum(total_form.values()), "acted": len(acted),
            "acted_by_form": {f: f"{by_form[f]}/{total_form[f]}" for f in sorted(total_form)}, "acted_on": acted}


def _paraphrases(engine: Engine, ctx, split: str) -> dict:
    """Intent accuracy: a confirmation question for the right intent counts (it acts after the yes)."""
    rows = [(t.skill, t.intent, t.text) for t in engine.skills.tests()] if split == "test" else \
        [(r.skill, r.intent, r.sentence) for r in paraphrase_rows()]
    right, wrong = 0, []
    for skill, intent, text in rows:
        r = _parse(engine, text, ctx)
        chosen = r.action or (r.confirm.interpretation if r.confirm else None)
        if chosen is not None and (chosen.skill, chosen.intent) == (skill, intent):
            right += 1
        else:
            wrong.append({"text": text, "expected": f"{skill}.{intent}",
                          "got": f"{chosen.skill}.{chosen.intent}" if chosen else None})
    return {"n": len(rows), "intent_accuracy": round(100 * right / max(1, len(rows)), 2), "wrong": wrong}


def run(overrides: dict, model: str | None, splits: list[str]) -> dict:
    if model:
        overrides = dict(overrides, **{"plugins.settings.intent.model_dir": str(Path(model).resolve())})
    out = {}
    with Engine(load_config(ROOT / "config.yaml", env={}, **overrides)) as engine:
        ctx = engine.context(now=NOW)
        for split in splits:
            oos = out_of_scope_lines(split)
            accepted = [s for s in oos if not _parse(engine, s, ctx).out_of_scope]
            out[split] = {"non_requests": _non_requests(engine, ctx, split),
                          "paraphrases": _paraphrases(engine, ctx, split),
                          "out_of_scope": {"n": len(oos), "false_accepts": len(accepted), "accepted": accepted}}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="intent model directory (default: the shipped one)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "requests.json"))
    ap.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated: " + ", ".join(VARIANTS))
    ap.add_argument("--heard", action="store_true",
                    help="give each sentence as a recogniser's 1-best instead of typed text")
    ap.add_argument("--splits", default="dev,test",
                    help="dev: the sets to tune on; test: the held-out benchmark (measure, never tune)")
    args = ap.parse_args()
    HEARD["on"] = args.heard
    start = time.time()
    results = {}
    splits = args.splits.split(",")
    for name in args.variants.split(","):
        results[name] = run(VARIANTS[name], args.model, splits)
        for split, summary in results[name].items():
            nr = summary["non_requests"]
            print(f"{name:16s} {split:4s} non-requests acted on {nr['acted']}/{nr['n']} {nr['acted_by_form']}; "
                  f"paraphrases {summary['paraphrases']['intent_accuracy']} % of {summary['paraphrases']['n']}; "
                  f"out-of-scope false accepts {summary['out_of_scope']['false_accepts']}/"
                  f"{summary['out_of_scope']['n']}", flush=True)
    out = {"command": "python " + " ".join(sys.argv), "model": args.model or "shipped", "heard": args.heard,
           "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                       "load_average": [round(x, 2) for x in os.getloadavg()]},
           "seconds": round(time.time() - start, 1), "variants": results}
    stamp(out)
    Path(args.out).write_text(json.dumps(out, indent=1), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
