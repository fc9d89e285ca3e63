"""The scene model: one ONNX session over 1 s of the shared front end's log-mel rows, two outputs.

The folder holds ``model.onnx`` (int8, built by ``python -m training.train_scene``) and ``meta.json`` (format,
sha256, window length, event and scene labels, calibrated alert thresholds). Normalisation is inside the graph,
so the plugin feeds raw log-mel. It may also hold an alert detector (``alert_model`` in meta.json: its file,
sha256 and labels; ``python -m training.train_alerts``): one yes/no probability per safety sound from the same
window, which replaces the tagger's probability of those sounds (decision 48).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hark.errors import ModelError
from hark.onnx import load_session, read_meta

__all__ = ["SceneModel", "DEFAULT_MODEL_DIR", "FORMAT"]

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "model"
FORMAT = "hark-scene-1"
REBUILD = "python -m training.train_scene && python -m training.train_alerts"


class SceneModel:
    """``predict(rows)`` -> (event probabilities (50,), scene probabilities (n_scenes,)) for one window;
    ``predict_batch(windows)`` the same for a batch."""

    def __init__(self, directory: str | Path = DEFAULT_MODEL_DIR, threads: int = 1):
        self.directory = Path(directory)
        _, meta = read_meta(self.directory, FORMAT, "scene model", REBUILD)
        try:
            self.window = int(meta["window_rows"])
            self.events: tuple[str, ...] = tuple(meta["events"])
            self.scenes: tuple[str, ...] = tuple(meta["scenes"])
            self.alert_thresholds: dict[str, float] = {str(k): float(v)
                                                       for k, v in (meta.get("alert_thresholds") or {}).items()}
            #: windows in a row an alert label must reach its threshold in (sustained sounds: 2, calibrated)
            self.alert_windows: dict[str, int] = {str(k): max(1, int(v))
                                                  for k, v in (meta.get("alert_windows") or {}).items()}
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ModelError(f"{self.directory}/meta.json: missing or bad field {exc}") from None
        self.precision = str(meta.get("precision", "?"))
        self.session = load_session(self.directory / "model.onnx", sha256=meta.get("sha256"), threads=threads)
        self.alert_session, self.alert_index = self._alert_model(meta.get("alert_model"), threads)

    def _alert_model(self, spec: Any, threads: int) -> tuple[Any, list[int]]:
        """The optional alert detector named in meta.json: a file of this folder, checked by its sha256."""
        if spec is None:
            return None, []
        try:
            name, labels = str(spec["file"]), [str(label) for label in spec["labels"]]
            index = [self.events.index(label) for label in labels]
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{self.directory}/meta.json: bad alert_model ({exc})") from None
        if Path(name).name != name or name in ("", ".", ".."):
            raise ModelError(f"{self.directory}/meta.json: alert_model file {name!r} must be a file of the model folder")
        session = load_session(self.directory / name, sha256=spec.get("sha256"), threads=threads)
        try:  # one silent window: the outputs must be one probability per label meta.json names
            width = session.run(["alerts"], {"log_mel": np.full((1, self.window, 64), -23.0, np.float32)})[0].shape
        except Exception as exc:  # onnxruntime raises its own types for a graph without that input or output
            raise ModelError(f"{self.directory / name}: not an alert detector ({exc})") from None
        if width != (1, len(labels)):
            raise ModelError(f"{self.directory / name}: gives {width[-1]} probabilities, meta.json names "
                             f"{len(labels)} labels")
        return session, index

    def predict_batch(self, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = {"log_mel": windows.astype(np.float32)}
        events, scene = self.session.run(["events", "scene"], x)
        if self.alert_session is not None:
            events[:, self.alert_index] = self.alert_session.run(["alerts"], x)[0]
        return events, scene

    def predict(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        events, scene = self.predict_batch(rows[None])
        return events[0], scene[0]
