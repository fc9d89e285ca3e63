"""Endpointing policy: per-frame speech probabilities in, utterance boundaries and audio out.

Kept apart from the detectors (silero-vad's ``VADIterator`` habit), so any detector gets the same thresholds,
hangover, padding and length limit, and the benchmark measures detectors under one policy.

States: *idle* -> a frame at or above ``threshold`` opens a *candidate*; once the candidate holds
``min_speech_ms`` of speech frames it becomes *speech* and ``speech_start`` is reported (its ``start`` is the first
frame of the candidate, so the report comes ``min_speech_ms`` after the time it names). A candidate that meets a
dip longer than ``_CANDIDATE_GAP_MS`` first is dropped. In speech, frames at or above the release threshold keep
it going; ``silence_ms`` below it ends the utterance (``speech_end``, reason "silence"), and so does reaching
``max_utterance_s`` (reason "max_length"). The utterance audio runs from ``pre_roll_ms`` before the start to
``post_roll_ms`` after the last speech frame.

Semantic endpointing: with ``ask_at_pauses`` and ``early_silence_ms``, each time a run of silence reaches a
multiple of ``early_silence_ms`` short of ``silence_ms`` the endpointer returns a ``pause`` boundary (``end``:
stream time where the utterance audio would end now; ``pause_ms``: the silence so far) and waits for
``verdict(probability)`` before it takes another frame: a probability of at least ``complete_threshold`` ends the
utterance there (reason "complete"); otherwise it goes on, to the next ask or the full ``silence_ms``. Asking again
as the pause grows lets a judge wait longer for words that may still come ("a mocha | with sugar") than for a
request that cannot go on. At ``silence_ms`` it asks once more: a negative verdict (the words only start a
request) keeps the utterance open up to ``hold_silence_ms``, and speech that resumes joins it. Who judges is the
caller's business (the stream asks the ``hark_end_of_turn`` hook).
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from .config import VadSettings

__all__ = ["Endpointer", "Boundary"]

#: in a candidate, a dip longer than this drops it (a click or a door bang, not the start of speech)
_CANDIDATE_GAP_MS = 90


@dataclass
class Boundary:
    """One report of the endpointer: ``kind`` is "speech_start", "pause" or "speech_end"."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)
    #: speech_end only: the utterance's PCM (pre-roll + speech + post-roll)
    audio: bytes = b""


class Endpointer:
    """Feed ``push(pcm, probability, time)`` per analysis frame; it returns the boundaries that frame completes."""

    def __init__(self, settings: VadSettings, frame_ms: int = 30, sample_rate: int = 16000,
                 ask_at_pauses: bool = False):
        self.settings = settings
        self.ask_at_pauses = ask_at_pauses
        self.frame_ms = frame_ms
        self.sample_rate = sample_rate
        frames = lambda ms: max(0, int(math.ceil(ms / frame_ms)))  # noqa: E731
        self._pre_frames = frames(settings.pre_roll_ms)
        self._post_frames = frames(settings.post_roll_ms)
        self._min_frames = max(1, frames(settings.min_speech_ms))
        self._silence_frames = max(1, frames(settings.silence_ms))
        early = frames(settings.early_silence_ms)
        self._early_frames = early if 0 < early < self._silence_frames else 0
        hold = frames(settings.hold_silence_ms)
        self._hold_frames = hold if self._early_frames and hold > self._silence_frames else 0
        self._gap_frames = max(1, frames(_CANDIDATE_GAP_MS))
        self._max_frames = max(1, frames(settings.max_utterance_s * 1000))
        self.on, self.off = settings.threshold, settings.release_threshold
        self.reset()

    def reset(self) -> None:
        self.state = "idle"
        self._pre: deque[tuple[float, bytes]] = deque(maxlen=max(1, self._pre_frames))
        self._frames: list[tuple[float, bytes]] = []  # candidate/utterance frames, from the first speech frame
        self._speech = 0  # speech frames in the candidate
        self._gap = 0  # current run of non-speech frames
        self._start = 0.0
        self._last_speech = 0  # index in _frames of the last speech frame
        self.utterances = 0
        #: a pause was reported and its verdict has not come yet
        self.awaiting_verdict = False
        #: past silence_ms, the judges said the words so far only start a request: wait up to hold_silence_ms
        self._held = False

    @property
    def in_speech(self) -> bool:
        return self.state == "speech"

    def push(self, pcm: bytes, probability: float, t: float) -> list[Boundary]:
        if self.awaiting_verdict:
            raise RuntimeError("Endpointer.push before the verdict on the reported pause")
        if self.state == "idle":
            if probability >= self.on:
                self._open(pcm, t)
                return self._confirm_if_ready()
            self._remember((t, pcm))
            return []
        self._frames.append((t, pcm))
        if self.state == "candidate":
            if probability >= self.on:
                self._speech += 1
                self._gap = 0
                self._last_speech = len(self._frames) - 1
                return self._confirm_if_ready()
            self._gap += 1
            if self._gap > self._gap_frames:
                self._drop_candidate()
            return []
        # in speech
        if probability >= self.off:
            self._gap = 0
            self._held = False
            self._last_speech = len(self._frames) - 1
        else:
            self._gap += 1
        holding = self.ask_at_pauses and self._hold_frames
        if self._gap >= (self._hold_frames if holding else self._silence_frames):
            return [self._end("silence")]
        if self._early_frames and self.ask_at_pauses and self._gap and (
                self._gap % self._early_frames == 0 or self._gap == self._silence_frames):
            self.awaiting_verdict = True
            return [Boundary("pause", {"end": round(self._audio_end(), 3), "pause_ms": self._gap * self.frame_ms})]
        if holding and self._gap > self._silence_frames and not self._held:
            return [self._end("silence")]
        return self._check_length()

    def verdict(self, probability: float | None) -> list[Boundary]:
        """The answer to the last ``pause``: is the request complete (``None``: nobody could tell)?"""
        if not self.awaiting_verdict:
            return []
        self.awaiting_verdict = False
        if self.state == "speech" and probability is not None and probability >= self.settings.complete_threshold:
            return [self._end("complete")]
        if self.state == "speech" and self._gap >= self._silence_frames:
            # past silence_ms only the start of a request is waited for (a negative answer), up to hold_silence_ms
            self._held = probability is not None and probability < 0 and bool(self._hold_frames)
            if not self._held:
                return [self._end("silence")]
        return self._check_length()

    def _check_length(self) -> list[Boundary]:
        if self.state == "speech" and len(self._frames) >= self._max_frames:
            return [self._end("max_length")]
        return []

    def finish(self) -> list[Boundary]:
        """End of the stream: close an utterance in progress (reason "end_of_stream") and start over."""
        self.awaiting_verdict = False
        out = [self._end("end_of_stream")] if self.state == "speech" else []
        self.reset()
        return out

    # ------------------------------------------------------------------------------------------------ helpers

    def _remember(self, item: tuple[float, bytes]) -> None:
        """Keep a frame as possible pre-roll of the next utterance."""
        if self._pre_frames:
            self._pre.append(item)

    def _open(self, pcm: bytes, t: float) -> None:
        self.state = "candidate"
        self._frames = [(t, pcm)]
        self._speech, self._gap, self._last_speech = 1, 0, 0
        self._start = t

    def _confirm_if_ready(self) -> list[Boundary]:
        if self.state == "candidate" and self._speech >= self._min_frames:
            self.state = "speech"
            return [Boundary("speech_start", {"start": round(self._start, 3)})]
        return []

    def _drop_candidate(self) -> None:
        """Not speech after all: the frames go back to the pre-roll history."""
        for item in self._frames:
            self._remember(item)
        self._frames = []
        self.state = "idle"

    def _keep(self) -> int:
        """Frames of the utterance audio if it ended now: up to the last speech frame plus the post-roll."""
        return min(len(self._frames), self._last_speech + 1 + self._post_frames)

    def _audio_end(self) -> float:
        return self._frames[self._keep() - 1][0] + self.frame_ms / 1000

    def _end(self, reason: str) -> Boundary:
        frame_s = self.frame_ms / 1000
        keep = self._keep()
        body = self._frames[:keep]
        pre = list(self._pre) if self._pre_frames else []
        audio = b"".join(p for _, p in pre) + b"".join(p for _, p in body)
        end = self._frames[self._last_speech][0] + frame_s
        audio_start = pre[0][0] if pre else self._start
        data = {
            "start": round(self._start, 3),
            "end": round(end, 3),
            "duration": round(end - self._start, 3),
            "audio_start": round(audio_start, 3),
            "sample_rate": self.sample_rate,
            "reason": reason,
        }
        tail = self._frames[keep:]
        self.state = "idle"
        self._frames = []
        self._gap = 0
        self._held = False
        self._pre.clear()
        for item in body + tail:
            self._remember(item)
        self.utterances += 1
        return Boundary("speech_end", data, audio)
