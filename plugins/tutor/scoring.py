"""Goodness of pronunciation from CTC phone posteriors: small pure functions over numpy arrays.

1. ``align``: the expected phones are forced onto the posteriors (CTC Viterbi): each frame belongs to one phone
   or to a blank between two.
2. ``phone_windows``: each phone gets its own frames plus half of the blank frames on each side.
3. ``window_scores``: inside its window, the log-likelihood that the window holds exactly one phone q, for every
   phone q of the inventory, and that it holds none (a deletion). Summed over every CTC path through the window
   (blank* q+ blank*), so a phone spread over several frames counts in full.
4. ``assess_phone``: the canonical phone's share of that likelihood is its score in [0, 1]; when another phone
   (or nothing) beats the canonical one by more than ``margin`` nats, the verdict is a substitution (deletion).

Why windows rather than one free phone recognition: the learner's attempt is scored against what they meant to
say, one phone at a time, so every decision is about one phone and its neighbours stay fixed (the extended
recognition network idea, without a decoder), and the margin is a prior we control.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

__all__ = ["align", "phone_windows", "window_scores", "assess_phone", "PhoneScore", "MAX_WINDOW"]

#: longest window scored (frames of 20 ms); longer ones keep the frames around the phone's middle
MAX_WINDOW = 60
_NEG = -1e30


@dataclass(frozen=True)
class PhoneScore:
    """One expected phone: its score, the verdict and the phone heard instead (None for ok and deletions)."""

    expected: str
    score: float
    verdict: str  # "ok", "substitution", "deletion"
    heard: str | None
    #: log-likelihood margin of the best alternative over the expected phone (positive: the alternative wins)
    margin: float
    frames: tuple[int, int]


def align(log_probs: np.ndarray, labels: Sequence[int], blank: int) -> np.ndarray | None:
    """CTC Viterbi: for each frame, the index of the label it is aligned to, or -1 for a blank. ``None`` when the
    audio is too short to hold the labels."""
    n, frames = len(labels), len(log_probs)
    if n == 0:
        return np.full(frames, -1)
    ext = np.full(2 * n + 1, blank)
    ext[1::2] = labels
    states = len(ext)
    skip = np.zeros(states, dtype=bool)  # s may come from s - 2 (a label after a blank, unless it repeats)
    skip[3::2] = np.asarray(labels[1:]) != np.asarray(labels[:-1])
    need = n + int(np.sum(~skip[3::2]))
    if frames < need:
        return None
    emit = log_probs[:, ext]
    score = np.full(states, _NEG)
    score[:2] = emit[0, :2]
    back = np.zeros((frames, states), dtype=np.int8)  # 0: stay, 1: from s-1, 2: from s-2
    for t in range(1, frames):
        stay = score
        step = np.concatenate([[_NEG], score[:-1]])
        jump = np.where(skip, np.concatenate([[_NEG, _NEG], score[:-2]]), _NEG)
        choice = np.argmax(np.stack([stay, step, jump]), axis=0)
        score = np.choose(choice, [stay, step, jump]) + emit[t]
        back[t] = choice
    s = states - 1 if score[-1] >= score[-2] else states - 2
    path = np.empty(frames, dtype=np.int64)
    for t in range(frames - 1, -1, -1):
        path[t] = s
        s -= int(back[t, s])
    return np.where(path % 2 == 1, path // 2, -1)


def phone_windows(path: np.ndarray, n: int) -> list[tuple[int, int]]:
    """Frame ranges [start, end) per label: its own frames plus half of the blanks between it and each
    neighbour (all of the leading or trailing silence for the first and last phone, capped at ``MAX_WINDOW``)."""
    own = [np.flatnonzero(path == i) for i in range(n)]
    firsts = [int(f[0]) for f in own]
    lasts = [int(f[-1]) + 1 for f in own]
    out = []
    for i in range(n):
        start = 0 if i == 0 else (lasts[i - 1] + firsts[i] + 1) // 2
        end = len(path) if i == n - 1 else (lasts[i] + firsts[i + 1]) // 2
        if end - start > MAX_WINDOW:  # keep the frames around the phone itself
            middle = (firsts[i] + lasts[i]) // 2
            start = max(start, middle - MAX_WINDOW // 2)
            end = min(end, start + MAX_WINDOW)
        out.append((start, end))
    return out


def window_scores(window: np.ndarray, blank: int) -> tuple[np.ndarray, float]:
    """(log-likelihood of "exactly one q" for every label q, log-likelihood of "only blanks") over ``window``
    (frames, labels) of log-probabilities; the blank's own entry is meaningless."""
    frames = len(window)
    if frames == 0:
        return np.full(window.shape[1], _NEG), 0.0
    lb = np.concatenate([[0.0], np.cumsum(window[:, blank])])  # blank prefix sums
    lq = np.concatenate([np.zeros((1, window.shape[1])), np.cumsum(window, axis=0)])  # (frames + 1, labels)
    a, b = np.triu_indices(frames)  # the label spans frames a..b
    total = (lb[a] + (lb[frames] - lb[b + 1]))[:, None] + (lq[b + 1] - lq[a])
    peak = total.max(axis=0)
    return peak + np.log(np.exp(total - peak).sum(axis=0)), float(lb[frames])


def assess_phone(scores: np.ndarray, deletion: float, expected: int, blank: int, phones: Sequence[str],
                 margin: float, frames: tuple[int, int]) -> PhoneScore:
    """Verdict for one phone from its window's ``window_scores``."""
    cand = scores.copy()
    cand[blank] = deletion
    peak = cand.max()
    share = float(np.exp(cand[expected] - peak) / np.exp(cand - peak).sum())
    others = cand.copy()
    others[expected] = _NEG
    best = int(np.argmax(others))
    gap = float(others[best] - cand[expected])
    if gap <= margin:
        return PhoneScore(phones[expected], share, "ok", None, gap, frames)
    if best == blank:
        return PhoneScore(phones[expected], share, "deletion", None, gap, frames)
    return PhoneScore(phones[expected], share, "substitution", phones[best], gap, frames)
