"""Per-frame speech detectors: one frame of int16 PCM in, a speech probability in [0, 1] out.

Each keeps its stream state in a few fields cleared by ``reset()`` (silero-vad's ``OnnxWrapper`` habit) and knows
nothing about utterances: thresholds, hangover and padding are ``Endpointer``'s job. Frames are
``frame_samples`` long (30 ms); ``VadPlugin`` re-frames whatever chunk sizes the source delivers. Every detector
is called as ``detector(frame, mel=rows)``: ``rows`` are the runtime's front-end rows of that frame (or None).

- ``SpectralDetector`` (default): a statistical model-based detector in numpy (after Sohn, Kim & Sung 1999) on the
  shared front end's mel bands (``hark.features``: 64 HTK-mel bands, 25 ms windows every 10 ms). A frame's band
  powers are the mean of its three rows' (exp of log-mel); per band with its centre in 100-2500 Hz (36 bands at
  16 kHz), the log-likelihood ratio of "speech + noise" against "noise" under Gaussian models, with the a-priori
  SNR from the decision-directed estimate (Ephraim & Malah 1984). A band sums 1-4 FFT bins over 3 windows, so
  its power fluctuates less in noise than a bin's did: the same test with the same noise tracking, but the mean
  log-likelihood ratio that means speech is lower (0.7, was 1.2 per bin), and bands count equally, which weighs
  the low bands (voicing, the first formant) more than the per-bin mean did. The noise spectrum is the running
  mean of frames judged non-speech, held between 1.5x and 16x the minimum statistics (Martin 2001) of the last
  1.5 s. The mean log-likelihood ratio is capped, smoothed over frames and mapped to a probability by a logistic
  of its logarithm. Parameters were tuned on the dev split of benchmarks/vad.py (the per-bin version's, with
  the threshold and the band weighting chosen again for mel bands). Without rows from the caller (the
  benchmark's detector alone, or another sample rate) it runs its own ``FrontEnd`` on the frames: same numbers.
- ``EnergyDetector``: log energy against an adaptive noise floor; the simplest baseline.
- ``WebRtcDetector``: Google's WebRTC GMM detector through the optional ``webrtcvad`` module (a 0/1 answer).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from hark.errors import ConfigError
from hark.features import N_MELS, FrontEnd, mel_filterbank

__all__ = ["Detector", "SpectralDetector", "EnergyDetector", "WebRtcDetector", "make_detector"]


class Detector:
    """Interface: ``prob = detector(frame, mel=rows)`` for consecutive frames of one stream; ``reset()`` between
    streams. ``rows`` are the shared front end's (3, 64) log-mel rows ending at the frame's three 10 ms
    boundaries (``hark.features``), or None: a detector that needs them computes them itself."""

    name = "detector"

    def __init__(self, sample_rate: int = 16000, frame_ms: int = 30):
        if sample_rate not in (8000, 16000, 32000, 48000):
            raise ValueError(f"{self.name} detector: sample rate {sample_rate} Hz not supported "
                             f"(8000, 16000, 32000 or 48000)")
        self.sample_rate = sample_rate
        self.frame_samples = sample_rate * frame_ms // 1000

    def reset(self) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def __call__(self, frame: np.ndarray, mel: np.ndarray | None = None) -> float:  # pragma: no cover - interface
        raise NotImplementedError

    def _check(self, frame: np.ndarray) -> np.ndarray:
        if len(frame) != self.frame_samples:
            raise ValueError(f"{self.name} detector: expected frames of {self.frame_samples} samples, "
                             f"got {len(frame)}")
        return np.asarray(frame, dtype=np.float64) / 32768.0


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, x))))


class SpectralDetector(Detector):
    """Likelihood-ratio test per mel band of ``band`` Hz against an adaptive noise spectrum (module docstring).

    ``llr_threshold`` is the mean log-likelihood ratio that maps to probability 0.5; ``llr_cap`` keeps one loud
    frame from holding the smoothed value up (clean speech reaches ratios in the thousands); ``noise_ceiling``
    bounds how far fluctuating noise (babble) may lift the noise estimate above its minimum.
    """

    name = "spectral"

    def __init__(self, sample_rate: int = 16000, frame_ms: int = 30, *, band: tuple[float, float] = (100.0, 2500.0),
                 noise_window_s: float = 1.5, smoothing: float = 0.7, noise_bias: float = 1.5,
                 noise_ceiling: float = 16.0, noise_update: float = 0.03, gate: float = 0.3, dd_alpha: float = 0.98,
                 llr_threshold: float = 0.7, llr_scale: float = 0.5, llr_smoothing: float = 0.6,
                 llr_cap: float = 8.0):
        super().__init__(sample_rate, frame_ms)
        if frame_ms % 10:
            raise ValueError(f"spectral detector: frames must be whole 10 ms front-end rows, got {frame_ms} ms")
        self.rows = frame_ms // 10
        self._front = FrontEnd(sample_rate)
        fb = mel_filterbank(sample_rate, self._front.n_fft)
        freqs = np.fft.rfftfreq(self._front.n_fft, 1.0 / sample_rate)
        centres = freqs @ fb / fb.sum(axis=0)
        self.bands = np.nonzero((centres >= band[0]) & (centres <= min(band[1], 0.45 * sample_rate)))[0]
        self.history = max(2, int(round(noise_window_s * 1000 / frame_ms)))
        self.smoothing, self.noise_bias, self.dd_alpha = smoothing, noise_bias, dd_alpha
        self.noise_update, self.gate, self.noise_ceiling = noise_update, gate, noise_ceiling
        self.log_threshold, self.llr_scale = math.log(llr_threshold), llr_scale
        self.llr_smoothing, self.llr_cap = llr_smoothing, llr_cap
        # the quietest noise level considered: about -90 dBFS per FFT bin (times the bins a band sums), so digital
        # silence is not a 0-power floor
        self.floor_power = 1e-9 * self._front.window * fb.sum(axis=0)[self.bands]
        self.reset()

    def reset(self) -> None:
        n = len(self.bands)
        self._front.reset()
        self._previous: np.ndarray | None = None  # the last frame, when it came with rows (see _own_rows)
        self._smoothed: np.ndarray | None = None
        self._ring = np.full((self.history, n), np.inf)
        self._pos = 0
        self._noise: np.ndarray | None = None  # noise spectrum learnt from frames judged non-speech
        self._gain2_gamma = np.ones(n)  # G^2 * gamma of the previous frame, for the decision-directed estimate
        self._prob = 0.0
        self.last_llr = 0.0

    def _own_rows(self, frame: np.ndarray) -> np.ndarray:
        """The front end's rows for ``frame`` when the caller has none: our own FrontEnd, fed every frame since
        the last one that came with rows (that one again first, for the 15 ms of history its windows need)."""
        if self._previous is not None:
            self._front.reset()
            self._front.push(self._previous)
            self._previous = None
        return self._front.push(frame).log_mel

    def __call__(self, frame: np.ndarray, mel: np.ndarray | None = None) -> float:
        frame = np.asarray(frame)
        if len(frame) != self.frame_samples:
            raise ValueError(f"spectral detector: expected frames of {self.frame_samples} samples, got {len(frame)}")
        if mel is None:
            mel = self._own_rows(frame)
        else:
            self._previous = frame.copy()
        if np.shape(mel) != (self.rows, N_MELS):
            raise ValueError(f"spectral detector: expected ({self.rows}, {N_MELS}) log-mel rows, "
                             f"got {np.shape(mel)}")
        power = np.exp(np.asarray(mel, dtype=np.float64)[:, self.bands]).mean(axis=0) + self.floor_power
        if self._smoothed is None:
            self._smoothed = power.copy()
            self._noise = power.copy()
        else:
            self._smoothed = self.smoothing * self._smoothed + (1 - self.smoothing) * power
        self._ring[self._pos] = self._smoothed
        self._pos = (self._pos + 1) % self.history
        # the noise spectrum: the mean over frames judged non-speech (it follows fluctuating noise such as babble),
        # kept between noise_bias and noise_ceiling times the minimum statistics of the last noise_window_s (so it
        # recovers when the noise gets louder for good, and speech leaking into it cannot lift it far)
        floor = self._ring.min(axis=0)
        noise = np.clip(self._noise, self.noise_bias * floor, self.noise_ceiling * floor)
        gamma = np.minimum(power / noise, 1e4)
        xi = self.dd_alpha * self._gain2_gamma + (1 - self.dd_alpha) * np.maximum(gamma - 1.0, 0.0)
        xi = np.maximum(xi, 10 ** (-25 / 10))
        gain = xi / (1.0 + xi)
        self._gain2_gamma = gain * gain * gamma
        llr = float(np.mean(gamma * gain - np.log1p(xi)))
        if self.llr_cap:
            llr = min(llr, self.llr_cap)
        llr = self.llr_smoothing * self.last_llr + (1 - self.llr_smoothing) * llr
        self.last_llr = llr
        self._prob = _sigmoid((math.log(max(llr, 1e-6)) - self.log_threshold) / self.llr_scale)
        if self._prob < self.gate:
            noise = noise + self.noise_update * (power - noise)
        self._noise = noise
        return self._prob


class EnergyDetector(Detector):
    """Frame log energy (dBFS) against a noise floor that follows quiet frames fast and loud ones slowly."""

    name = "energy"

    def __init__(self, sample_rate: int = 16000, frame_ms: int = 30, *, margin_db: float = 9.0,
                 scale_db: float = 2.0, rise_db_per_s: float = 2.0, fall: float = 0.3, min_floor_db: float = -65.0):
        super().__init__(sample_rate, frame_ms)
        self.margin_db, self.scale_db = margin_db, scale_db
        self.rise = rise_db_per_s * frame_ms / 1000
        self.fall, self.min_floor_db = fall, min_floor_db
        self.reset()

    def reset(self) -> None:
        self._floor: float | None = None
        self.last_snr_db = 0.0

    def __call__(self, frame: np.ndarray, mel: np.ndarray | None = None) -> float:  # mel: not needed
        x = self._check(frame)
        x = x - x.mean()
        db = 10 * math.log10(float(np.mean(x * x)) + 1e-12)
        if self._floor is None:
            self._floor = max(db, self.min_floor_db)
        elif db < self._floor:
            self._floor += self.fall * (db - self._floor)
        else:
            self._floor += min(self.rise, db - self._floor)
        self._floor = max(self._floor, self.min_floor_db)
        self.last_snr_db = db - self._floor
        return _sigmoid((self.last_snr_db - self.margin_db) / self.scale_db)


class WebRtcDetector(Detector):
    """WebRTC's VAD (``pip install webrtcvad-wheels``): 1.0 for speech frames, 0.0 otherwise."""

    name = "webrtc"

    def __init__(self, sample_rate: int = 16000, frame_ms: int = 30, *, mode: int = 3):
        super().__init__(sample_rate, frame_ms)
        if frame_ms not in (10, 20, 30):
            raise ValueError(f"webrtc detector: frames must be 10, 20 or 30 ms, got {frame_ms}")
        try:
            import webrtcvad
        except ImportError:
            raise ConfigError("plugins.settings.vad.detector: 'webrtc' needs the webrtcvad module: "
                              "pip install webrtcvad-wheels (or use detector: spectral)") from None
        self._module: Any = webrtcvad
        self.mode = mode
        self.reset()

    def reset(self) -> None:
        self._vad = self._module.Vad(self.mode)

    def __call__(self, frame: np.ndarray, mel: np.ndarray | None = None) -> float:  # mel: not needed
        if len(frame) != self.frame_samples:
            raise ValueError(f"webrtc detector: expected frames of {self.frame_samples} samples, got {len(frame)}")
        pcm = np.asarray(frame, dtype="<i2").tobytes()
        return 1.0 if self._vad.is_speech(pcm, self.sample_rate) else 0.0


def make_detector(name: str, sample_rate: int = 16000, frame_ms: int = 30, **options: Any) -> Detector:
    """A detector by its settings name ("spectral", "energy", "webrtc")."""
    classes = {"spectral": SpectralDetector, "energy": EnergyDetector, "webrtc": WebRtcDetector}
    if name not in classes:
        raise ConfigError(f"plugins.settings.vad.detector: unknown detector {name!r} "
                          f"(known: {', '.join(classes)})")
    return classes[name](sample_rate, frame_ms, **options)
