"""Spoken dates and times -> ``{"iso": "2026-11-25T19:00:00+01:00", "grain": "hour"}``, relative to ``now``.

An expression is either relative to the clock ("in ten minutes", "an hour from now", "now") or made of at most
one day ("tomorrow", "on friday", "november 25", "the 3rd of december", "next week"), one clock time ("at 7 pm",
"7:30", "seven thirty", "half past seven", "quarter to eight", "noon") and one part of the day ("morning",
"this evening", "tonight", "in the afternoon"), in any order. Every word must be understood, else ``None``.
The result is in the time zone of ``now``, to the second; ``grain`` says how precise it is: "minute" (minutes
were said), "hour" (a whole hour or a part of the day), "day" or "week".

Choices (all documented in the tests):
    * parts of the day are points: morning 09:00, afternoon 15:00, evening 19:00, night and "tonight" 20:00 (grain
      hour); with a clock time they only pick am/pm ("seven in the evening" -> 19:00);
    * "this morning" / "today at 7 am" are today even when already past; an explicit day is never moved;
    * a time without a day is the next one after ``now``: today if still to come, else tomorrow;
      "at 6" with no am/pm is the next of 06:00 and 18:00; "07:30" and "19:30" are 24-hour and fixed;
    * a day with an am/pm-less hour ("tomorrow at 6") reads 7-11 as am and 12-6 as pm, except today, where
      the next hour still to come wins;
    * a weekday ("friday", "on friday", "this friday") is the next day with that name, today included; with a
      time or part of the day that is already past today, the same weekday next week; "next friday" is the next
      friday strictly after today;
    * "november 25" (no year) is the next such date, today included; invalid dates ("february 30") are ``None``;
    * "midnight" is the end of the day: "tomorrow at midnight" is 00:00 the day after tomorrow; bare "midnight"
      is the next 00:00;
    * "next week" is Monday 00:00 of next week (grain week); "today", "tomorrow", ... are 00:00 (grain day);
    * "in <duration>" / "<duration> from now" is ``now`` plus the duration; the grain is the largest of week, day,
      hour that divides it, else minute (seconds are kept in ``iso``).
"""
from __future__ import annotations

import datetime as _dt
import re
from types import MappingProxyType
from typing import NamedTuple, Sequence

from .durations import COMPACT_DURATION, DURATION_WORDS, duration_from_tokens
from .numbers import (ORDINAL_TO_CARDINAL, TEENS, TENS, UNITS, all_known, parse_cardinal_prefix,
                      parse_ordinal_prefix, tokenize)

__all__ = ["parse_datetime", "PART_HOURS", "WEEKDAYS", "MONTHS"]

WEEKDAYS = MappingProxyType(
    {"monday": 0, "mon": 0, "tuesday": 1, "tue": 1, "tues": 1, "wednesday": 2, "wed": 2, "thursday": 3,
     "thu": 3, "thur": 3, "thurs": 3, "friday": 4, "fri": 4, "saturday": 5, "sat": 5, "sunday": 6, "sun": 6}
)
MONTHS = MappingProxyType(
    {"january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4, "may": 5,
     "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9, "sep": 9, "sept": 9,
     "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12}
)
#: the hour a part of the day stands for when no clock time is given
PART_HOURS = MappingProxyType({"morning": 9, "afternoon": 15, "evening": 19, "night": 20})
HOUR_WORDS = MappingProxyType({**UNITS, "ten": 10, "eleven": 11, "twelve": 12})
_PAST = frozenset({"past", "after"})
_TO = frozenset({"to", "till", "til", "before"})
_OCLOCK = frozenset({"o'clock", "oclock"})
_MINUTE_WORDS = frozenset({"minute", "minutes", "min", "mins"})

_VOCABULARY = frozenset(
    {*DURATION_WORDS, *ORDINAL_TO_CARDINAL, *WEEKDAYS, *MONTHS, *PART_HOURS, *_PAST, *_TO, *_OCLOCK,
     "tonight", "today", "tomorrow", "yesterday", "the", "day", "next", "this", "on", "at", "in", "from", "now",
     "right", "noon", "midday", "midnight", "clock", "am", "pm", "p", "m", "week"}
)
#: "7", "7:30", "19:30", "7pm", "7:30am"
_CLOCK = re.compile(r"(\d{1,2})(?::(\d{2}))?(am|pm)?", re.ASCII)
_ORDINAL_NUMERAL = re.compile(r"\d+(?:st|nd|rd|th)", re.ASCII)
_YEAR = re.compile(r"(?:19|20|21)\d\d", re.ASCII)


class _Time(NamedTuple):
    hour: int
    minute: int
    meridiem: str | None  # "am", "pm" or None
    minute_given: bool
    is24: bool  # the hour is fixed: 24-hour form, noon, midnight
    kind: str = "clock"  # "clock", "noon" or "midnight"


class _Day(NamedTuple):
    date: _dt.date
    #: a weekday that fell on today: move it a week on if the time is already past
    roll: bool = False
    week: bool = False


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


def _followed_by_part(tokens: Sequence[str], j: int) -> bool:
    """A part of the day comes next, so a bare hour is a time: "seven in the evening", "6 tonight"."""
    return _part_at(tokens, j) is not None


def _clock_at(tokens: Sequence[str], j: int, at: bool) -> tuple[_Time, int] | None:
    """"7", "7:30", "7pm", "19:30", "seven", "seven thirty", "seven oh five", with o'clock / am / pm."""
    n = len(tokens)
    t = tokens[j]
    m = _CLOCK.fullmatch(t)
    if m:
        hour, meridiem = int(m.group(1)), m.group(3)
        minute_given = m.group(2) is not None
        minute = int(m.group(2)) if minute_given else 0
        zero_padded = t[0] == "0"  # "07:30" is 24-hour; "07 pm" is still pm
        j += 1
        if not minute_given and meridiem is None and j < n and len(tokens[j]) == 2 and _is_digits(tokens[j]):
            minute, minute_given, j = int(tokens[j]), True, j + 1  # "7 30 pm"
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
    if not (minute_given or meridiem or oclock or at or _followed_by_part(tokens, j)):
        return None  # a lone "6" is a number, not a time
    return _Time(hour, minute, meridiem, minute_given, is24), j


def _hour_token(tokens: Sequence[str], j: int) -> int | None:
    t = tokens[j] if j < len(tokens) else ""
    if t in HOUR_WORDS:
        return HOUR_WORDS[t]
    if _is_digits(t) and len(t) <= 2 and 1 <= int(t) <= 12:
        return int(t)
    return None


def _past_to_at(tokens: Sequence[str], j: int) -> tuple[_Time, int] | None:
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
    return _Time(hour, minutes, meridiem, True, False), end


def _time_at(tokens: Sequence[str], i: int) -> tuple[_Time, int] | None:
    """A clock time at ``tokens[i:]``, with an optional leading "at"."""
    at = tokens[i] == "at"
    j = i + 1 if at else i
    if j >= len(tokens):
        return None
    t = tokens[j]
    if t in ("noon", "midday"):
        return _Time(12, 0, None, False, True, "noon"), j + 1
    if t == "midnight":
        return _Time(0, 0, None, False, True, "midnight"), j + 1
    return _past_to_at(tokens, j) or _clock_at(tokens, j, at)


# --------------------------------------------------------------------------------------------------- day


def _next_date(month: int, day: int, year: int | None, today: _dt.date) -> _dt.date | None:
    """``month``/``day`` in ``year``, or its next occurrence from ``today`` on (Feb 29: the next leap year)."""
    years = [year] if year is not None else range(today.year, today.year + 9)
    for y in years:
        try:
            found = _dt.date(y, month, day)
        except ValueError:
            continue
        if year is not None or found >= today:
            return found
    return None


def _next_day_of_month(day: int, today: _dt.date) -> _dt.date | None:
    """The next date from ``today`` on whose day of the month is ``day`` ("on the 3rd")."""
    for k in range(13):
        y, m = divmod(today.month - 1 + k, 12)
        try:
            found = _dt.date(today.year + y, m + 1, day)
        except ValueError:
            continue
        if found >= today:
            return found
    return None


def _day_number(tokens: Sequence[str], k: int) -> tuple[int, int, bool] | None:
    """Day of the month at ``tokens[k:]``: (day, end, said as an ordinal)."""
    found = parse_ordinal_prefix(tokens, k)
    ordinal = found is not None
    if found is None:
        found = parse_cardinal_prefix(tokens, k)  # type: ignore[assignment]
    if found is None or not isinstance(found[0], int) or not 1 <= found[0] <= 31:
        return None
    return found[0], found[1], ordinal


def _year(tokens: Sequence[str], k: int) -> tuple[int | None, int]:
    if k < len(tokens) and _YEAR.fullmatch(tokens[k]):
        return int(tokens[k]), k + 1
    return None, k


def _date_at(tokens: Sequence[str], j: int, today: _dt.date) -> tuple[_Day, int] | None:
    """"november 25", "december the third", "25 november 2027", "the 3rd of december", "the 3rd"."""
    n = len(tokens)
    t = tokens[j]
    if t in MONTHS:
        k = j + 1
        the = k < n and tokens[k] == "the"
        found = _day_number(tokens, k + the)
        if found is None or (the and not found[2]):
            return None
        year, k = _year(tokens, found[1])
        date = _next_date(MONTHS[t], found[0], year, today)
        return (_Day(date), k) if date else None
    the = t == "the"
    found = _day_number(tokens, j + the)
    if found is None:
        return None
    day, k, ordinal = found
    of = k < n and tokens[k] == "of"
    if k + of < n and tokens[k + of] in MONTHS:
        year, end = _year(tokens, k + of + 1)
        date = _next_date(MONTHS[tokens[k + of]], day, year, today)
        return (_Day(date), end) if date else None
    if the and ordinal and not of:
        date = _next_day_of_month(day, today)
        return (_Day(date), k) if date else None
    return None


def _day_at(tokens: Sequence[str], i: int, today: _dt.date) -> tuple[_Day, int] | None:
    """A day at ``tokens[i:]``, with an optional leading "on"."""
    n = len(tokens)
    j = i + 1 if tokens[i] == "on" else i
    if j >= n:
        return None
    t = tokens[j]
    one_day = _dt.timedelta(days=1)
    if t == "today":
        return _Day(today), j + 1
    if t == "tomorrow":
        return _Day(today + one_day), j + 1
    if t == "yesterday":
        return _Day(today - one_day), j + 1
    the = t == "the"
    if tokens[j + the:j + the + 3] == ["day", "after", "tomorrow"]:
        return _Day(today + 2 * one_day), j + the + 3
    mode = t if t in ("this", "next") else ""
    k = j + 1 if mode else j
    if k < n and tokens[k] in WEEKDAYS:
        delta = (WEEKDAYS[tokens[k]] - today.weekday()) % 7
        if mode == "next" and delta == 0:
            delta = 7
        return _Day(today + delta * one_day, roll=delta == 0), k + 1
    if mode == "next" and k < n and tokens[k] == "week":
        return _Day(today + (7 - today.weekday()) * one_day, week=True), k + 1
    if mode:
        return None
    return _date_at(tokens, j, today)


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


def _hours(time: _Time, part: str | None) -> list[int] | None:
    """The 24-hour readings of ``time`` given a part of the day; ``None`` if they contradict each other."""
    if time.is24 or time.meridiem:
        hour = time.hour if time.is24 else time.hour % 12 + (12 if time.meridiem == "pm" else 0)
        if part is not None and (hour < 12) != (part == "morning"):
            return None
        return [hour]
    if part == "morning":
        return [time.hour % 12]
    if part is not None:
        return [time.hour if time.hour == 12 else time.hour + 12]
    return [time.hour % 12, time.hour % 12 + 12]


def _usual_hour(hours: list[int]) -> int:
    """An am/pm-less hour on a given day: 7-11 am, 12 noon, 1-6 pm."""
    return hours[0] if 7 <= hours[0] <= 11 else hours[1]


def _combine(now: _dt.datetime, day: _Day | None, time: _Time | None,
             part: str | None) -> tuple[_dt.datetime, str] | None:
    tz = now.tzinfo
    today = now.date()
    one_day = _dt.timedelta(days=1)

    def at(date: _dt.date, hour: int, minute: int = 0) -> _dt.datetime:
        return _dt.datetime.combine(date, _dt.time(hour, minute), tzinfo=tz)

    if day is not None and day.week:
        return (at(day.date, 0), "week") if time is None and part is None else None
    if time is None and part is None:
        return (at(day.date, 0), "day") if day is not None else None
    if time is None:
        hour = PART_HOURS[part]  # type: ignore[index]
        if day is None:
            result = at(today, hour)
            return (result if result > now else at(today + one_day, hour)), "hour"
        result = at(day.date, hour)
        if day.roll and result <= now:
            result = at(day.date + 7 * one_day, hour)
        return result, "hour"
    grain = "minute" if time.minute_given else "hour"
    if time.kind == "midnight":
        if part not in (None, "evening", "night"):
            return None
        return at((day.date if day else today) + one_day, 0), grain
    if time.kind == "noon" and part is not None:
        return None
    hours = _hours(time, part)
    if hours is None:
        return None
    if day is None:
        for date in (today, today + one_day):
            for hour in hours:
                if at(date, hour, time.minute) > now:
                    return at(date, hour, time.minute), grain
        return None  # pragma: no cover - tomorrow is always after now
    upcoming = [h for h in hours if day.date == today and at(today, h, time.minute) > now]
    hour = upcoming[0] if upcoming else (hours[0] if len(hours) == 1 else _usual_hour(hours))
    result = at(day.date, hour, time.minute)
    if day.roll and result <= now:
        result = at(day.date + 7 * one_day, hour, time.minute)
    return result, grain


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


def _parts(tokens: Sequence[str], today: _dt.date) -> tuple[_Day | None, _Time | None, str | None] | None:
    """Split ``tokens`` into one day, one time and one part of the day; ``None`` on any leftover or repeat."""
    day: _Day | None = None
    time: _Time | None = None
    part: str | None = None
    i, n = 0, len(tokens)
    while i < n:
        found_time = _time_at(tokens, i)
        if found_time is not None:
            if time is not None:
                return None
            time, i = found_time
            continue
        found_day = _day_at(tokens, i, today)
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
            day = _Day(today)
    return day, time, part


def parse_datetime(text: object, now: _dt.datetime) -> dict[str, str] | None:
    """When ``text`` means, relative to ``now``: ``{"iso": ..., "grain": ...}`` or ``None``.

    "tomorrow at 7 pm" -> {"iso": "2026-11-25T19:00:00+01:00", "grain": "hour"} when now is 2026-11-24 in UTC+1.
    A naive ``now`` is taken as local time.
    """
    if not isinstance(now, _dt.datetime):
        return None
    tokens = tokenize(text)
    if not tokens or not all_known(tokens, _VOCABULARY, _CLOCK, _ORDINAL_NUMERAL, COMPACT_DURATION):
        return None
    try:
        if now.tzinfo is None:
            now = now.astimezone()
        found = _relative(tokens, now)
        if found is None:
            parts = _parts(tokens, now.date())
            found = None if parts is None else _combine(now, *parts)
    except (OverflowError, ValueError):  # "in a billion weeks", or a now at the edge of the calendar
        return None
    if found is None:
        return None
    when, grain = found
    return {"iso": when.isoformat(timespec="seconds"), "grain": grain}
