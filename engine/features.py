"""The shared streaming audio front end: 64-band log-mel power and log energy, 25 ms windows every 10 ms.

Computed once per stream by the runtime and handed to every ``hark_audio_chunk`` observer (VAD, scene context,
pronunciation), so no plugin runs its own FFT. Numpy only: no librosa or torch at run time.

- Windows: 25 ms periodic Hann (400 samples at 16 kHz), hop 10 ms (160), zero-padded to ``n_fft`` 512 (the next
  power of two at other rates). The DC offset of each window is removed first (Kaldi's ``remove_dc_offset``), so a
  biased microphone does not leak into the low bands; no pre-emphasis, so band powers are spectrum powers (the
  VAD's noise model needs that).
- Mel: HTK scale (``2595 log10(1 + f/700)``), 64 triangles of peak 1 (no area normalisation; Kaldi/torchaudio's
  default) between ``FMIN`` 20 Hz and ``FMAX`` 8000 Hz (the Nyquist frequency at lower rates); built once per
  process and shape (cached). ``log_mel`` is ``ln(band power + 1e-10)`` of samples scaled to [-1, 1).
- ``energy`` is ``ln(mean square + 1e-10)`` of the window's DC-free samples: ``10 * energy / ln 10`` is its level
  in dBFS.
- Alignment: the stream is left-padded with window - hop zeros (240 at 16 kHz), so row ``j`` is the window ending
  at stream sample ``(j + 1) * hop``: each complete 10 ms of input completes exactly one row, a 30 ms chunk gives
  three, and fewer than ``hop`` samples wait for the next push. Streaming and ``log_mel(signal)`` give the same
  numbers whatever the chunk sizes (both run ``FrontEnd.push``; tests/test_features.py checks).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

__all__ = ["FrontEnd", "Features", "log_mel", "mel_filterbank", "N_MELS", "HOP_S", "WINDOW_S", "FMIN", "FMAX"]

N_MELS = 64
HOP_S = 0.010
WINDOW_S = 0.025
FMIN = 20.0
FMAX = 8000.0
LOG_FLOOR = 1e-10
# rows computed at once: a long push goes in blocks of 100 ms, so its memory stays small and the mel product
# (rows x 257 x 64 at 16 kHz) stays under OpenBLAS's threading threshold (2^18): its threads on a busy machine
# cost 10-80x
_BLOCK = 10


@dataclass(frozen=True)
class Features:
    """Rows ``first_row .. first_row + len - 1`` of a stream: ``log_mel`` (n, 64) and ``energy`` (n,), float32."""

    log_mel: np.ndarray
    energy: np.ndarray
    first_row: int = 0
    hop_s: float = HOP_S

    def __len__(self) -> int:
        return len(self.energy)

    @property
    def times(self) -> np.ndarray:
        """Stream time (s) of the end of each row's window."""
        return (self.first_row + 1 + np.arange(len(self))) * self.hop_s


def _hz_to_mel(f):
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def _mel_to_hz(m):
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


@functools.lru_cache(maxsize=8)
def mel_filterbank(sample_rate: int = 16000, n_fft: int = 512, n_mels: int = N_MELS, fmin: float = FMIN,
                   fmax: float = FMAX) -> np.ndarray:
    """(n_fft // 2 + 1, n_mels) HTK-mel triangles of peak 1; cached and read-only (``power @ fb``)."""
    fmax = min(fmax, sample_rate / 2)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(fmin), _hz_to_mel(fmax), n_mels + 2))
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)[:, None]
    lo, mid, hi = edges[:-2], edges[1:-1], edges[2:]
    fb = np.maximum(0.0, np.minimum((freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)))
    if not fb.any(axis=0).all():
        raise ValueError(f"mel_filterbank: empty bands with n_fft {n_fft} at {sample_rate} Hz")
    fb.setflags(write=False)
    return fb


@functools.lru_cache(maxsize=8)
def _window(length: int) -> np.ndarray:
    w = np.hanning(length + 1)[:-1]  # periodic Hann
    w.setflags(write=False)
    return w


class FrontEnd:
    """Streaming front end for one stream: ``push(pcm)`` the next int16 samples, get the rows they complete."""

    def __init__(self, sample_rate: int = 16000):
        if sample_rate % 100 or sample_rate < 8000:
            raise ValueError(f"FrontEnd: sample rate {sample_rate} Hz not supported (8000 Hz or more, a multiple "
                             f"of 100 so a 10 ms hop is whole samples)")
        self.sample_rate = sample_rate
        self.hop = int(round(sample_rate * HOP_S))
        self.window = int(round(sample_rate * WINDOW_S))
        self.n_fft = 1 << (self.window - 1).bit_length()
        self._hann = _window(self.window)
        self._fb = mel_filterbank(sample_rate, self.n_fft)
        self._keep = self.window - self.hop  # samples of history the next row needs
        # sample indices of one block of windows: fancy indexing is cheaper than sliding_window_view
        self._index = np.arange(self.window) + self.hop * np.arange(_BLOCK)[:, None]
        self.reset()

    def reset(self) -> None:
        """Start a new stream: zero history (the left padding), row 0 next."""
        self._buf = np.zeros(self._keep, dtype=np.float64)  # history + samples not yet in a row
        self._rows = 0

    def push(self, pcm: np.ndarray | bytes) -> Features:
        if isinstance(pcm, (bytes, bytearray, memoryview)):
            x = np.frombuffer(pcm, dtype="<i2")
        else:
            x = np.asarray(pcm)
            if x.dtype.kind not in "iu":
                raise TypeError(f"FrontEnd.push: expected int16 PCM, got an array of {x.dtype}")
        buf = np.concatenate((self._buf, x.ravel() * (1 / 32768.0)))
        n = (len(buf) - self._keep) // self.hop
        first = self._rows
        if n <= 0:
            self._buf = buf
            return _empty(first)
        self._buf = buf[n * self.hop:]
        self._rows += n
        if n <= _BLOCK:
            return Features(*self._rows_of(buf[self._index[:n]]), first)
        blocks = [self._rows_of(buf[k * self.hop + self._index[:min(_BLOCK, n - k)]]) for k in range(0, n, _BLOCK)]
        return Features(np.concatenate([b[0] for b in blocks]), np.concatenate([b[1] for b in blocks]), first)

    def _rows_of(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(log-mel, energy) of windows (one per row), float32."""
        frames -= frames.sum(axis=1, keepdims=True) * (1 / self.window)
        energy = np.log(np.einsum("ij,ij->i", frames, frames) * (1 / self.window) + LOG_FLOOR)
        spec = np.fft.rfft(frames * self._hann, self.n_fft)
        power = spec.real ** 2 + spec.imag ** 2
        mel = np.log(power @ self._fb + LOG_FLOOR)
        return mel.astype(np.float32), energy.astype(np.float32)


def _empty(first: int) -> Features:
    return Features(np.zeros((0, N_MELS), np.float32), np.zeros(0, np.float32), first)


def log_mel(samples: np.ndarray | bytes, sample_rate: int = 16000) -> Features:
    """The front end over a whole int16 signal (the same numbers as streaming it in any chunks)."""
    return FrontEnd(sample_rate).push(samples)
