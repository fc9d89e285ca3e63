"""Voice activity detection and endpointing: the ``vad`` plugin (a ``hark_audio_chunk`` observer).

Every audio frame goes through a per-frame detector (``model.py``; "spectral" by default, chosen by measurement in
benchmarks/vad.py) and the endpointing policy (``endpointer.py``). The plugin answers a chunk with

- ``speech_start`` ``{"start": t0, "detector": name}`` once ``min_speech_ms`` of speech has been heard;
- ``speech_end`` ``{"audio": <base64 PCM, pre-roll + speech + post-roll>, "sample_rate", "start": t0, "end": t1,
  "duration", "audio_start", "reason"}`` after ``silence_ms`` of silence (or at ``max_utterance_s``), which makes
  the runtime transcribe and parse the utterance. With ``early_silence_ms`` the plugin asks the
  ``hark_end_of_turn`` judges at a shorter pause whether the request is complete, and ends the utterance there
  (``reason`` "complete", ``judge_ms``: how long the judgement took) when they are sure enough.

Times are seconds on the stream's clock (``AudioChunk.timestamp``); ``start``/``end`` bound the detected speech,
``audio_start`` is the time of the first sample of ``audio``. Chunks of any length are cut into 30 ms analysis
frames here; every boundary a chunk completes is returned with it. ``hark_audio_end`` closes an utterance still
open when the audio ends. A chunk with ``index`` 0 starts a new stream and resets the state.
"""
from __future__ import annotations

import base64
import time
from typing import Any

import numpy as np

from hark.hookspecs import hookimpl
from hark.types import AudioChunk, Context, Event

from .config import DETECTORS, VadSettings
from .endpointer import Boundary, Endpointer
from .model import Detector, make_detector

__all__ = ["VadPlugin", "VadSettings", "DETECTORS"]

NAME = "vad"
FRAME_MS = 30


class VadPlugin:
    """Registered through the ``hark`` entry point ``vad``; settings under ``plugins.settings.vad``."""

    name = NAME

    def __init__(self, settings: VadSettings | None = None) -> None:
        self.settings = settings or VadSettings()
        self._rate = 0
        self._detector: Detector | None = None
        self._endpointer: Endpointer | None = None
        self._buffer = b""
        self._buffer_t = 0.0
        self._started = False
        self._engine: Any = None
        self._context: Context | None = None
        self._judge_s = 0.0  # time the last end-of-turn judgement took

    @property
    def status(self) -> str:
        """One line for ``hark doctor``."""
        s = self.settings
        return (f"detector {s.detector}, threshold {s.threshold}, silence {s.silence_ms} ms, "
                f"min speech {s.min_speech_ms} ms")

    @hookimpl
    def hark_startup(self, engine: Any) -> None:
        config = engine.config
        settings = config.plugin_settings(NAME, VadSettings)  # raises ConfigError naming a bad key
        self.settings = settings
        self._engine = engine
        self._rate = 0  # detector built on the first chunk, at its rate
        make_detector(settings.detector, 16000, FRAME_MS, **self._detector_options())  # fail at start-up

    def _judge(self, end: float) -> float | None:
        """Ask the hark_end_of_turn judges whether the speech up to ``end`` is a complete request."""
        t0 = time.perf_counter()
        try:
            return self._engine.call("hark_end_of_turn", firstresult=True, end=end, context=self._context)
        finally:
            self._judge_s = time.perf_counter() - t0

    def _detector_options(self) -> dict[str, Any]:
        return {"mode": self.settings.webrtc_mode} if self.settings.detector == "webrtc" else {}

    def _reset(self, rate: int) -> None:
        if rate != self._rate or self._detector is None:
            try:
                self._detector = make_detector(self.settings.detector, rate, FRAME_MS, **self._detector_options())
            except ValueError as exc:
                raise ValueError(f"{exc}; resample the audio (hark.audio sources deliver 16 kHz)") from None
            self._rate = rate
        self._detector.reset()
        judge = self._judge if self.settings.early_silence_ms and self._engine is not None else None
        self._endpointer = Endpointer(self.settings, FRAME_MS, rate, judge=judge)
        self._buffer = b""
        self._started = True

    @hookimpl
    def hark_audio_chunk(self, chunk: AudioChunk, context: Context) -> list[Event]:
        if not self._started or chunk.index == 0 or chunk.sample_rate != self._rate:
            self._reset(chunk.sample_rate)
        assert self._detector is not None and self._endpointer is not None
        self._context = context
        if not self._buffer:
            self._buffer_t = chunk.timestamp
        self._buffer += chunk.samples
        events: list[Event] = []
        step = 2 * self._detector.frame_samples
        frame_s = FRAME_MS / 1000
        usable = len(self._buffer) // step * step
        for start in range(0, usable, step):
            pcm = self._buffer[start:start + step]
            probability = self._detector(np.frombuffer(pcm, dtype="<i2"))
            for boundary in self._endpointer.push(pcm, probability, self._buffer_t):
                events.append(self._event(boundary))
            self._buffer_t += frame_s
        self._buffer = self._buffer[usable:]
        return events

    @hookimpl
    def hark_audio_end(self, context: Context) -> list[Event]:
        """The audio ended: an utterance in progress ends here, and the next chunk starts a new stream."""
        if not self._started or self._endpointer is None:
            return []
        events = [self._event(b) for b in self._endpointer.finish()]
        self._started = False
        return events

    def _event(self, boundary: Boundary) -> Event:
        assert self._endpointer is not None
        data = dict(boundary.data)
        if boundary.kind == "speech_start":
            data["detector"] = self.settings.detector
        else:
            data["audio"] = base64.b64encode(boundary.audio).decode("ascii")
            if data.get("reason") == "complete":
                data["judge_ms"] = round(1000 * self._judge_s, 1)
        return Event(boundary.kind, data, time=time.time())  # the runtime numbers the utterances
