"""Shared fixtures. Tests build small skills from inline YAML in tmp_path (hassil style)."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import textwrap
import wave
from pathlib import Path

import numpy as np
import pytest

from hark import hookimpl

ROOT = Path(__file__).resolve().parent.parent

# ------------------------------------------------------------------------- speech fixtures (test_vad, test_asr)

def pytest_configure(config):
    """Hypothesis keeps caches in ./.hypothesis by default: put them in a temporary folder, so that a test run
    writes nothing into the checkout."""
    try:
        from hypothesis.configuration import set_hypothesis_home_dir
    except ImportError:  # pragma: no cover - hypothesis is a test dependency
        return
    set_hypothesis_home_dir(tempfile.mkdtemp(prefix="hark-hypothesis-"))


needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None,
                                  reason="espeak-ng is not installed (make system-deps installs it)")


def espeak(text: str, path: Path, voice: str = "en-us") -> np.ndarray:
    """Speech from espeak-ng as 16 kHz int16 (its 22.05 kHz output goes through hark's resampler)."""
    from hark.audio import read_wav

    subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True, capture_output=True)
    return read_wav(path)


def save(path: Path, x: np.ndarray) -> Path:
    """``x`` as a 16 kHz mono 16-bit WAV file."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(np.asarray(x, dtype="<i2").tobytes())
    return path


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * 16000), dtype=np.int16)


@pytest.fixture(scope="session")
def hark_cache(tmp_path_factory):
    """One cache folder for the session (compiled language models): never the user's ~/.cache/hark."""
    return tmp_path_factory.mktemp("hark-cache")


@pytest.fixture(autouse=True)
def _clean_hark_env(monkeypatch, hark_cache):
    """A developer's HARK_* variables must not change test outcomes (HARK_DATA is kept: data tests need it)."""
    for var in list(os.environ):
        if var.startswith("HARK_") and var != "HARK_DATA":
            monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HARK_CACHE", str(hark_cache))


@pytest.fixture
def write_skill(tmp_path):
    """write_skill(name, yaml_text, files={relative: text}) -> folder; skills land in tmp_path/skills."""

    def write(name: str, text: str, files: dict[str, str] | None = None) -> Path:
        folder = tmp_path / "skills" / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "skill.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
        for rel, content in (files or {}).items():
            path = folder / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(content), encoding="utf-8")
        return folder

    return write


@pytest.fixture
def make_engine(tmp_path):
    """make_engine(plugins=(), **dotted_overrides) -> Engine over tmp_path/skills only, the trained intent
    model disabled unless ``plugins.disabled`` is given; closed after the test."""
    from hark import Engine, load_config

    engines = []

    def make(plugins=(), skills_path=None, **overrides):
        overrides.setdefault("skills.paths", [str(skills_path or tmp_path / "skills")])
        # the shipped intent model knows the bundled skills' labels, and the ASR plugin would compile a language
        # model per engine: engine-mechanics tests use templates only (tests/test_asr.py runs the ASR plugin);
        # the scene plugin adds its own skill and events (tests/test_scene.py runs it), the tutor its phone model
        # (tests/test_tutor.py)
        overrides.setdefault("plugins.disabled", ["intent", "asr_pocketsphinx", "scene_context", "tutor"])
        engine = Engine(load_config(None, env={}, **overrides), plugins=plugins)
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.close()


class EventLog:
    """A real hark_event listener plugin that keeps every event it is given."""

    name = "listener"

    def __init__(self):
        self.events = []

    @hookimpl
    def hark_event(self, event):
        self.events.append(event)


@pytest.fixture
def event_log():
    return EventLog()


@pytest.fixture(scope="session")
def bundled_engine():
    """The engine as a user gets it: project config.yaml and the bundled skills."""
    from hark import Engine, load_config

    engine = Engine(load_config(ROOT / "config.yaml", env={}))
    yield engine
    engine.close()


HOME_SKILL = """
name: home
description: lights
intents:
  LightsOff:
    examples:
      - (turn|switch) off the {room} (lights|light)
      - (turn|switch) off (the)? lights( in the {room})?
    action: {name: home.lights_off, params: {room: $room}}
    response: ["Turning off the {room} lights.", "Turning off the lights."]
    tests: [kill the lights]
  LightsOn:
    examples: ["(turn|switch) on the {room} (lights|light)", "(turn|switch) on (the)? lights( in the {room})?"]
    action: {name: home.lights_on, params: {room: $room}}
slots:
  room: {type: list, values: [kitchen, {value: living room, synonyms: [lounge]}, bedroom]}
"""

TIMER_SKILL = """
name: timer
description: timers
intents:
  SetTimer:
    examples:
      - set a timer for [ten minutes](duration)
      - (start|set) a [five minute](duration) timer( for [the pasta](label))?
    action: {name: timer.start, params: {duration: $duration, label: $label}}
    response: ["{label} timer set for {duration}.", "Timer set for {duration}."]
  CancelTimer:
    examples: ["(cancel|stop) (the|my) timer"]
    action: timer.cancel
slots:
  duration: {type: duration}
  label: {type: text}
"""
