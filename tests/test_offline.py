"""hark keeps to itself: loading and running its ONNX models leaves nothing of onnxruntime's telemetry behind."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import ROOT

MODEL = ROOT / "plugins" / "intent" / "model"


def _run(code: str, home) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("ORT_DISABLE_TELEMETRY", "XDG_CACHE_HOME")}
    env["HOME"] = str(home)
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_onnxruntime_telemetry_is_off(tmp_path):
    onnx = next(MODEL.glob("*.onnx"))
    bare = tmp_path / "bare"
    _run(f"import onnxruntime as ort; ort.InferenceSession({str(onnx)!r})", bare)
    if not (bare / ".cache" / "Microsoft").exists():
        pytest.skip("this onnxruntime build keeps no telemetry cache: nothing to turn off")
    home = tmp_path / "hark"
    _run("import hark; e = hark.Engine.from_config(); assert e.parse('turn on the lights').action", home)
    assert not (home / ".cache" / "Microsoft").exists()
