"""Skill texts with slot placeholders ("Unlock the {door}?", "Alarm set for {time}.") filled from a reading.

One mechanism for a skill's responses (plugins/skill_actions) and its confirmation questions (the runtime): the
first template whose placeholders can all be filled wins, so a skill lists the specific text first and a plainer
fallback after it.
"""
from __future__ import annotations

import re
from typing import Callable

from .types import Interpretation, Slot

__all__ = ["fill_first"]

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?:\.([a-z_]+))?\}")


def fill_first(templates: tuple[str, ...], interpretation: Interpretation,
               say: Callable[[Slot, str | None], str | None]) -> str | None:
    """The first template whose ``{slot}`` / ``{slot.field}`` placeholders all name a slot of the reading that
    ``say(slot, field)`` can speak (None: it cannot), whitespace collapsed; None when no template can be filled."""
    for template in templates:
        missing = False

        def fill(m: re.Match) -> str:
            nonlocal missing
            slot = interpretation.slot(m.group(1))
            text = say(slot, m.group(2)) if slot is not None else None
            if text is None:
                missing = True
                return ""
            return text

        text = _PLACEHOLDER.sub(fill, template)
        if not missing:
            return " ".join(text.split())
    return None
