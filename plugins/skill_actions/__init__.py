"""Generic actions: the skill file's ``action`` and ``response`` turned into a SkillAction.

Runs last (``trylast``) so a skill's own handler.py can answer first. A response speaks each slot's normalised
value ("6:30 am tomorrow", "three minutes"), not the words the user said, so it reads well whatever form they
were said in ("at 6:30 tomorrow", "3 minute").
"""
from __future__ import annotations

import datetime as _dt
from typing import Any

from hark.hookspecs import hookimpl
from hark.plugins.slot_parsers.spoken import speak
from hark.responses import fill_first
from hark.skills import SkillSet
from hark.types import Context, Interpretation, SkillAction, Slot

__all__ = ["SkillActionsPlugin", "build_action", "render_response", "spoken"]

def _slot_field(slot: Slot, field: str | None) -> Any:
    return getattr(slot, field or "value")


def build_action(interpretation: Interpretation, skills: SkillSet,
                 context: Context | None = None) -> SkillAction | None:
    """The SkillAction the skill file declares for this interpretation (None for an unknown skill/intent).

    ``context`` gives the clock that responses speak dates against ("tomorrow" rather than a date)."""
    intent = skills.intent(interpretation.skill, interpretation.intent)
    if intent is None or intent.action is None:
        return None
    params: dict[str, Any] = {}
    skill = skills.get(interpretation.skill)
    for name, value in intent.action.params.items():
        if isinstance(value, str) and value.startswith("$"):
            slot_name, _, field = value[1:].partition(".")
            spec = skill.slots.get(slot_name) if skill else None
            found = [_slot_field(s, field or None) for s in interpretation.slots_named(slot_name)]
            if spec is not None and spec.multiple:  # always a list, so a device reads one shape
                params[name] = found or None
            else:
                params[name] = found[0] if found else None
        else:
            params[name] = value
    if context is not None and context.scene is not None and context.scene.quiet:
        params.setdefault("volume", "soft")  # a sleeping room: the device should answer quietly
    return SkillAction(
        skill=interpretation.skill,
        intent=interpretation.intent,
        name=intent.action.name,
        params=params,
        response=render_response(intent.responses, interpretation, _clock(context)),
        confidence=interpretation.confidence,
        slots=interpretation.slots,
        text=interpretation.text,
    )


def _clock(context: Context | None) -> _dt.datetime | None:
    try:
        return context.clock if context is not None else None
    except (AttributeError, TypeError, ValueError):
        return None


def spoken(slot: Slot, now: _dt.datetime | None = None) -> str:
    """How a response speaks a slot: the catalog/list name when resolved; for the built-in types the normalised
    value in words ("6:30 am tomorrow" relative to ``now``, "an hour and a half", "seventy two", "fifty percent",
    "third"); else (free text, unresolved values, types from other plugins) the words the user said."""
    if slot.type in ("catalog", "list") and isinstance(slot.value, str):
        return slot.value
    if slot.value is None:
        return slot.raw
    return speak(slot.type, slot.value, now) or slot.raw


def render_response(templates: tuple[str, ...], interpretation: Interpretation,
                    now: _dt.datetime | None = None) -> str | None:
    """The first template whose placeholders are all filled; ``{slot}`` speaks the slot, ``{slot.raw}`` etc."""
    return fill_first(templates, interpretation,
                      lambda slot, field: spoken(slot, now) if field is None else str(_slot_field(slot, field)))


class SkillActionsPlugin:
    """Registered through the ``hark`` entry point ``skill_actions``."""

    name = "skill_actions"

    @hookimpl(trylast=True)
    def hark_act(self, interpretation: Interpretation, skills: SkillSet, context: Context) -> SkillAction | None:
        return build_action(interpretation, skills, context)
