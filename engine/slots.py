"""Slot types: the named parsers skills refer to (``{type: duration}``).

Plugins add types through ``hark_register_slot_types``; skills add the data-backed kinds ``list`` and ``catalog``
themselves (engine/skills.py). A parser takes the words that fill a slot and returns the normalised value, or
``None`` when the words are not of that type: the template matcher relies on that to choose slot boundaries, so a
parser must reject trailing words it does not understand ("ten minutes please" is not a duration).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .errors import PluginError
from .types import Context

__all__ = ["SlotParser", "SlotType", "SlotTypeRegistry", "RESERVED_TYPES"]

SlotParser = Callable[[str, Context], Any]

#: kinds defined by the skill file itself rather than by a parser plugin
RESERVED_TYPES = frozenset({"text", "list", "catalog"})


@dataclass(frozen=True)
class SlotType:
    name: str
    parser: SlotParser
    description: str = ""
    #: plugin that registered it
    source: str = ""

    def parse(self, text: str, context: Context) -> Any:
        return self.parser(text, context)


class SlotTypeRegistry:
    """Name -> SlotType. Registration order is kept; a second registration of a name is an error."""

    def __init__(self) -> None:
        self._types: dict[str, SlotType] = {}
        #: set by the plugin manager while a plugin's hook runs, so errors can name it
        self.current_source = ""

    def add(self, name: str, parser: SlotParser, description: str = "") -> None:
        if not name.isidentifier():
            raise PluginError(f"slot type name {name!r} from plugin {self.current_source!r} is not an identifier")
        if name in RESERVED_TYPES:
            raise PluginError(f"plugin {self.current_source!r} cannot register slot type {name!r}: reserved")
        if name in self._types:
            raise PluginError(
                f"slot type {name!r} registered twice: by {self._types[name].source!r} and {self.current_source!r}"
            )
        if not callable(parser):
            raise PluginError(f"slot type {name!r} from {self.current_source!r}: parser is not callable")
        self._types[name] = SlotType(name, parser, description, self.current_source)

    def get(self, name: str) -> SlotType | None:
        return self._types.get(name)

    def names(self) -> list[str]:
        return sorted(set(self._types) | RESERVED_TYPES)

    def __iter__(self):
        return iter(self._types.values())

    def __contains__(self, name: str) -> bool:
        return name in self._types or name in RESERVED_TYPES
