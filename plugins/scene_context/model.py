"""The scene model: one ONNX session over 1 s of the shared front end's log-mel rows, two outputs.

The folder holds ``model.onnx`` (int8, built by ``python -m training.train_scene``) and ``meta.json`` (format,
sha256, window length, event and scene labels, calibrated alert thresholds). Normalisation is inside the graph,
so the plugin feeds raw log-mel.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from hark.errors import ModelError
from hark.onnx import load_session, read_meta

__all__ = ["SceneModel", "DEFAULT_MODEL_DIR", "FORMAT"]

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "model"
FORMAT = "hark-scene-1"
REBUILD = "python -m training.train_scene"


class SceneModel:
    """``predict(rows)`` -> (event probabilities (50,), scene probabilities (n_scenes,)) for one window."""

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

    def predict(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        events, scene = self.session.run(["events", "scene"], {"log_mel": rows[None].astype(np.float32)})
        return events[0], scene[0]
