"""The L2-GEN ablation: phone recognizers trained with no mispronunciations, random substitutions, hand-written
confusions and L2-GEN samples, each with its margin tuned on dev voices x L2-ARCTIC training speakers, scored by
benchmarks/tutor.py's synthetic MDD (held-out speakers and voices) -> benchmarks/results/tutor_ablation.json.

    python -m training.tutor_ablation --seeds 0,1 --utterances 4000 --epochs 8     # about 25 min per arm and seed

Every arm renders the same prompts with the same voices; only the mispronounced half differs.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from training import train_phones, tune_tutor

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--arms", default="none,random,confusable,l2gen")
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--utterances", type=int, default=4000)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--build", type=Path, default=ROOT / "build" / "tutor_ablation")
    ap.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results" / "tutor_ablation.json")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from _bench import stamp
    from tutor import synthetic_mdd

    from hark.phonetics import G2P
    from hark.plugins.tutor.assess import Assessor
    from hark.plugins.tutor.model import PhoneModel
    from hark.plugins.tutor.sphinx_gop import SphinxGop

    sphinx, runs = SphinxGop(), []
    for arm in args.arms.split(","):
        for seed in (int(s) for s in args.seeds.split(",")):
            out = args.build / f"{arm}-{seed}"
            train_phones.main(["--augment", arm, "--seed", str(seed), "--utterances", str(args.utterances),
                               "--epochs", str(args.epochs), "--out", str(out)])
            model = PhoneModel(out)
            _, margin = tune_tutor.by_margin(*tune_tutor.gaps(300, model))
            score = synthetic_mdd(Assessor(model, G2P.default(), margin=margin, sphinx=sphinx), None)
            runs.append({"arm": arm, "seed": seed, "margin": margin, **score})
            print(json.dumps(runs[-1]), flush=True)
    summary = {}
    for arm in args.arms.split(","):
        f1 = [r["f1"] for r in runs if r["arm"] == arm]
        summary[arm] = {"f1_mean": round(float(np.mean(f1)), 4), "f1_std": round(float(np.std(f1)), 4),
                        "seeds": len(f1)}
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(stamp({"settings": {k: str(v) for k, v in vars(args).items()},
                                              "runs": runs, "summary": summary}), indent=1) + "\n")
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
