"""Score a benchmark artifact through the public API only: hark.Engine.parse on each test sentence.

    python benchmarks/intent_engine.py --dataset snips     # -> benchmarks/results/intent_engine_snips.json

Uses benchmarks/artifacts/<dataset>/config.yaml (the model plus the skill pack generated from the data set) and
compares the returned intent and slot spans with the gold BIO annotation: intent accuracy, exact-span slot F1
(micro, on hark tokens) and sentence accuracy. It checks that what benchmarks/intent.py measures on the raw
ONNX model is what a user of the engine gets.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _bench import stamp  # noqa: E402  (benchmarks/ is this script's folder: first on sys.path)
from hark import Engine, load_config  # noqa: E402
from hark.plugins.intent import intent_name_for_label, slot_name_for_tag  # noqa: E402
from hark.text import tokenize  # noqa: E402
from training.data import load_bio  # noqa: E402


def gold_spans(words: list[str], tags: list[str]) -> set[tuple[str, str]]:
    spans, i = set(), 0
    while i < len(tags):
        if tags[i].startswith("B-"):
            j = i + 1
            while j < len(tags) and tags[j] == "I-" + tags[i][2:]:
                j += 1
            spans.add((slot_name_for_tag(tags[i][2:]), " ".join(words[i:j])))
            i = j
        else:
            i += 1
    return spans


def score_engine(engine: Engine, examples: list) -> dict:
    """Intent accuracy, exact-span slot F1 (precision, recall) and sentence accuracy of ``engine.parse`` on
    BIO ``examples``, in %."""
    tp = fp = fn = intent_ok = sentence_ok = 0
    for ex in examples:
        best = engine.parse(" ".join(ex.words)).best
        ok = (best.intent if best else None) == intent_name_for_label(ex.intent)
        got = {(s.name, " ".join(t.text for t in tokenize(s.raw))) for s in (best.slots if best else ())}
        gold = gold_spans(ex.words, ex.tags)
        tp, fp, fn = tp + len(got & gold), fp + len(got - gold), fn + len(gold - got)
        intent_ok += ok
        sentence_ok += ok and got == gold
    n = max(len(examples), 1)
    precision, recall = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
    return {"intent_acc": round(100 * intent_ok / n, 2),
            "slot_f1": round(100 * 2 * precision * recall / max(precision + recall, 1e-9), 2),
            "slot_precision": round(100 * precision, 2), "slot_recall": round(100 * recall, 2),
            "sentence_acc": round(100 * sentence_ok / n, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", choices=["snips", "atis"], required=True)
    ap.add_argument("--out", type=Path, help="default: benchmarks/results/intent_engine_<dataset>.json")
    args = ap.parse_args()
    config = ROOT / "benchmarks" / "artifacts" / args.dataset / "config.yaml"
    engine = Engine(load_config(config, env={}))
    examples = load_bio(args.dataset, "test")
    t0 = time.perf_counter()
    scores = score_engine(engine, examples)
    seconds = time.perf_counter() - t0
    n = len(examples)
    out = {
        "benchmark": "intent model through hark.Engine.parse (public API)",
        "dataset": args.dataset, "split": "test", "n": n, "config": str(config.relative_to(ROOT)),
        **scores,
        "note": "spans compared on hark tokens; a slot the skill pack declares multiple keeps every span, any "
                "other slot its first, so a second span of such a slot counts as an error",
        "mean_parse_ms": round(1000 * seconds / n, 2),
    }
    path = args.out or ROOT / "benchmarks" / "results" / f"intent_engine_{args.dataset}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(stamp(out), indent=2) + "\n")
    print(json.dumps(out, indent=2))
    engine.close()


if __name__ == "__main__":
    main()
