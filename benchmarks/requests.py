"""Requests, not trigger words: actions taken on things that are not requests, beside accuracy on real requests.

    python benchmarks/requests.py                       # -> benchmarks/results/requests.json
    python benchmarks/requests.py --model build/x       # another intent model directory

Three sets, all held out (never in any training, tuning or calibration set; training/skill_data.py excludes them
in code): benchmarks/data/non_requests_dev.tsv (hand-written negated commands, questions about state, statements,
reported speech and commands buried in other talk, written without looking at the generator of hard negatives),
the skills' 427 ``tests:`` paraphrases, and the 60 requests of benchmarks/data/out_of_scope.txt. Each is parsed
through ``Engine.parse`` with the shipped defaults, and again with the request gate off and with templates only,
so the share of the model and of the gate can be told apart. Targets (issue 14): 0 actions on the non-requests (test set),
>= 97 % intent accuracy on the paraphrases, <= 3 false accepts of 60.
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

from hark import Engine, load_config  # noqa: E402
from training.skill_data import non_request_rows  # noqa: E402

NOW = "2026-11-24T18:30:00+00:00"
VARIANTS = {
    "defaults": {},
    "no_request_gate": {"engine.request_gate": False},
    "templates_only": {"plugins.disabled": ["intent"]},
}


def _non_requests(engine: Engine, ctx, split: str) -> dict:
    acted, by_form, total_form = [], Counter(), Counter()
    for row in non_request_rows(split):
        r = engine.parse(row.sentence, ctx)
        total_form[row.form] += 1
        if r.action is not None or r.confirm is not None:
            by_form[row.form] += 1
            acted.append({"form": row.form, "text": row.sentence,
                          "got": f"{r.best.skill}.{r.best.intent}", "confidence": round(r.best.confidence, 3)})
    return {"n": sum(total_form.values()), "acted": len(acted),
            "acted_by_form": {f: f"{by_form[f]}/{total_form[f]}" for f in sorted(total_form)}, "acted_on": acted}


def run(overrides: dict, model: str | None) -> dict:
    if model:
        overrides = dict(overrides, **{"plugins.settings.intent.model_dir": str(Path(model).resolve())})
    with Engine(load_config(ROOT / "config.yaml", env={}, **overrides)) as engine:
        ctx = engine.context(now=NOW)
        non_requests = {split: _non_requests(engine, ctx, split) for split in ("dev", "test")}
        tests = engine.skills.tests()
        right, wrong = 0, []
        for t in tests:
            r = engine.parse(t.text, ctx)
            chosen = r.action or (r.confirm.interpretation if r.confirm else None)
            if chosen is not None and (chosen.skill, chosen.intent) == (t.skill, t.intent):
                right += 1
            else:
                wrong.append({"text": t.text, "expected": f"{t.skill}.{t.intent}",
                              "got": f"{chosen.skill}.{chosen.intent}" if chosen else None})
        oos = [l.strip() for l in (ROOT / "benchmarks" / "data" / "out_of_scope.txt").read_text().splitlines()
               if l.strip() and not l.startswith("#")]
        false_accepts = [s for s in oos if (lambda r: r.action is not None or r.confirm is not None)(
            engine.parse(s, ctx))]
    return {
        "non_requests": non_requests,
        "paraphrases": {"n": len(tests), "intent_accuracy": round(100 * right / max(1, len(tests)), 2),
                        "wrong": wrong},
        "out_of_scope": {"n": len(oos), "false_accepts": len(false_accepts), "accepted": false_accepts},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="intent model directory (default: the shipped one)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "requests.json"))
    ap.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated: " + ", ".join(VARIANTS))
    args = ap.parse_args()
    start = time.time()
    results = {}
    for name in args.variants.split(","):
        results[name] = run(VARIANTS[name], args.model)
        summary = results[name]
        nr = summary["non_requests"]
        print(f"{name:16s} non-requests acted on: dev {nr['dev']['acted']}/{nr['dev']['n']}, test "
              f"{nr['test']['acted']}/{nr['test']['n']} {nr['test']['acted_by_form']}; "
              f"paraphrases {summary['paraphrases']['intent_accuracy']}"
              f" %; out-of-scope false accepts {summary['out_of_scope']['false_accepts']}/"
              f"{summary['out_of_scope']['n']}", flush=True)
    out = {"command": "python " + " ".join(sys.argv), "model": args.model or "shipped",
           "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                       "load_average": [round(x, 2) for x in os.getloadavg()]},
           "seconds": round(time.time() - start, 1), "variants": results}
    Path(args.out).write_text(json.dumps(out, indent=1), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
