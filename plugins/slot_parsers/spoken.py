"""Slot values as a response speaks them: "6:30 am tomorrow", "an hour and a half", "fifty percent", "third".

A response must be grammatical whatever form the user said the value in ("at 6:30 tomorrow", "tomorrow at
half past six", "6:30"), so it speaks the normalised value, never the user's words with their prepositions. Each
function takes a parser's value and returns text for a TTS voice, or ``None`` when the value is not of that type
(the caller then falls back to the user's words).
"""
from __future__ import annotations

import datetime as _dt
from typing import Any, Callable

from hark.sentences import ordinal_words, spoken_number

__all__ = ["speak", "speak_datetime", "speak_duration", "speak_number", "speak_ordinal", "speak_percentage"]

_MONTHS = ("January February March April May June July August September October November December").split()
_WEEKDAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
_UNITS = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def speak_number(value: Any) -> str | None:
    """Whole numbers 0-9999 in words ("seventy two"), others as digits ("2.5", "-3", "12000")."""
    if not _is_number(value):
        return None
    if float(value).is_integer() and 0 <= value < 10000:
        return spoken_number(int(value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def speak_ordinal(value: Any) -> str | None:
    """3 -> "third", 21 -> "twenty first"."""
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value < 10000:
        return None
    return " ".join(ordinal_words(spoken_number(value).split()))


def speak_percentage(value: Any) -> str | None:
    words = speak_number(value)
    return None if words is None else f"{words} percent"


def _count(n: int, unit: str) -> str:
    """1 -> "an hour" / "a minute", else "three minutes"."""
    if n == 1:
        return ("an " if unit == "hour" else "a ") + unit
    return f"{speak_number(n)} {unit}s"


def speak_duration(value: Any) -> str | None:
    """Seconds in words: 180 -> "three minutes", 5400 -> "an hour and a half", 3690 -> "an hour, a minute and
    thirty seconds"; a half is said as one when it is the only rest of a larger unit."""
    if not _is_number(value) or value < 0:
        return None
    seconds = round(value)
    if seconds == 0:
        return "zero seconds"
    unit, size = next((u, s) for u, s in _UNITS if seconds >= s)
    whole, rest = divmod(seconds, size)
    if size > 1 and rest * 2 == size:  # "an hour and a half", "two and a half minutes"
        return f"{_count(1, unit)} and a half" if whole == 1 else f"{speak_number(whole)} and a half {unit}s"
    parts = []
    for unit, size in _UNITS:
        whole, seconds = divmod(seconds, size)
        if whole:
            parts.append(_count(whole, unit))
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _clock(when: _dt.datetime) -> str:
    """"6:30 am", "7 pm", "noon", "midnight"."""
    if when.minute == 0 and when.hour in (0, 12):
        return "midnight" if when.hour == 0 else "noon"
    hour = when.hour % 12 or 12
    minutes = f":{when.minute:02d}" if when.minute else ""
    return f"{hour}{minutes} {'am' if when.hour < 12 else 'pm'}"


def _date(date: _dt.date, today: _dt.date | None) -> str:
    """"today", "tomorrow", "Friday" (within a week), else "Friday, December 25" (with the year if not this one)."""
    if today is not None:
        ahead = (date - today).days
        if ahead == 0:
            return "today"
        if ahead == 1:
            return "tomorrow"
        if ahead == -1:
            return "yesterday"
        if 1 < ahead < 7:
            return _WEEKDAYS[date.weekday()]
    text = f"{_WEEKDAYS[date.weekday()]}, {_MONTHS[date.month - 1]} {date.day}"
    return text if today is not None and date.year == today.year else f"{text}, {date.year}"


def _on(day: str) -> str:
    return day if day in ("today", "tomorrow", "yesterday") else f"on {day}"


def speak_datetime(value: Any, now: _dt.datetime | None = None) -> str | None:
    """A datetime value as said relative to ``now``: "6:30 am tomorrow", "7 pm on Friday", "tomorrow", "midnight
    tonight", "this weekend", "next week"; absolute dates without ``now``."""
    if not isinstance(value, dict) or not isinstance(value.get("iso"), str):
        return None
    try:
        when = _dt.datetime.fromisoformat(value["iso"])
    except ValueError:
        return None
    today = now.astimezone(when.tzinfo).date() if now is not None and when.tzinfo else None
    grain = value.get("grain")
    if grain == "week":
        monday = None if today is None else today - _dt.timedelta(days=today.weekday())
        if monday is not None and when.date() in (monday, monday + _dt.timedelta(days=7)):
            return "this week" if when.date() == monday else "next week"
        return f"the week of {_date(when.date(), today)}"
    if grain == "weekend":
        if today is not None and -2 < (when.date() - today).days < 6:
            return "this weekend"
        return f"the weekend of {_date(when.date(), today)}"
    if grain == "day":
        return _date(when.date(), today)
    if when.hour == 0 and when.minute == 0 and today is not None and (when.date() - today).days == 1:
        return "midnight tonight"
    return f"{_clock(when)} {_on(_date(when.date(), today))}"


#: slot type -> how to speak its values (the built-in types)
_SPEAKERS: dict[str, Callable[..., str | None]] = {
    "number": speak_number,
    "ordinal": speak_ordinal,
    "percentage": speak_percentage,
    "duration": speak_duration,
}


def speak(type_name: str, value: Any, now: _dt.datetime | None = None) -> str | None:
    """How a response says ``value`` of slot type ``type_name``; ``None`` for types this module does not know."""
    if type_name == "datetime":
        return speak_datetime(value, now)
    speaker = _SPEAKERS.get(type_name)
    return None if speaker is None else speaker(value)
