"""Spoken durations -> seconds: "an hour and a half" -> 5400, "2 hours 30 minutes" -> 9000, "10 mins" -> 600.

A duration is one or more components, largest unit first, optionally joined by "and": ``<quantity> <unit>``
("ten minutes", "one and a half hours", "a minute", "half an hour", "a quarter of an hour", "a couple of
minutes"), a trailing fraction of the previous unit ("an hour and a half") or a compact token ("10min",
"1h30", "1h30m", "90s"). Every word must belong to the duration: "ten minutes for the pasta", "ten" and
"minutes" are ``None``.

Choices:
    * "a couple (of)" is 2 and "a few" is 3 of the unit (so "a few minutes" -> 180); "several" is not accepted;
    * the singular is accepted after any quantity ("a five minute timer" -> 300);
    * units must strictly decrease ("30 minutes 2 hours" and "ten minutes ten minutes" are ``None``);
    * negative quantities are ``None``; zero is allowed ("zero seconds" -> 0);
    * "1:30" is ambiguous (minutes or hours) and is ``None``;
    * the result is an int when integral, else a float ("half a second" -> 0.5); a week is 7 days.
"""
from __future__ import annotations

import re
from types import MappingProxyType
from typing import Sequence

from .numbers import (NUMBER_WORDS, all_known, parse_fraction_prefix, parse_number_prefix, tidy, tokenize)

__all__ = ["parse_duration", "duration_from_tokens", "UNIT_SECONDS", "DURATION_WORDS", "COMPACT_DURATION"]

UNIT_SECONDS = MappingProxyType(
    {"second": 1, "seconds": 1, "sec": 1, "secs": 1,
     "minute": 60, "minutes": 60, "min": 60, "mins": 60,
     "hour": 3600, "hours": 3600, "hr": 3600, "hrs": 3600,
     "day": 86400, "days": 86400,
     "week": 604800, "weeks": 604800, "fortnight": 1209600, "fortnights": 1209600}
)
#: quantities that are not numbers: "a couple of minutes", "a few seconds"
VAGUE_QUANTITIES = MappingProxyType({"couple": 2, "few": 3})
DURATION_WORDS = frozenset({*NUMBER_WORDS, *UNIT_SECONDS, *VAGUE_QUANTITIES, "of"})

_COMPACT_UNITS = MappingProxyType(
    {"s": 1, "sec": 1, "secs": 1, "m": 60, "min": 60, "mins": 60, "h": 3600, "hr": 3600, "hrs": 3600,
     "d": 86400, "w": 604800}
)
#: "10min", "2hrs", "90s", "1.5h"
_COMPACT_ONE = re.compile(r"(\d+(?:\.\d+)?)(s|secs?|m|mins?|h|hrs?|d|w)", re.ASCII)
#: "1h30", "1h30m", "2m30s"
_COMPACT_TWO = re.compile(r"(\d+)(h|m)(\d{1,2})(m|min|s)?", re.ASCII)
COMPACT_DURATION = re.compile(f"{_COMPACT_ONE.pattern}|{_COMPACT_TWO.pattern}", re.ASCII)


def _compact(token: str) -> tuple[float, int] | None:
    """A compact token -> (seconds, smallest unit in seconds)."""
    m = _COMPACT_ONE.fullmatch(token)
    if m:
        unit = _COMPACT_UNITS[m.group(2)]
        return float(m.group(1)) * unit, unit
    m = _COMPACT_TWO.fullmatch(token)
    if m:
        big = _COMPACT_UNITS[m.group(2)]
        small = big // 60
        if m.group(4) and _COMPACT_UNITS[m.group(4)] != small:
            return None
        if int(m.group(3)) >= 60:
            return None
        return int(m.group(1)) * big + int(m.group(3)) * small, small
    return None


def _quantity(tokens: Sequence[str], i: int) -> tuple[float, int, str] | None:
    """How many units: -> (value, end, kind) where kind is "number", "fraction", "article" or "vague"."""
    n = len(tokens)
    t = tokens[i]
    nxt = tokens[i + 1] if i + 1 < n else ""
    if t in VAGUE_QUANTITIES:
        return VAGUE_QUANTITIES[t], i + 1, "vague"
    if t in ("a", "an") and nxt in VAGUE_QUANTITIES:
        return VAGUE_QUANTITIES[nxt], i + 2, "vague"
    found = parse_number_prefix(tokens, i)
    if found is not None:
        value, j = found
        if value < 0:
            return None
        return value, j, ("fraction" if 0 < value < 1 else "number")
    if t in ("a", "an"):
        return 1, i + 1, "article"
    return None


def _component(tokens: Sequence[str], i: int) -> tuple[float, int, int] | None:
    """One ``<quantity> <unit>`` at ``tokens[i:]`` -> (seconds, unit seconds, end)."""
    n = len(tokens)
    compact = _compact(tokens[i])
    if compact is not None:
        return compact[0], compact[1], i + 1
    q = _quantity(tokens, i)
    if q is None:
        return None
    value, j, kind = q
    if kind in ("fraction", "vague") and j < n and tokens[j] == "of":  # "a quarter of an hour", "couple of"
        j += 1
    if kind == "fraction" and j < n and tokens[j] in ("a", "an"):  # "half an hour"
        j += 1
    if j >= n or tokens[j] not in UNIT_SECONDS:
        return None
    unit = UNIT_SECONDS[tokens[j]]
    return value * unit, unit, j + 1


def duration_from_tokens(tokens: Sequence[str]) -> int | float | None:
    """Seconds for tokens that are all one duration, else ``None`` (no vocabulary check; see parse_duration)."""
    n = len(tokens)
    if n == 0:
        return None
    total = 0.0
    smallest = 0  # unit of the previous component; 0 before the first
    i = 0
    while i < n:
        joined = i > 0 and tokens[i] == "and"
        if joined:
            i += 1
            if i >= n:
                return None
        comp = _component(tokens, i)
        if comp is not None:
            seconds, unit, i = comp
            if smallest and unit >= smallest:
                return None
            total += seconds
            smallest = unit
            continue
        if not joined or not smallest:
            return None
        frac = parse_fraction_prefix(tokens, i)  # "an hour and a half"
        if frac is None:
            return None
        total += frac[0] * smallest
        i = frac[1]
        smallest = max(1, int(smallest * frac[0]))  # later components must be smaller than that fraction
    return tidy(total)


def parse_duration(text: object) -> int | float | None:
    """The duration ``text`` names, in seconds: "ten minutes" -> 600, "a minute and 30 seconds" -> 90.

    ``None`` if any word is not part of the duration, if there is no unit ("ten") or no quantity ("minutes").
    """
    tokens = tokenize(text)
    if not tokens or not all_known(tokens, DURATION_WORDS, COMPACT_DURATION):
        return None
    return duration_from_tokens(tokens)
