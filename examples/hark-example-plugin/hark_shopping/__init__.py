"""hark-example-plugin: a shopping list, as a complete third-party hark plugin.

It shows the four things most plugins need:

* ``hark_register_skills``: ship a skill folder inside the package and hand it to the engine;
* ``hark_startup``: read typed settings from ``plugins.settings.shopping_list`` in config.yaml;
* ``hark_act``: answer for its own skill with state kept on the plugin object (``None`` for other skills);
* ``hark_event``: listen to what the engine does (here: append shopping actions to a JSON-lines log).

The entry point in pyproject.toml names the class; hark instantiates it once with no arguments.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hark import Context, Event, Interpretation, SkillAction, SkillSet, hookimpl
from hark.plugins.skill_actions import build_action

__all__ = ["ShoppingListPlugin", "ShoppingSettings", "SKILL", "SKILL_DIR"]

#: the entry-point name (pyproject.toml) and therefore the key under plugins.settings in config.yaml
NAME = "shopping_list"
#: the skill this plugin ships and answers for (skill.yaml: name)
SKILL = "shopping_list"
#: the skill folder inside the installed package (a wheel install unpacks it, so it is a real folder)
SKILL_DIR = Path(__file__).resolve().parent / "skill"

_ARTICLES = ("the ", "a ", "an ", "some ")


@dataclass(frozen=True)
class ShoppingSettings:
    """``plugins.settings.shopping_list`` in config.yaml; unknown keys are rejected by hark."""

    #: the list holds at most this many items; adding more is refused politely
    max_items: int = 100
    #: append every shopping_list action as one JSON line to this file ("" = no log). Relative paths are
    #: relative to the folder of config.yaml.
    log_file: str = ""

    def __post_init__(self) -> None:
        if self.max_items < 1:
            raise ValueError(f"plugins.settings.{NAME}.max_items: must be at least 1, got {self.max_items}")


def _key(item: str) -> str:
    """Comparison form of an item: "The Eggs" and "eggs" are the same thing on a shopping list."""
    text = " ".join(item.lower().split())
    for article in _ARTICLES:
        if text.startswith(article) and len(text) > len(article):
            return text[len(article):]
    return text


def _count(n: int) -> str:
    return "Your list is empty." if n == 0 else f"Your list has {n} item{'s' if n != 1 else ''}."


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


class ShoppingListPlugin:
    """The object behind the ``shopping_list`` entry point. All state lives here, none in module globals."""

    name = NAME  # used when the object is handed to Engine(plugins=[...]) instead of installed

    def __init__(self) -> None:
        self.settings = ShoppingSettings()
        self.items: list[str] = []
        self.log_path: Path | None = None

    # ------------------------------------------------------------------------------------------- start-up

    @hookimpl
    def hark_register_skills(self, registry: Any) -> None:
        """Ship the skill with the code: hark loads and validates SKILL_DIR/skill.yaml like any skill folder."""
        registry.add_path(SKILL_DIR)

    @hookimpl
    def hark_startup(self, engine: Any) -> None:
        self.settings = engine.config.plugin_settings(NAME, ShoppingSettings)
        self.log_path = engine.config.resolve_path(self.settings.log_file) if self.settings.log_file else None

    # ------------------------------------------------------------------------------------------- actions

    @hookimpl
    def hark_act(self, interpretation: Interpretation, skills: SkillSet, context: Context) -> SkillAction | None:
        if interpretation.skill != SKILL:
            return None  # not ours: the next plugin (finally the generic skill_actions) answers
        # Start from what the skill file declares (action name, params, first response) ...
        action = build_action(interpretation, skills)
        if action is None:
            return None
        slot = interpretation.slot("item")
        item = str(slot.value).strip() if slot is not None and slot.value is not None else ""
        status, response = self._apply(interpretation.intent, item, action.response or "")
        # ... and add the state of the list.
        params = {**action.params, "items": list(self.items), "count": len(self.items), "status": status}
        return dataclasses.replace(action, params=params, response=response)

    def _apply(self, intent: str, item: str, said: str) -> tuple[str, str]:
        """Change the list for ``intent``; return (status, response)."""
        keys = [_key(i) for i in self.items]
        if intent == "AddItem":
            if _key(item) in keys:
                return "already_listed", f"{item[:1].upper()}{item[1:]} is already on your list. {_count(len(keys))}"
            if len(self.items) >= self.settings.max_items:
                return "full", f"Your shopping list is full ({self.settings.max_items} items)."
            self.items.append(item)
            return "added", f"{said} {_count(len(self.items))}".strip()
        if intent == "RemoveItem":
            if _key(item) not in keys:
                return "not_listed", f"{item[:1].upper()}{item[1:]} is not on your list."
            del self.items[keys.index(_key(item))]
            return "removed", f"{said} {_count(len(self.items))}".strip()
        if intent == "ClearList":
            self.items.clear()
            return "cleared", said or "Cleared your shopping list."
        if intent == "ReadList":
            if not self.items:
                return "read", "Your shopping list is empty."
            return "read", f"On your shopping list: {_join(self.items)}."
        return "unknown", said

    # ------------------------------------------------------------------------------------------- events

    @hookimpl
    def hark_event(self, event: Event) -> None:
        """Every event passes here; keep the shopping actions. A failure here is reported, never re-entered."""
        if self.log_path is None or event.kind != "action" or event.data.get("skill") != SKILL:
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(event.to_dict(), ensure_ascii=False) + "\n")
