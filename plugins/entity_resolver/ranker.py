"""The entity resolver's re-ranker: linear weights over ``phonetic.FEATURES`` and the logistic calibration of
their sum, as presets read from ``models/ranker/ranker.json`` (tuned and written by ``training/tune_resolver.py``).

Its own module because it is the one part training shares with the engine: tuning writes what this reads, and needs
neither a catalog nor an index to do so.
"""
from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .phonetic import FEATURES

__all__ = ["Ranker", "margins", "load_rankers", "pick_ranker", "RANKER_FORMAT", "RANKER_PATH", "DEFAULT_MIN_SCORE"]

RANKER_FORMAT = "hark-entity-ranker/1"
RANKER_PATH = Path(__file__).resolve().parent / "models" / "ranker" / "ranker.json"
#: used when ranker.json gives none: the calibrated score under which resolve() answers "no match"
DEFAULT_MIN_SCORE = 0.3
MARGIN_CAP = 3.0


@dataclass(frozen=True)
class Ranker:
    """Linear weights over ``phonetic.FEATURES`` plus the logistic calibration of the summed score."""

    name: str
    weights: tuple[float, ...]
    #: score = sigmoid(scale * raw + margin_scale * margin + bias); margin = raw minus the best other candidate's
    #: raw (clipped to +-``MARGIN_CAP``): a clear winner is surer than one of several look-alikes
    scale: float = 1.0
    bias: float = 0.0
    margin_scale: float = 0.0
    min_score: float = DEFAULT_MIN_SCORE
    notes: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.weights) != len(FEATURES):
            raise ValueError(f"ranker {self.name!r}: {len(self.weights)} weights for {len(FEATURES)} features")

    @property
    def channels(self) -> frozenset[str]:
        """"phonetic" and/or "lexical": the channels whose features have a non-zero weight (for retrieval)."""
        used = {name for name, w in zip(FEATURES, self.weights) if w}
        out = set()
        if used & {"phon_fine", "phon_coarse", "phon_partial", "phon_cover", "phon_embed"}:
            out.add("phonetic")
        if used & {"lex_cosine", "lex_wratio", "lex_exact"}:
            out.add("lexical")
        return frozenset(out)

    def calibrate(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated scores of a query's candidates from their raw ranker scores."""
        return 1.0 / (1.0 + np.exp(-(self.scale * raw + self.margin_scale * margins(raw) + self.bias)))

    def with_weights(self, overrides: Mapping[str, float]) -> Ranker:
        weights = list(self.weights)
        for key, value in overrides.items():
            if key not in FEATURES:
                raise ValueError(f"unknown ranker feature {key!r}: expected one of {', '.join(FEATURES)}")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"ranker weight {key!r} must be a finite number, got {value!r}")
            weights[FEATURES.index(key)] = float(value)
        return Ranker(self.name + "+custom", tuple(weights), self.scale, self.bias, self.margin_scale, self.min_score,
                      self.notes)


def margins(raw: np.ndarray) -> np.ndarray:
    """Each candidate's raw score minus the best *other* candidate's, clipped to [-MARGIN_CAP, MARGIN_CAP]."""
    raw = np.asarray(raw, dtype=np.float64)
    if len(raw) < 2:
        return np.full(len(raw), MARGIN_CAP)
    top = int(raw.argmax())
    other = np.full(len(raw), raw[top])
    other[top] = np.partition(raw, -2)[-2]  # the runner-up (equal to the best when they tie)
    return np.clip(raw - other, -MARGIN_CAP, MARGIN_CAP)


_RANKERS: dict[str, Any] = {}
_RANKERS_LOCK = threading.Lock()


def load_rankers(path: Path = RANKER_PATH) -> tuple[dict[str, Ranker], str, str]:
    """(presets by name, the default preset's name, the default phonetic encoder) from ranker.json."""
    key = str(path)
    with _RANKERS_LOCK:
        if key not in _RANKERS:
            from hark.errors import ModelError

            if not path.is_file():
                raise ModelError(f"entity ranker not found: {path} (rebuild it: python -m training.tune_resolver)")
            meta = json.loads(path.read_text(encoding="utf-8"))
            if meta.get("format") != RANKER_FORMAT:
                raise ModelError(f"{path}: format {meta.get('format')!r}, this hark reads {RANKER_FORMAT!r}")
            if list(meta["features"]) != list(FEATURES):
                raise ModelError(f"{path}: features {meta['features']} differ from this hark's {list(FEATURES)}")
            presets = {name: Ranker(name, tuple(p["weights"]), p["scale"], p["bias"], p.get("margin_scale", 0.0),
                                    p.get("min_score", DEFAULT_MIN_SCORE), p.get("notes", {}))
                       for name, p in meta["presets"].items()}
            _RANKERS[key] = (presets, meta["default"], meta.get("encoder", "hashed"))
        return _RANKERS[key]


def pick_ranker(weights: str | Mapping[str, float] | None) -> Ranker:
    """The ranker ``from_values(weights=...)`` names: None for the default preset, a preset's name, or
    ``{feature: weight}`` overrides of the default preset."""
    presets, default, _ = load_rankers()
    if weights is None:
        return presets[default]
    if isinstance(weights, str):
        if weights not in presets:
            raise ValueError(f"unknown ranker preset {weights!r}: expected one of {', '.join(sorted(presets))}")
        return presets[weights]
    if isinstance(weights, Mapping):
        return presets[default].with_weights(weights)
    raise ValueError(f"weights must be a preset name or a {{feature: weight}} mapping, got "
                     f"{type(weights).__name__}")
