"""Train the joint intent + slot model, export it to ONNX, quantise it and write a model directory.

    python -m training.train_joint --dataset snips --out build/snips
    python -m training.train_joint --dataset atis --out build/atis --epochs 6

Steps: sentencepiece tokenizer (trained here on training-side text, or ``--tokenizer FILE``) -> encode SNIPS/ATIS
train/valid/test through the runtime's path -> fine-tune (MiniLM layers + vocabulary transfer by default, or a
randomly initialised encoder with ``--scratch``) with a progress bar, evaluating on valid after every epoch and keeping
the best epoch (early stopping) -> test scores in torch -> ONNX export (fp32) -> int8 dynamic quantisation (the
shipped ``model.onnx``), int8 static QDQ and 4-bit MatMulNBits variants, each scored with onnxruntime on the test set
-> ``meta.json`` and ``MODEL_CARD.md``.

Seeds are fixed (``--seed``); torch runs on ``--threads`` (2) CPU threads. Peak RSS and wall-clock time of the
training phase are recorded in meta.json.
"""
from __future__ import annotations

import argparse
import collections
import hashlib
import json
import math
import os
import platform
import random
import resource
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import sentencepiece as spm
import torch
import torch.nn.functional as F
from tqdm import tqdm

from .data import Example
from .joint_export import export_onnx, quantize_4bit, quantize_int8_dynamic, quantize_int8_static
from .joint_model import JointModel, ModelConfig, init_embeddings_pca, init_from_minilm
from .distill import distill_loss, load_teachers, teacher_batch
from .metrics import BioDecoder, choose_prior_weight, decode_logits, evaluate, transition_prior
from .onnx_eval import OnnxJoint, encode_words
from .tokenizer import train_tokenizer
from .splits import load_splits, valid_fingerprint

FORMAT = "hark-joint-intent-slot/1"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ------------------------------------------------------------------------------------------------------ encoding


class Encoded:
    def __init__(self, examples: list[Example], sp, intents: list[str], tags: list[str], max_len: int):
        self.examples = examples
        iidx = {x: i for i, x in enumerate(intents)}
        tidx = {x: i for i, x in enumerate(tags)}
        self.ids: list[list[int]] = []
        self.first: list[list[int]] = []
        self.intent = np.array([iidx.get(ex.intent, -100) for ex in examples], dtype=np.int64)
        self.labels: list[list[int]] = []
        for ex in examples:
            ids, first = encode_words(sp, ex.words, max_len)
            lab = [-100] * len(ids)
            for j, t in zip(first, ex.tags):
                if j >= 0:
                    lab[j] = tidx.get(t, tidx["O"])  # a tag never seen in train (ATIS test) cannot be predicted
            self.ids.append(ids)
            self.first.append(first)
            self.labels.append(lab)

    def __len__(self) -> int:
        return len(self.ids)

    def batch(self, idx: list[int], pad_id: int):
        t = max(len(self.ids[i]) for i in idx)
        ids = torch.full((len(idx), t), pad_id, dtype=torch.long)
        mask = torch.zeros((len(idx), t), dtype=torch.long)
        lab = torch.full((len(idx), t), -100, dtype=torch.long)
        for r, i in enumerate(idx):
            n = len(self.ids[i])
            ids[r, :n] = torch.tensor(self.ids[i])
            mask[r, :n] = 1
            lab[r, :n] = torch.tensor(self.labels[i])
        return ids, mask, torch.from_numpy(self.intent[idx]), lab


def length_batches(data: Encoded, bs: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of similar length (little padding): sort within pools of 50 batches."""
    order = list(range(len(data)))
    rng.shuffle(order)
    batches = []
    pool = bs * 50
    for s in range(0, len(order), pool):
        chunk = sorted(order[s:s + pool], key=lambda i: len(data.ids[i]))
        batches += [chunk[k:k + bs] for k in range(0, len(chunk), bs)]
    rng.shuffle(batches)
    return batches


# ---------------------------------------------------------------------------------------------------- evaluation


@torch.no_grad()
def torch_logits(model: JointModel, data: Encoded, pad_id: int, bs: int = 64):
    """Per example: (intent logits, slot logits at each kept word's first piece, number of truncated words)."""
    model.eval()
    order = sorted(range(len(data)), key=lambda i: len(data.ids[i]))
    out: list = [None] * len(data)
    for s in range(0, len(order), bs):
        idx = order[s:s + bs]
        ids, mask, _, _ = data.batch(idx, pad_id)
        il, sl = model(ids, mask)
        il, sl = il.numpy(), sl.numpy()
        for r, i in enumerate(idx):
            keep = [j for j in data.first[i] if j >= 0]
            out[i] = (il[r], sl[r, keep], len(data.first[i]) - len(keep))
    return out


def predict_torch(model: JointModel, data: Encoded, intents: list[str], decoder: BioDecoder, pad_id: int,
                  bs: int = 64):
    return decode_logits(torch_logits(model, data, pad_id, bs), intents, decoder)


def eval_onnx(model_dir: Path, onnx_file: str, examples: list[Example], bs: int = 32, use_prior: bool = False):
    m = OnnxJoint(model_dir, onnx_file, threads=2, use_prior=use_prior)
    pred_int, pred_tags = [], []
    for s in range(0, len(examples), bs):
        for p in m.parse([e.words for e in examples[s:s + bs]]):
            pred_int.append(p.intent)
            pred_tags.append(p.tags)
    return pred_int, pred_tags


# -------------------------------------------------------------------------------------------------------- train


def valid_key(m: dict) -> float:
    """How an epoch is ranked on valid: sentence accuracy first, slot F1 and intent accuracy at half weight."""
    return m["sentence_acc"] + 0.5 * m["slot_f1"] + 0.5 * m["intent_acc"]


def average_states(states: list[dict]) -> dict:
    """The element-wise mean of several state dicts of one model (tail averaging of the last epochs' weights:
    the end-of-epoch points scatter around a minimum, and their mean usually sits nearer its centre)."""
    return {k: (sum(s[k].double() for s in states) / len(states)).to(states[0][k].dtype)
            if states[0][k].is_floating_point() else states[0][k] for k in states[0]}


def train(args) -> None:
    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.time()

    # tokenizer
    tok_path = out / "tokenizer.model"
    if args.tokenizer:
        shutil.copyfile(args.tokenizer, tok_path)
    else:
        tmp = train_tokenizer(out / "sp_tmp", args.vocab, "unigram")
        tmp.replace(tok_path)
    sp = spm.SentencePieceProcessor(model_file=str(tok_path))
    t_tok = time.time() - t_start

    train_ex, valid_ex, test_ex = load_splits(args)
    if args.limit:  # smoke runs
        train_ex = random.Random(args.seed).sample(train_ex, min(args.limit, len(train_ex)))
    intents = sorted({e.intent for e in train_ex})
    types = sorted({t[2:] for e in train_ex for t in e.tags if t != "O"})
    tags = ["O"] + [f"{p}-{x}" for x in types for p in ("B", "I")]
    tr = Encoded(train_ex, sp, intents, tags, args.max_len)
    va = Encoded(valid_ex, sp, intents, tags, args.max_len)
    te = Encoded(test_ex, sp, intents, tags, args.max_len)
    decoder = BioDecoder(tags)
    pad_id = sp.pad_id()

    cfg = ModelConfig(vocab_size=sp.get_piece_size(), n_intents=len(intents), n_tags=len(tags),
                      max_len=args.max_len, dropout=args.dropout, pad_id=pad_id)
    if args.scratch:
        d, nl, nh, ff = (int(x) for x in args.scratch.split(","))
        cfg.d_model, cfg.n_layers, cfg.n_heads, cfg.d_ff, cfg.ln_eps = d, nl, nh, ff, 1e-6
        model = JointModel(cfg)
        init = "random"
        if args.emb_init == "minilm":
            stats = init_embeddings_pca(model, sp)
            init = (f"random layers; token embeddings = all-MiniLM-L6-v2 embeddings transferred to the vocabulary "
                    f"{stats} and projected on their top {cfg.d_model} principal components")
    else:
        layers = [int(x) for x in args.layers.split(",")]
        cfg.n_layers = len(layers)
        model = JointModel(cfg)
        stats = init_from_minilm(model, sp, layers)
        init = f"all-MiniLM-L6-v2 layers {layers}; vocabulary transfer {stats}"
    print(f"model: {model.n_params():,} parameters; init: {init}", file=sys.stderr)

    head_params = list(model.intent_head.parameters()) + list(model.slot_head.parameters())
    head_ids = {id(p) for p in head_params}
    no_decay = [p for n, p in model.named_parameters() if id(p) not in head_ids and (p.ndim == 1)]
    decay = [p for n, p in model.named_parameters() if id(p) not in head_ids and p.ndim > 1]
    opt = torch.optim.AdamW([
        {"params": decay, "lr": args.lr, "weight_decay": 0.01},
        {"params": no_decay, "lr": args.lr, "weight_decay": 0.0},
        {"params": head_params, "lr": args.lr * args.head_lr_mult, "weight_decay": 0.01},
    ])
    base_lrs = [g["lr"] for g in opt.param_groups]
    steps_per_epoch = math.ceil(len(tr) / args.bs)
    total = steps_per_epoch * args.epochs
    warm = max(1, int(args.warmup * total))

    teacher = None
    if args.teacher:  # distillation: the teachers' mean logits on the train set, computed once
        teacher = load_teachers(args.teacher, tr, sp, intents, tags)
        init += (f"; distilled from {', '.join(map(str, args.teacher))} "
                 f"(alpha {args.distill_alpha}, T {args.distill_temp})")

    rng = random.Random(args.seed)
    best = (-1.0, None, -1)
    recent = collections.deque(maxlen=max(1, args.average_last))  # end-of-epoch weights, for --average-last
    history = []
    step = 0
    bad_epochs = 0
    t_train0 = time.time()
    for epoch in range(args.epochs):
        model.train()
        batches = length_batches(tr, args.bs, rng)
        bar = tqdm(batches, desc=f"epoch {epoch + 1}/{args.epochs}", file=sys.stderr, mininterval=5,
                   disable=args.quiet)
        run = 0.0
        for idx in bar:
            frac = step / total
            scale = step / warm if step < warm else max(0.0, (1 - frac) / (1 - warm / total))
            for g, lr in zip(opt.param_groups, base_lrs):
                g["lr"] = lr * scale
            ids, mask, yi, ys = tr.batch(idx, pad_id)
            il, sl = model(ids, mask)
            loss_i = F.cross_entropy(il, yi, ignore_index=-100, label_smoothing=args.smooth)
            loss_s = F.cross_entropy(sl.reshape(-1, sl.shape[-1]), ys.reshape(-1), ignore_index=-100,
                                     label_smoothing=args.smooth)
            loss = loss_i + args.slot_weight * loss_s
            if teacher is not None:
                ti, ts = teacher_batch(teacher, idx, ys.shape[1])
                loss = (1 - args.distill_alpha) * loss + args.distill_alpha * distill_loss(
                    il, sl, ti, ts, ys != -100, args.distill_temp, args.slot_weight)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
            run = 0.98 * run + 0.02 * loss.item() if step > 1 else loss.item()
            bar.set_postfix(loss=f"{run:.3f}", refresh=False)
        pi, pt = predict_torch(model, va, intents, decoder, pad_id)
        m = evaluate(valid_ex, pi, pt)
        key = valid_key(m)
        history.append({"epoch": epoch + 1, "valid": m, "elapsed_s": round(time.time() - t_train0, 1)})
        if args.average_last > 1:
            recent.append({k: v.detach().clone() for k, v in model.state_dict().items()})
        print(f"epoch {epoch + 1}: valid {m}  ({time.time() - t_train0:.0f}s)", file=sys.stderr)
        if key > best[0]:
            best = (key, {k: v.detach().clone() for k, v in model.state_dict().items()}, epoch + 1)
            bad_epochs = 0
        else:
            bad_epochs += 1
            if bad_epochs >= args.patience:
                print("early stop", file=sys.stderr)
                break
        if args.time_budget and time.time() - t_start > args.time_budget:
            print("time budget reached", file=sys.stderr)
            break
    chosen_valid = history[best[2] - 1]["valid"]
    if len(recent) > 1:  # the mean of the last epochs' weights competes with the best single epoch, on valid
        model.load_state_dict(average_states(list(recent)))
        m = evaluate(valid_ex, *predict_torch(model, va, intents, decoder, pad_id))
        history.append({"epoch": f"mean of epochs {len(history) - len(recent) + 1}-{len(history)}", "valid": m,
                        "elapsed_s": round(time.time() - t_train0, 1)})
        print(f"{history[-1]['epoch']}: valid {m}", file=sys.stderr)
        if valid_key(m) > best[0]:
            best = (valid_key(m), model.state_dict(), history[-1]["epoch"])
            chosen_valid = m
    model.load_state_dict(best[1])
    train_time = time.time() - t_start
    train_rss = peak_rss_mb()
    ru = resource.getrusage(resource.RUSAGE_SELF)
    train_cpu = ru.ru_utime + ru.ru_stime  # CPU seconds: on a busy machine, a better proxy for idle time
    print(f"training: {train_time:.0f}s wall, peak RSS {train_rss:.0f} MB, best epoch {best[2]}", file=sys.stderr)

    test_logits = torch_logits(model, te, pad_id)
    pi, pt = decode_logits(test_logits, intents, decoder)
    metrics = {"torch_fp32": {"test": evaluate(test_ex, pi, pt)}}
    metrics["torch_fp32"]["valid"] = chosen_valid
    print("torch test:", metrics["torch_fp32"]["test"], file=sys.stderr)
    # optional tag-bigram prior for the Viterbi (meta.json slot_transition_prior): weight chosen on valid
    prior = transition_prior(tags, [e.tags for e in train_ex])
    valid_logits = torch_logits(model, va, pad_id)
    prior, tried = choose_prior_weight(prior, tags, intents, valid_ex, valid_logits)
    metrics["torch_fp32"]["test_with_transition_prior"] = evaluate(
        test_ex, *decode_logits(test_logits, intents, BioDecoder(tags, prior)))
    metrics["torch_fp32"]["transition_prior_weight_search_valid"] = {str(k): round(v, 2) for k, v in tried.items()}
    print(f"transition prior weight {prior['weight']}: test {metrics['torch_fp32']['test_with_transition_prior']}",
          file=sys.stderr)
    torch.save({"cfg": cfg.to_dict(), "state": model.state_dict(), "intents": intents, "tags": tags},
               out / "model.pt")

    # ---- export + quantise
    fp32 = out / "model.fp32.onnx"
    export_onnx(model, fp32, pad_id)
    quantize_int8_dynamic(fp32, out / "model.onnx")
    variants = {"fp32": "model.fp32.onnx", "int8": "model.onnx"}
    try:
        calib_idx = list(range(0, len(tr), max(1, len(tr) // 256)))[:256]
        calib = []
        for s in range(0, len(calib_idx), 16):
            ids, mask, _, _ = tr.batch(calib_idx[s:s + 16], pad_id)
            calib.append((ids.numpy(), mask.numpy()))
        quantize_int8_static(fp32, out / "model.int8_qdq.onnx", calib)
        variants["int8_qdq"] = "model.int8_qdq.onnx"
    except Exception as e:  # measured if it works; the shipped model is the dynamic one
        print("static QDQ quantisation failed:", repr(e), file=sys.stderr)
    try:
        quantize_4bit(fp32, out / "model.int4.onnx")
        variants["int4"] = "model.int4.onnx"
    except Exception as e:
        print("4-bit quantisation failed:", repr(e), file=sys.stderr)

    meta = {
        "format": FORMAT,
        "intents": intents,
        "tags": tags,
        "bos_id": sp.bos_id(), "eos_id": sp.eos_id(), "pad_id": pad_id, "unk_id": sp.unk_id(),
        "max_len": args.max_len,
        "lowercase": True,
        "tokenization": "hark.text.tokenize words; sp.encode(word) per word; [BOS] pieces [EOS]; "
                        "each word's label at its first piece",
        "slot_decoding": "constrained BIO Viterbi over log-softmax of first-piece slot logits, plus weight x the "
                         "tag-bigram prior slot_transition_prior (weight chosen on valid; 0 = plain constraint)",
        "slot_transition_prior": prior,
        "sha256": {},
        "temperature": 1.0,
        "valid_split": valid_fingerprint(valid_ex),
        "trained_on": [f"{args.dataset}/train"] if args.dataset != "skills" else
                      ["sentences generated from the installed skills (training/skill_data.py)",
                       "out-of-scope negatives: HWU64 train + SLURP devel scenarios no skill covers"],
        "model": {"config": cfg.to_dict(), "init": init, "parameters": model.n_params()},
        "training": {
            "command": "python -m training.train_joint " + " ".join(sys.argv[1:]),
            "seconds": round(train_time, 1), "tokenizer_seconds": round(t_tok, 1),
            "cpu_seconds": round(train_cpu, 1), "load_average_1min_at_end": round(os.getloadavg()[0], 2),
            "peak_rss_mb": round(train_rss, 1), "best_epoch": best[2], "history": history,
            "threads": args.threads, "torch": torch.__version__, "python": platform.python_version(),
        },
        "metrics": metrics,
        "files": {},
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")  # needed by OnnxJoint

    sizes = {}
    for name, fn in variants.items():
        p = out / fn
        sizes[name] = p.stat().st_size
        opi, opt_tags = eval_onnx(out, fn, test_ex)
        m = evaluate(test_ex, opi, opt_tags)
        m["agreement_with_torch"] = {
            "intent": round(100 * float(np.mean([a == b for a, b in zip(opi, pi)])), 2),
            "tags": round(100 * float(np.mean([a == b for a, b in zip(opt_tags, pt)])), 2),
        }
        if prior["weight"]:
            m["with_transition_prior"] = evaluate(test_ex, *eval_onnx(out, fn, test_ex, use_prior=True))
        metrics[f"onnx_{name}"] = {"test": m, "file": fn, "bytes": sizes[name]}
        print(f"onnx {name}: {sizes[name] / 1e6:.2f} MB  {m}", file=sys.stderr)

    meta["metrics"] = metrics
    meta["sha256"] = {"model.onnx": sha256(out / "model.onnx"), "tokenizer.model": sha256(tok_path)}
    meta["files"] = {k: v for k, v in variants.items() if k != "int8"}
    meta["sizes_bytes"] = sizes
    (out / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    from .model_card import write_card

    write_card(out, meta, args.dataset)
    if args.ship:
        ship(out, args.ship)
    print(f"done in {time.time() - t_start:.0f}s -> {out}", file=sys.stderr)


def ship(build: Path, dest: Path) -> None:
    """Copy the shipped files (int8 model.onnx, tokenizer, card, meta without the variant files) to ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    for fn in ("model.onnx", "tokenizer.model", "MODEL_CARD.md"):
        shutil.copyfile(build / fn, dest / fn)
    meta = json.loads((build / "meta.json").read_text(encoding="utf-8"))
    meta["files"] = {}  # fp32 / QDQ / 4-bit variants stay in the build directory (rerun the command to regenerate)
    (dest / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    print(f"shipped {build} -> {dest}", file=sys.stderr)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", required=True, choices=["snips", "atis", "skills", "slurp"],
                    help="skills = data generated from the skills of --config")
    ap.add_argument("--config", type=Path, help="hark config.yaml whose skills to train on (--dataset skills)")
    ap.add_argument("--per-intent", type=int, default=300, help="generated sentences per intent (skills)")
    ap.add_argument("--oos", type=int, default=3000, help="out-of-scope negatives (skills; needs HARK_DATA)")
    ap.add_argument("--negatives", type=int, default=40,
                    help="commands per intent rewritten into hard negatives: negated, question, statement, "
                         "reported, buried (skills; 0 = none)")
    ap.add_argument("--variants", type=int, default=20,
                    help="commands per intent re-framed as polite requests, the positive side of the negatives "
                         "(skills; 0 = none)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--bs", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--head-lr-mult", type=float, default=5.0)
    ap.add_argument("--warmup", type=float, default=0.06)
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--smooth", type=float, default=0.0, help="label smoothing")
    ap.add_argument("--slot-weight", type=float, default=1.0)
    ap.add_argument("--layers", default="0,1,2,3", help="MiniLM layers to keep (of 0..5)")
    ap.add_argument("--scratch", default="", help="d,layers,heads,ff: random init instead of MiniLM")
    ap.add_argument("--emb-init", default="none", choices=["none", "minilm"],
                    help="--scratch only: start token embeddings from MiniLM's (PCA-projected to d)")
    ap.add_argument("--pseudo", type=Path, help="--dataset slurp: add SLURP's unannotated LM sentences as the "
                    "model of this build reads them (self-training; test_dev and valid sentences excluded)")
    ap.add_argument("--pseudo-min-prob", type=float, default=0.8, help="keep pseudo labels this sure of the intent")
    ap.add_argument("--asr-hyps", type=Path, nargs="+", help="--dataset slurp: also train on what our recogniser "
                    "heard for training sentences (TSVs of python -m training.asr_hypotheses)")
    ap.add_argument("--teacher", type=Path, nargs="+",
                    help="model.pt of trained builds on the same data set: distil from their mean logits (a teacher "
                         "with another tokenizer is read with its own and aligned by word)")
    ap.add_argument("--distill-alpha", type=float, default=0.5)
    ap.add_argument("--distill-temp", type=float, default=2.0)
    ap.add_argument("--vocab", type=int, default=6000, help="sentencepiece vocabulary (8000 puts the int8 model over 10 MB)")
    ap.add_argument("--tokenizer", type=Path, help="reuse a sentencepiece model instead of training one")
    ap.add_argument("--max-len", type=int, default=96)
    ap.add_argument("--patience", type=int, default=2)
    ap.add_argument("--average-last", type=int, default=0, metavar="K",
                    help="also try the mean of the last K epochs' weights; it ships if valid ranks it above the best "
                         "single epoch")
    ap.add_argument("--time-budget", type=float, default=0, help="stop after the epoch that passes N seconds")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--ship", type=Path, help="also copy the shipped files (int8 only) into this model directory")
    ap.add_argument("--limit", type=int, default=0, help="train on N random examples only (smoke runs)")
    train(ap.parse_args())


if __name__ == "__main__":
    main()
