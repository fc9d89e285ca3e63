"""The procedural alert sounds the scene tagger trains on: each has the physics its generator claims."""
from __future__ import annotations

import sys

import numpy as np
import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT))
from training import procedural_sounds as ps  # noqa: E402

SR = ps.SR


def _share_between(x: np.ndarray, lo: float, hi: float) -> float:
    spec = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(len(x), 1 / SR)
    return float(spec[(f >= lo) & (f < hi)].sum() / spec.sum())


@pytest.mark.parametrize("category", sorted(ps.GENERATORS))
def test_every_generator_gives_a_finite_varied_clip(category):
    rng = np.random.default_rng(0)
    a, b = ps.make(category, rng), ps.make(category, rng)
    for x in (a, b):
        assert x.dtype == np.float32 and 0.5 * SR <= len(x) <= 6 * SR and np.isfinite(x).all()
        assert np.max(np.abs(x)) == pytest.approx(0.5, abs=1e-3)
    assert len(a) != len(b) or not np.allclose(a, b)


def test_glass_rings_high_and_a_knock_low():
    rng = np.random.default_rng(1)
    glass = [ps.glass_breaking(rng) for _ in range(5)]
    knocks = [ps.door_wood_knock(rng) for _ in range(5)]
    assert all(_share_between(g, 2000, 8000) > 0.6 for g in glass)
    assert all(_share_between(k, 0, 600) > 0.6 for k in knocks)


def test_a_siren_sweeps_its_pitch_and_an_alarm_beeps():
    rng = np.random.default_rng(2)
    x = ps.siren(rng)
    frames = x[: len(x) // 800 * 800].reshape(-1, 800)
    peaks = np.fft.rfftfreq(800, 1 / SR)[np.argmax(np.abs(np.fft.rfft(frames * np.hanning(800), axis=1)), axis=1)]
    assert 400 <= np.percentile(peaks, 10) and np.percentile(peaks, 90) - np.percentile(peaks, 10) > 150
    onsets = []
    for _ in range(6):  # 60 % of alarms are digital: beeps switched on and off
        y = ps.clock_alarm(rng)
        level = np.sqrt(np.mean(y[: len(y) // 160 * 160].reshape(-1, 160) ** 2, axis=1))
        onsets.append(int(np.sum(np.diff((level > 0.1 * level.max()).astype(int)) == 1)))
    assert max(onsets) >= 3, onsets
