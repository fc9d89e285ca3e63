"""L2-GEN: train a phoneme paraphraser (canonical phones -> phones a non-native speaker says), export it to ONNX.

    python -m training.train_l2gen                     # -> training/l2gen (about 5 min on 2 cores)

Data: L2-ARCTIC's human-annotated canonical/perceived phone pairs of the four speakers that are not
``tutor_data.L2ARCTIC_TEST_SPEAKERS`` (the benchmark's); 10 % of their utterances choose the epoch. Pairs with an
unnamed phone (``err``) are dropped. Licence of the data, and so of the model: CC BY-NC 4.0 (L2-ARCTIC).

Model: the g2p transformer's layers (``training.train_g2p``: pre-LN encoder-decoder, plain-op attention) over
phones on both sides, small (d=128, 2+2 layers), label smoothing. ``sample`` draws paraphrases step by step at a
temperature; ``--target-rate`` picks the temperature whose samples change as many phones of the valid prompts as
the annotators heard changed (about 14 %), so made-up learners are as wrong as real ones, no more.

Export (``l2gen/``): ``encoder.onnx`` (phones[B,S] -> memory) and ``decoder.onnx`` (memory, phones, prefix ->
log-probs of the next phone), int8, with meta.json (format ``hark-l2gen-1``) and MODEL_CARD.md.
``Paraphraser`` in ``training.l2gen`` samples with them (numpy + onnxruntime).
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import random
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hark.phonetics import edit_distance
from training import tutor_data as td
from training.l2gen import FORMAT, MAX_PHONES, PHONES, Paraphraser
from training.train_g2p import Config, DecoderLayer, EncoderLayer, _dropout

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "training" / "l2gen"
PAD, BOS, EOS = 0, 1, 2
PHONE_ID = {p: i for i, p in enumerate(PHONES)}


class PhoneSeq2Seq(nn.Module):
    """Encoder-decoder over phone ids (the same vocabulary on both sides)."""

    def __init__(self, cfg: Config):
        super().__init__()
        d = cfg.d_model
        self.src_emb = nn.Embedding(len(PHONES), d, padding_idx=PAD)
        self.tgt_emb = nn.Embedding(len(PHONES), d, padding_idx=PAD)
        self.pos = nn.Embedding(MAX_PHONES + 2, d)
        self.encoder = nn.ModuleList(EncoderLayer(cfg) for _ in range(cfg.enc_layers))
        self.decoder = nn.ModuleList(DecoderLayer(cfg) for _ in range(cfg.dec_layers))
        self.enc_norm, self.dec_norm = nn.LayerNorm(d), nn.LayerNorm(d)
        self.head = nn.Linear(d, len(PHONES))
        self.drop = _dropout(cfg.dropout)

    @staticmethod
    def src_bias(src):
        return (src == PAD).float()[:, None, None, :] * -1e9

    def encode(self, src):
        x = self.drop(self.src_emb(src) + self.pos(torch.arange(src.shape[1])))
        bias = self.src_bias(src)
        for layer in self.encoder:
            x = layer(x, bias)
        return self.enc_norm(x)

    def decode(self, memory, src, prefix):
        t = prefix.shape[1]
        y = self.drop(self.tgt_emb(prefix) + self.pos(torch.arange(t)))
        causal = torch.ones(t, t).triu(1) * -1e9
        bias = self.src_bias(src)
        for layer in self.decoder:
            y = layer(y, memory, causal, bias)
        return self.head(self.dec_norm(y))


class _Encoder(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, phones):
        return self.model.encode(phones)


class _Step(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, memory, phones, prefix):
        return self.model.decode(memory, phones, prefix)[:, -1].log_softmax(-1)


def pairs(split: str) -> list[tuple[list[int], list[int]]]:
    out = []
    for _, canonical, perceived in td.l2arctic(split):
        if "ERR" in perceived or len(canonical) > MAX_PHONES or len(perceived) > MAX_PHONES:
            continue
        out.append(([PHONE_ID[p] for p in canonical], [BOS] + [PHONE_ID[p] for p in perceived] + [EOS]))
    return out


def pad(rows: list[list[int]]) -> torch.Tensor:
    width = max(len(r) for r in rows)
    return torch.tensor([r + [PAD] * (width - len(r)) for r in rows], dtype=torch.long)


def export(model: PhoneSeq2Seq, out: Path) -> dict:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from hark.onnx import sha256_file

    out.mkdir(parents=True, exist_ok=True)
    model.eval()
    src = torch.tensor([[5, 6, 7, 8]], dtype=torch.long)
    memory = model.encode(src).detach()
    prefix = torch.tensor([[BOS, 5]], dtype=torch.long)
    files = {}
    for part, module, args, names, axes in (
            ("encoder", _Encoder(model), (src,), (["phones"], ["memory"]),
             {"phones": {0: "batch", 1: "seq"}, "memory": {0: "batch", 1: "seq"}}),
            ("decoder", _Step(model), (memory, src, prefix), (["memory", "phones", "prefix"], ["log_probs"]),
             {"memory": {0: "batch", 1: "seq"}, "phones": {0: "batch", 1: "seq"}, "prefix": {0: "batch", 1: "steps"},
              "log_probs": {0: "batch"}})):
        fp32 = out / f"{part}.fp32.onnx"
        torch.onnx.export(module, args, str(fp32), input_names=names[0], output_names=names[1], dynamic_axes=axes,
                          opset_version=17, dynamo=False)
        quantize_dynamic(str(fp32), str(out / f"{part}.onnx"), weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=["MatMul", "Gather"], extra_options={"MatMulConstBOnly": True})
        fp32.unlink()
        files[part] = {"file": f"{part}.onnx", "sha256": sha256_file(out / f"{part}.onnx")}
    return files


def change_rate(samples: list[tuple[str, ...]], prompts: list[tuple[str, ...]]) -> float:
    return sum(edit_distance(s, p) for s, p in zip(samples, prompts)) / sum(len(p) for p in prompts)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    data = pairs("train")
    rng.shuffle(data)
    n_valid = max(1, len(data) // 10)
    valid, train = data[:n_valid], data[n_valid:]
    cfg = Config(d_model=128, heads=4, enc_layers=2, dec_layers=2, d_ff=512, dropout=0.2)
    model = PhoneSeq2Seq(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    steps = math.ceil(len(train) / args.batch) * args.epochs
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps, pct_start=0.1)
    best, history, t0 = (float("inf"), None), [], time.time()
    for epoch in range(args.epochs):
        model.train()
        rng.shuffle(train)
        for i in range(0, len(train), args.batch):
            chunk = train[i:i + args.batch]
            src, tgt = pad([c for c, _ in chunk]), pad([p for _, p in chunk])
            logits = model.decode(model.encode(src), src, tgt[:, :-1])
            loss = F.cross_entropy(logits.reshape(-1, len(PHONES)), tgt[:, 1:].reshape(-1), ignore_index=PAD,
                                   label_smoothing=0.05)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
        model.eval()
        with torch.no_grad():
            src, tgt = pad([c for c, _ in valid]), pad([p for _, p in valid])
            logits = model.decode(model.encode(src), src, tgt[:, :-1])
            nll = float(F.cross_entropy(logits.reshape(-1, len(PHONES)), tgt[:, 1:].reshape(-1), ignore_index=PAD))
        history.append({"epoch": epoch + 1, "valid_nll": round(nll, 4), "seconds": round(time.time() - t0, 1)})
        if (epoch + 1) % 5 == 0:
            print(json.dumps(history[-1]), flush=True)
        if nll < best[0]:
            best = (nll, copy.deepcopy(model.state_dict()))
    model.load_state_dict(best[1])
    files = export(model, args.out)
    prompts = [tuple(PHONES[i] for i in c) for c, _ in valid]
    truth = [tuple(PHONES[i] for i in p[1:-1]) for _, p in valid]
    real_rate = change_rate(truth, prompts)
    meta = {"format": FORMAT, "phones": PHONES, "max_phones": MAX_PHONES, "files": files,
            "train_utterances": len(train), "valid_utterances": len(valid), "valid_nll": round(best[0], 4),
            "speakers": sorted({u.split("_")[0] for u, _, _ in td.l2arctic("train")}), "history": history,
            "annotated_change_rate": round(real_rate, 4), "temperature": 1.0}
    (args.out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    para = Paraphraser(args.out)
    rates = {}
    for temperature in (0.6, 0.8, 1.0, 1.2, 1.5):
        samples = para.sample(prompts, np.random.default_rng(args.seed), temperature)
        rates[temperature] = round(change_rate(samples, prompts), 4)
    meta["sample_change_rate"] = rates
    meta["temperature"] = min(rates, key=lambda t: abs(rates[t] - real_rate))
    (args.out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    (args.out / "MODEL_CARD.md").write_text(model_card(meta))
    print(f"valid NLL {best[0]:.3f}; annotated change rate {real_rate:.3f}; sampled {rates}; "
          f"temperature {meta['temperature']}")


def model_card(meta: dict) -> str:
    return f"""# L2-GEN phoneme paraphraser

Canonical ARPAbet phones in, the phones a non-native speaker plausibly says out (sampled), to make
mispronounced training speech for the tutor's phone recognizer (issue 18, decision 38). Rebuild:
`python -m training.train_l2gen` (a few minutes on 2 cores).

| | |
|---|---|
| model | transformer encoder-decoder, d=128, 2+2 layers (training/train_g2p.py's layers), int8 ONNX |
| data | L2-ARCTIC annotated canonical/perceived pairs, speakers {", ".join(meta["speakers"])}: {meta["train_utterances"]} train, {meta["valid_utterances"]} valid utterances |
| held out | speakers {", ".join(td.L2ARCTIC_TEST_SPEAKERS)} (the tutor benchmark's): never read here |
| valid NLL per phone | {meta["valid_nll"]} |
| phones changed | annotators: {meta["annotated_change_rate"]:.1%}; samples by temperature: {meta["sample_change_rate"]} |
| shipped temperature | {meta["temperature"]} (the one closest to the annotators' rate) |

**Licence**: trained on L2-ARCTIC (Zhao et al., Interspeech 2018), CC BY-NC 4.0, through
cageyoko/CTC-Attention-Mispronunciation's phone files (no licence stated). Non-commercial use only, and so is
any phone model trained on its samples.
"""


if __name__ == "__main__":
    main()
