"""2-, 3- and 4-bit versions of a trained joint model: post-training rounding, plain QAT, or squashed QAT.

    python -m training.train_joint --dataset snips --out build/snips ...            # the fp32 model first
    python -m training.train_lowbit --dataset snips --build build/snips --bits 2 --mode squash

``--mode ptq`` rounds the fp32 weights (alpha per row chosen for the least squared error) without training;
``plain`` and ``squash`` fine-tune with fake-quantised weights (training/lowbit.py), the loss being the task loss
plus distillation from the fp32 model, and for ``squash`` the moment regulariser. The epoch with the best valid
sentence accuracy (then slot F1, then intent accuracy) is kept. The result is exported with packed weights
(training/lowbit_export.py) as ``<build>/model.<mode><bits>.onnx``; its test scores go into ``meta.json`` under
``metrics.lowbit.<mode><bits>`` (valid scores per epoch too). No test sentence is read before the last epoch.
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import random
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from . import lowbit
from .joint_model import JointModel, load_trained
from .lowbit_export import rewrite
from .metrics import BioDecoder, evaluate
from .distill import distill_loss, teacher_batch, teacher_logits
from .splits import load_splits, valid_fingerprint
from .joint_export import export_onnx
from .train_joint import Encoded, eval_onnx, length_batches, predict_torch
from .shipping import best_on_valid, ship, valid_rank

#: ptq: rounding only; plain / squash: QAT (lowbit.py); float: the same fine-tune without rounding (the control
#: that tells what the extra epochs of distillation give by themselves)
MODES = ("ptq",) + lowbit.MODES + ("float",)
DEFAULT_SEED = 13


def kept_behaviour_loss(model: JointModel, tr: Encoded, idx: list[int], pad_id: int, teacher) -> torch.Tensor:
    """Half task loss (intent + slot cross-entropy), half distillation (T 2) from the fp32 model's own outputs:
    the fine-tune keeps what the model does rather than learning anew."""
    ids, mask, yi, ys = tr.batch(idx, pad_id)
    il, sl = model(ids, mask)
    task = F.cross_entropy(il, yi, ignore_index=-100) + F.cross_entropy(
        sl.reshape(-1, sl.shape[-1]), ys.reshape(-1), ignore_index=-100)
    ti, ts = teacher_batch(teacher, idx, ys.shape[1])
    return 0.5 * task + 0.5 * distill_loss(il, sl, ti, ts, ys != -100, 2.0, 1.0)


def finetune(model: JointModel, args, tr: Encoded, va: Encoded, valid_ex, intents, decoder, pad_id: int,
             teacher) -> tuple[list[dict], float]:
    """Fake-quantised fine-tuning; leaves ``model`` at its best valid epoch. Returns the valid history."""
    squashed, scale = lowbit.squashed_parameters(model)
    others = [q for q in model.parameters() if all(q is not v for v in squashed)]
    groups = [{"params": others, "base": args.lr}] + ([{"params": squashed, "base": args.lr * scale}] if squashed else [])
    opt = torch.optim.AdamW(groups, lr=args.lr, weight_decay=0.0)
    rng = random.Random(args.seed)
    steps = math.ceil(len(tr) / args.bs) * args.epochs
    step, history, best, best_state = 0, [], None, None
    t0 = time.time()
    for epoch in range(args.epochs):
        model.train()
        bar = tqdm(length_batches(tr, args.bs, rng), desc=f"{args.mode}{args.bits} epoch {epoch + 1}/{args.epochs}",
                   file=sys.stderr, mininterval=5, disable=args.quiet)
        for idx in bar:
            for g in opt.param_groups:
                g["lr"] = g["base"] * min(1.0, (step + 1) / max(1, 0.05 * steps)) * (1 - step / steps)
            loss = kept_behaviour_loss(model, tr, idx, pad_id, teacher)
            if args.mode == "squash":
                loss = loss + args.penalty * lowbit.squash_penalty(model)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
            bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
        scores = evaluate(valid_ex, *predict_torch(model, va, intents, decoder, pad_id))
        scores = {k: v for k, v in scores.items() if isinstance(v, (int, float))}
        history.append({"epoch": epoch + 1, "valid": scores, "elapsed_s": round(time.time() - t0, 1),
                        "penalty": round(float(lowbit.squash_penalty(model)), 4), "squashed_lr_scale": round(scale, 2)})
        print(json.dumps(history[-1]), file=sys.stderr)
        if best is None or valid_rank(scores) > valid_rank(best):
            best, best_state = scores, copy.deepcopy(model.state_dict())
    model.load_state_dict(best_state)
    return history, time.time() - t0


class Build:
    """A trained build directory read back for fine-tuning: meta, the fp32 model, tokenizer and encoded splits."""

    def __init__(self, args):
        torch.set_num_threads(args.threads)
        random.seed(args.seed)
        torch.manual_seed(args.seed)
        self.path: Path = args.build
        self.meta = json.loads((self.path / "meta.json").read_text(encoding="utf-8"))
        self.model, self.intents, self.tags, self.sp = load_trained(self.path / "model.pt")
        self.train_ex, self.valid_ex, self.test_ex = load_splits(args)
        recorded = self.meta.get("valid_split")  # builds from before it was recorded have none
        if recorded and recorded != valid_fingerprint(self.valid_ex):
            raise SystemExit(f"{self.path}: this run's valid split is not the one the build was trained beside "
                             f"({recorded['n']} sentences, sha256 {recorded['sha256'][:12]}); its scores would "
                             "choose on training sentences")
        if args.limit:
            self.train_ex = random.Random(args.seed).sample(self.train_ex, min(args.limit, len(self.train_ex)))
        self.tr = Encoded(self.train_ex, self.sp, self.intents, self.tags, self.meta["max_len"])
        self.pad_id = self.sp.pad_id()


def variant(args) -> str:
    """The run's name in meta.json and its file, model.<name>.onnx: squash3, plain2, float, ... and _s<seed> for
    a seed other than the default (the repeats of benchmarks/lowbit.py's spread)."""
    name = "float" if args.mode == "float" else f"{args.mode}{args.bits}"
    return name if args.seed == DEFAULT_SEED else f"{name}_s{args.seed}"


def run(args) -> dict:
    b = Build(args)
    build, meta, model, intents, tags, pad_id = b.path, b.meta, b.model, b.intents, b.tags, b.pad_id
    tr, valid_ex, test_ex = b.tr, b.valid_ex, b.test_ex
    va = Encoded(valid_ex, b.sp, intents, tags, meta["max_len"])
    decoder = BioDecoder(tags)
    history, seconds = [], 0.0
    if args.mode == "ptq":
        lowbit.attach(model, "plain", args.bits)  # alpha fitted per row; no step taken
    else:
        teacher = teacher_logits(model, tr, pad_id)  # the fp32 model's own outputs, before any rounding
        if args.mode != "float":
            lowbit.attach(model, args.mode, args.bits)
        history, seconds = finetune(model, args, tr, va, valid_ex, intents, decoder, pad_id, teacher)
    model.eval()
    name = variant(args)
    fn = f"model.{name}.onnx"
    usage, info = [], {}
    if args.mode == "float":  # the control: the same fine-tune without rounding, exported in fp32
        export_onnx(model, build / fn, pad_id)
    else:
        linears, embedding = lowbit.quantised_weights(model)
        usage = [float(x) for x in torch.bincount(torch.cat([torch.from_numpy(w.codes).reshape(-1).long()
                                                             for w in linears]), minlength=2 ** args.bits)]
        lowbit.detach(model)
        with tempfile.TemporaryDirectory() as tmp:
            plain = Path(tmp) / "rounded.fp32.onnx"
            export_onnx(model, plain, pad_id)
            info = rewrite(plain, build / fn, linears, embedding)
    scores = evaluate(test_ex, *eval_onnx(build, fn, test_ex, use_prior=False))
    if (meta.get("slot_transition_prior") or {}).get("weight"):
        scores["with_transition_prior"] = evaluate(test_ex, *eval_onnx(build, fn, test_ex, use_prior=True))
    total = sum(usage) or 1.0
    entry = {"test": scores, "file": fn, "bytes": (build / fn).stat().st_size,
             "bits": 32 if args.mode == "float" else args.bits, "mode": args.mode,
             "code_usage": [round(u / total, 4) for u in usage], "export": info, "history": history,
             "train": {"epochs": args.epochs, "lr": args.lr, "penalty": args.penalty if args.mode == "squash" else None,
                       "seconds": round(seconds, 1), "threads": args.threads, "seed": args.seed,
                       "loss": "0.5 task cross-entropy + 0.5 distillation from the fp32 model (T 2)"
                               + (" + penalty x squash moments" if args.mode == "squash" else "")},
             "command": "python -m training.train_lowbit " + " ".join(sys.argv[1:])}
    meta = json.loads((build / "meta.json").read_text(encoding="utf-8"))  # re-read: runs may share a build
    meta["metrics"].setdefault("lowbit", {})[name] = entry
    (build / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return {name: {k: v for k, v in scores.items() if isinstance(v, (int, float))}, "bytes": entry["bytes"],
            "code_usage": entry["code_usage"]}


def build_arguments(doc: str, *, epochs: int, lr: float, threads: int) -> argparse.ArgumentParser:
    """The options of a fine-tuning script that reads a trained build (``Build``)."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", required=True, choices=["snips", "atis", "skills", "slurp"])
    ap.add_argument("--build", type=Path, required=True, help="output directory of training.train_joint")
    ap.add_argument("--config", type=Path, help="hark config.yaml (--dataset skills)")
    for name, default in (("per-intent", 300), ("oos", 3000), ("negatives", 40), ("variants", 20)):
        ap.add_argument(f"--{name}", type=int, default=default, help="as in train_joint (--dataset skills)")
    ap.add_argument("--epochs", type=int, default=epochs)
    ap.add_argument("--bs", type=int, default=32)
    ap.add_argument("--lr", type=float, default=lr)
    ap.add_argument("--threads", type=int, default=threads)
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--limit", type=int, default=0, help="fine-tune on N random examples only (smoke runs)")
    ap.add_argument("--asr-hyps", type=Path, nargs="+", help="--dataset slurp: as in train_joint (give the build's own)")
    ap.add_argument("--quiet", action="store_true")
    return ap


def main() -> None:
    ap = build_arguments(__doc__, epochs=3, lr=1e-4, threads=1)
    ap.add_argument("--bits", type=int, default=4, choices=[2, 3, 4], help="(ignored with --mode float)")
    ap.add_argument("--mode", default="squash", choices=MODES)
    ap.add_argument("--penalty", type=float, default=1.0, help="weight of the squash moment regulariser")
    ap.add_argument("--ship", type=Path, help="also write this model folder with the new file as its model.onnx")
    ap.add_argument("--ship-best", nargs="*", type=Path, metavar="OTHER_BUILD",
                    help="train nothing: --ship the variant with the best valid score within 10 MB among those of "
                         "--build and of any OTHER_BUILD of the same data set (best_on_valid)")
    args = ap.parse_args()
    if args.ship_best is not None:
        if not args.ship:
            ap.error("--ship-best needs --ship DIR")
        build, name = best_on_valid([args.build, *args.ship_best])
        print(f"shipping {build}/{name} to {args.ship}", file=sys.stderr)
        ship(build, name, args.ship)
        return
    if not (args.build / "model.pt").is_file():
        sys.exit(f"{args.build}/model.pt not found: train the model first (python -m training.train_joint ...)")
    print(json.dumps(run(args), indent=1))
    if args.ship:
        ship(args.build, variant(args), args.ship)


if __name__ == "__main__":
    main()
