"""Built-in slot types: number, ordinal, duration, datetime, percentage.

The parsers live in small modules of pure functions (numbers, durations, datetimes, percentages) that know
nothing of the engine; this module registers them. Every parser takes the words that fill a slot and returns
the normalised value, or ``None`` when the words are not entirely of that type, and never raises.

A parser sees only the slot's words, but one rule of the time policy (docs/time-expressions.md, rule 2) depends on
the rest of the utterance: "wake me up at 6" means 06:00 even in the afternoon. So the plugin also implements
``hark_resolve``: for a reading whose other words are a wake-up cue, it reads its datetime slots again as a
wake-up. ``spoken`` renders values for responses ("6:30 am tomorrow", "an hour and a half").
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
from typing import Any

from hark.hookspecs import hookimpl
from hark.text import tokenize
from hark.types import Context, Interpretation, Slot

from .datetimes import parse_datetime
from .durations import parse_duration
from .numbers import parse_number, parse_ordinal
from .percentages import parse_percentage
from .timepolicy import is_wake_up

__all__ = ["SlotParsersPlugin", "parse_number", "parse_ordinal", "parse_duration", "parse_datetime",
           "parse_percentage", "wake_up_slots"]


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

    @hookimpl
    def hark_resolve(self, interpretation: Interpretation, context: Context) -> Interpretation | None:
        """Rule 2 of the time policy: datetime slots of a wake-up ("wake me up at 6") read as morning."""
        slots = wake_up_slots(interpretation, _clock(context))
        return None if slots is None else dataclasses.replace(interpretation, slots=slots)


def _words_outside(text: str, slot: Slot) -> list[str]:
    """The reading's words that are not the slot's: where a wake-up cue ("wake me up") is said."""
    return [t.text for t in tokenize(text) if t.end <= slot.start or t.start >= slot.end]


def wake_up_slots(interpretation: Interpretation, now: _dt.datetime | None) -> tuple[Slot, ...] | None:
    """The interpretation's slots with every datetime slot re-read as a wake-up when the rest of the reading is
    one (``is_wake_up``); ``None`` when nothing changes."""
    if now is None:
        return None
    changed = False
    slots = []
    for slot in interpretation.slots:
        if slot.type == "datetime" and slot.value is not None and \
                is_wake_up(_words_outside(interpretation.text, slot)):
            value = parse_datetime(slot.raw, now, wake=True)
            if value is not None and value != slot.value:
                slot, changed = dataclasses.replace(slot, value=value), True
        slots.append(slot)
    return tuple(slots) if changed else None
