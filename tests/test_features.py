"""hark.features: the shared streaming front end (alignment, streaming == batch, mel bands, energy)."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from hark.features import FMAX, FMIN, LOG_FLOOR, N_MELS, Features, FrontEnd, log_mel, mel_filterbank


def _signal(seconds: float = 2.0, seed: int = 0) -> np.ndarray:
    """Tones that come and go over noise, with a DC offset: int16 at 16 kHz."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 16000)) / 16000
    x = 3000 * np.sin(2 * np.pi * 440 * t) * (np.sin(2 * np.pi * 1.5 * t) > 0)
    x += 2000 * np.sin(2 * np.pi * 1900 * t) + 300 * rng.standard_normal(len(t)) + 150
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def _by_hand(x: np.ndarray, j: int) -> tuple[np.ndarray, float]:
    """Row j computed directly from its definition: the 25 ms window ending at stream sample (j + 1) * 160."""
    padded = np.concatenate([np.zeros(240), x / 32768.0])
    w = padded[(j + 1) * 160 + 240 - 400:(j + 1) * 160 + 240]
    w = w - w.mean()
    hann = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(400) / 400)  # periodic Hann
    power = np.abs(np.fft.rfft(w * hann, 512)) ** 2
    return np.log(power @ mel_filterbank() + LOG_FLOOR), float(np.log(np.mean(w * w) + LOG_FLOOR))


def test_rows_follow_the_alignment_contract():
    x = _signal(0.5)
    front = FrontEnd()
    assert len(front.push(x[:159])) == 0  # less than a hop: nothing yet
    one = front.push(x[159:160])
    assert len(one) == 1 and one.first_row == 0 and one.times.tolist() == [0.01]
    three = front.push(x[160:640])  # 30 ms -> exactly 3 rows
    assert len(three) == 3 and three.first_row == 1
    assert np.allclose(three.times, [0.02, 0.03, 0.04])
    assert three.log_mel.shape == (3, N_MELS) and three.log_mel.dtype == np.float32
    assert three.energy.shape == (3,) and three.energy.dtype == np.float32
    whole = log_mel(x)
    assert len(whole) == len(x) // 160
    for j in (0, 1, 2, 17, len(whole) - 1):
        mel, energy = _by_hand(x, j)
        np.testing.assert_allclose(whole.log_mel[j], mel, rtol=1e-6, atol=1e-5)
        assert whole.energy[j] == pytest.approx(energy, rel=1e-6)


@pytest.mark.parametrize("max_chunk", [3, 160, 481, 5000])
def test_streaming_equals_batch_whatever_the_chunks(max_chunk):
    x = _signal(2.0, seed=max_chunk)
    batch = log_mel(x)
    rng = np.random.default_rng(max_chunk)
    front, rows, energy, i, done = FrontEnd(), [], [], 0, 0
    while i < len(x):
        n = int(rng.integers(0, max_chunk + 1))
        chunk = x[i:i + n]
        out = front.push(chunk.tobytes() if n % 2 else chunk)  # bytes or arrays alike
        assert out.first_row == done
        done += len(out)
        rows.append(out.log_mel)
        energy.append(out.energy)
        i += n
    assert np.array_equal(np.concatenate(rows), batch.log_mel)  # bit for bit
    assert np.array_equal(np.concatenate(energy), batch.energy)


def test_reset_starts_a_new_stream():
    x = _signal(0.3)
    front = FrontEnd()
    front.push(x[:1000])
    front.reset()
    again = front.push(x)
    assert again.first_row == 0
    assert np.array_equal(again.log_mel, log_mel(x).log_mel)


def test_filterbank_is_htk_mel_cached_and_read_only():
    fb = mel_filterbank()
    assert fb.shape == (257, N_MELS) and fb is mel_filterbank()
    assert fb.any(axis=0).all() and fb.max() <= 1.0
    with pytest.raises(ValueError):
        fb[0, 0] = 1.0
    centres = np.fft.rfftfreq(512, 1 / 16000) @ fb / fb.sum(axis=0)
    assert np.all(np.diff(centres) > 0) and FMIN < centres[0] < 60 and 7000 < centres[-1] < FMAX
    mel = 2595 * np.log10(1 + centres / 700)  # HTK mel: centres about evenly spaced (bins quantise the low ones)
    assert np.std(np.diff(mel)[10:]) < 0.1 * np.mean(np.diff(mel))


def test_a_tone_lights_its_band_and_energy_is_its_level():
    t = np.arange(16000) / 16000
    tone = np.round(8000 * np.sin(2 * np.pi * 1000 * t)).astype(np.int16)
    out = log_mel(tone)
    centres = np.fft.rfftfreq(512, 1 / 16000) @ mel_filterbank() / mel_filterbank().sum(axis=0)
    assert abs(centres[int(np.argmax(out.log_mel[50]))] - 1000) < 60
    # mean square of a sine is A^2 / 2
    assert out.energy[50] == pytest.approx(np.log((8000 / 32768) ** 2 / 2), abs=0.01)
    silent = log_mel(np.zeros(800, dtype=np.int16))
    assert np.allclose(silent.energy, np.log(LOG_FLOOR)) and np.allclose(silent.log_mel, np.log(LOG_FLOOR))


def test_other_rates_and_bad_input():
    front = FrontEnd(8000)
    assert (front.hop, front.window, front.n_fft) == (80, 200, 256)
    assert len(front.push(np.zeros(240, dtype=np.int16))) == 3  # 30 ms is 3 rows at any rate
    with pytest.raises(TypeError, match="int16"):
        FrontEnd().push(np.zeros(480, dtype=np.float32))
    with pytest.raises(ValueError, match="not supported"):
        FrontEnd(22050)


def test_features_value():
    f = Features(np.zeros((2, N_MELS), np.float32), np.zeros(2, np.float32), first_row=5)
    assert len(f) == 2 and f.hop_s == 0.01 and np.allclose(f.times, [0.06, 0.07])
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.first_row = 0  # type: ignore[misc]
