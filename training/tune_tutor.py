"""Choose the tutor's ``margin`` on development data: L2-ARCTIC's annotated learners of the *training* speakers
(never the benchmark's), spoken by the *dev* voices (never the benchmark's), scored with the shipped phone model.

    python -m training.tune_tutor            # prints F1 per margin and the best one (~3 min)

A phone is flagged when another phone or silence explains its window better than it by more than ``margin``
nats. Each phone's best gap is computed once, so every margin is scored on the same assessments.
"""
from __future__ import annotations

import argparse
import json

import numpy as np

from hark.features import log_mel
from hark.phonetics import G2P
from hark.plugins.tutor.assess import Assessor
from hark.plugins.tutor.model import PhoneModel
from training import tutor_data as td


def gaps(limit: int, model: PhoneModel | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(gap, mispronounced) per canonical phone of the dev renderings."""
    assessor = Assessor(model or PhoneModel(), G2P.default(), margin=float("inf"))
    rows = [r for r in td.l2arctic("train") if "ERR" not in r[2]][:limit]
    out_gap, out_wrong = [], []
    for k, (utt, canonical, perceived) in enumerate(rows):
        voice = td.VOICES["dev"][k % len(td.VOICES["dev"])]
        audio = np.concatenate([np.zeros(4000, np.int16), td.synthesize(td.syllables(perceived), voice),
                                np.zeros(4000, np.int16)])
        words = [(f"s{i}", s) for i, s in enumerate(td.syllables(canonical))]
        scores = assessor.score_phones(log_mel(audio).log_mel, words)
        said = td.phone_edits(canonical, perceived)
        out_gap += [s.margin for s in scores]
        out_wrong += [truth != expected for truth, expected in zip(said, canonical)]
    return np.array(out_gap), np.array(out_wrong)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--limit", type=int, default=300, help="dev utterances")
    args = ap.parse_args(argv)
    gap, wrong = gaps(args.limit)
    table, best = by_margin(gap, wrong)
    print(json.dumps({"phones": int(len(gap)), "mispronounced": int(wrong.sum()), "by_margin": table,
                      "best_margin": best}, indent=1))


def by_margin(gap: np.ndarray, wrong: np.ndarray) -> tuple[dict, float]:
    """Precision, recall and F1 for each margin from -2 to 12 nats, and the margin with the best F1."""
    table = {}
    for margin in np.arange(-2.0, 12.01, 0.5):
        flagged = gap > margin
        tp = int(np.sum(flagged & wrong))
        precision, recall = tp / max(int(flagged.sum()), 1), tp / max(int(wrong.sum()), 1)
        table[round(float(margin), 2)] = {"precision": round(precision, 4), "recall": round(recall, 4),
                                          "f1": round(2 * precision * recall / max(precision + recall, 1e-9), 4)}
    return table, max(table, key=lambda m: table[m]["f1"])


if __name__ == "__main__":
    main()
