"""Fit (or refit) the optional tag-bigram prior of a built model directory without retraining.

    python -m training.fit_prior --dataset snips --build build/snips [--ship benchmarks/artifacts/snips/model]

train_joint already does this at the end of training; this tool does the same from the fp32 ONNX of a finished
build (for builds made before the prior existed). The weight is chosen on the valid split; the test scores with
the prior (fp32 and int8) are added to meta.json next to the plain constrained-decoding scores.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from .data import load_bio
from .metrics import BioDecoder, choose_prior_weight, decode_logits, evaluate, transition_prior
from .onnx_eval import OnnxJoint


def _logits(m: OnnxJoint, examples, bs: int = 32):
    out = []
    for s in range(0, len(examples), bs):
        il, sl, firsts = m.logits([e.words for e in examples[s:s + bs]])
        for k, first in enumerate(firsts):
            keep = [j for j in first if j >= 0]
            out.append((il[k], sl[k, keep], len(first) - len(keep)))
    return out


def fit(dataset: str, build: Path, ship: Path | None = None) -> dict:
    meta = json.loads((build / "meta.json").read_text(encoding="utf-8"))
    tags, intents = meta["tags"], meta["intents"]
    prior = transition_prior(tags, [e.tags for e in load_bio(dataset, "train")])
    valid, test = load_bio(dataset, "valid"), load_bio(dataset, "test")
    fp32 = OnnxJoint(build, "model.fp32.onnx", threads=2)
    vl = _logits(fp32, valid)
    prior, tried = choose_prior_weight(prior, tags, intents, valid, vl)
    meta["slot_transition_prior"] = prior
    mt = meta["metrics"]
    mt.setdefault("torch_fp32", {})["transition_prior_weight_search_valid"] = {str(k): round(v, 2)
                                                                              for k, v in tried.items()}
    for name, fn in (("fp32", "model.fp32.onnx"), ("int8", "model.onnx"), ("int4", "model.int4.onnx")):
        if prior["weight"] and f"onnx_{name}" in mt and (build / fn).exists():
            tl = _logits(fp32 if name == "fp32" else OnnxJoint(build, fn, threads=2), test)
            mt[f"onnx_{name}"]["test"]["with_transition_prior"] = evaluate(
                test, *decode_logits(tl, intents, BioDecoder(tags, prior)))
    for d in [build] + ([ship] if ship else []):
        p = d / "meta.json"
        if p.exists():
            dm = json.loads(p.read_text(encoding="utf-8"))
            dm["slot_transition_prior"] = prior
            dm["metrics"] = mt
            p.write_text(json.dumps(dm, indent=1), encoding="utf-8")
    return {"weight": prior["weight"], "valid_search": tried,
            "int8_test_with_prior": mt.get("onnx_int8", {}).get("test", {}).get("with_transition_prior")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", required=True, choices=["snips", "atis"])
    ap.add_argument("--build", type=Path, required=True)
    ap.add_argument("--ship", type=Path)
    args = ap.parse_args()
    print(json.dumps(fit(args.dataset, args.build, args.ship), indent=1))


if __name__ == "__main__":
    main()
