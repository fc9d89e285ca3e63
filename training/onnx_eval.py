"""Run an exported joint model with onnxruntime exactly as the runtime does (numpy + sentencepiece, no torch).

Pre-processing: ``hark.text.tokenize`` words (already lower-cased) -> ``sp.encode(word)`` per word -> ``[BOS] pieces
[EOS]``, truncated to ``max_len``; a batch is right-padded with ``pad_id`` and ``attention_mask`` 0. Post-processing:
softmax over intent logits (divided by the temperature), constrained BIO Viterbi over the slot logits at each word's
first piece (:class:`training.metrics.BioDecoder`), plus the model's tag-bigram prior when meta.json has one (as
the runtime does; ``use_prior=False`` scores the plain constraint); words cut off by truncation are tagged O.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
import sentencepiece as spm

from .metrics import BioDecoder


def encode_words(sp: spm.SentencePieceProcessor, words: list[str], max_len: int) -> tuple[list[int], list[int]]:
    """[BOS] pieces of each word [EOS]; returns (ids, index of each word's first piece or -1 if truncated)."""
    ids = [sp.bos_id()]
    first = []
    for w in words:
        pieces = sp.encode(w) or [sp.unk_id()]
        if len(ids) >= max_len - 1:
            first.append(-1)
            continue
        first.append(len(ids))
        ids.extend(pieces[: max_len - 1 - len(ids)])
    ids.append(sp.eos_id())
    return ids, first


def pad_batch(seqs: list[list[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    t = max(len(s) for s in seqs)
    ids = np.full((len(seqs), t), pad_id, dtype=np.int64)
    mask = np.zeros((len(seqs), t), dtype=np.int64)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = s
        mask[i, : len(s)] = 1
    return ids, mask


def session(path: Path | str, threads: int = 1) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


@dataclass
class Parsed:
    intent: str
    intent_prob: float
    tags: list[str]


class OnnxJoint:
    """A model directory (model.onnx or another variant, tokenizer.model, meta.json) ready to parse word lists."""

    def __init__(self, model_dir: Path | str, onnx_file: str = "model.onnx", threads: int = 1,
                 use_prior: bool = True):
        d = Path(model_dir)
        self.meta = json.loads((d / "meta.json").read_text(encoding="utf-8"))
        self.sp = spm.SentencePieceProcessor(model_file=str(d / "tokenizer.model"))
        self.sess = session(d / onnx_file, threads)
        self.intents = self.meta["intents"]
        self.decoder = BioDecoder(self.meta["tags"], self.meta.get("slot_transition_prior") if use_prior else None)
        self.max_len = int(self.meta["max_len"])
        self.pad_id = int(self.meta["pad_id"])
        self.temperature = float(self.meta.get("temperature", 1.0))

    def logits(self, batch: list[list[str]]) -> tuple[np.ndarray, np.ndarray, list[list[int]]]:
        enc = [encode_words(self.sp, words, self.max_len) for words in batch]
        ids, mask = pad_batch([e[0] for e in enc], self.pad_id)
        il, sl = self.sess.run(["intent_logits", "slot_logits"], {"input_ids": ids, "attention_mask": mask})
        return il, sl, [e[1] for e in enc]

    def parse(self, batch: list[list[str]]) -> list[Parsed]:
        probs, log_probs, lengths = self.read(batch)
        tag_lists = self.decoder.decode_batch(log_probs, lengths)  # log-softmax again: a no-op on log-probs
        return [_parsed(self.intents, probs[b], tag_lists[b], len(words)) for b, words in enumerate(batch)]

    def read(self, batch: list[list[str]]) -> tuple[np.ndarray, np.ndarray, list[int]]:
        """Calibrated intent probabilities [B, intents], per-word tag log-probabilities [B, words, tags] (left-aligned,
        zero-padded to the longest word list of the batch) and the words each row kept: what an ensemble pools."""
        il, sl, firsts = self.logits(batch)
        z = il / self.temperature
        p = np.exp(z - z.max(-1, keepdims=True))
        probs = p / p.sum(-1, keepdims=True)
        log_probs = np.zeros((len(batch), max((len(w) for w in batch), default=0), sl.shape[-1]), dtype=np.float32)
        lengths = []
        for r, first in enumerate(firsts):
            keep = [i for i in first if i >= 0]
            x = sl[r, keep] - sl[r, keep].max(-1, keepdims=True)
            log_probs[r, : len(keep)] = x - np.log(np.exp(x).sum(-1, keepdims=True))
            lengths.append(len(keep))
        return probs, log_probs, lengths


class OnnxEnsemble:
    """An ensemble model folder (meta.json ``members``) read as the runtime reads it: every member's readings pooled
    (hark.plugins.intent.model.pool), one decode with the first member's tag prior."""

    def __init__(self, model_dir: Path | str, threads: int = 1, use_prior: bool = True):
        d = Path(model_dir)
        self.meta = json.loads((d / "meta.json").read_text(encoding="utf-8"))
        self.members = [OnnxJoint(d / name, "model.onnx", threads, use_prior) for name in self.meta["members"]]
        self.intents = self.members[0].intents
        self.decoder = self.members[0].decoder

    def parse(self, batch: list[list[str]]) -> list[Parsed]:
        from hark.plugins.intent.model import pool

        reads = [m.read(batch) for m in self.members]
        probs, log_probs = pool([r[0] for r in reads], [r[1] for r in reads])
        lengths = np.min([r[2] for r in reads], axis=0).tolist()
        tag_lists = self.decoder.decode_batch(log_probs, lengths)
        return [_parsed(self.intents, probs[b], tag_lists[b], len(words)) for b, words in enumerate(batch)]


def _parsed(intents: list[str], probs: np.ndarray, tags: list[str], n_words: int) -> Parsed:
    """The most probable intent; words cut off by truncation are tagged O."""
    k = int(probs.argmax())
    return Parsed(intents[k], float(probs[k]), tags + ["O"] * (n_words - len(tags)))


def open_model(model_dir: Path | str, threads: int = 1, use_prior: bool = True) -> OnnxJoint | OnnxEnsemble:
    """The model folder's model.onnx, or its members when it is an ensemble."""
    meta = json.loads((Path(model_dir) / "meta.json").read_text(encoding="utf-8"))
    if "members" in meta:
        return OnnxEnsemble(model_dir, threads, use_prior)
    return OnnxJoint(model_dir, "model.onnx", threads, use_prior)
