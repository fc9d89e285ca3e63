"""The frame contract every audio source keeps: ``SAMPLE_RATE``, ``FRAME_MS``, the ``Framer`` that cuts int16
PCM into numbered, timestamped ``AudioChunk`` frames, and the ``AudioSource`` base class.

Its own module so that ``audio`` (raw PCM, microphones), ``wav`` and ``streams`` can all build on it without
importing each other; ``hark.audio`` re-exports all four.
"""
from __future__ import annotations

from typing import Any, Iterator

from .errors import InputError
from .types import AudioChunk

__all__ = ["SAMPLE_RATE", "FRAME_MS", "Framer", "AudioSource"]

#: the rate every source delivers unless told otherwise
SAMPLE_RATE = 16000
#: default frame length
FRAME_MS = 30


class Framer:
    """Cuts a sample stream into AudioChunks of ``frame_ms`` with running index and timestamp."""

    def __init__(self, sample_rate: int, frame_ms: int):
        if frame_ms <= 0:
            raise InputError(f"frame_ms must be positive, got {frame_ms}")
        self.sample_rate = sample_rate
        self.frame_bytes = 2 * max(1, int(round(sample_rate * frame_ms / 1000)))
        self._pending = b""
        self.index = 0
        self.samples = 0  # samples already emitted

    def push(self, pcm: bytes) -> Iterator[AudioChunk]:
        data = self._pending + pcm
        n = len(data) // self.frame_bytes * self.frame_bytes
        for start in range(0, n, self.frame_bytes):
            yield self._chunk(data[start:start + self.frame_bytes])
        self._pending = data[n:]

    def finish(self) -> Iterator[AudioChunk]:
        if self._pending:
            yield self._chunk(self._pending)
            self._pending = b""

    def _chunk(self, pcm: bytes) -> AudioChunk:
        chunk = AudioChunk(pcm, self.sample_rate, round(self.samples / self.sample_rate, 6), self.index)
        self.index += 1
        self.samples += len(pcm) // 2
        return chunk


class AudioSource:
    """Base of all sources: iterate for ``AudioChunk`` frames; ``with`` or ``close()`` releases the input."""

    sample_rate: int = SAMPLE_RATE
    frame_ms: int = FRAME_MS
    #: what the source reads, for messages ("file.wav", "stdin", "microphone 'USB Audio'")
    description: str = "audio"

    def __iter__(self) -> Iterator[AudioChunk]:  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self) -> None:
        """Release the file or device (idempotent)."""

    def __enter__(self) -> "AudioSource":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
