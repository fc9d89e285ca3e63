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


def _impacts(n_at: list[float], seconds: float = 1.5, seed: int = 3) -> np.ndarray:
    """A stand-in recording: decaying 5 kHz pings struck at ``n_at`` seconds over faint noise."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(int(seconds * SR)) * 1e-4
    t = np.arange(int(0.2 * SR)) / SR
    for at in n_at:
        ping = np.sin(2 * np.pi * 5000 * t) * np.exp(-t / 0.03)
        x[int(at * SR): int(at * SR) + len(ping)] += ping[: len(x) - int(at * SR)]
    return x


def test_a_recording_is_cut_into_its_shards_at_their_onsets():
    pieces = ps.onset_pieces(_impacts([0.1, 0.5, 0.9]))
    assert len(pieces) == 3
    assert all(len(p) <= 0.41 * SR and abs(p[-1]) < 1e-3 for p in pieces)  # <= 400 ms, faded out
    assert len(ps.onset_pieces(_impacts([]))) == 1  # no onset: the loudest moment is one piece


def test_a_shard_shower_is_new_glass_from_recorded_shards():
    rng = np.random.default_rng(4)
    shards = ps.onset_pieces(_impacts([0.1, 0.5, 0.9]))
    a, b = ps.shard_shower(shards, rng), ps.shard_shower(shards, rng)
    for x in (a, b):
        assert x.dtype == np.float32 and SR <= len(x) <= 2.5 * SR and np.isfinite(x).all()
        assert _share_between(x, 3000, 8000) > 0.5  # the recorded timbre survives re-pitching and the room
    assert len(a) != len(b) or not np.allclose(a, b)


def test_alert_training_windows_hold_the_planted_sound_over_its_bed():
    """train_alerts' positives: each 1 s window covers the sound's onset, at the asked level over the bed."""
    from training import scene_data as sd
    from training import train_alerts as ta

    rng = np.random.default_rng(5)
    bed = np.random.default_rng(6).standard_normal(3 * SR) * 10 ** (-50 / 20)
    ping = _impacts([0.0], seconds=0.3)
    windows = ta.planted_windows(lambda r: ping, [bed], rng, 6, snr_db=(20.0, 20.0))
    quiet = sd.mel_of(bed)[:100]
    bands = slice(50, 60)  # about 4.5-6 kHz of the 64 mel bands
    assert windows.shape == (6, 100, 64)
    for w in windows:
        assert w[:, bands].max() - quiet[:, bands].max() > 3  # nats: the ping stands well over the bed

