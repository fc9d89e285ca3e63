"""Helpers shared by the benchmark scripts (imported as ``_bench``: each script's folder is first on sys.path)."""
from __future__ import annotations

import random

__all__ = ["percentile", "corrupt_words"]


def percentile(xs: list[float], q: float) -> float:
    """Linear-interpolated quantile ``q`` in [0, 1] of ``xs``."""
    xs = sorted(xs)
    k = (len(xs) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def corrupt_words(words: list[str], rng: random.Random) -> list[str]:
    """An ASR-like error: drop, swap or misspell one word (to build n-best lists for latency runs)."""
    words = list(words)
    i = rng.randrange(len(words))
    op = rng.choice(("drop", "swap", "misspell"))
    if op == "drop" and len(words) > 1:
        del words[i]
    elif op == "swap" and len(words) > 1:
        j = min(i + 1, len(words) - 1)
        words[i], words[j] = words[j], words[i]
    else:
        w = words[i]
        words[i] = w[:-1] + "e" if len(w) > 2 else w + "s"
    return words
