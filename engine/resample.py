"""Streaming resampling to the engine's 16 kHz: a polyphase windowed-sinc filter in numpy.

Its own module because every audio input needs it (WAV files, raw PCM, microphones, fed streams)
while none of them needs the others. Kaiser window, about 70 dB stop band from the output Nyquist frequency, pass
band to 85 % of it; streaming, so long files and microphones at 44.1/48 kHz need no more memory than a block.
"""
from __future__ import annotations

import math

import numpy as np

from . import limits as limits_
from .errors import InputError

__all__ = ["Resampler", "resample", "to_int16"]


class Resampler:
    """Streaming rational-factor resampler: ``process(block)`` as input arrives, ``flush()`` at the end.

    Polyphase FIR: the prototype low-pass is a Kaiser-windowed sinc designed at ``L * src_rate`` (``L/M`` is the
    reduced ratio ``dst/src``), cut off at the lower of the two Nyquist frequencies: pass band to ``passband``
    times it, at least ``attenuation_db`` down from it on. The filter's delay is compensated, so output sample
    ``n`` is the signal at time ``n / dst_rate``; a whole signal of ``N`` samples gives ``ceil(N * dst / src)``.
    Input and output are float arrays (any scale).
    """

    def __init__(self, src_rate: int, dst_rate: int, *, passband: float = 0.85, attenuation_db: float = 70.0):
        if int(src_rate) != src_rate or int(dst_rate) != dst_rate or src_rate <= 0 or dst_rate <= 0:
            raise InputError(f"resampling needs positive whole sample rates, got {src_rate} -> {dst_rate}")
        limits_.check_resample_ratio(int(src_rate), int(dst_rate))
        self.src_rate, self.dst_rate = int(src_rate), int(dst_rate)
        g = math.gcd(self.src_rate, self.dst_rate)
        self.up, self.down = self.dst_rate // g, self.src_rate // g
        self.identity = self.up == self.down
        if not self.identity:
            self._design(passband, attenuation_db)
        self.reset()

    def _design(self, passband: float, attenuation_db: float) -> None:
        L, M = self.up, self.down
        edge = 0.5 / max(L, M)  # lower Nyquist, in cycles per sample of the upsampled signal
        width = (1.0 - passband) * edge  # transition band: passband*edge .. edge
        beta = 0.1102 * (attenuation_db - 8.7)
        taps = int(math.ceil((attenuation_db - 7.95) / (2.285 * 2 * math.pi * width)))
        half = taps // 2 + 1
        n = np.arange(-half, half + 1, dtype=np.float64)
        cutoff = (1.0 + passband) / 2 * edge
        h = 2 * cutoff * np.sinc(2 * cutoff * n) * np.kaiser(len(n), beta)
        h *= L / h.sum()  # unity gain at DC after zero-stuffing by L
        self._delay = half  # centre tap
        k = -(-len(h) // L)  # taps per phase
        table = np.zeros((L, k))
        padded = np.zeros(k * L)
        padded[: len(h)] = h
        for p in range(L):
            table[p] = padded[p::L]
        self._table = table
        self._k = k

    def reset(self) -> None:
        """Forget the stream: the next ``process`` starts a new signal at time 0."""
        self._n_in = 0  # input samples received
        self._n_out = 0  # output samples produced
        if not self.identity:
            self._buf = np.zeros(self._k)  # input history; _buf[0] is input sample _buf_start
            self._buf_start = -self._k

    def process(self, block: np.ndarray) -> np.ndarray:
        """Resample the next block of a signal; returns the output samples that are complete so far."""
        x = np.asarray(block, dtype=np.float64).reshape(-1)
        self._n_in += len(x)
        if self.identity:
            self._n_out += len(x)
            return x
        self._buf = np.concatenate([self._buf, x])
        # output n needs input up to floor((n*M + D) / L); it is ready when that index has arrived
        last = (self._n_in * self.up - 1 - self._delay) // self.down
        return self._emit(last)

    def flush(self) -> np.ndarray:
        """The remaining output samples of the signal (zeros assumed after its end); then ``reset``."""
        if self.identity:
            self.reset()
            return np.zeros(0)
        total = -(-self._n_in * self.up // self.down)
        self._buf = np.concatenate([self._buf, np.zeros(self._delay // self.up + self._k + 1)])
        out = self._emit(total - 1)
        self.reset()
        return out

    def _emit(self, last: int) -> np.ndarray:
        if last < self._n_out:
            return np.zeros(0)
        L, M, D = self.up, self.down, self._delay
        out = np.empty(last + 1 - self._n_out)
        taps = np.arange(self._k)
        for start in range(self._n_out, last + 1, 4096):  # bounded memory for long blocks
            n = np.arange(start, min(start + 4096, last + 1), dtype=np.int64)
            pos = n * M + D
            hi, phase = pos // L, pos % L
            idx = hi[:, None] - taps[None, :] - self._buf_start
            out[start - self._n_out: start - self._n_out + len(n)] = np.einsum(
                "nk,nk->n", self._table[phase], self._buf[idx])
        self._n_out = last + 1
        # keep only the history the next output needs
        next_hi = (self._n_out * M + D) // L
        drop = next_hi - self._k + 1 - self._buf_start
        if drop > 0:
            self._buf = self._buf[drop:]
            self._buf_start += drop
        return out


def resample(x: np.ndarray, src_rate: int, dst_rate: int) -> np.ndarray:
    """Resample a whole float signal (see ``Resampler``); the result has ``ceil(len(x) * dst / src)`` samples."""
    r = Resampler(src_rate, dst_rate)
    if r.identity:
        return np.asarray(x, dtype=np.float64).copy()
    return np.concatenate([r.process(x), r.flush()])


def to_int16(x: np.ndarray) -> bytes:
    """Float samples in [-1, 1) -> little-endian int16 bytes (clipped)."""
    return np.clip(np.round(x * 32768.0), -32768, 32767).astype("<i2").tobytes()
