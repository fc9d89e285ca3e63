"""4-bit quantisation-aware fine-tuning of a trained joint model, so that its 4-bit ONNX keeps fp32 accuracy.

    python -m training.qat4 --dataset snips --build build/snips          # after python -m training.train_joint

Post-training 4-bit quantisation (``MatMulNBits``: symmetric blocks of 32 weights along the input dimension, 16
levels) moves every weight by up to half a step, and nothing lets the network adjust. Here the network is
fine-tuned for a short while with its weights *fake-quantised* exactly as ``MatMulNBitsQuantizer`` will store them:
per block, scale = (the block's weight of largest magnitude) / -8 and codes -8..7. The forward pass sees the
rounded weights, the gradient flows to the fp32 weights unchanged (straight-through estimator), and the loss is the
task loss plus distillation from the fp32 model itself (so the fine-tune keeps the behaviour rather than learning
anew). The exported weights are the rounded ones, so the 4-bit quantiser reproduces them exactly: what was trained
is what runs.

Reads ``<build>/model.pt`` and ``meta.json`` (from train_joint); writes ``<build>/model.int4_qat.onnx`` and its
test scores (plain and with the tag-bigram prior, next to the fp32 ones) into ``meta.json`` as
``metrics.onnx_int4_qat``.
"""
from __future__ import annotations

import json
import math
import random
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize
from tqdm import tqdm

from .joint_model import JointModel
from .metrics import evaluate
from .train_joint import eval_onnx, export_onnx, length_batches, quantize_4bit, teacher_logits
from .train_lowbit import Build, build_arguments, kept_behaviour_loss

BLOCK = 32


def fake_quant_4bit(w: torch.Tensor, block: int = BLOCK) -> torch.Tensor:
    """``w`` rounded as MatMulNBits stores it (blocks of ``block`` along the last dimension), with a
    straight-through gradient."""
    rows, cols = w.shape
    pad = (-cols) % block
    x = F.pad(w, (0, pad)).reshape(rows, -1, block)
    idx = x.abs().argmax(-1, keepdim=True)
    scale = torch.gather(x, -1, idx) / -8.0
    scale = torch.where(scale == 0, torch.ones_like(scale), scale)
    q = (torch.clamp(torch.round(x / scale), -8, 7) * scale).reshape(rows, -1)[:, :cols]
    return w + (q - w).detach()


class FakeQuant4(nn.Module):
    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return fake_quant_4bit(w)


def quantised_modules(model: JointModel) -> list[nn.Module]:
    """The weights the 4-bit quantiser touches: every MatMul (Linear) and the embedding Gathers."""
    return [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Embedding))]


def qat(args) -> dict:
    b = Build(args)
    build, meta, model, tr, pad_id, test_ex = b.path, b.meta, b.model, b.tr, b.pad_id, b.test_ex
    teacher = teacher_logits(model, tr, pad_id)  # the fp32 model's own outputs, before any rounding
    for m in quantised_modules(model):
        parametrize.register_parametrization(m, "weight", FakeQuant4())

    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)
    rng = random.Random(args.seed)
    steps = math.ceil(len(tr) / args.bs) * args.epochs
    step = 0
    t0 = time.time()
    for epoch in range(args.epochs):
        model.train()
        bar = tqdm(length_batches(tr, args.bs, rng), desc=f"qat4 epoch {epoch + 1}/{args.epochs}",
                   file=sys.stderr, mininterval=5, disable=args.quiet)
        for idx in bar:
            for g in opt.param_groups:
                g["lr"] = args.lr * (1 - step / steps)
            loss = kept_behaviour_loss(model, tr, idx, pad_id, teacher)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
            bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
    seconds = time.time() - t0
    for m in quantised_modules(model):  # keep the rounded weights: the quantiser maps them onto themselves
        parametrize.remove_parametrizations(m, "weight", leave_parametrized=True)

    with tempfile.TemporaryDirectory() as tmp:
        rounded = Path(tmp) / "qat.fp32.onnx"
        export_onnx(model, rounded, pad_id)
        quantize_4bit(rounded, build / "model.int4_qat.onnx", block_size=BLOCK)
    fn = "model.int4_qat.onnx"
    scores = evaluate(test_ex, *eval_onnx(build, fn, test_ex, use_prior=False))
    if (meta.get("slot_transition_prior") or {}).get("weight"):
        scores["with_transition_prior"] = evaluate(test_ex, *eval_onnx(build, fn, test_ex, use_prior=True))
    meta["metrics"]["onnx_int4_qat"] = {
        "test": scores, "file": fn, "bytes": (build / fn).stat().st_size,
        "qat": {"epochs": args.epochs, "lr": args.lr, "seconds": round(seconds, 1), "block": BLOCK,
                "loss": "0.5 task cross-entropy + 0.5 distillation from the fp32 model (T 2)",
                "command": "python -m training.qat4 " + " ".join(sys.argv[1:])},
    }
    meta.setdefault("files", {})["int4_qat"] = fn
    meta.setdefault("sizes_bytes", {})["int4_qat"] = (build / fn).stat().st_size
    (build / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    fp32 = meta["metrics"].get("onnx_fp32", {}).get("test", {})
    return {"int4_qat": scores, "fp32": fp32, "int4_post_training": meta["metrics"].get("onnx_int4", {}).get("test")}


def main() -> None:
    ap = build_arguments(__doc__, epochs=1, lr=2e-5, threads=2)
    args = ap.parse_args()
    if not (args.build / "model.pt").is_file():
        sys.exit(f"{args.build}/model.pt not found: train the model first (python -m training.train_joint ...)")
    print(json.dumps(qat(args), indent=1))


if __name__ == "__main__":
    main()
