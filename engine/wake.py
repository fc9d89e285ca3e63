"""Wake phrase: find it at the start of an n-best list's hypotheses and strip it before parsing.

The phrase is checked on the transcription rather than by a separate keyword spotter: the ASR already decodes every
endpointed utterance, and its skill language model knows the phrase. Matching is fuzzy on letters (``rapidfuzz``)
because an ASR often writes a made-up name like "hark" as a near neighbour ("hawk", "heart").
"""
from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz

from .text import tokenize
from .types import Hypothesis, NBest

__all__ = ["WakeMatch", "find_wake_phrase"]

#: letter similarity (0-100) the start of a hypothesis needs to count as the wake phrase
MIN_SIMILARITY = 75.0


@dataclass(frozen=True)
class WakeMatch:
    """The wake phrase was heard: the rest of each hypothesis that started with it (possibly nothing)."""

    #: hypotheses with the phrase removed, renormalised; None when only the phrase was said
    command: NBest | None
    #: how much of the n-best probability carried the phrase
    probability: float


def _words(text: str) -> list[str]:
    return [t.text for t in tokenize(text)]


def _strip(words: list[str], phrase: list[str]) -> list[str] | None:
    """``words`` without a leading wake phrase (allowing one word more or less), or None if it is not there."""
    target = " ".join(phrase)
    best: tuple[float, int] | None = None
    for n in range(max(1, len(phrase) - 1), len(phrase) + 2):
        if n > len(words):
            break
        score = fuzz.ratio(" ".join(words[:n]), target)
        if score >= MIN_SIMILARITY and (best is None or score > best[0]):
            best = (score, n)
    return None if best is None else words[best[1]:]


def find_wake_phrase(nbest: NBest, phrase: str) -> WakeMatch | None:
    """Whether ``phrase`` starts the utterance, judged over the n-best list (None: not said)."""
    target = _words(phrase)
    if not target:
        raise ValueError("wake phrase is empty")
    rest: list[tuple[str, float]] = []
    carried = 0.0
    phrase_only = 0.0
    for hyp in nbest.hypotheses:
        remainder = _strip(_words(hyp.text), target)
        if remainder is None:
            continue
        carried += hyp.score
        if remainder:
            rest.append((" ".join(remainder), hyp.score))
        else:
            phrase_only += hyp.score
    if carried < 0.5 * sum(h.score for h in nbest.hypotheses):
        return None
    if phrase_only >= carried / 2 or not rest:
        return WakeMatch(None, carried)
    total = sum(s for _, s in rest)
    merged: dict[str, float] = {}
    for text, score in rest:
        merged[text] = merged.get(text, 0.0) + score / total
    hyps = tuple(Hypothesis(t, round(s, 6)) for t, s in sorted(merged.items(), key=lambda r: -r[1]))
    return WakeMatch(NBest(hyps, source=nbest.source), carried)
