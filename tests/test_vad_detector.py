"""The vad detectors on the shared front end: ``detector(frame, mel=rows)`` with the runtime's rows or without.

Speech is espeak-ng's (skipped without it, like tests/test_vad.py); noise is generated here.
"""
from __future__ import annotations

import numpy as np
import pytest

from hark.features import FrontEnd
from hark.plugins.vad.model import EnergyDetector, SpectralDetector, make_detector

from conftest import espeak, needs_espeak

FRAME = 480


@pytest.fixture(scope="module")
def noisy_speech(tmp_path_factory):
    """Two sentences with pauses in pink noise at about 10 dB SNR, and the (frame) spans of the speech."""
    tmp = tmp_path_factory.mktemp("vad-detector")
    rng = np.random.default_rng(3)
    parts, spans, n = [np.zeros(16000)], [], 16000
    for text in ("turn off the kitchen lights", "set a timer for ten minutes"):
        x = espeak(text, tmp / "s.wav").astype(np.float64)
        spans.append((n // FRAME, (n + len(x)) // FRAME))
        parts += [x, np.zeros(24000)]
        n += len(x) + 24000
    speech = np.concatenate(parts)
    speech *= 10 ** (-26 / 20) * 32768 / np.sqrt(np.mean(np.concatenate(parts[1::2]) ** 2))
    spec = np.fft.rfft(rng.standard_normal(len(speech)))
    spec[1:] /= np.sqrt(np.arange(1, len(spec)))
    pink = np.fft.irfft(spec, len(speech))
    noise = pink / np.std(pink) * 10 ** (-36 / 20) * 32768
    x = np.clip(np.round(speech + noise), -32768, 32767).astype(np.int16)
    return x[: len(x) // FRAME * FRAME], spans


def _frames(x):
    return [x[k * FRAME:(k + 1) * FRAME] for k in range(len(x) // FRAME)]


def _with_rows(detector, x):
    """As the plugin runs it: the stream's FrontEnd fed 30 ms at a time, its 3 rows with each frame."""
    front = FrontEnd()
    return [detector(f, mel=front.push(f).log_mel) for f in _frames(x)]


@needs_espeak
def test_spectral_finds_speech_in_noise(noisy_speech):
    x, spans = noisy_speech
    probs = np.array(_with_rows(SpectralDetector(), x))
    inside = np.zeros(len(probs), dtype=bool)
    for a, b in spans:
        inside[a:b] = True
    assert np.mean(probs[inside] >= 0.5) > 0.6  # espeak's pauses between words count as speech here
    assert np.mean(probs[~inside][40:] >= 0.5) < 0.05  # after the noise estimate settles (1.2 s)


@needs_espeak
def test_spectral_same_numbers_with_or_without_rows(noisy_speech):
    x, _ = noisy_speech
    given = _with_rows(SpectralDetector(), x)
    own = SpectralDetector()
    assert [own(f) for f in _frames(x)] == given
    # rows for some frames and not for others (a caller that lost them) changes nothing either
    mixed, front = SpectralDetector(), FrontEnd()
    out = []
    for k, f in enumerate(_frames(x)):
        rows = front.push(f).log_mel
        out.append(mixed(f, mel=rows if (k // 7) % 2 else None))
    assert out == given
    own.reset()  # reset starts a new stream for the detector's own front end too
    assert [own(f) for f in _frames(x)] == given


def test_spectral_checks_rows_and_runs_alone_at_other_rates():
    det = SpectralDetector()
    with pytest.raises(ValueError, match=r"\(3, 64\) log-mel rows"):
        det(np.zeros(FRAME, dtype=np.int16), mel=np.zeros((2, 64), np.float32))
    t = np.arange(240 * 40) / 8000
    tone = np.round(6000 * np.sin(2 * np.pi * 300 * t) * (t > 0.6)).astype(np.int16)
    det8 = SpectralDetector(8000)
    probs = [det8(tone[k * 240:(k + 1) * 240]) for k in range(40)]
    assert max(probs[:20]) < 0.05 and min(probs[-10:]) > 0.9


@pytest.mark.parametrize("name", ["energy", "webrtc"])
def test_other_detectors_ignore_rows(name):
    if name == "webrtc":
        pytest.importorskip("webrtcvad")
    rng = np.random.default_rng(1)
    t = np.arange(16000) / 16000
    x = np.round(300 * rng.standard_normal(len(t)) + 5000 * np.sin(2 * np.pi * 220 * t) * (t > 0.5))
    x = x.astype(np.int16)
    alone, fed = make_detector(name), make_detector(name)
    assert [alone(f) for f in _frames(x)] == _with_rows(fed, x)
    assert isinstance(alone, EnergyDetector) == (name == "energy")
