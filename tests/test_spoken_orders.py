"""Real people, real recordings: two coffee orders of Picovoice's speech-to-intent benchmark
(``$HARK_DATA/picovoice_s2i_dev``, Apache-2.0) played back to back into one stream, as a device that keeps listening
hears them, through the shipped config (VAD, live pocketsphinx, semantic endpointing, both intent tiers) with the
example coffee skill.

The second speaker pauses for about half a second before "with whole milk and some brown sugar": the words before
the pause are a complete order, so an endpointer that ends turns at a complete prefix loses the milk and the sugar
(docs/decisions.md 31). Both files are on the benchmark's development split (benchmarks/spoken_commands.py), the
split settings are chosen on; the held-out split is never used in tests.
"""
from __future__ import annotations

import numpy as np
import pytest

from conftest import ROOT
from hark import Engine, load_config
from hark.config import data_dir

CHUNK = 480  # 30 ms at 16 kHz
ORDERS = [
    ("3b1a9487-87e7-48dd-991b-563c2e1c44b3", {"drink": "americano", "roast": "light roast", "size": "large"}),
    # "give me a sixteen ounce single shot coffee" | ~0.55 s pause | "with whole milk and some brown sugar"
    ("ca287326-00ff-4126-b0b4-8350f9571bf4", {"drink": "coffee", "size": "sixteen ounce", "shots": "single shot",
                                              "milk": "whole milk", "sugar": "some brown sugar"}),
]


def _recording(uuid: str) -> np.ndarray:
    soundfile = pytest.importorskip("soundfile", reason="soundfile reads the benchmark's FLAC files")
    folder = data_dir() / "picovoice_s2i_dev" / "audio_16k"
    path = folder / f"{uuid}.flac"
    if not path.is_file():
        pytest.skip(f"the spoken coffee orders are not in HARK_DATA ({folder}): set HARK_DATA to ../shared/data")
    x, rate = soundfile.read(str(path), dtype="int16")
    assert rate == 16000 and x.ndim == 1
    return x


def test_two_real_orders_back_to_back_in_one_stream_incl_a_pause_before_with(tmp_path, monkeypatch):
    audio = np.concatenate([_recording(uuid) for uuid, _ in ORDERS])
    monkeypatch.setenv("HARK_CACHE", str(tmp_path / "cache"))
    config = load_config(ROOT / "config.yaml", env={}, **{"skills.paths": [str(ROOT / "examples" / "skills")]})
    with Engine(config) as engine, engine.open_stream() as stream:
        events = [e for i in range(0, len(audio), CHUNK) for e in stream.feed(audio[i:i + CHUNK])]
        events += stream.close()
    heard = [e.data["nbest"][0]["text"] for e in events if e.kind == "utterance" and e.data.get("nbest")]
    actions = [e.data for e in events if e.kind == "action"]
    assert [a["name"] for a in actions] == ["coffee.order", "coffee.order"], heard
    for action, (_, expected) in zip(actions, ORDERS):
        assert {k: v for k, v in action["params"].items() if v is not None} == expected, heard
