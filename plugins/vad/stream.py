"""One stream's voice activity detection: its detector, endpointer and the audio not yet analysed.

``VadPlugin`` makes one ``VadStream`` per ``Engine.open_stream`` (``hark_stream_start``), so two microphones on
one engine never mix their noise estimates or utterances. Chunks of any length are cut into 30 ms analysis frames
here; each frame goes to the detector with the shared front end's log-mel rows for it (3 rows of 10 ms) and its
probability to the endpointer. After a ``pause`` the stream stops analysing until the verdict comes
(``judged``), so the endpointer never runs ahead of the answer.
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np

from hark.types import AudioChunk, Event

from .config import VadSettings
from .endpointer import Boundary, Endpointer
from .model import make_detector

__all__ = ["VadStream", "FRAME_MS"]

FRAME_MS = 30
_ROWS_PER_FRAME = FRAME_MS // 10  # front-end rows (10 ms hop) per analysis frame


class VadStream:
    """Per-stream state of the vad plugin: ``push`` chunks, ``judged`` after a pause, ``finish`` at the end."""

    def __init__(self, settings: VadSettings, options: dict[str, Any]):
        self.settings = settings
        self._options = options
        self._rate = 0
        self._detector: Any = None
        self._endpointer: Endpointer | None = None
        self._buffer = b""
        self._buffer_t = 0.0
        self._rows: list[np.ndarray] = []  # front-end rows not yet matched to an analysis frame

    def _start(self, rate: int) -> None:
        """A new stretch of audio (the first chunk, or the first after the audio ended)."""
        if rate != self._rate or self._detector is None:
            try:
                self._detector = make_detector(self.settings.detector, rate, FRAME_MS, **self._options)
            except ValueError as exc:
                raise ValueError(f"{exc}; resample the audio (hark.audio sources deliver 16 kHz)") from None
            self._rate = rate
        self._detector.reset()
        self._endpointer = Endpointer(self.settings, FRAME_MS, rate, ask_at_pauses=bool(self.settings.early_silence_ms))
        self._buffer = b""
        self._rows = []

    def push(self, chunk: AudioChunk, features: Any = None) -> list[Event]:
        if self._endpointer is None or chunk.sample_rate != self._rate:
            self._start(chunk.sample_rate)
        if not self._buffer:
            self._buffer_t = chunk.timestamp
        self._buffer += chunk.samples
        if features is not None and len(features):
            self._rows.extend(np.asarray(features.log_mel))
        return self._analyse()

    def judged(self, probability: float | None) -> list[Event]:
        """The verdict on the pause just reported; then the frames held since."""
        if self._endpointer is None:
            return []
        events = [self._event(b) for b in self._endpointer.verdict(probability)]
        return events + self._analyse()

    def finish(self) -> list[Event]:
        """The audio ended: an utterance in progress ends here; the next chunk starts afresh."""
        if self._endpointer is None:
            return []
        events = [self._event(b) for b in self._endpointer.finish()]
        self._endpointer = None
        return events

    def _analyse(self) -> list[Event]:
        assert self._endpointer is not None and self._detector is not None
        events: list[Event] = []
        step = 2 * self._detector.frame_samples
        frame_s = FRAME_MS / 1000
        while len(self._buffer) >= step and not self._endpointer.awaiting_verdict:
            pcm, self._buffer = self._buffer[:step], self._buffer[step:]
            rows = None
            if len(self._rows) >= _ROWS_PER_FRAME:
                rows = np.stack(self._rows[:_ROWS_PER_FRAME])
                del self._rows[:_ROWS_PER_FRAME]
            probability = self._detector(np.frombuffer(pcm, dtype="<i2"), mel=rows)
            for boundary in self._endpointer.push(pcm, probability, self._buffer_t):
                events.append(self._event(boundary))
            self._buffer_t += frame_s
        return events

    def _event(self, boundary: Boundary) -> Event:
        data = dict(boundary.data)
        audio = None
        if boundary.kind == "speech_start":
            data["detector"] = self.settings.detector
        elif boundary.kind == "speech_end":
            audio = AudioChunk(boundary.audio, self._rate, float(data["audio_start"]))
        return Event(boundary.kind, data, time=time.time(), audio=audio)  # the runtime numbers the utterances

