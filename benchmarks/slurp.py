"""SLURP with real ASR errors, through the public API (issue 4, item 7).

    python benchmarks/slurp.py          # -> benchmarks/results/intent_slurp.json

Evaluates benchmarks/artifacts/slurp (model trained on HWU64 train + SLURP devel) on the 6,351 pairs of
slurp/test_dev_asr_1best_pairs.tsv: intent accuracy and entity F1 on the ASR 1-best hypotheses and on their gold
references, side by side with the HerMiT baseline predictions shipped for the same recordings. Entity F1 is exact
match on (entity type, normalised words) pairs, micro-averaged (stricter than SLURP's SLU-F1, which gives partial
credit for near-miss words); HerMiT is scored the same way. The same numbers are reported again without the pairs
whose sentence also occurs in HWU64 train (they share a source; our training data already excludes them).
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _bench import stamp  # noqa: E402  (benchmarks/ is this script's folder: first on sys.path)
from hark import Engine, load_config  # noqa: E402
from hark.config import data_dir  # noqa: E402
from training.slurp_data import normalise, parse_annotation  # noqa: E402


def entity_pairs(example) -> Counter:
    out, i = Counter(), 0
    while i < len(example.tags):
        if example.tags[i].startswith("B-"):
            j = i + 1
            while j < len(example.tags) and example.tags[j] == "I-" + example.tags[i][2:]:
                j += 1
            out[(example.tags[i][2:], " ".join(example.words[i:j]))] += 1
            i = j
        else:
            i += 1
    return out


def f1(tp: int, fp: int, fn: int) -> float:
    p, r = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
    return round(100 * 2 * p * r / max(p + r, 1e-9), 2)


class Scorer:
    def __init__(self) -> None:
        self.n = self.ok = self.tp = self.fp = self.fn = 0

    def add(self, gold_intent: str, intent: str | None, gold: Counter, got: Counter) -> None:
        self.n += 1
        self.ok += intent == gold_intent
        self.tp += sum((gold & got).values())
        self.fp += sum((got - gold).values())
        self.fn += sum((gold - got).values())

    def result(self) -> dict:
        return {"n": self.n, "intent_acc": round(100 * self.ok / max(self.n, 1), 2),
                "entity_f1": f1(self.tp, self.fp, self.fn)}


def load_pairs() -> tuple[list[dict], dict[int, dict], dict[str, dict], set[str]]:
    """The ASR pairs, the gold test_dev rows by slurp_id, HerMiT's predictions by recording, and the normalised
    HWU64 train sentences."""
    data = data_dir() / "slurp"
    gold_rows = {}
    with (data / "test_dev.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            gold_rows[row["slurp_id"]] = row
    hermit = {}
    with (data / "test_dev_hermit_predictions.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            hermit[row["file"]] = row
    with (data / "test_dev_asr_1best_pairs.tsv").open(encoding="utf-8") as fh:
        pairs = list(csv.DictReader(fh, delimiter="\t"))
    hwu = set()
    with (data_dir() / "nlu_evaluation_data_hwu64" / "train.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh, delimiter=";"):
            hwu.add(normalise(row["answer_from_anno"] or row["answer_from_user"] or ""))
    return pairs, gold_rows, hermit, hwu


def score_slurp(engine: Engine, loaded: tuple | None = None) -> tuple[dict[str, dict], int]:
    """Intent accuracy and entity F1 of ``engine.parse`` on the ASR 1-best hypotheses and on their references,
    and HerMiT's on the same recordings, each with and without the HWU64-shared sentences; and how many distinct
    texts were parsed. ``loaded``: what :func:`load_pairs` returned, when the caller has it already."""
    pairs, gold_rows, hermit, hwu = loaded or load_pairs()
    cache: dict[str, tuple[str | None, Counter]] = {}

    def ours(text: str) -> tuple[str | None, Counter]:
        key = normalise(text)
        if key not in cache:
            best = engine.parse(text).best if key else None
            cache[key] = (best.intent if best else None,
                          Counter((s.name, normalise(s.raw)) for s in (best.slots if best else ())))
        return cache[key]

    scores = {f"{system}{suffix}": Scorer() for system in ("hark_asr", "hark_reference", "hermit_asr")
              for suffix in ("", "_without_hwu64_overlap")}
    for pair in pairs:
        gold_row = gold_rows[int(pair["slurp_id"])]
        gold = entity_pairs(parse_annotation(gold_row["sentence_annotation"], gold_row["intent"]))
        gold_intent = gold_row["intent"]
        h = hermit[pair["recording_file"]]
        hermit_entities = Counter((e["type"], normalise(e["filler"])) for e in h.get("entities", []))
        results = {"hark_asr": ours(pair["asr_hypothesis"]), "hark_reference": ours(pair["reference"]),
                   "hermit_asr": (f"{h['scenario']}_{h['action']}", hermit_entities)}
        overlap = normalise(gold_row["sentence"]) in hwu
        for system, (intent, entities) in results.items():
            scores[system].add(gold_intent, intent, gold, entities)
            if not overlap:
                scores[f"{system}_without_hwu64_overlap"].add(gold_intent, intent, gold, entities)
    return {k: v.result() for k, v in scores.items()}, len(cache)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "intent_slurp.json")
    args = ap.parse_args()
    engine = Engine(load_config(ROOT / "benchmarks" / "artifacts" / "slurp" / "config.yaml", env={}))
    t0 = time.perf_counter()
    results, unique = score_slurp(engine)
    out = {
        "benchmark": "SLURP test_dev (dev half of the SLURP test set), real ASR 1-best vs gold references, "
                     "through hark.Engine.parse; HerMiT predictions on the same recordings",
        "pairs": results["hark_asr"]["n"], "entity_f1_definition": "exact (type, normalised words) match, micro",
        "results": results,
        "hermit_reference_number": "77.3% intent accuracy on the 6,351 pairs (issue text)",
        "model": str(ROOT / "benchmarks" / "artifacts" / "slurp" / "model"),
        "seconds": round(time.perf_counter() - t0, 1), "unique_texts_parsed": unique,
    }
    path = args.out
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(stamp(out), indent=2) + "\n")
    print(json.dumps(out["results"], indent=2))
    engine.close()


if __name__ == "__main__":
    main()
