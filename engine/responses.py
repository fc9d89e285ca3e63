"""Skill texts with slot placeholders ("Unlock the {door}?", "Alarm set for {time}.") filled from a reading.

One mechanism for a skill's responses (plugins/skill_actions) and its confirmation questions (the runtime): the
first template whose placeholders can all be filled wins, so a skill lists the specific text first and a plainer
fallback after it.
"""
from __future__ import annotations

import re
from typing import Callable

from .types import Interpretation, Slot

__all__ = ["fill_first", "spoken_list"]

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?:\.([a-z_]+))?\}")


def spoken_list(items: list[str]) -> str:
    """"a", "a and b", "a, b and c": how a response speaks a slot filled more than once."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def fill_first(templates: tuple[str, ...], interpretation: Interpretation,
               say: Callable[[Slot, str | None], str | None]) -> str | None:
    """The first template whose ``{slot}`` / ``{slot.field}`` placeholders all name a slot of the reading that
    ``say(slot, field)`` can speak (None: it cannot), whitespace collapsed; None when no template can be filled."""
    for template in templates:
        missing = False

        def fill(m: re.Match) -> str:
            nonlocal missing
            said = [say(slot, m.group(2)) for slot in interpretation.slots_named(m.group(1))]
            if not said or None in said:
                missing = True
                return ""
            return spoken_list(said)

        text = _PLACEHOLDER.sub(fill, template)
        if not missing:
            return " ".join(text.split())
    return None
