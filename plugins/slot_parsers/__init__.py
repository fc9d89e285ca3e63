"""Built-in slot types: number, ordinal, duration, datetime, percentage.

The parsers live in small modules of pure functions (numbers, durations, datetimes, percentages) that know
nothing of the engine; this module only registers them. Every parser takes the words that fill a slot and returns
the normalised value, or ``None`` when the words are not entirely of that type, and never raises.
"""
from __future__ import annotations

import datetime as _dt
from typing import Any

from hark.hookspecs import hookimpl

from .datetimes import parse_datetime
from .durations import parse_duration
from .numbers import parse_number, parse_ordinal
from .percentages import parse_percentage

__all__ = ["SlotParsersPlugin", "parse_number", "parse_ordinal", "parse_duration", "parse_datetime",
           "parse_percentage"]


def _clock(context: Any) -> _dt.datetime | None:
    """``context.clock``, or ``None`` if the context has no usable clock (the datetime parser then says None)."""
    try:
        return context.clock
    except (AttributeError, TypeError, ValueError):
        return None


class SlotParsersPlugin:
    """Built-in slot types: number, ordinal, duration, datetime, percentage."""

    @hookimpl
    def hark_register_slot_types(self, registry):
        registry.add("number", lambda text, context: parse_number(text),
                     description="a number, e.g. 'twenty five' -> 25, 'two point five' -> 2.5")
        registry.add("ordinal", lambda text, context: parse_ordinal(text),
                     description="a position, e.g. 'third' -> 3, 'twenty first' -> 21")
        registry.add("duration", lambda text, context: parse_duration(text),
                     description="seconds, e.g. 'an hour and a half' -> 5400")
        registry.add("datetime", lambda text, context: parse_datetime(text, _clock(context)),
                     description="a point in time relative to context.now, e.g. 'tomorrow at 7 pm' -> "
                                 "{'iso': '2026-11-25T19:00:00+01:00', 'grain': 'hour'}")
        registry.add("percentage", lambda text, context: parse_percentage(text),
                     description="percent, e.g. 'fifty percent' -> 50, 'half' -> 50; a bare number is not one")
