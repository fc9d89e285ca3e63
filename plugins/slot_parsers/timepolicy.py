"""Which moment a parsed day / clock time / part of the day means: the policy of docs/time-expressions.md.

``datetimes`` splits the words into at most one day, one clock time and one part of the day; this module turns
those pieces into one datetime. It is kept apart because it is where the judgement calls are, each one a rule of
the policy document:

1. explicit wins: am/pm, a part of the day, a 24-hour form, noon and midnight fix the hour;
2. a wake-up (``wake=True``: the utterance says "wake me", "get up", ...) reads an ambiguous hour 1-11 as morning;
3. an ambiguous hour on a named day reads 5-11 as morning, 12 as noon and 1-4 as afternoon;
4. an ambiguous hour without a day is the next of its two readings after now;
5. a time without a day that is already past today is tomorrow; a weekday is the next day with that name strictly
   after today ("this friday" on a Friday: today if the time is still ahead); a date or day of the month that is
   today with the time already past is its next occurrence; "today" keeps its day even when the time is past.
"""
from __future__ import annotations

import datetime as _dt
from types import MappingProxyType
from typing import NamedTuple

__all__ = ["PART_HOURS", "Time", "Day", "combine", "ambiguous_hours", "is_wake_up"]

#: the hour a part of the day stands for when no clock time is given
PART_HOURS = MappingProxyType({"morning": 9, "afternoon": 15, "evening": 19, "night": 20})
_ONE_DAY = _dt.timedelta(days=1)


class Time(NamedTuple):
    """A clock time as said: the hour is 0-23 when ``is24``, else 1-12 (or 0-12 with a meridiem)."""

    hour: int
    minute: int
    meridiem: str | None  # "am", "pm" or None
    minute_given: bool
    is24: bool  # the hour is fixed: 24-hour form, noon, midnight
    kind: str = "clock"  # "clock", "noon" or "midnight"


class Day(NamedTuple):
    """A day as said."""

    date: _dt.date
    #: when ``date`` is today and the time said is already past: the day meant instead ("this friday" on a
    #: Friday: a week on; "the 15th" on the 15th: next month; "december 24" on December 24: next year)
    later: _dt.date | None = None
    #: "next week" / "this week": the Monday of that week (grain week)
    week: bool = False
    #: "this weekend": the Saturday (grain weekend)
    weekend: bool = False


def ambiguous_hours(time: Time, part: str | None) -> list[int] | None:
    """The 24-hour readings of ``time`` given a part of the day: one when something fixes it (rule 1), else the
    morning and the afternoon/evening reading; ``None`` if the words contradict each other ("7 pm in the morning").
    """
    if time.is24 or time.meridiem:
        hour = time.hour if time.is24 else time.hour % 12 + (12 if time.meridiem == "pm" else 0)
        if part is not None and (hour < 12) != (part == "morning") and not (part == "night" and hour < 5):
            return None
        return [hour]
    if part == "morning":
        return [time.hour % 12]
    if part == "night" and (1 <= time.hour <= 4 or time.hour == 12):
        return [time.hour % 12]  # "at 2 at night", "tonight at 12": the small hours
    if part is not None:
        return [time.hour if time.hour == 12 else time.hour + 12]
    return [time.hour % 12, time.hour % 12 + 12]


def day_hour(hours: list[int]) -> int:
    """Rule 3, an am/pm-less hour on a named day: 5-11 morning, 12 noon, 1-4 afternoon."""
    return hours[0] if 5 <= hours[0] <= 11 else hours[1]


def _at(date: _dt.date, hour: int, minute: int, tz: _dt.tzinfo | None) -> _dt.datetime:
    return _dt.datetime.combine(date, _dt.time(hour, minute), tzinfo=tz)


def _or_later(result: _dt.datetime, day: Day, now: _dt.datetime) -> _dt.datetime:
    """Rule 5: a day that falls on today but whose time is past means its next occurrence (``day.later``)."""
    if day.later is None or result > now:
        return result
    return _dt.datetime.combine(day.later, result.timetz())


def _part_only(now: _dt.datetime, day: Day | None, part: str) -> _dt.datetime:
    """A part of the day without a clock time: its hour, on the day, else the next one (rule 5)."""
    hour = PART_HOURS[part]
    if day is None:
        result = _at(now.date(), hour, 0, now.tzinfo)
        return result if result > now else result + _ONE_DAY
    return _or_later(_at(day.date, hour, 0, now.tzinfo), day, now)


def _clock(now: _dt.datetime, day: Day | None, time: Time, part: str | None, wake: bool) -> _dt.datetime | None:
    """A clock time (not noon/midnight), with or without a day."""
    tz, today = now.tzinfo, now.date()
    hours = ambiguous_hours(time, part)
    if hours is None:
        return None
    if len(hours) == 2 and wake and 1 <= time.hour <= 11:
        hours = hours[:1]  # rule 2: a wake-up is in the morning
    small_hours = part == "night" and hours[0] < 5  # "tonight at 2" is after midnight
    if day is None:  # rules 4 and 5: the next reading after now
        candidates = sorted(_at(date, h, time.minute, tz) for date in (today, today + _ONE_DAY) for h in hours)
        return next(c for c in candidates if c > now)
    date = day.date + _ONE_DAY if small_hours and day.date == today else day.date
    if len(hours) == 1:
        hour = hours[0]
    elif day.date == today and day.later is None:  # "today at 6": the reading still to come, else rule 3
        hour = next((h for h in hours if _at(today, h, time.minute, tz) > now), day_hour(hours))
    else:
        hour = day_hour(hours)
    return _or_later(_at(date, hour, time.minute, tz), day, now)


def combine(now: _dt.datetime, day: Day | None, time: Time | None, part: str | None,
            wake: bool = False) -> tuple[_dt.datetime, str] | None:
    """The moment and its grain for the pieces of one expression; ``None`` if they do not fit together."""
    tz, today = now.tzinfo, now.date()
    if day is not None and (day.week or day.weekend):
        if time is not None or part is not None:
            return None
        return _at(day.date, 0, 0, tz), ("week" if day.week else "weekend")
    if time is None and part is None:
        return (_at(day.date, 0, 0, tz), "day") if day is not None else None
    if time is None:
        return _part_only(now, day, part), "hour"  # type: ignore[arg-type]
    grain = "minute" if time.minute_given else "hour"
    if time.kind == "midnight":  # the end of the day: "tomorrow at midnight" is 00:00 the day after
        if part not in (None, "evening", "night"):
            return None
        return _at((day.date if day else today) + _ONE_DAY, 0, 0, tz), grain
    if time.kind == "noon":
        if part is not None:
            return None
        if day is None:
            result = _at(today, 12, 0, tz)
            return (result if result > now else result + _ONE_DAY), grain
        return _or_later(_at(day.date, 12, 0, tz), day, now), grain
    result = _clock(now, day, time, part, wake)
    return None if result is None else (result, grain)


# --------------------------------------------------------------------------------------------------- wake-up cue

_WAKE_WORDS = frozenset({"wake", "waken", "wakes", "waking", "woken", "wakeup"})
_GET_UP_VERBS = frozenset({"get", "gets", "getting", "got", "be"})
#: words that put a wake-up outside the morning ("wake me up from my nap at 4", "wake me at 6 this evening")
_LATE_WORDS = frozenset({"afternoon", "evening", "tonight", "night", "nap", "pm"})


def is_wake_up(words: "list[str] | tuple[str, ...]") -> bool:
    """Rule 2's cue: the words (lower case, outside the time itself) ask to be woken or to be up: "wake me",
    "get me up", "get up", "be up"; evening words ("this evening", "nap") cancel it.

    The datetime parser only sees the slot's words, so the plugin looks for this cue in the rest of the reading.
    """
    if any(w in _LATE_WORDS for w in words):
        return False
    if any(w in _WAKE_WORDS for w in words):
        return True
    return any(w in _GET_UP_VERBS and "up" in words[k + 1:k + 3] for k, w in enumerate(words))
