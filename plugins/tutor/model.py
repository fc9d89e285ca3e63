"""The tutor's phone recognizer: one ONNX session from hark's log-mel rows to per-frame phone log-probabilities.

The folder holds ``model.onnx`` (int8, built by ``python -m training.train_phones``) and ``meta.json`` (format,
sha256, the phone inventory, the blank's id, the frame stride). Normalisation is inside the graph.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from hark.errors import ModelError
from hark.onnx import load_session, read_meta

__all__ = ["PhoneModel", "DEFAULT_MODEL_DIR", "FORMAT"]

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "model"
FORMAT = "hark-phones-1"
REBUILD = "python -m training.train_phones"


class PhoneModel:
    """``log_probs(rows)`` -> (steps, phones + 1) log-probabilities, one step per ``stride`` log-mel rows."""

    def __init__(self, directory: str | Path = DEFAULT_MODEL_DIR, threads: int = 1):
        self.directory = Path(directory)
        _, meta = read_meta(self.directory, FORMAT, "phone model", REBUILD)
        try:
            self.phones: tuple[str, ...] = tuple(str(p) for p in meta["phones"])
            self.blank = int(meta["blank"])
            self.stride = int(meta["stride"])
            if not 0 <= self.blank <= len(self.phones) or self.stride < 1:
                raise ValueError("blank or stride out of range")
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{self.directory}/meta.json: missing or bad field ({exc})") from None
        self.precision = str(meta.get("precision", "?"))
        self.index = {p: i for i, p in enumerate(self.phones)}
        self.session = load_session(self.directory / "model.onnx", sha256=meta.get("sha256"), threads=threads)

    def log_probs(self, rows: np.ndarray) -> np.ndarray:
        if len(rows) < 1:
            return np.zeros((0, len(self.phones) + 1), np.float32)
        return self.session.run(None, {"log_mel": rows[None].astype(np.float32)})[0][0]
