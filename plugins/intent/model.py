"""Inference for the joint intent + slot ONNX model (format ``hark-joint-intent-slot/1``).

A model directory holds model.onnx, tokenizer.model (sentencepiece) and meta.json (labels, special ids,
checksums, calibration temperature, optional tag-bigram prior). Words come from ``hark.text.tokenize``; each word
is encoded on its own and its tag is read at its first piece, so slot spans always fall on word boundaries. All
hypotheses of an n-best list go through the network in one padded batch and are decoded together by a
BIO-constrained Viterbi (plus the prior, when the model has one). A folder may instead hold an ensemble of such
folders (meta.json ``members``), whose readings are pooled before that one decode (docs/decisions.md 45).
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from hark.errors import ModelError
from hark.onnx import load_session, read_meta
from hark.text import Token, tokenize

__all__ = ["JointModel", "Prediction", "SpanPrediction", "viterbi_bio", "viterbi_bio_batch", "allowed_transitions",
           "with_transition_prior", "pool"]

FORMAT = "hark-joint-intent-slot/1"
REBUILD = "hark train --full"


@dataclass(frozen=True)
class SpanPrediction:
    slot: str
    start: int  # word indices, end exclusive
    end: int
    confidence: float


@dataclass(frozen=True)
class Prediction:
    """The network's reading of one text."""

    tokens: tuple[Token, ...]
    #: calibrated intent probabilities, aligned with JointModel.intents
    intent_probs: np.ndarray
    spans: tuple[SpanPrediction, ...]
    #: raw intent logits (before the calibration temperature), for calibration and analysis
    intent_logits: np.ndarray | None = None


def allowed_transitions(tags: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """BIO constraints: (start[j], trans[i, j]) are 0 where allowed and -inf where not (I-x only after B-x/I-x)."""
    n = len(tags)
    start = np.zeros(n, dtype=np.float32)
    trans = np.zeros((n, n), dtype=np.float32)
    for j, tag in enumerate(tags):
        if tag.startswith("I-"):
            start[j] = -np.inf
            for i, prev in enumerate(tags):
                if prev[2:] != tag[2:] or prev == "O":
                    trans[i, j] = -np.inf
    return start, trans


def with_transition_prior(start: np.ndarray, trans: np.ndarray, prior: dict | None,
                          source: Path) -> tuple[np.ndarray, np.ndarray]:
    """Add ``weight * log P(tag | previous tag)`` (meta.json ``slot_transition_prior``, fitted on the training tags
    with the weight chosen on valid) to the BIO constraint: it penalises tag pairs the training data never shows,
    such as two adjacent spans of one type, that the per-word logits alone cannot see."""
    weight = float((prior or {}).get("weight") or 0.0)
    if not weight:
        return start, trans
    n = len(start)
    try:
        p_start = np.asarray(prior["start"], dtype=np.float32)
        p_trans = np.asarray(prior["log_probs"], dtype=np.float32)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"{source}: slot_transition_prior is malformed ({exc})") from None
    if p_start.shape != (n,) or p_trans.shape != (n, n):
        raise ModelError(f"{source}: slot_transition_prior has shapes {p_start.shape} and {p_trans.shape}, "
                         f"expected ({n},) and ({n}, {n}) for the {n} tags")
    return start + weight * p_start, trans + weight * p_trans


def viterbi_bio(log_probs: np.ndarray, start: np.ndarray, trans: np.ndarray) -> list[int]:
    """Most probable well-formed tag sequence for [words, tags] log-probabilities."""
    return viterbi_bio_batch(log_probs[None], [log_probs.shape[0]], start, trans)[0]


def viterbi_bio_batch(log_probs: np.ndarray, lengths: Sequence[int], start: np.ndarray,
                      trans: np.ndarray) -> list[list[int]]:
    """``viterbi_bio`` for a whole n-best batch at once: log_probs [batch, words, tags], row i has ``lengths[i]``
    words (left-aligned, the rest padding). One numpy pass per word position instead of one per word and row."""
    batch, n_words, n_tags = log_probs.shape
    if n_words == 0:
        return [[] for _ in range(batch)]
    lengths_a = np.asarray(lengths)[:, None]
    score = log_probs[:, 0] + start  # [batch, tags]
    back = np.zeros((batch, n_words, n_tags), dtype=np.int64)
    keep = np.arange(n_tags)[None]
    for t in range(1, n_words):
        cand = score[:, :, None] + trans[None]  # [batch, prev, cur]
        arg = cand.argmax(1)
        live = t < lengths_a  # finished rows keep their score and point back to themselves
        score = np.where(live, np.take_along_axis(cand, arg[:, None, :], 1)[:, 0] + log_probs[:, t], score)
        back[:, t] = np.where(live, arg, keep)
    paths = []
    for b, n in enumerate(lengths):
        if n == 0:
            paths.append([])
            continue
        best = [int(score[b].argmax())]
        for t in range(n - 1, 0, -1):
            best.append(int(back[b, t, best[-1]]))
        paths.append(best[::-1])
    return paths


def _read_meta(directory: Path) -> dict:
    meta_path, meta = read_meta(directory, FORMAT, "intent model", REBUILD)
    for key in ("intents", "tags"):
        if key not in meta:
            raise ModelError(f"{meta_path}: missing key {key!r}")
    return meta


def _member_dirs(directory: Path, meta: dict) -> list[Path]:
    """The sub-folders of an ensemble (meta.json ``members``), each a plain model folder; plain names only, so a
    model folder cannot point outside itself."""
    names = meta["members"]
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise ModelError(f"{directory / 'meta.json'}: members must be a non-empty list of sub-folder names")
    dirs = []
    for name in names:
        plain = name not in ("", ".", "..") and "/" not in name and "\\" not in name
        if not plain or not (directory / name).is_dir() \
                or not (directory / name).resolve().is_relative_to(directory.resolve()):  # a link elsewhere
            raise ModelError(f"{directory / 'meta.json'}: member {name!r} is not a sub-folder of {directory}")
        dirs.append(directory / name)
    return dirs


def pool(intent_probs: Sequence[np.ndarray], log_probs: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """An ensemble's reading from its members': the mean of their calibrated intent probabilities, and per word
    the renormalised mean of their tag log-probabilities (log-linear pooling, which favours tags every member
    allows). Arrays are [batch, intents] and [batch, words, tags] with equal shapes across members."""
    probs = np.mean(np.stack(intent_probs), axis=0)
    return probs, _log_softmax(np.mean(np.stack(log_probs), axis=0), axis=-1)


class _Network:
    """One ONNX network with its own tokenizer: a plain model folder, or one member of an ensemble."""

    def __init__(self, directory: Path, meta: dict, threads: int):
        for key in ("bos_id", "eos_id", "pad_id"):
            if key not in meta:
                raise ModelError(f"{directory / 'meta.json'}: missing key {key!r}")
        self.directory, self.meta = directory, meta
        self.temperature = float(meta.get("temperature") or 1.0)
        self.max_len = int(meta.get("max_len") or 64)
        sums = meta.get("sha256") or {}
        import sentencepiece as spm

        tok_path = directory / "tokenizer.model"
        if not tok_path.is_file():
            raise ModelError(f"{directory}: tokenizer.model is missing")
        if sums.get("tokenizer.model"):
            from hark.onnx import sha256_file

            if sha256_file(tok_path) != sums["tokenizer.model"]:
                raise ModelError(f"{tok_path}: checksum mismatch with meta.json; rebuild or restore the model")
        self.sp = spm.SentencePieceProcessor(model_file=str(tok_path))
        self.session = load_session(directory / "model.onnx", sha256=sums.get("model.onnx"), threads=threads)
        self._piece_cache: dict[str, list[int]] = {}

    def _pieces(self, word: str) -> list[int]:
        ids = self._piece_cache.get(word)
        if ids is None:
            ids = self.sp.encode(word) or [self.sp.unk_id()]
            if len(self._piece_cache) < 50_000:
                self._piece_cache[word] = ids
        return ids

    def encode(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, list[list[int]], list[list[Token]]]:
        """Padded ids and mask, the first-piece position of every word, and the words themselves."""
        rows, firsts, words = [], [], []
        for text in texts:
            toks = tokenize(text)
            ids = [int(self.meta["bos_id"])]
            first = []
            for tok in toks:
                pieces = self._pieces(tok.text)
                if len(ids) + len(pieces) >= self.max_len:  # keep room for EOS; later words are dropped
                    break
                first.append(len(ids))
                ids.extend(pieces)
            ids.append(int(self.meta["eos_id"]))
            rows.append(ids)
            firsts.append(first)
            words.append(toks[: len(first)])
        width = max(len(r) for r in rows)
        input_ids = np.full((len(rows), width), int(self.meta["pad_id"]), dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for i, r in enumerate(rows):
            input_ids[i, : len(r)] = r
            mask[i, : len(r)] = 1
        return input_ids, mask, firsts, words

    def read(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[list[Token]]]:
        """Raw intent logits, calibrated intent probabilities, per-word tag log-probabilities (left-aligned,
        zero-padded) and the words each row kept."""
        input_ids, mask, firsts, words = self.encode(texts)
        intent_logits, slot_logits = self.session.run(["intent_logits", "slot_logits"],
                                                      {"input_ids": input_ids, "attention_mask": mask})
        word_logits = np.zeros((len(texts), max(len(f) for f in firsts), slot_logits.shape[-1]), dtype=np.float32)
        for b, first in enumerate(firsts):
            word_logits[b, : len(first)] = slot_logits[b, first, :]
        return (intent_logits, _softmax(intent_logits / self.temperature, axis=-1),
                _log_softmax(word_logits, axis=-1), words)


class JointModel:
    """Loaded once per plugin; ``predict(texts)`` is one onnxruntime call per network.

    A model folder holds one network, or (meta.json ``members``) an ensemble: sub-folders that are model folders
    themselves, each with its own tokenizer and checksums, sharing the labels. Their readings are pooled
    (``pool``) before the one Viterbi decode, with the first member's tag prior, so an ensemble is used exactly
    like a single model."""

    def __init__(self, directory: Path, threads: int = 1):
        directory = Path(directory)
        meta = _read_meta(directory)
        self.directory, self.meta = directory, meta
        self.intents: list[str] = list(meta["intents"])
        self.tags: list[str] = list(meta["tags"])
        if "members" in meta:
            self.networks = []
            for sub in _member_dirs(directory, meta):
                sub_meta = _read_meta(sub)
                if list(sub_meta["intents"]) != self.intents or list(sub_meta["tags"]) != self.tags:
                    raise ModelError(f"{sub}: its intents or tags differ from {directory / 'meta.json'}")
                self.networks.append(_Network(sub, sub_meta, threads))
        else:
            self.networks = [_Network(directory, meta, threads)]
        # members run side by side (onnxruntime releases the GIL): two cores read a pair in about one's time
        self._pool = ThreadPoolExecutor(len(self.networks), "hark-intent") if len(self.networks) > 1 else None
        first = self.networks[0]  # an ensemble decodes with its first member's tag prior
        self._start, self._trans = with_transition_prior(*allowed_transitions(self.tags),
                                                         first.meta.get("slot_transition_prior"),
                                                         first.directory / "meta.json")

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        if not texts:
            return []
        if self._pool is None:
            reads = [self.networks[0].read(texts)]
        else:
            reads = list(self._pool.map(lambda net: net.read(texts), self.networks))
        if len(reads) == 1:
            intent_logits, intent_probs, log_probs, words = reads[0]
        else:  # members may keep fewer words of a long text (their pieces differ): pool the words all kept
            words = [min((r[3][b] for r in reads), key=len) for b in range(len(texts))]
            width = max(len(w) for w in words)
            intent_probs, log_probs = pool([r[1] for r in reads], [r[2][:, :width] for r in reads])
            intent_logits = np.log(np.maximum(intent_probs, 1e-12))
        lengths = [len(w) for w in words]
        paths = viterbi_bio_batch(log_probs, lengths, self._start, self._trans)
        return [Prediction(tuple(words[b]), intent_probs[b], tuple(self._spans(path, log_probs[b])), intent_logits[b])
                for b, path in enumerate(paths)]

    def _spans(self, path: list[int], log_probs: np.ndarray) -> list[SpanPrediction]:
        spans: list[SpanPrediction] = []
        start = None
        for i, tag_id in enumerate(path + [0]):
            tag = self.tags[tag_id] if i < len(path) else "O"
            if start is not None and not (tag.startswith("I-") and tag[2:] == self.tags[path[start]][2:]):
                conf = float(np.exp(np.mean([log_probs[k, path[k]] for k in range(start, i)])))
                spans.append(SpanPrediction(self.tags[path[start]][2:], start, i, conf))
                start = None
            if tag.startswith("B-"):
                start = i
        return spans


def _softmax(x: np.ndarray, axis: int) -> np.ndarray:
    z = x - x.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def _log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    z = x - x.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))
