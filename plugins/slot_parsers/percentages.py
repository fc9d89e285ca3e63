"""Spoken percentages -> a number of percent: "fifty percent" -> 50, "50%" -> 50, "half" -> 50, "full" -> 100.

Choices:
    * a number needs a percent word ("percent", "per cent", "pct", "%"): a bare "50" is ``None``, so that
      "set the brightness to 50" is a ``number`` slot and both slot types never claim the same words;
    * the exceptions are the level words "half" (50) and "full", "max", "maximum" (100), which mean a
      percentage without one; "minimum" is not accepted (0 % or the lowest step is the skill's call);
    * the value is the number of percent, not a fraction (50, not 0.5); negative and >100 values are returned
      as spoken ("minus ten percent" -> -10, "two hundred percent" -> 200).
"""
from __future__ import annotations

from types import MappingProxyType

from .numbers import NUMBER_WORDS, SIGN_WORDS, all_known, parse_number_prefix, tidy, tokenize

__all__ = ["parse_percentage", "LEVEL_WORDS", "PERCENT_WORDS"]

#: words that are a percentage on their own
LEVEL_WORDS = MappingProxyType({"half": 50, "full": 100, "max": 100, "maximum": 100})
PERCENT_WORDS = frozenset({"percent", "pct", "percentage"})
_VOCABULARY = frozenset({*NUMBER_WORDS, *LEVEL_WORDS, *PERCENT_WORDS, "per", "cent"})


def _strip_percent_word(tokens: list[str]) -> list[str] | None:
    """The number words before the trailing percent word, or ``None`` if there is none."""
    if len(tokens) >= 2 and tokens[-1] in PERCENT_WORDS:
        return tokens[:-1]
    if len(tokens) >= 3 and tokens[-2] == "per" and tokens[-1] == "cent":
        return tokens[:-2]
    return None


def parse_percentage(text: object) -> int | float | None:
    """The percentage ``text`` names: "fifty percent" -> 50, "12.5 %" -> 12.5, "full" -> 100, "50" -> None."""
    tokens = tokenize(text)
    if not tokens or not all_known(tokens, _VOCABULARY):
        return None
    if len(tokens) == 1 and tokens[0] in LEVEL_WORDS:
        return LEVEL_WORDS[tokens[0]]
    words = _strip_percent_word(tokens)
    if words is None:
        return None
    sign, i = 1, 0
    if words[0] in SIGN_WORDS:
        if len(words) == 1 or words[1].startswith("-"):
            return None
        sign, i = -1, 1
    found = parse_number_prefix(words, i)
    if found is None or found[1] != len(words):
        return None
    return tidy(sign * found[0])
