"""Held-out accuracy on the bundled skills, out-of-scope false accepts and parse latency, per tier.

    python benchmarks/templates.py                  # template tier only -> benchmarks/results/templates.json
    python benchmarks/templates.py --tiers all      # templates + trained model -> benchmarks/results/skills_all_tiers.json
    python benchmarks/templates.py --tiers all --model-dir build/other-model --out /tmp/other.json

Held-out sentences are the skills' ``tests:`` entries: never used to build matchers. Latency is measured in this
process on one thread, after a warm-up, for typed text and for 5-best lists (the sentence plus 4 corrupted
variants, as an ASR would produce).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

from _bench import corrupt_words, percentile, stamp  # noqa: E402
from hark import Engine, NBest, load_config  # noqa: E402
from hark.skillcheck import values_match  # noqa: E402
from training.skill_data import out_of_scope_lines  # noqa: E402

NOW = "2026-11-24T18:30:00+00:00"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tiers", choices=["templates", "all"], default="templates",
                    help="templates: the intent model disabled; all: every installed intent plugin")
    ap.add_argument("--out", help="result file (default depends on --tiers)")
    ap.add_argument("--repeats", type=int, default=5, help="latency passes over the sentences")
    ap.add_argument("--model-dir", type=Path, help="another intent model folder than config.yaml's (--tiers all)")
    args = ap.parse_args()

    disabled = ["intent"] if args.tiers == "templates" else []
    overrides = {"plugins.disabled": disabled}
    if args.model_dir:
        overrides["plugins.settings.intent.model_dir"] = str(args.model_dir.resolve())
    engine = Engine(load_config(ROOT / "config.yaml", env={}, **overrides))
    model_status = getattr(engine.pm.get_plugin("intent"), "status", "disabled") if not disabled else "disabled"
    if args.tiers == "all" and not str(model_status).startswith("loaded"):
        raise SystemExit(f"--tiers all needs a trained intent model: {model_status}")
    ctx = engine.context(now=NOW)
    tests = engine.skills.tests()
    oos = out_of_scope_lines("test")

    per_skill: dict[str, dict[str, int]] = {}
    failures = []
    intent_ok = slot_ok = slot_total = exact_ok = answered = 0
    for t in tests:
        r = engine.parse(t.text, ctx)
        # a sensitive intent answers with a confirmation question: the right reading, acted on after a yes
        chosen = r.action or (r.confirm.interpretation if r.confirm else None)
        got = (chosen.skill, chosen.intent) if chosen else None
        ok = got == (t.skill, t.intent)
        intent_ok += ok
        answered += chosen is not None
        all_slots = ok
        for name, expected in t.slots.items():
            slot_total += 1
            s = next((x for x in chosen.slots if x.name == name), None) if chosen else None
            good = ok and s is not None and values_match(expected, s.value)
            slot_ok += good
            all_slots &= good
        exact_ok += all_slots
        stats = per_skill.setdefault(t.skill, {"n": 0, "intent_correct": 0})
        stats["n"] += 1
        stats["intent_correct"] += ok
        if not all_slots:
            failures.append({"text": t.text, "expected": f"{t.skill}.{t.intent}", "expected_slots": t.slots,
                             "got": f"{got[0]}.{got[1]}" if got else None,
                             "got_slots": {s.name: s.value for s in chosen.slots} if chosen else None})
    false_accepts = [s for s in oos if not engine.parse(s, ctx).out_of_scope]

    # latency: typed text and 5-best lists
    rng = random.Random(7)
    sentences = [t.text for t in tests] + oos
    nbests = [NBest.from_scores([{"text": s, "score": 0.5}] +
                                [{"text": " ".join(corrupt_words(s.split(), rng)), "score": 0.5 / 4}
                                 for _ in range(4)]) for s in sentences]
    for s in sentences[:50]:
        engine.parse(s, ctx)
    text_ms, nbest_ms = [], []
    for _ in range(args.repeats):
        for s in sentences:
            t0 = time.perf_counter()
            engine.parse(s, ctx)
            text_ms.append((time.perf_counter() - t0) * 1000)
        for nb in nbests:
            t0 = time.perf_counter()
            engine.parse(nb, ctx)
            nbest_ms.append((time.perf_counter() - t0) * 1000)

    n = len(tests)
    result = {
        "benchmark": f"bundled skills' held-out sentences, tiers: {args.tiers}",
        "intent_model": model_status,
        "skills": len(engine.skills),
        "intents": sum(len(s.intents) for s in engine.skills),
        "heldout_sentences": n,
        "intent_accuracy": round(intent_ok / n, 4),
        "coverage": round(answered / n, 4),
        "precision_when_answering": round(intent_ok / max(answered, 1), 4),
        "slot_value_accuracy": round(slot_ok / max(slot_total, 1), 4),
        "sentence_accuracy": round(exact_ok / n, 4),
        "out_of_scope_sentences": len(oos),
        "out_of_scope_false_accepts": len(false_accepts),
        "false_accept_rate": round(len(false_accepts) / len(oos), 4),
        "latency_ms": {
            "text_p50": round(percentile(text_ms, 0.5), 3), "text_p95": round(percentile(text_ms, 0.95), 3),
            "nbest5_p50": round(percentile(nbest_ms, 0.5), 3), "nbest5_p95": round(percentile(nbest_ms, 0.95), 3),
            "samples": len(text_ms),
        },
        "per_skill_intent_accuracy": {k: round(v["intent_correct"] / v["n"], 4) for k, v in sorted(per_skill.items())},
        "false_accepts": false_accepts,
        "failures": failures,
        "machine": {"python": platform.python_version(), "cpu_count": os.cpu_count(), "platform": platform.platform()},
        "target": {"text_p50_ms": 2.0},
    }
    default = "templates.json" if args.tiers == "templates" else "skills_all_tiers.json"
    out = Path(args.out or ROOT / "benchmarks" / "results" / default)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(stamp(result), indent=2, ensure_ascii=False) + "\n")
    summary = {k: result[k] for k in ("heldout_sentences", "intent_accuracy", "coverage", "precision_when_answering",
                                      "slot_value_accuracy", "sentence_accuracy", "false_accept_rate")}
    print(json.dumps({**summary, "latency_ms": result["latency_ms"]}, indent=2))
    print(f"wrote {out}")
    engine.close()


if __name__ == "__main__":
    main()
