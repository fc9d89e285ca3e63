"""Confidence calibration and out-of-scope metrics (numpy only, usable without torch).

- ``fit_temperature``: temperature scaling (Guo et al. 2017): one scalar T dividing the logits, fitted on a dev
  split by minimising the negative log-likelihood; it changes confidences, never the argmax.
- ``expected_calibration_error``: |accuracy - confidence| averaged over equal-width confidence bins.
- ``false_accept_at_recall``: the confidence threshold that keeps 95% of in-scope requests answered, and the share
  of out-of-scope requests that still get through it.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["softmax", "nll", "fit_temperature", "expected_calibration_error", "false_accept_at_recall"]


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = logits / temperature
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def nll(logits: np.ndarray, labels: np.ndarray, temperature: float = 1.0) -> float:
    p = softmax(logits, temperature)[np.arange(len(labels)), labels]
    return float(-np.mean(np.log(np.clip(p, 1e-12, None))))


def fit_temperature(logits: np.ndarray, labels: np.ndarray, lo: float = 0.05, hi: float = 20.0) -> float:
    """T in [lo, hi] minimising dev NLL (golden-section search on log T; NLL is unimodal in T)."""
    a, b = math.log(lo), math.log(hi)
    g = (math.sqrt(5) - 1) / 2
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = nll(logits, labels, math.exp(c)), nll(logits, labels, math.exp(d))
    for _ in range(60):
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - g * (b - a)
            fc = nll(logits, labels, math.exp(c))
        else:
            a, c, fc = c, d, fd
            d = a + g * (b - a)
            fd = nll(logits, labels, math.exp(d))
    return round(math.exp((a + b) / 2), 4)


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    conf = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = (conf > lo) & (conf <= hi)
        if inside.any():
            ece += inside.mean() * abs(correct[inside].mean() - conf[inside].mean())
    return float(ece)


def false_accept_at_recall(in_scope_conf: np.ndarray, oos_conf: np.ndarray, recall: float = 0.95) -> dict:
    """Threshold keeping ``recall`` of in-scope requests (their in-scope confidence >= threshold) and the
    fraction of out-of-scope requests at or above it."""
    if len(in_scope_conf) == 0 or len(oos_conf) == 0:
        raise ValueError("need in-scope and out-of-scope confidences")
    threshold = float(np.quantile(in_scope_conf, 1.0 - recall, method="lower"))
    return {"threshold": round(threshold, 6), "in_scope_recall": float(np.mean(in_scope_conf >= threshold)),
            "false_accept_rate": float(np.mean(oos_conf >= threshold))}
