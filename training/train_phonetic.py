"""Train the entity resolver's Siamese phonetic encoder: phone sequences of an entity and of what ASR made of it map
to nearby vectors. Exports ONNX (fp32 + dynamic int8) and, with --install, writes plugins/entity_resolver/models/
phonetic/ (meta.json, the int8 graph, MODEL_CARD.md).

    python -m training.train_phonetic                       # ~15 min on 1 thread, -> build/phonetic
    python -m training.train_phonetic --install             # ... and install it as models/phonetic
    python -m training.train_phonetic --minutes 0.5 --out build/phonetic_smoke      # smoke run

Pairs (anchor = an entity's phones, positive = a misheard form), drawn fresh every step:

- real ASR errors: (gold_value, heard_span) of the SLURP entity_resolution_dev.tsv rows in the "fit" fold
  (``entity_data.split_rows``; never "tune" or "test"), rows whose entity ASR changed;
- sound-alike forms made by phonetic confusion rules from: SLURP entity values of devel.jsonl and SNIPS music entity
  values (both without test-bucket values, ``entity_data.is_test_value``), CMUdict words and names, and random 2-3
  word CMUdict phrases. Rules: replace a word by a word of the ASR vocabulary (words of SLURP lm_train_sentences and
  devel that CMUdict knows) at phone edit distance 1 (what a recognizer with a closed vocabulary does), drop the first
  or last word of a phrase, and phone noise (substitution within a confusion group of ``phonetic._COARSE_GROUPS``,
  deletion, insertion).

With ``--confusion-pairs N`` (default 0: off), N more (anchor phones, misheard phones) pairs come from the phone
confusion model of ``training/confusion.py``, learned from SLURP's real ASR pairs (test_dev_asr_1best_pairs.tsv)
minus the utterances (slurp_ids) of the held-out "test" split, as ``benchmarks/entity_spoken.py`` fits it, and here
also minus the "tune" utterances (tune decides whether the encoder is kept, so nothing of it is trained on). The
names rewritten are the synthetic anchors above minus SLURP values of a "tune" bucket (``entity_data.value_bucket``
>= 75); a rewrite is a draw of the channel that changes at least one phone, mapped (share ``--confusion-words``) to
the pocketsphinx generic-LM words that sound like it (``confusion.WordMapper``: what a decoder writes down) or kept
as phones. When an anchor with rewrites is drawn for a batch, one of its rewrites replaces the rule-made form with
probability ``--confusion-share``.

Half of each batch comes 16 anchors at a time from buckets of a locality-sensitive hash of the anchors' phone
n-gram vectors, so in-batch negatives sound alike (hard negatives).

No movie or book title (catalogs/movies.csv, books.csv) is read: those are benchmark catalogs.

Model: phone embeddings, three residual blocks over dilated 3-phone windows (a convolution written as one Linear,
so int8 quantisation covers it), masked mean + max pooling, a linear projection, L2 normalisation. Loss: symmetric
InfoNCE with in-batch negatives (temperature ``--temperature``).
Training runs for a wall-clock budget (``--minutes``) with a cosine schedule and the final
weights are kept (no checkpoint is picked on the "tune" fold, which decides whether the encoder is used at all; the
curve logs its embedding-only top-1 for information). Seeds fixed, ``--threads`` (1) torch threads.

After training, ``--ranker-eval`` (on by default) measures both encoders as ``training/tune_resolver.py`` chooses
between them: top-1 on the "tune" rows by 2-fold cross-fitting (halves by value-bucket parity; the "phonetic" and
"combined" ranker presets fitted on one half, scored on the other), with the just-trained encoder loaded from
``--out`` (nothing is read from or written to models/).
"""
from __future__ import annotations

import argparse
import importlib.metadata
import json
import math
import os
import platform
import random
import re
import shutil
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from hark.onnx import sha256_file
from hark.phonetics import ARPABET, G2P, load_cmudict
from hark.plugins.entity_resolver.phonetic import _COARSE_GROUPS, phone_string, phone_vectors
from hark.plugins.entity_resolver.phonetic_model import FORMAT, MODEL_DIR, LearnedEncoder

from .entity_data import devel_entity_values, load_catalog, load_rows, slurp_dir, snips_music_values, value_bucket

ROOT = Path(__file__).resolve().parent.parent
PAD = 0
MAX_PHONES = 48
_WORD = re.compile(r"[a-z']+")
_PHONE_ID = {p: i + 1 for i, p in enumerate(ARPABET)}
_GROUP_OF = {p: g for g, ps in _COARSE_GROUPS.items() for p in ps}
_GROUP_MEMBERS = {g: list(ps) for g, ps in _COARSE_GROUPS.items()}
_VOWELS = [p for p in ARPABET if p[0] in "AEIOU"]


# ---------------------------------------------------------------------------------------------------------- data


class SoundAlikes:
    """Words of an ASR-like vocabulary at phone edit distance <= 1 (deletion-neighbourhood index)."""

    def __init__(self, vocab: dict[str, tuple[str, ...]]):
        self.vocab = vocab
        self._by_key: dict[tuple[str, ...], list[str]] = {}
        for word, phones in vocab.items():
            for key in self._keys(phones):
                self._by_key.setdefault(key, []).append(word)

    @staticmethod
    def _keys(phones: tuple[str, ...]) -> set[tuple[str, ...]]:
        keys = {phones}
        if len(phones) > 1:
            keys.update(phones[:i] + phones[i + 1:] for i in range(len(phones)))
        return keys

    def near(self, phones: tuple[str, ...]) -> list[tuple[str, ...]]:
        out = {tuple(self.vocab[w]) for key in self._keys(phones) for w in self._by_key.get(key, ())}
        out.discard(phones)
        return sorted(out)


def asr_vocabulary() -> dict[str, tuple[str, ...]]:
    cmu = load_cmudict()
    words: set[str] = set()
    for line in (slurp_dir() / "lm_train_sentences.txt").read_text(encoding="utf-8").splitlines():
        words.update(_WORD.findall(line.lower()))
    for line in (slurp_dir() / "devel.jsonl").read_text(encoding="utf-8").splitlines():
        words.update(_WORD.findall(json.loads(line)["sentence"].lower()))
    return {w: cmu[w] for w in sorted(words) if w in cmu and cmu[w]}


def corrupt(words: list[tuple[str, ...]], alikes: SoundAlikes, rng: random.Random) -> tuple[str, ...]:
    """A misheard form of a phrase given as per-word phones."""
    words = list(words)
    if len(words) > 1 and rng.random() < 0.15:
        words.pop(0 if rng.random() < 0.5 else -1)
    changed = False
    for i, w in enumerate(words):
        if rng.random() < 0.45:
            near = alikes.near(w)
            if near:
                words[i] = rng.choice(near)
                changed = True
    phones: list[str] = []
    noise = 0.04 if changed else 0.10
    for p in (p for w in words for p in w):
        r = rng.random()
        if r < noise:  # substitute within the confusion group (vowels: any vowel now and then)
            group = _GROUP_MEMBERS[_GROUP_OF[p]]
            pool = _VOWELS if p in _VOWELS and rng.random() < 0.3 else group
            phones.append(rng.choice(pool))
        elif r < noise + 0.03:
            continue
        else:
            phones.append(p)
        if rng.random() < 0.02:
            phones.append(rng.choice(ARPABET))
    return tuple(phones) or tuple(p for w in words for p in w)


@dataclass
class PairData:
    anchors: list[list[tuple[str, ...]]]  # per-word phones of each synthetic anchor
    real: list[tuple[tuple[str, ...], tuple[str, ...]]]  # (gold phones, heard phones) from SLURP fit rows
    #: anchor indices grouped by a locality-sensitive hash of their hashed phone n-gram vectors: anchors that
    #: share sounds, drawn together so that in-batch negatives are hard
    buckets: list[list[int]] | None = None
    #: the text of each anchor (a CMUdict word for the single-word anchors)
    names: list[str] = field(default_factory=list)
    #: anchor index -> misheard forms made by the learned phone confusion model (``--confusion-pairs``)
    confusion: dict[int, list[tuple[str, ...]]] = field(default_factory=dict)

    def bucketize(self, bits: int, seed: int) -> None:
        fines = [phone_string([p for w in pw for p in w]) for pw in self.anchors]
        vecs = phone_vectors(fines)
        planes = np.random.default_rng(seed).standard_normal((vecs.shape[1], bits)).astype(np.float32)
        codes = ((vecs @ planes) > 0).astype(np.int64) @ (1 << np.arange(bits))
        groups: dict[int, list[int]] = {}
        for i, c in enumerate(codes.tolist()):
            groups.setdefault(c, []).append(i)
        self.buckets = [g for g in groups.values() if len(g) >= 8]


def build_data(seed: int, cmudict_words: int, phrases: int) -> tuple[PairData, dict]:
    g2p = G2P.default()
    rng = random.Random(seed)
    cmu = load_cmudict()
    devel = sorted(devel_entity_values())
    snips = snips_music_values()
    words = sorted(w for w in cmu if _WORD.fullmatch(w) and len(cmu[w]) >= 2)
    sample = rng.sample(words, min(cmudict_words, len(words)))
    phrase_texts = [" ".join(rng.sample(words, rng.choice((2, 2, 3)))) for _ in range(phrases)]
    anchors, names = [], []
    for text in devel + snips + phrase_texts:
        pw = g2p.phrase_words(text)
        if pw and sum(map(len, pw)) <= MAX_PHONES:
            anchors.append(pw)
            names.append(text)
    anchors += [[cmu[w]] for w in sample]
    names += sample
    real = []
    for r in load_rows():
        if r.split == "fit" and r.changed:
            gold, heard = g2p.phrase(r.gold_value), g2p.phrase(r.heard_span)
            if gold and heard:
                real.append((gold[:MAX_PHONES], heard[:MAX_PHONES]))
    stats = {"slurp_devel_values": len(devel), "snips_music_values": len(snips), "cmudict_words": len(sample),
             "cmudict_phrases": len(phrase_texts), "anchors": len(anchors), "slurp_fit_pairs": len(real)}
    return PairData(anchors, real, names=names), stats


def confusion_rewriter() -> tuple[object, object, dict]:
    """(ConfusionModel, WordMapper, info): the confusion model of training/confusion.py fitted on SLURP's ASR
    pairs without the slurp_ids of the "test" rows (as benchmarks/entity_spoken.py) nor of the "tune" rows."""
    from .confusion import WordMapper, fit_pairs, generic_lm_vocabulary, slurp_asr_pairs, wer

    rows = load_rows()
    skip = {r.slurp_id for r in rows if r.split in ("test", "tune")}
    pairs = slurp_asr_pairs(slurp_dir() / "test_dev_asr_1best_pairs.tsv", exclude_slurp_ids=skip)
    model = fit_pairs(pairs)
    mapper = WordMapper(generic_lm_vocabulary())
    info = {"excluded_slurp_ids": len(skip), "asr_pairs": len(pairs), "asr_pairs_wer": round(wer(pairs), 4),
            "p_word_change": round(model.p_change, 4), "word_mapper_vocabulary": len(mapper)}
    return model, mapper, info


def add_confusion_pairs(data: PairData, n: int, words_share: float, seed: int) -> dict:
    """``n`` confusion-model rewrites of anchors drawn uniformly (without the "tune"-bucket SLURP values) into
    ``data.confusion``; each rewrite differs from its anchor."""
    model, mapper, info = confusion_rewriter()
    rng = random.Random(f"{seed}-confusion")
    eligible = [i for i, name in enumerate(data.names) if value_bucket(name) < 75]
    made = mapped = failed = 0
    for _ in range(n):
        i = rng.choice(eligible)
        pw = data.anchors[i]
        flat = tuple(p for w in pw for p in w)
        out: tuple[str, ...] = ()
        for _ in range(40):
            heard, _ = model.sample(pw, rng)
            if not heard or heard == flat:
                continue
            if rng.random() < words_share:
                _, word_phones = mapper.words(heard)
                as_words = tuple(p for w in word_phones for p in w)
                if as_words and as_words != flat:
                    out = as_words
                    mapped += 1
                    break
                continue
            out = heard
            break
        if out:
            data.confusion.setdefault(i, []).append(out[:MAX_PHONES])
            made += 1
        else:
            failed += 1
    info |= {"pairs": made, "mapped_to_words": mapped, "gave_up": failed, "anchors_eligible": len(eligible),
             "anchors_with_rewrites": len(data.confusion)}
    return info


def make_batch(data: PairData, alikes: SoundAlikes, size: int, real_share: float, rng: random.Random,
               hard_share: float = 0.0, confusion_share: float = 0.0,
               ) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    left, right = [], []
    n_real = int(size * real_share) if data.real else 0
    for gold, heard in rng.sample(data.real, min(n_real, len(data.real))):
        left.append(gold)
        right.append(heard)
    picks: list[int] = []
    if data.buckets and hard_share > 0:
        while len(picks) < int(size * hard_share):
            bucket = rng.choice(data.buckets)
            picks.extend(rng.sample(bucket, min(len(bucket), 16)))
    while len(left) < size:
        if data.confusion and confusion_share > 0:
            i = picks.pop() if picks else rng.randrange(len(data.anchors))
            pw = data.anchors[i]
            left.append(tuple(p for w in pw for p in w)[:MAX_PHONES])
            rewrites = data.confusion.get(i)
            if rewrites and rng.random() < confusion_share:
                right.append(rng.choice(rewrites))
            else:
                right.append(corrupt(pw, alikes, rng)[:MAX_PHONES])
            continue
        pw = data.anchors[picks.pop()] if picks else rng.choice(data.anchors)
        left.append(tuple(p for w in pw for p in w)[:MAX_PHONES])
        right.append(corrupt(pw, alikes, rng)[:MAX_PHONES])
    return left, right


def embed_batch(model: nn.Module, seqs: list[tuple[str, ...]], chunks: int = 4) -> torch.Tensor:
    """model(seqs) run on length-sorted chunks (less padding), rows back in the input order."""
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
    size = math.ceil(len(seqs) / chunks)
    parts = [model(to_ids([seqs[i] for i in order[s:s + size]])) for s in range(0, len(seqs), size)]
    out = torch.cat(parts)
    inverse = torch.empty(len(seqs), dtype=torch.long)
    inverse[torch.tensor(order)] = torch.arange(len(seqs))
    return out[inverse]


def to_ids(seqs: list[tuple[str, ...]]) -> torch.Tensor:
    width = max(1, max(len(s) for s in seqs))
    out = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, s in enumerate(seqs):
        if s:
            out[i, :len(s)] = torch.tensor([_PHONE_ID[p] for p in s])
    return out


# --------------------------------------------------------------------------------------------------------- model


@dataclass
class Config:
    d_model: int = 64
    layers: int = 3
    #: dilation of each layer's 3-phone window: receptive field 1 + 2 * sum(dilations) phones
    dilations: tuple[int, ...] = (1, 2, 4)
    dim: int = 128
    dropout: float = 0.1


class ConvBlock(nn.Module):
    """A 3-phone window (dilated) as one Linear over [x(t-d), x(t), x(t+d)]: a convolution the int8 exporter sees
    as a MatMul. Pre-LN, GELU, residual; padded positions are zeroed so they never leak into real ones."""

    def __init__(self, cfg: Config, dilation: int):
        super().__init__()
        self.d = dilation
        self.norm = nn.LayerNorm(cfg.d_model)
        self.window = nn.Linear(3 * cfg.d_model, 2 * cfg.d_model)
        self.out = nn.Linear(2 * cfg.d_model, cfg.d_model)
        self.drop = nn.Dropout(cfg.dropout) if cfg.dropout > 0 else nn.Identity()

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        y = self.norm(x) * mask
        d = self.d
        left = F.pad(y, (0, 0, d, 0))[:, :-d]   # x(t - d)
        right = F.pad(y, (0, 0, 0, d))[:, d:]   # x(t + d)
        y = self.out(F.gelu(self.window(torch.cat([left, y, right], dim=-1))))
        return (x + self.drop(y)) * mask


class PhoneEncoder(nn.Module):
    """phones [B, T] (0 = pad) -> L2-normalised vector [B, dim]: phone embeddings, dilated 3-phone windows,
    masked mean + max pooling, a projection."""

    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(len(ARPABET) + 1, cfg.d_model, padding_idx=PAD)
        self.blocks = nn.ModuleList(ConvBlock(cfg, d) for d in cfg.dilations[:cfg.layers])
        self.norm = nn.LayerNorm(cfg.d_model)
        self.proj = nn.Linear(2 * cfg.d_model, cfg.dim)

    def forward(self, phones: torch.Tensor) -> torch.Tensor:
        mask = (phones != PAD).float()[..., None]  # [B, T, 1]
        x = self.embed(phones) * mask
        for block in self.blocks:
            x = block(x, mask)
        x = self.norm(x)
        mean = (x * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        top = (x * mask + (mask - 1.0) * 1e4).max(1).values
        return F.normalize(self.proj(torch.cat([mean, top], dim=-1)), dim=-1)


# ------------------------------------------------------------------------------------------------------- scoring


def tune_accuracy(embed_fn, split: str = "tune") -> dict[str, float]:
    """Embedding-only nearest neighbour in the row's catalog: top-1 on all and changed rows of ``split``."""
    g2p = G2P.default()
    rows = [r for r in load_rows() if r.split == split]
    cats: dict[str, tuple[list[str], np.ndarray]] = {}
    hits = changed_hits = n_changed = 0
    heard = embed_fn([phone_string(g2p.phrase(r.heard_span)) for r in rows])
    for r, h in zip(rows, heard):
        if r.entity_type not in cats:
            names = load_catalog(r.entity_type)
            cats[r.entity_type] = (names, embed_fn([phone_string(g2p.phrase(n)) for n in names]))
        names, vecs = cats[r.entity_type]
        ok = names[int(np.argmax(vecs @ h))] == r.gold_value
        hits += ok
        if r.changed:
            changed_hits += ok
            n_changed += 1
    return {"all": round(100.0 * hits / len(rows), 2), "changed": round(100.0 * changed_hits / n_changed, 2)}


def torch_embed_fn(model: PhoneEncoder):
    char_id = {c: _PHONE_ID[p] for p, c in zip(ARPABET, (phone_string([p]) for p in ARPABET))}

    def embed(fines: list[str]) -> np.ndarray:
        model.eval()
        out = np.zeros((len(fines), model.cfg.dim), dtype=np.float32)
        with torch.no_grad():
            for start in range(0, len(fines), 512):
                chunk = fines[start:start + 512]
                ids = torch.zeros((len(chunk), max(1, min(MAX_PHONES, max(len(f) for f in chunk)))), dtype=torch.long)
                for i, f in enumerate(chunk):
                    v = [char_id[c] for c in f[:MAX_PHONES]]
                    if v:
                        ids[i, :len(v)] = torch.tensor(v, dtype=torch.long)
                emb = model(ids).numpy()
                emb[[not f for f in chunk]] = 0.0
                out[start:start + len(chunk)] = emb
        return out

    return embed


@contextmanager
def _learned_from(folder: Path):
    """Resolvers built inside get "learned" = the encoder in ``folder`` (not models/phonetic) and an index cache
    under ``folder``."""
    from hark.plugins.entity_resolver import phonetic_model

    original, cache = phonetic_model.get_encoder, os.environ.get("HARK_CACHE")
    enc = LearnedEncoder.load(folder)
    phonetic_model.get_encoder = lambda name, directory=None: enc if name == "learned" else original(name)
    os.environ["HARK_CACHE"] = str(folder / "cache")
    try:
        yield
    finally:
        phonetic_model.get_encoder = original
        if cache is None:
            os.environ.pop("HARK_CACHE", None)
        else:
            os.environ["HARK_CACHE"] = cache


def ranker_accuracy(folder: Path) -> dict:
    """top-1 on the "tune" rows of each encoder with the "phonetic" and "combined" ranker presets, 2-fold
    cross-fitted inside "tune" exactly as ``training.tune_resolver`` decides between the encoders."""
    from .tune_resolver import query_features, two_fold_accuracy

    rows = [r for r in load_rows() if r.split == "tune"]
    halves = [[i for i, r in enumerate(rows) if value_bucket(r.gold_value) % 2 == h] for h in (0, 1)]
    changed = [r.changed for r in rows]
    out = {}
    with _learned_from(folder):
        for enc in ("hashed", "learned"):
            entry = two_fold_accuracy(query_features(rows, enc), changed, halves)
            out[enc] = entry
            print(f"{enc}: 2-fold cross-fitted ranker top-1 on 'tune': {entry}", flush=True)
    return out


# -------------------------------------------------------------------------------------------------------- export


class _Export(nn.Module):
    def __init__(self, model: PhoneEncoder):
        super().__init__()
        self.model = model

    def forward(self, phones: torch.Tensor) -> torch.Tensor:
        return self.model(phones)


def export(model: PhoneEncoder, folder: Path) -> tuple[str, str]:
    """fp32 and int8 ONNX graphs in ``folder``; returns their file names."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model.eval()
    batch = torch.export.Dim("batch", min=1, max=4096)
    seq = torch.export.Dim("seq", min=1, max=MAX_PHONES)
    example = torch.tensor([[5, 6, 7, 8], [9, 10, PAD, PAD]], dtype=torch.long)
    prog = torch.onnx.export(_Export(model).eval(), (example,), dynamo=True, opset_version=18, input_names=["phones"],
                             output_names=["vector"], dynamic_shapes={"phones": {0: batch, 1: seq}},
                             optimize=True, verbose=False)
    prog.save(str(folder / "encoder.onnx"), external_data=False)
    quantize_dynamic(str(folder / "encoder.onnx"), str(folder / "encoder.int8.onnx"), weight_type=QuantType.QInt8,
                     per_channel=True, op_types_to_quantize=["MatMul", "Gather"],
                     extra_options={"MatMulConstBOnly": True})
    return "encoder.onnx", "encoder.int8.onnx"


def write_meta(folder: Path, file: str, cfg: Config, extra: dict) -> None:
    meta = {"format": FORMAT, "phones": list(ARPABET), "pad_id": PAD, "max_phones": MAX_PHONES, "dim": cfg.dim,
            "file": file, "file_sha256": sha256_file(folder / file), "model": asdict(cfg)} | extra
    (folder / "meta.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------------------------------------- train


def train(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    t_start = time.time()
    data, stats = build_data(args.seed, args.cmudict_words, args.phrases)
    alikes = SoundAlikes(asr_vocabulary())
    stats["asr_vocabulary"] = len(alikes.vocab)
    data.bucketize(args.lsh_bits, args.seed)
    stats["lsh_buckets"] = len(data.buckets or [])
    if args.confusion_pairs > 0:
        t_conf = time.time()
        stats["confusion"] = add_confusion_pairs(data, args.confusion_pairs, args.confusion_words, args.seed)
        stats["confusion"]["seconds"] = round(time.time() - t_conf, 1)
    print(f"data: {stats} ({time.time() - t_start:.0f} s)", flush=True)
    hashed = {split: tune_accuracy(phone_vectors, split) for split in ("fit", "tune")}
    print(f"hashed phone n-grams, embedding-only top-1: {hashed}", flush=True)

    cfg = Config(dim=args.dim)
    model = PhoneEncoder(cfg)
    params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    budget = args.minutes * 60.0
    curve = []
    step = 0
    t_train = time.time()
    bar = tqdm(total=int(budget), unit="s", desc="train", mininterval=5)
    last_eval = t_train
    while True:
        elapsed = time.time() - t_train
        if elapsed >= budget:
            break
        frac = elapsed / budget
        lr = args.lr * min(1.0, (step + 1) / 200) * (0.5 * (1 + math.cos(math.pi * frac)))
        for group in opt.param_groups:
            group["lr"] = lr
        model.train()
        left, right = make_batch(data, alikes, args.batch, args.real_share, rng, args.hard_share,
                                 args.confusion_share)
        a, b = embed_batch(model, left), embed_batch(model, right)
        logits = a @ b.T / args.temperature
        target = torch.arange(len(left))
        loss = 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        bar.update(int(time.time() - t_train) - bar.n)
        if time.time() - last_eval >= args.eval_every or time.time() - t_train >= budget:
            last_eval = time.time()
            acc = tune_accuracy(torch_embed_fn(model))
            curve.append({"step": step, "minutes": round((time.time() - t_train) / 60, 2),
                          "loss": round(loss.item(), 4), "tune": acc})
            bar.write(f"step {step} loss {loss.item():.3f} tune top-1 {acc}")
    bar.close()
    train_minutes = (time.time() - t_train) / 60
    torch_scores = {split: tune_accuracy(torch_embed_fn(model), split) for split in ("fit", "tune")}
    args.out.mkdir(parents=True, exist_ok=True)
    torch.save({"config": asdict(cfg), "state": model.state_dict()}, args.out / "phonetic.pt")
    fp32, int8 = export(model, args.out)
    scores = {"hashed": hashed, "torch": torch_scores}
    for name, file in (("onnx_fp32", fp32), ("onnx_int8", int8)):
        write_meta(args.out, file, cfg, {})
        enc = LearnedEncoder.load(args.out)
        scores[name] = {split: tune_accuracy(enc.encode, split) for split in ("fit", "tune")}
    print(f"embedding-only top-1: {scores}", flush=True)
    int8_ok = scores["onnx_int8"]["tune"]["changed"] >= scores["onnx_fp32"]["tune"]["changed"] - 1.0
    shipped = "int8" if int8_ok else "fp32"
    file = int8 if shipped == "int8" else fp32
    write_meta(args.out, file, cfg, {})
    ranker = ranker_accuracy(args.out) if args.ranker_eval else None
    provenance = {
        "variant": shipped, "parameters": params, "steps": step, "batch": args.batch, "lr": args.lr,
        "temperature": args.temperature, "real_share": args.real_share, "hard_share": args.hard_share,
        "confusion_pairs": args.confusion_pairs, "confusion_share": args.confusion_share,
        "confusion_words": args.confusion_words,
        "seed": args.seed, "threads": args.threads,
        "train_minutes": round(train_minutes, 1), "total_minutes": round((time.time() - t_start) / 60, 1),
        "data": stats, "embedding_only_top1": scores, "ranker_top1_two_fold_on_tune": ranker,
        "curve": curve, "torch": torch.__version__, "onnxruntime": importlib.metadata.version("onnxruntime"),
        "machine": platform.machine(), "bytes": (args.out / file).stat().st_size,
    }
    write_meta(args.out, file, cfg, {"training": provenance})
    print(f"wrote {args.out} ({shipped}, {provenance['bytes'] / 1e6:.2f} MB, {train_minutes:.1f} min training)")
    if args.install:
        MODEL_DIR.mkdir(parents=True, exist_ok=True)
        for old in MODEL_DIR.glob("*.onnx"):
            old.unlink()
        shutil.copy2(args.out / file, MODEL_DIR / file)
        shutil.copy2(args.out / "meta.json", MODEL_DIR / "meta.json")
        print(f"installed into {MODEL_DIR} (MODEL_CARD.md is written by hand from meta.json's numbers)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "phonetic", help="build folder")
    ap.add_argument("--install", action="store_true", help=f"copy the model and meta.json into {MODEL_DIR}")
    ap.add_argument("--minutes", type=float, default=12.0, help="training wall-clock budget")
    ap.add_argument("--batch", type=int, default=256, help="pairs per step (in-batch negatives)")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--temperature", type=float, default=0.05)
    ap.add_argument("--real-share", type=float, default=0.03, help="share of a batch drawn from SLURP fit pairs")
    ap.add_argument("--hard-share", type=float, default=0.5,
                    help="share of a batch drawn 16 at a time from one LSH bucket of similar-sounding anchors")
    ap.add_argument("--lsh-bits", type=int, default=10, help="hyperplanes of the anchor LSH (2^bits buckets)")
    ap.add_argument("--dim", type=int, default=128, help="embedding size")
    ap.add_argument("--cmudict-words", type=int, default=30000, help="single CMUdict words used as anchors")
    ap.add_argument("--phrases", type=int, default=10000, help="random 2-3 word CMUdict phrases used as anchors")
    ap.add_argument("--confusion-pairs", type=int, default=0,
                    help="pairs (anchor, rewrite by the phone confusion model of training/confusion.py) to add")
    ap.add_argument("--confusion-share", type=float, default=0.5,
                    help="probability that a drawn anchor with confusion rewrites gets one instead of a rule-made form")
    ap.add_argument("--confusion-words", type=float, default=0.5,
                    help="share of confusion rewrites mapped to generic-LM words (else kept as phones)")
    ap.add_argument("--ranker-eval", action=argparse.BooleanOptionalAction, default=True,
                    help="after training, 2-fold ranker top-1 on 'tune' of both encoders (as tune_resolver)")
    ap.add_argument("--eval-every", type=float, default=60.0, help="seconds between 'tune' evaluations")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=13)
    train(ap.parse_args())


if __name__ == "__main__":
    main()
