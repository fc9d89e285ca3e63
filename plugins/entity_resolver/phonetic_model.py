"""Phonetic encoders: phone strings (``phonetic.phone_string``) to L2-normalised vectors for the faiss index.

- ``HashedEncoder`` ("hashed"): hashed phone n-grams (``phonetic.phone_vectors``), no model file.
- ``LearnedEncoder`` ("learned"): the Siamese phone-sequence encoder trained by ``training/train_phonetic.py``
  (model format ``hark-phonetic/1`` in models/phonetic/: ``meta.json`` + one ONNX graph
  ``phones[B,T] int64 -> vector[B,D]``, phone ids 1..39 in ``g2p.ARPABET`` order, 0 = padding). Runs on
  onnxruntime through ``hark.onnx``; the session is opened on first use.

Every encoder has a ``version`` string: it is part of the index cache key, so a new model never reads vectors
cached for an old one.
"""
from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from hark.errors import ModelError

from hark.phonetics import ARPABET
from .phonetic import PHONE_DIM, _PHONE_CHAR, phone_vectors

__all__ = ["HashedEncoder", "LearnedEncoder", "get_encoder", "ENCODERS", "MODEL_DIR", "FORMAT"]

FORMAT = "hark-phonetic/1"
MODEL_DIR = Path(__file__).resolve().parent / "models" / "phonetic"
ENCODERS = ("hashed", "learned")
#: phone character (``phonetic.phone_string``) -> model input id
_CHAR_ID = {_PHONE_CHAR[p]: i + 1 for i, p in enumerate(ARPABET)}


class HashedEncoder:
    """Hashed phone 1-3-grams of the fine and 2-3-grams of the coarse phone string (see ``phonetic``)."""

    name = "hashed"
    version = f"hashed-phone-ngrams/1/{PHONE_DIM}"
    dim = PHONE_DIM
    #: ~6 % of a vector's components are non-zero: a compressed index keeps the exact vectors as their non-zeros
    sparse = True

    def encode(self, fines: Sequence[str]) -> np.ndarray:
        return phone_vectors(fines)


class LearnedEncoder:
    """The ONNX Siamese encoder; ``encode`` batches by length."""

    name = "learned"
    sparse = False

    def __init__(self, directory: Path, meta: dict, session: Any):
        self.directory = directory
        self.meta = meta
        self.dim: int = meta["dim"]
        self.max_phones: int = meta["max_phones"]
        self.version = f"learned/{meta['file_sha256'][:16]}"
        self._session = session
        self._lock = threading.Lock()

    @classmethod
    def load(cls, directory: Path | str = MODEL_DIR, threads: int = 1) -> LearnedEncoder:
        from hark.onnx import load_session, read_meta

        directory = Path(directory)
        meta_path, meta = read_meta(directory, FORMAT, "phonetic encoder", "python -m training.train_phonetic")
        if list(meta.get("phones", [])) != list(ARPABET):
            raise ModelError(f"{meta_path}: phone inventory differs from g2p.ARPABET")
        session = load_session(directory / meta["file"], sha256=meta["file_sha256"], threads=threads)
        return cls(directory, meta, session)

    def ids(self, fines: Sequence[str]) -> np.ndarray:
        width = max(1, min(self.max_phones, max((len(f) for f in fines), default=1)))
        out = np.zeros((len(fines), width), dtype=np.int64)
        for row, fine in enumerate(fines):
            ids = [_CHAR_ID[c] for c in fine[:width]]
            out[row, :len(ids)] = ids
        return out

    def encode(self, fines: Sequence[str], batch: int = 256) -> np.ndarray:
        out = np.zeros((len(fines), self.dim), dtype=np.float32)
        rows = [i for i, f in enumerate(fines) if f]
        rows.sort(key=lambda i: len(fines[i]))
        for start in range(0, len(rows), batch):
            chunk = rows[start:start + batch]
            with self._lock:
                emb = self._session.run(None, {"phones": self.ids([fines[i] for i in chunk])})[0]
            out[chunk] = emb
        return out


@lru_cache(maxsize=4)
def _learned(directory: str) -> LearnedEncoder:
    return LearnedEncoder.load(Path(directory))


def get_encoder(name: str, directory: Path | str = MODEL_DIR) -> HashedEncoder | LearnedEncoder:
    """The encoder called ``name`` ("hashed" or "learned"); the learned one is loaded once per process."""
    if name == "hashed":
        return HashedEncoder()
    if name == "learned":
        return _learned(str(directory))
    raise ValueError(f"unknown phonetic encoder {name!r}: expected one of {', '.join(ENCODERS)}")
