"""Spoken dates and times -> ``{"iso": "2026-11-25T19:00:00+01:00", "grain": "hour"}``, relative to ``now``.

An expression is either relative to the clock ("in ten minutes", "an hour from now", "now") or made of at most
one day ("tomorrow", "on friday", "november 25", "the 3rd of december", "next week"), one clock time ("at 7 pm",
"7:30", "seven thirty", "half past seven", "quarter to eight", "noon") and one part of the day ("morning",
"this evening", "tonight", "in the afternoon"), in any order. Every word must be understood, else ``None``.
The result is in the time zone of ``now``, to the second; ``grain`` says how precise it is: "minute" (minutes
were said), "hour" (a whole hour or a part of the day), "day" or "week".

Which moment an expression means (am or pm, today or tomorrow, which Friday) is the policy of
docs/time-expressions.md, implemented in ``timepolicy`` (days are read by ``days``); the ``wake`` argument says the utterance is a wake-up
("wake me up at 6"), which reads an ambiguous hour as morning. Other choices:
    * parts of the day are points: morning 09:00, afternoon 15:00, evening 19:00, night and "tonight" 20:00 (grain
      hour); with a clock time they only pick am/pm ("seven in the evening" -> 19:00);
    * "november 25" (no year) is the next such date, today included; invalid dates ("february 30") are ``None``;
    * "midnight" is the end of the day: "tomorrow at midnight" is 00:00 the day after tomorrow;
    * "next week" / "this week" are Monday 00:00 of that week (grain week); "this weekend" / "the weekend" the
      coming Saturday 00:00, or today on a weekend (grain weekend), "next weekend" the Saturday after;
      "today", "tomorrow", ... are 00:00 (grain day);
    * "in <duration>" / "<duration> from now" is ``now`` plus the duration; the grain is the largest of week, day,
      hour that divides it, else minute (seconds are kept in ``iso``).
"""
from __future__ import annotations

import datetime as _dt
import re
from types import MappingProxyType
from typing import Sequence

from .days import DAY_WORDS, MONTHS, WEEKDAYS, day_at
from .durations import COMPACT_DURATION, DURATION_WORDS, duration_from_tokens
from .numbers import (ORDINAL_TO_CARDINAL, TEENS, TENS, UNITS, all_known, join_ordinal_suffixes,
                      parse_cardinal_prefix, tokenize)
from .timepolicy import PART_HOURS, Day, Time, combine

__all__ = ["parse_datetime", "PART_HOURS", "WEEKDAYS", "MONTHS"]

HOUR_WORDS = MappingProxyType({**UNITS, "ten": 10, "eleven": 11, "twelve": 12})
_PAST = frozenset({"past", "after"})
_TO = frozenset({"to", "till", "til", "before"})
_OCLOCK = frozenset({"o'clock", "oclock"})
_MINUTE_WORDS = frozenset({"minute", "minutes", "min", "mins"})
#: "thirteen" ... "twenty three": hours only a 24-hour clock has
_HOURS24 = MappingProxyType({**{w: v for w, v in TEENS.items() if v >= 13}, "twenty": 20})

_VOCABULARY = frozenset(
    {*DURATION_WORDS, *ORDINAL_TO_CARDINAL, *DAY_WORDS, *PART_HOURS, *_PAST, *_TO, *_OCLOCK, "tonight", "at",
     "in", "from", "now", "right", "noon", "midday", "midnight", "clock", "am", "pm", "p", "m", "hundred", "hours"}
)
#: "7", "7:30", "19:30", "7pm", "7:30am"
_CLOCK = re.compile(r"(\d{1,2})(?::(\d{2}))?(am|pm)?", re.ASCII)
#: "630 am", "1145pm": hour and minutes run together, only with am/pm
_RUN_TOGETHER = re.compile(r"(\d{1,2})(\d{2})(am|pm)?", re.ASCII)
#: "0730", "1930" (24-hour, said with "at" or "hours", or zero-padded)
_MILITARY = re.compile(r"([01]\d|2[0-3])([0-5]\d)", re.ASCII)
_ORDINAL_NUMERAL = re.compile(r"\d+(?:st|nd|rd|th)", re.ASCII)


# --------------------------------------------------------------------------------------------------- time


def _is_digits(token: str) -> bool:
    """ASCII digits only: str.isdigit() is also true for "\u00b2", which int() refuses."""
    return token.isascii() and token.isdigit()


def _meridiem(tokens: Sequence[str], j: int) -> tuple[str | None, int]:
    """"pm", "am", or the "p m" that "p.m." tokenizes to."""
    t = tokens[j] if j < len(tokens) else ""
    if t in ("am", "pm"):
        return t, j + 1
    if t in ("a", "p") and j + 1 < len(tokens) and tokens[j + 1] == "m":
        return t + "m", j + 2
    return None, j


def _oclock(tokens: Sequence[str], j: int) -> int:
    if j < len(tokens) and tokens[j] in _OCLOCK:
        return j + 1
    if tokens[j:j + 2] == ["o", "clock"]:
        return j + 2
    return j


def _word_minutes(tokens: Sequence[str], j: int) -> tuple[int, int] | None:
    """Minutes after a spoken hour: "thirty", "forty five", "oh five"."""
    n = len(tokens)
    if j >= n:
        return None
    if tokens[j] in ("oh", "o") and j + 1 < n and tokens[j + 1] in UNITS:
        return UNITS[tokens[j + 1]], j + 2
    if tokens[j] in TEENS or tokens[j] in TENS:
        found = parse_cardinal_prefix(tokens, j)
        if found is not None and 10 <= found[0] <= 59:
            return found  # type: ignore[return-value]
    return None


_DAY_STARTS = frozenset({"today", "tomorrow", "on", "next", "the", *WEEKDAYS})


def _followed_by_part(tokens: Sequence[str], j: int) -> bool:
    """A part of the day or a day comes next, so a bare hour is a time: "seven in the evening", "6 tonight",
    "7 tomorrow", "8 on monday"."""
    return _part_at(tokens, j) is not None or (j < len(tokens) and tokens[j] in _DAY_STARTS)


def _hour24_word(tokens: Sequence[str], j: int) -> tuple[int, int, bool] | None:
    """A spoken hour of a 24-hour clock: "oh seven" / "zero seven" (0-9), "thirteen" ... "twenty three"; then
    (hour, end, said with a leading zero)."""
    n = len(tokens)
    t = tokens[j]
    if t in ("oh", "zero") and j + 1 < n and (tokens[j + 1] in UNITS or tokens[j + 1] == "hundred"):
        return (UNITS[tokens[j + 1]], j + 2, True) if tokens[j + 1] in UNITS else (0, j + 1, True)
    if t == "twenty":
        if j + 1 < n and tokens[j + 1] in ("one", "two", "three"):
            return 20 + UNITS[tokens[j + 1]], j + 2, False
        return 20, j + 1, False
    if t in _HOURS24:
        return _HOURS24[t], j + 1, False
    if t in HOUR_WORDS:
        return HOUR_WORDS[t], j + 1, False
    return None


def _spoken24_at(tokens: Sequence[str], j: int, at: bool) -> tuple[Time, int] | None:
    """24-hour clock times: "oh seven hundred (hours)", "nineteen thirty", "seven hundred hours", "0730",
    "1930 hours", "at 1930"."""
    n = len(tokens)
    m = _MILITARY.fullmatch(tokens[j])
    if m:
        hours = j + 1 < n and tokens[j + 1] == "hours"
        if not (hours or at or tokens[j][0] == "0"):
            return None
        return Time(int(m.group(1)), int(m.group(2)), None, True, True), j + 1 + hours
    found = _hour24_word(tokens, j)
    if found is None:
        return None
    hour, k, zero = found
    if k < n and tokens[k] == "hundred":
        minute, minute_given, k = 0, False, k + 1
    else:
        minutes = _word_minutes(tokens, k)
        if minutes is None:
            return None
        (minute, k), minute_given = minutes, True
    hours = k < n and tokens[k] == "hours"
    if not (zero or hour >= 13 or hours):
        return None  # "seven thirty" is the 12-hour clock; "seven hundred" a number
    return Time(hour, minute, None, minute_given, True), k + hours


def _clock_at(tokens: Sequence[str], j: int, at: bool) -> tuple[Time, int] | None:
    """"7", "7:30", "7pm", "19:30", "seven", "seven thirty", "seven oh five", with o'clock / am / pm."""
    n = len(tokens)
    t = tokens[j]
    first = j == 0
    m = _CLOCK.fullmatch(t)
    if m:
        hour, meridiem = int(m.group(1)), m.group(3)
        minute_given = m.group(2) is not None
        minute = int(m.group(2)) if minute_given else 0
        zero_padded = t[0] == "0"  # "07:30" is 24-hour; "07 pm" is still pm
        j += 1
        if not minute_given and meridiem is None and j < n and len(tokens[j]) == 2 and _is_digits(tokens[j]):
            minute, minute_given, j = int(tokens[j]), True, j + 1  # "7 30 pm"
    elif _RUN_TOGETHER.fullmatch(t):
        m = _RUN_TOGETHER.fullmatch(t)
        meridiem, j = m.group(3), j + 1  # type: ignore[union-attr]
        if meridiem is None:
            meridiem, j = _meridiem(tokens, j)
        if meridiem is None:
            return None
        hour, minute, minute_given, zero_padded = int(m.group(1)), int(m.group(2)), True, False  # type: ignore
    elif t in HOUR_WORDS:
        hour, minute, minute_given, zero_padded, meridiem = HOUR_WORDS[t], 0, False, False, None
        j += 1
        found = _word_minutes(tokens, j)
        if found is not None:
            minute, j = found
            minute_given = True
    else:
        return None
    oclock = False
    if not minute_given:
        k = _oclock(tokens, j)
        oclock, j = k != j, k
    if meridiem is None:
        meridiem, j = _meridiem(tokens, j)
    if meridiem is not None and not 1 <= hour <= 12:
        return None
    is24 = meridiem is None and (hour > 12 or hour == 0 or zero_padded)
    if hour > 23 or minute > 59:
        return None
    if not (minute_given or meridiem or oclock or at or _followed_by_part(tokens, j) or (first and j == n)):
        return None  # "6" is a time alone in a datetime slot ("an alarm for [6]"), a number among other words
    return Time(hour, minute, meridiem, minute_given, is24), j


def _hour_token(tokens: Sequence[str], j: int) -> int | None:
    t = tokens[j] if j < len(tokens) else ""
    if t in HOUR_WORDS:
        return HOUR_WORDS[t]
    if _is_digits(t) and len(t) <= 2 and 1 <= int(t) <= 12:
        return int(t)
    return None


def _past_to_at(tokens: Sequence[str], j: int) -> tuple[Time, int] | None:
    """"half past seven", "quarter to eight", "a quarter after 7", "ten to six", "twenty five minutes past two"."""
    n = len(tokens)
    t = tokens[j]
    if t in ("half", "quarter"):
        minutes, k = (30 if t == "half" else 15), j + 1
    elif t == "a" and j + 1 < n and tokens[j + 1] == "quarter":
        minutes, k = 15, j + 2
    else:
        found = parse_cardinal_prefix(tokens, j)
        if found is None or not isinstance(found[0], int) or not 1 <= found[0] <= 59:
            return None
        minutes, k = found
        if k < n and tokens[k] in _MINUTE_WORDS:
            k += 1
    connector = tokens[k] if k < n else ""
    if connector not in _PAST and (connector not in _TO or t == "half"):
        return None  # "half to eight" is not English
    hour = _hour_token(tokens, k + 1)
    if hour is None:
        return None
    if tokens[k] in _TO:
        hour, minutes = (hour - 1 or 12), 60 - minutes
    meridiem, end = _meridiem(tokens, k + 2)
    return Time(hour, minutes, meridiem, True, False), end


def _time_at(tokens: Sequence[str], i: int) -> tuple[Time, int] | None:
    """A clock time at ``tokens[i:]``, with an optional leading "at"."""
    at = tokens[i] == "at"
    j = i + 1 if at else i
    if j >= len(tokens):
        return None
    t = tokens[j]
    if t in ("noon", "midday"):
        return Time(12, 0, None, False, True, "noon"), j + 1
    if t == "midnight":
        return Time(0, 0, None, False, True, "midnight"), j + 1
    return _past_to_at(tokens, j) or _spoken24_at(tokens, j, at) or _clock_at(tokens, j, at)


# --------------------------------------------------------------------------------------------------- part of day


def _part_at(tokens: Sequence[str], i: int) -> tuple[str, bool, int] | None:
    """A part of the day -> (part, means today, end): "tonight", "this evening", "in the morning", "at night"."""
    n = len(tokens)
    t = tokens[i] if i < n else ""
    if t == "tonight":
        return "night", True, i + 1
    if t in PART_HOURS:
        return t, False, i + 1
    nxt = tokens[i + 1] if i + 1 < n else ""
    if t == "this" and nxt in PART_HOURS and nxt != "night":
        return nxt, True, i + 2
    if t == "in" and nxt == "the" and i + 2 < n and tokens[i + 2] in PART_HOURS and tokens[i + 2] != "night":
        return tokens[i + 2], False, i + 3
    if t == "at" and nxt == "night":
        return "night", False, i + 2
    return None


# --------------------------------------------------------------------------------------------------- combine


def _relative(tokens: Sequence[str], now: _dt.datetime) -> tuple[_dt.datetime, str] | None:
    """"in ten minutes", "two days from now", "now", "right now"."""
    if tokens in (["now"], ["right", "now"]):
        return now, "minute"
    if len(tokens) > 1 and tokens[0] == "in":
        seconds = duration_from_tokens(tokens[1:])
    elif len(tokens) > 2 and tokens[-2:] == ["from", "now"]:
        seconds = duration_from_tokens(tokens[:-2])
    else:
        return None
    if seconds is None:
        return None
    utc = now.astimezone(_dt.timezone.utc) + _dt.timedelta(seconds=seconds)
    whole = int(seconds)
    grain = next((g for g, s in (("week", 604800), ("day", 86400), ("hour", 3600)) if whole == seconds
                  and whole and whole % s == 0), "minute")
    return utc.astimezone(now.tzinfo), grain


def _parts(tokens: Sequence[str], today: _dt.date) -> tuple[Day | None, Time | None, str | None] | None:
    """Split ``tokens`` into one day, one time and one part of the day; ``None`` on any leftover or repeat."""
    day: Day | None = None
    time: Time | None = None
    part: str | None = None
    i, n = 0, len(tokens)
    while i < n:
        found_time = _time_at(tokens, i)
        if found_time is not None:
            if time is not None:
                return None
            time, i = found_time
            continue
        found_day = day_at(tokens, i, today)
        if found_day is not None:
            if day is not None:
                return None
            day, i = found_day
            continue
        found_part = _part_at(tokens, i)
        if found_part is None or part is not None:
            return None
        part, means_today, i = found_part
        if means_today:
            if day is not None:
                return None
            day = Day(today)
    return day, time, part


def parse_datetime(text: object, now: _dt.datetime, wake: bool = False) -> dict[str, str] | None:
    """When ``text`` means, relative to ``now``: ``{"iso": ..., "grain": ...}`` or ``None``.

    "tomorrow at 7 pm" -> {"iso": "2026-11-25T19:00:00+01:00", "grain": "hour"} when now is 2026-11-24 in UTC+1.
    A naive ``now`` is taken as local time. ``wake``: the utterance is a wake-up, so an hour without am/pm or a
    part of the day is in the morning (policy rule 2).
    """
    if not isinstance(now, _dt.datetime):
        return None
    tokens = tokenize(text)
    tokens = join_ordinal_suffixes(tokens) if tokens else tokens  # the engine hands over "24 th" for "24th"
    if not tokens or not all_known(tokens, _VOCABULARY, _CLOCK, _RUN_TOGETHER, _ORDINAL_NUMERAL,
                                      COMPACT_DURATION):
        return None
    try:
        if now.tzinfo is None:
            now = now.astimezone()
        found = _relative(tokens, now)
        if found is None:
            parts = _parts(tokens, now.date())
            found = None if parts is None else combine(now, *parts, wake=wake)
    except (OverflowError, ValueError):  # "in a billion weeks", or a now at the edge of the calendar
        return None
    if found is None:
        return None
    when, grain = found
    return {"iso": when.isoformat(timespec="seconds"), "grain": grain}
