"""Low-bit intent models through the public API -> benchmarks/results/lowbit.json.

    python benchmarks/lowbit.py --dataset snips --build build/snips4 --build build/snips6
    python benchmarks/lowbit.py --dataset snips --folder benchmarks/artifacts/snips/model_ensemble
    python benchmarks/lowbit.py --dataset slurp --build build/slurp4 --only squash4_s1,squash2_s1   # add seeds

For every model file a build directory holds (``model.fp32.onnx``; ``model.onnx``, int8 dynamic;
``model.int4.onnx``, onnxruntime's 4-bit blockwise rounding; ``model.float.onnx``, fp32 fine-tuned like the QAT
runs, the control; ``model.<ptq|plain|squash><bits>.onnx`` from
training.train_lowbit; ``..._s<seed>.onnx`` for
other seeds), this ships the build as a model folder with that file as its ``model.onnx`` (sha256 in
meta.json updated, so the runtime's checksum check runs) and scores it in a fresh process through
``hark.Engine.parse`` with benchmarks/artifacts/<dataset>/config.yaml's skills: intent accuracy, exact-span slot
F1 and sentence accuracy on the test split (as benchmarks/intent_engine.py), the file size, the process's VmRSS
after loading and parsing, and the latency of 5-best lists (the sentence + 4 corrupted variants) on one thread.
For ``--dataset slurp`` the accuracy is the issue's measure: the real recognizer's 1-best on the SLURP test_dev
recordings whose sentence is not in HWU64 train (intent accuracy, entity F1 as ``slot_f1``), with all rows,
references and HerMiT on the same recordings under ``slurp`` (benchmarks/slurp.py).
``--folder`` scores a model folder as it is shipped (an ensemble of two low-bit files from training/ensemble.py, say)
the same way; its size is the whole folder on disk.
Test sentences are read only here, never by training or by the choice of an epoch (valid split).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

from _bench import corrupt_words, percentile, provenance, stamp  # noqa: E402
from hark.onnx import folder_bytes  # noqa: E402

FILES = ("model.fp32.onnx", "model.float.onnx", "model.onnx", "model.int4.onnx") + tuple(
    f"model.{mode}{bits}.onnx" for mode in ("ptq", "plain", "squash") for bits in (4, 3, 2))
NAMES = {"model.fp32.onnx": "fp32", "model.onnx": "int8", "model.int4.onnx": "int4_blockwise_ptq"}


RUN = ("commit", "dirty", "command", "ended_utc", "load_average_start", "load_average_end")


def measured(*keys: str) -> dict:
    """These fields of one ``provenance()`` reading (it asks git, so once per use)."""
    prov = provenance()
    return {k: prov[k] for k in keys}


def variant_name(fn: str) -> str:
    return NAMES.get(fn, fn[len("model."):-len(".onnx")])


def arms(rows: dict[str, dict]) -> dict[str, dict]:
    """Each training arm over its seeds (``squash3`` and ``squash3_s1``, ...): mean and sample standard deviation
    of its scores and relative loss, and the seeds' count."""
    groups: dict[str, list[dict]] = {}
    for name, row in rows.items():
        m = re.fullmatch(r"(.+)_s\d+", name)
        groups.setdefault(m.group(1) if m else name, []).append(row)
    out = {}
    for name, group in groups.items():
        out[name] = {"seeds": len(group)}
        for key in ("intent_acc", "slot_f1", "sentence_acc", "intent_rel_loss_pct"):
            xs = [r[key] for r in group if isinstance(r.get(key), (int, float))]
            if xs:
                mean = sum(xs) / len(xs)
                std = (sum((x - mean) ** 2 for x in xs) / (len(xs) - 1)) ** 0.5 if len(xs) > 1 else 0.0
                out[name][key] = {"mean": round(mean, 2), "std": round(std, 2)}
    return out


def ship_variant(build: Path, fn: str, dest: Path) -> None:
    """A model folder like the shipped one, whose model.onnx is ``fn``."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(build / fn, dest / "model.onnx")
    shutil.copyfile(build / "tokenizer.model", dest / "tokenizer.model")
    meta = json.loads((build / "meta.json").read_text(encoding="utf-8"))
    meta["files"] = {}
    meta["sha256"] = {name: hashlib.sha256((dest / name).read_bytes()).hexdigest()
                      for name in ("model.onnx", "tokenizer.model")}
    (dest / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")


def accuracy(engine, dataset: str) -> tuple[dict, list[list[str]]]:
    """The variant's scores and the test sentences (as word lists) for the latency lists.

    SNIPS and ATIS: intent accuracy, slot F1 and sentence accuracy on the test split. SLURP: the issue's
    measure, the real recognizer's 1-best on the test_dev recordings whose sentence is not in HWU64 train
    (``intent_acc`` and entity F1 as ``slot_f1``), with every other SLURP view (all rows, references,
    HerMiT) under ``slurp``."""
    if dataset == "slurp":
        from slurp import load_pairs, score_slurp
        loaded = load_pairs()
        results, _ = score_slurp(engine, loaded)
        main = results["hark_asr_without_hwu64_overlap"]
        sentences = [pair["reference"].split() for pair in loaded[0]]
        return {"intent_acc": main["intent_acc"], "slot_f1": main["entity_f1"], "sentence_acc": None,
                "slurp": results}, sentences
    from intent_engine import score_engine
    from training.data import load_bio
    examples = load_bio(dataset, "test")
    return score_engine(engine, examples), [list(ex.words) for ex in examples]


def score_one(model_dir: Path, dataset: str, latency_n: int) -> dict:
    """In this process: accuracy through Engine.parse, then 5-best latency, then VmRSS."""
    os.environ["OMP_NUM_THREADS"] = "1"
    from hark import Engine, load_config

    config = ROOT / "benchmarks" / "artifacts" / dataset / "config.yaml"
    engine = Engine(load_config(config, env={}, **{"plugins.settings.intent.model_dir": str(model_dir.resolve())}))
    status = engine.pm.get_plugin("intent").status
    if not status.startswith("loaded"):
        raise SystemExit(f"{model_dir}: the intent plugin did not load it ({status})")
    scores, sentences = accuracy(engine, dataset)
    rng = random.Random(0)
    sample = rng.sample(sentences, min(latency_n, len(sentences)))
    lists = [{"nbest": [{"text": " ".join(words), "score": 0.6}] + [
        {"text": " ".join(corrupt_words(list(words), rng)), "score": p} for p in (0.2, 0.1, 0.06, 0.04)]}
        for words in sample]
    for item in lists[:10]:  # warm-up
        engine.parse(item)
    ms = []
    for item in lists:
        t0 = time.perf_counter()
        engine.parse(item)
        ms.append(1000 * (time.perf_counter() - t0))
    rss = next(int(line.split()[1]) for line in Path("/proc/self/status").read_text().splitlines()
               if line.startswith("VmRSS:"))
    engine.close()
    return {"n": len(sentences), **{k: scores[k] for k in ("intent_acc", "slot_f1", "sentence_acc", "slurp")
                                    if k in scores},
            "nbest5_ms": {"n": len(ms), "p50": round(percentile(ms, 0.5), 2), "p95": round(percentile(ms, 0.95), 2)},
            "rss_mb": round(rss / 1024, 1)}


def score_folder(folder: Path, args, what: str = "") -> dict:
    """``score_one`` in a fresh process (one model's memory and threads only)."""
    proc = subprocess.run([sys.executable, __file__, "--dataset", args.dataset, "--latency-n", str(args.latency_n),
                           "--one", str(folder)], capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        raise SystemExit(f"{what or folder}: scoring failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", choices=["snips", "atis", "slurp"], required=True)
    ap.add_argument("--build", type=Path, action="append", default=[],
                    help="a training.train_joint output directory (repeat for several models)")
    ap.add_argument("--folder", type=Path, action="append", default=[],
                    help="a model folder as shipped (e.g. an ensemble from training.ensemble), scored as it is")
    ap.add_argument("--latency-n", type=int, default=200, help="5-best lists timed per variant")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "lowbit.json")
    ap.add_argument("--only", default="", metavar="NAMES",
                    help="score only these variants of each --build (comma-separated, e.g. squash4_s1,squash2_s1) "
                         "and add them to the build's rows already in --out")
    ap.add_argument("--one", type=Path, help=argparse.SUPPRESS)  # internal: score one model folder, print JSON
    args = ap.parse_args()
    if args.one:
        print(json.dumps(score_one(args.one, args.dataset, args.latency_n)))
        return

    if not args.build and not args.folder:
        ap.error("give at least one --build or --folder")
    previous = json.loads(args.out.read_text()) if args.out.is_file() else {}
    models = dict(previous.get("models", {}))
    for folder in args.folder:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        name = "ensemble" if "members" in meta else "shipped"
        row = score_folder(folder, args)
        row["bytes"] = folder_bytes(folder)
        models[f"{args.dataset}/{folder.name}"] = {"dataset": args.dataset, "build": str(folder),
                                                   "members": (meta.get("ensemble") or {}).get("members"),
                                                   "variants": {name: row}, "arms": arms({name: row})}
    only = {n for n in args.only.split(",") if n}
    for build in args.build:
        meta = json.loads((build / "meta.json").read_text(encoding="utf-8"))
        cfg = meta.get("model", {}).get("config", {})
        key = f"{args.dataset}/{build.name}"
        if only and key not in models:
            raise SystemExit(f"--only adds rows to {key}, which {args.out} does not hold yet: score the whole build")
        rows = {}
        repeats = sorted(f.name for f in build.glob("model.*_s*.onnx"))  # other seeds of the same arms
        files = [f for f in FILES if (build / f).is_file()] + repeats
        if only:
            missing = only - {variant_name(f) for f in files}
            if missing:
                raise SystemExit(f"{build}: no model file for {', '.join(sorted(missing))}")
            files = [f for f in files if variant_name(f) in only]
        for fn in files:
            with tempfile.TemporaryDirectory() as tmp:
                folder = Path(tmp) / "model"
                ship_variant(build, fn, folder)
                row = score_folder(folder, args, f"{build}/{fn}")
            row["bytes"] = (build / fn).stat().st_size
            lowbit = meta.get("metrics", {}).get("lowbit", {}).get(variant_name(fn), {})
            if lowbit:
                row["train"] = lowbit.get("train")
                row["code_usage"] = lowbit.get("code_usage")
            if only:
                row["measured"] = measured("commit", "dirty", "ended_utc")
            rows[variant_name(fn)] = row
            print(f"[lowbit] {build.name} {variant_name(fn)}: intent {row['intent_acc']} slot F1 {row['slot_f1']} "
                  f"sentence {row['sentence_acc']} | {row['bytes'] / 1e6:.2f} MB, RSS {row['rss_mb']} MB, "
                  f"5-best p50 {row['nbest5_ms']['p50']} ms", file=sys.stderr)
        if only:  # the earlier rows stay; the new ones join them
            rows = {**models[key]["variants"], **rows}
        fp32 = rows.get("fp32")
        for row in rows.values():
            if fp32:
                row["intent_rel_loss_pct"] = round(100 * (fp32["intent_acc"] - row["intent_acc"]) / fp32["intent_acc"], 2)
                row["size_vs_fp32"] = round(row["bytes"] / fp32["bytes"], 4)
        if only:
            models[key] = {**models[key], "variants": rows, "arms": arms(rows)}
            models[key].setdefault("added", []).append({"variants": sorted(only), **measured(*RUN)})
            continue
        models[key] = {"dataset": args.dataset, "build": str(build),
                       "parameters": meta.get("model", {}).get("parameters"),
                       "config": cfg, "variants": rows, "arms": arms(rows)}
    run = measured(*RUN)  # the file merges runs: each model measured now says so itself
    for key in [f"{args.dataset}/{d.name}" for d in args.folder + (args.build if not only else [])]:
        models[key]["measured"] = run
    out = {"benchmark": "low-bit intent models through hark.Engine.parse (test split; 5-best latency on one thread)",
           "load_average": [round(x, 2) for x in os.getloadavg()], "models": models}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(stamp(out), indent=1) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
