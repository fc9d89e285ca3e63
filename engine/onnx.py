"""The one place that creates onnxruntime sessions: thread count, CPU provider, checksum check.

Plugins never build ``InferenceSession`` themselves, so a corrupted or swapped model file is reported the same
way everywhere (ModelError naming the file and both checksums) and thread settings stay predictable on small
boxes.
"""
from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from .errors import ModelError

__all__ = ["sha256_file", "load_session", "read_meta", "folder_bytes"]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def folder_bytes(folder: str | Path) -> int:
    """Everything a model folder holds on disk (models, tokenizers, meta.json files, cards, ensemble members): what
    a size budget counts."""
    return sum(f.stat().st_size for f in Path(folder).rglob("*") if f.is_file())


def read_meta(directory: str | Path, fmt: str, what: str, rebuild: str) -> tuple[Path, dict]:
    """``(meta.json path, its content)`` of a model folder whose ``format`` must be ``fmt``; a missing or foreign
    folder is a ModelError naming ``what`` and the ``rebuild`` command."""
    meta_path = Path(directory) / "meta.json"
    if not meta_path.is_file():
        raise ModelError(f"{what} not found: {meta_path} (rebuild it: {rebuild})")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ModelError(f"{meta_path}: not valid JSON ({exc})") from None
    found = meta.get("format") if isinstance(meta, dict) else None
    if found != fmt:
        raise ModelError(f"{meta_path}: format {found!r}, this hark reads {fmt!r}")
    return meta_path, meta


@lru_cache(maxsize=64)
def _checked(path: str, mtime: float, expected: str) -> None:
    actual = sha256_file(Path(path))
    if actual != expected:
        raise ModelError(f"{path}: checksum mismatch (expected sha256 {expected[:12]}..., file has {actual[:12]}...); "
                         f"the file is corrupt or was replaced: rebuild it or restore it")


def load_session(path: str | Path, *, sha256: str | None = None, threads: int = 1) -> Any:
    """An onnxruntime CPU session for ``path``; ``sha256`` (from the model's meta.json) is verified first."""
    import onnxruntime as ort

    path = Path(path)
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    if sha256:
        _checked(str(path), path.stat().st_mtime, sha256)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types for bad graphs
        raise ModelError(f"{path}: onnxruntime cannot load it: {exc}") from None
    _return_freed_memory()
    return session


@lru_cache(maxsize=1)
def _malloc_trim() -> Any:
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        return getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
    except OSError:
        return None


def _return_freed_memory() -> None:
    """Hand the heap that building the session freed back to the system (glibc keeps it otherwise).

    Loading a low-bit model unpacks its weights with a constant subgraph that onnxruntime folds at load
    (docs/decisions.md 41); the folding's int32 intermediates, about 200 MB for a 9.5 M-weight model, are freed
    but stayed resident: 270 MB RSS after loading, 70 MB after ``malloc_trim(0)`` (the int8 model: 74 MB). Not
    glibc (macOS, musl): nothing to do."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
