"""Spoken days -> ``Day``: "tomorrow", "on friday", "this friday", "november 25", "the 3rd of december", "the 5th",
"christmas eve", "this weekend", "next week".

Part of the datetime parser (``datetimes``): it finds the day in an expression, ``timepolicy`` decides which
moment the day and a clock time mean together. A weekday is the next day with that name strictly after today
("this friday" on a Friday is today); a date is the next such date, today included, with ``Day.later`` its next
occurrence for when the time said is already past.
"""
from __future__ import annotations

import datetime as _dt
import re
from types import MappingProxyType
from typing import Sequence

from .numbers import parse_cardinal_prefix, parse_ordinal_prefix
from .timepolicy import Day

__all__ = ["DAY_WORDS", "MONTHS", "WEEKDAYS", "day_at"]

WEEKDAYS = MappingProxyType(
    {"monday": 0, "mon": 0, "tuesday": 1, "tue": 1, "tues": 1, "wednesday": 2, "wed": 2, "thursday": 3,
     "thu": 3, "thur": 3, "thurs": 3, "friday": 4, "fri": 4, "saturday": 5, "sat": 5, "sunday": 6, "sun": 6}
)
MONTHS = MappingProxyType(
    {"january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4, "may": 5,
     "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9, "sep": 9, "sept": 9,
     "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12}
)
_WEEKEND = frozenset({"weekend", "weekends"})
#: fixed-date holidays, longest first
_HOLIDAYS = MappingProxyType({
    ("christmas", "day"): (12, 25), ("christmas", "eve"): (12, 24), ("christmas",): (12, 25),
    ("new", "year's", "day"): (1, 1), ("new", "years", "day"): (1, 1), ("new", "year's", "eve"): (12, 31),
    ("new", "years", "eve"): (12, 31), ("halloween",): (10, 31),
})
_YEAR = re.compile(r"(?:19|20|21)\d\d", re.ASCII)
#: words only days use (for the parser's fast vocabulary check)
DAY_WORDS = frozenset({*WEEKDAYS, *MONTHS, *_WEEKEND, *(w for words in _HOLIDAYS for w in words), "today",
                       "tomorrow", "yesterday", "day", "after", "next", "this", "on", "the", "of", "week"})


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


def _date_at(tokens: Sequence[str], j: int, today: _dt.date) -> tuple[Day, int] | None:
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
        return _month_day(MONTHS[t], found[0], year, today, k)
    the = t == "the"
    found = _day_number(tokens, j + the)
    if found is None:
        return None
    day, k, ordinal = found
    of = k < n and tokens[k] == "of"
    if k + of < n and tokens[k + of] in MONTHS:
        year, end = _year(tokens, k + of + 1)
        return _month_day(MONTHS[tokens[k + of]], day, year, today, end)
    if the and ordinal and not of:
        date = _next_day_of_month(day, today)
        later = _next_day_of_month(day, today + _dt.timedelta(days=1)) if date == today else None
        return (Day(date, later), k) if date else None
    return None


def _month_day(month: int, day: int, year: int | None, today: _dt.date, end: int) -> tuple[Day, int] | None:
    """A month and day: the next such date, today included; a year later if it is today and the time has past."""
    date = _next_date(month, day, year, today)
    if date is None:
        return None
    later = _next_date(month, day, None, today + _dt.timedelta(days=1)) if date == today and year is None else None
    return Day(date, later), end


def _holiday_at(tokens: Sequence[str], j: int, today: _dt.date) -> tuple[Day, int] | None:
    """Fixed-date holidays: "christmas (day)", "christmas eve", "new year's day/eve", "halloween"."""
    for words, (month, day) in _HOLIDAYS.items():
        if tuple(tokens[j:j + len(words)]) == words:
            return _month_day(month, day, None, today, j + len(words))
    return None


def day_at(tokens: Sequence[str], i: int, today: _dt.date) -> tuple[Day, int] | None:
    """A day at ``tokens[i:]``, with an optional leading "on"."""
    n = len(tokens)
    j = i + 1 if tokens[i] == "on" else i
    if j >= n:
        return None
    t = tokens[j]
    one_day = _dt.timedelta(days=1)
    if t == "today":
        return Day(today), j + 1
    if t == "tomorrow":
        return Day(today + one_day), j + 1
    if t == "yesterday":
        return Day(today - one_day), j + 1
    the = t == "the"
    if tokens[j + the:j + the + 3] == ["day", "after", "tomorrow"]:
        return Day(today + 2 * one_day), j + the + 3
    weekend = _weekend_at(tokens, i, today)
    if weekend is not None:
        return weekend
    mode = t if t in ("this", "next") else ""
    k = j + 1 if mode else j
    if k < n and tokens[k] in WEEKDAYS:  # strictly after today, except "this friday" on a Friday
        delta = (WEEKDAYS[tokens[k]] - today.weekday()) % 7
        if delta == 0 and mode == "this":
            return Day(today, today + 7 * one_day), k + 1
        return Day(today + (delta or 7) * one_day), k + 1
    if mode and k < n and tokens[k] == "week":
        monday = today - today.weekday() * one_day
        return Day(monday + 7 * one_day if mode == "next" else monday, week=True), k + 1
    if mode:
        return None
    return _holiday_at(tokens, j, today) or _date_at(tokens, j, today)


def _weekend_at(tokens: Sequence[str], i: int, today: _dt.date) -> tuple[Day, int] | None:
    """"weekend", "the weekend", "this weekend", "on/at/over the weekend", "next weekend": its Saturday (today on
    a weekend day). "next weekend" is the coming one on a weekday, like "next friday", and the following one on a
    weekend."""
    n = len(tokens)
    j = i + 1 if tokens[i] in ("on", "at", "over") else i
    mode = tokens[j] if j < n and tokens[j] in ("the", "this", "next") else ""
    k = j + 1 if mode else j
    if k >= n or tokens[k] not in _WEEKEND or (j > i and not mode):
        return None
    weekday = today.weekday()
    saturday = today + _dt.timedelta(days=5 - weekday) if weekday < 5 else today
    if mode == "next" and weekday >= 5:
        saturday = today + _dt.timedelta(days=12 - weekday)
    return Day(saturday, weekend=True), k + 1
