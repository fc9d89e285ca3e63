"""Calibration math on synthetic logits with known answers."""
from __future__ import annotations

import sys

import numpy as np
import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT))
from training.calibration import (expected_calibration_error, false_accept_at_recall, fit_temperature,  # noqa: E402
                                  nll, softmax)


def _overconfident(n=4000, k=5, scale=6.0, seed=0):
    """Logits whose true temperature is `scale`: sample labels from softmax(z), then multiply z by scale."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, k))
    p = softmax(z)
    labels = np.array([rng.choice(k, p=row) for row in p])
    return z * scale, labels


def test_temperature_recovers_the_true_scale():
    logits, labels = _overconfident(scale=3.0)
    t = fit_temperature(logits, labels)
    assert t == pytest.approx(3.0, rel=0.1)
    assert nll(logits, labels, t) < nll(logits, labels, 1.0)


def test_temperature_scaling_lowers_ece_and_keeps_argmax():
    logits, labels = _overconfident(scale=4.0, seed=1)
    t = fit_temperature(logits, labels)
    before = expected_calibration_error(softmax(logits), labels)
    after = expected_calibration_error(softmax(logits, t), labels)
    assert after < before / 2
    assert (softmax(logits, t).argmax(1) == softmax(logits).argmax(1)).all()


def test_ece_of_a_perfectly_calibrated_predictor_is_small():
    rng = np.random.default_rng(2)
    conf = rng.uniform(0.5, 1.0, 20000)
    correct = rng.uniform(size=conf.size) < conf
    probs = np.stack([conf, 1 - conf], axis=1)
    labels = np.where(correct, 0, 1)
    assert expected_calibration_error(probs, labels) < 0.02


def test_false_accept_at_recall():
    in_scope = np.linspace(0.0, 1.0, 101)  # threshold at 95% recall = 0.05
    oos = np.array([0.01, 0.04, 0.06, 0.5])
    r = false_accept_at_recall(in_scope, oos)
    assert r["threshold"] == pytest.approx(0.05) and r["in_scope_recall"] >= 0.95
    assert r["false_accept_rate"] == 0.5
