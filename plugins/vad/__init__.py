"""Voice activity detection and endpointing: the ``vad`` plugin (a ``hark_audio_chunk`` observer).

Every audio frame goes through a per-frame detector (``model.py``; "spectral" by default, chosen by measurement in
benchmarks/vad.py) and the endpointing policy (``endpointer.py``), in a ``VadStream`` per stream (``stream.py``).
The plugin answers a chunk with

- ``speech_start`` ``{"start": t0, "detector": name}`` once ``min_speech_ms`` of speech has been heard;
- ``pause`` ``{"end": t, "pause_ms": ms}`` at every multiple of ``early_silence_ms`` into a pause: the stream asks the ``hark_end_of_turn``
  judges whether the request is complete and hands the answer back (``hark_turn_judged``); a sure enough answer
  (``complete_threshold``) ends the utterance there (``reason`` "complete");
- ``speech_end`` ``{"sample_rate", "start": t0, "end": t1, "duration", "audio_start", "reason"}`` with the
  utterance (pre-roll + speech + post-roll) in ``Event.audio``, after ``silence_ms`` of silence (or at
  ``max_utterance_s``), which makes the stream transcribe and parse it.

Times are seconds on the stream's clock (``AudioChunk.timestamp``); ``start``/``end`` bound the detected speech,
``audio_start`` is the time of the first sample of the audio. ``hark_audio_end`` closes an utterance still open.
"""
from __future__ import annotations

from typing import Any

from hark.hookspecs import hookimpl
from hark.types import AudioChunk, Event

from .config import DETECTORS, VadSettings
from .model import make_detector
from .stream import FRAME_MS, VadStream

__all__ = ["VadPlugin", "VadSettings", "VadStream", "DETECTORS"]

NAME = "vad"


class VadPlugin:
    """Registered through the ``hark`` entry point ``vad``; settings under ``plugins.settings.vad``. Holds only
    settings: each stream's detector and endpointer live in the ``VadStream`` it gets at ``hark_stream_start``."""

    name = NAME

    def __init__(self, settings: VadSettings | None = None) -> None:
        self.settings = settings or VadSettings()

    @property
    def status(self) -> str:
        """One line for ``hark doctor``."""
        s = self.settings
        return (f"detector {s.detector}, threshold {s.threshold}, silence {s.silence_ms} ms, "
                f"min speech {s.min_speech_ms} ms")

    def _detector_options(self) -> dict[str, Any]:
        return {"mode": self.settings.webrtc_mode} if self.settings.detector == "webrtc" else {}

    @hookimpl
    def hark_startup(self, engine: Any) -> None:
        self.settings = engine.config.plugin_settings(NAME, VadSettings)  # raises ConfigError naming a bad key
        make_detector(self.settings.detector, 16000, FRAME_MS, **self._detector_options())  # fail at start-up

    @hookimpl
    def hark_stream_start(self) -> VadStream:
        return VadStream(self.settings, self._detector_options())

    @hookimpl
    def hark_audio_chunk(self, chunk: AudioChunk, features: Any, state: VadStream | None) -> list[Event]:
        return state.push(chunk, features) if state is not None else []

    @hookimpl
    def hark_turn_judged(self, probability: float | None, state: VadStream | None) -> list[Event]:
        return state.judged(probability) if state is not None else []

    @hookimpl
    def hark_audio_end(self, state: VadStream | None) -> list[Event]:
        return state.finish() if state is not None else []
