"""Skills: ``skills/<name>/skill.yaml`` loaded into frozen dataclasses, validated with file:line: key errors.

A skill declares intents (example sentences in a small template language), slots (typed), the action each intent
maps to and a response a TTS can speak. Example syntax::

    set a timer for [ten minutes](duration)      slot with an example value
    set a timer for {duration}                   slot without an example value
    (start|set) a timer                          alternatives
    cancel (the|my)? timer                       optional group: (...)?
    timer( for [the pasta](label))?              optional part containing a slot

The template language is in templates.py and slot values (lists, catalogs) in catalogs.py; how to match is the
business of the intent plugins.
"""
from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from .catalogs import Catalog, CatalogEntry, ListValue, SlotMatch
from .errors import SkillError
from .slots import SlotTypeRegistry
from .templates import Alt, Opt, Seq, SlotRef, Word, expand_template, parse_template, required_slots
from .text import normalize
from .types import Context
from .yamlfile import load_located

__all__ = [
    "Word", "SlotRef", "Seq", "Alt", "Opt", "parse_template", "expand_template",
    "SlotMatch", "ListValue", "CatalogEntry", "Catalog", "SlotSpec", "ActionSpec", "SkillTest", "Intent", "Skill",
    "SkillSet", "SkillRegistry", "load_skill", "describe_skill",
]

NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
INTENT_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class SlotSpec:
    """A slot of a skill: its type and, for list/catalog types, its values."""

    name: str
    type: str
    description: str = ""
    values: tuple[ListValue, ...] = ()
    catalog: Catalog | None = field(default=None, compare=False)
    parser: Any = field(default=None, compare=False, repr=False)
    #: one request can fill it more than once ("from boston or denver", "the kitchen and the hall lights"):
    #: every span is kept and the action gets a list; otherwise the first span wins
    multiple: bool = False

    def match(self, text: str, context: Context) -> tuple[SlotMatch, ...]:
        """Readings of ``text`` as this slot, best first; empty when the words are not of this type."""
        if self.type == "text":
            return (SlotMatch(text, None, 1.0),) if text.strip() else ()
        if self.type == "list":
            return self._list_lookup(normalize(text))
        if self.type == "catalog":
            return self.catalog.lookup(text) if self.catalog else ()
        value = self.parser(normalize(text), context) if self.parser else None
        return () if value is None else (SlotMatch(value, None, 1.0),)

    def __post_init__(self) -> None:
        index: dict[str, SlotMatch] = {}
        for v in self.values:
            for form in (v.value, *v.synonyms):
                index.setdefault(normalize(form), SlotMatch(v.value, v.id, 1.0))
        object.__setattr__(self, "_list_index", index)
        # the words that begin some form and go on, with the values they can go on to (for completion)
        going_on: dict[tuple[str, ...], dict[Any, SlotMatch]] = {}
        for form, hit in index.items():
            words = form.split()
            for k in range(1, len(words)):
                going_on.setdefault(tuple(words[:k]), {})[hit.value] = hit
        object.__setattr__(self, "_list_going_on",
                           {k: next(iter(v.values())) for k, v in going_on.items() if len(v) == 1})

    def _list_lookup(self, norm: str) -> tuple[SlotMatch, ...]:
        hit = self._list_index.get(norm)  # type: ignore[attr-defined]
        return (hit,) if hit else ()

    def completion(self, text: str) -> SlotMatch | None:
        """The one list value whose spoken forms are the only ones to begin with ``text``'s words and go on ("soy"
        -> "soy milk"), for an utterance whose last word the recogniser lost; None when no value or several do."""
        if self.type != "list":
            return None
        return self._list_going_on.get(tuple(normalize(text).split()))  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------------- skill files


@dataclass(frozen=True)
class ActionSpec:
    name: str
    #: literal values, or "$slot" / "$slot.raw" / "$slot.entity_id" references
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SkillTest:
    """A held-out sentence: never used to build matchers, used by tests and benchmarks."""

    text: str
    skill: str
    intent: str
    #: expected slot values (normalised)
    slots: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Intent:
    name: str
    skill: str
    examples: tuple[str, ...]
    templates: tuple[Seq, ...] = field(compare=False, repr=False, default=())
    action: ActionSpec | None = None
    #: response templates, first one whose placeholders are all filled is used
    responses: tuple[str, ...] = ()
    description: str = ""
    tests: tuple[SkillTest, ...] = ()
    #: sensitive action (unlocking, opening the garage): the engine asks before acting and acts only on a yes
    confirm: bool = False
    #: the questions to ask, first one whose slots are all filled ("Unlock the {door}?"); empty = a generic one
    confirm_prompts: tuple[str, ...] = ()
    #: a stricter confidence threshold than engine.min_confidence for this intent (None = the engine's)
    min_confidence: float | None = None
    #: an intent the scene plugin's alerts trigger, never speech: the alert labels it takes (empty = every
    #: alert), or None for an ordinary intent; the label fills its slot ``sound``
    on_alert: tuple[str, ...] | None = None

    @property
    def qualified(self) -> str:
        return f"{self.skill}.{self.name}"

    @functools.cached_property
    def required_slots(self) -> frozenset[str]:
        """Slots every example template needs (computed once: interpreters ask on every parse)."""
        return required_slots(self.templates)


@dataclass(frozen=True)
class Skill:
    name: str
    description: str
    intents: tuple[Intent, ...]
    slots: Mapping[str, SlotSpec]
    path: Path | None = None
    #: optional handler.py next to skill.yaml, registered as a plugin
    handler: Path | None = None
    #: forms besides commands in which this skill's requests come (``accepts: [question]`` for a skill that
    #: answers questions): the request gate never vetoes a reading of this skill for these forms
    accepts: frozenset[str] = frozenset()
    #: intents that sound alerts trigger (``on_alert``), kept apart from ``intents``: nothing that hears speech
    #: (matchers, language models, training data) ever sees them
    alert_intents: tuple[Intent, ...] = ()

    def intent(self, name: str) -> Intent | None:
        return next((i for i in self.intents + self.alert_intents if i.name == name), None)

    @classmethod
    def from_yaml(cls, path: Path, slot_types: SlotTypeRegistry, text: str | None = None) -> "Skill":
        from .skill_yaml import SkillBuilder  # the builder needs these classes: imported when first used

        doc = load_located(path, SkillError, text)
        return SkillBuilder(doc, slot_types).build()


def load_skill(folder: Path, slot_types: SlotTypeRegistry) -> Skill:
    path = folder / "skill.yaml"
    if not path.is_file():
        raise SkillError("no skill.yaml in this folder", path=str(folder))
    return Skill.from_yaml(path, slot_types)


# ---------------------------------------------------------------------------------------------- collections


class SkillSet:
    """The skills an engine runs with. Immutable once built; ``fingerprint`` changes whenever any skill does."""

    def __init__(self, skills: Iterable[Skill]):
        self.skills: tuple[Skill, ...] = tuple(sorted(skills, key=lambda s: s.name))
        self._by_name = {s.name: s for s in self.skills}
        digest = hashlib.sha256()
        for s in self.skills:
            digest.update(repr((s.name, [(i.name, i.examples) for i in s.intents],
                                sorted((k, v.type, len(v.catalog or ()), v.values) for k, v in s.slots.items()))
                               ).encode())
        self.fingerprint = digest.hexdigest()[:16]

    def __iter__(self) -> Iterator[Skill]:
        return iter(self.skills)

    def __len__(self) -> int:
        return len(self.skills)

    def __getitem__(self, name: str) -> Skill:
        return self._by_name[name]

    def get(self, name: str) -> Skill | None:
        return self._by_name.get(name)

    def intents(self) -> Iterator[Intent]:
        for s in self.skills:
            yield from s.intents

    def alert_intents(self) -> Iterator[Intent]:
        """The intents sound alerts trigger (``on_alert``), which ``intents()`` leaves out."""
        for s in self.skills:
            yield from s.alert_intents

    def intent(self, skill: str, name: str) -> Intent | None:
        s = self._by_name.get(skill)
        return s.intent(name) if s else None

    def tests(self) -> list[SkillTest]:
        return [t for i in self.intents() for t in i.tests]


class SkillRegistry:
    """Collects skills at start-up (from folders and from plugins); duplicate names are errors naming both."""

    def __init__(self, slot_types: SlotTypeRegistry, disabled: Iterable[str] = ()):
        self.slot_types = slot_types
        self.disabled = set(disabled)
        self._skills: dict[str, tuple[Skill, str]] = {}
        self.current_source = "config"

    def add(self, skill: Skill) -> None:
        if skill.name in self.disabled:
            return
        if skill.name in self._skills:
            first = self._skills[skill.name]
            raise SkillError(f"skill {skill.name!r} defined twice: {first[0].path or first[1]} and "
                             f"{skill.path or self.current_source}", path=str(skill.path) if skill.path else None)
        self._skills[skill.name] = (skill, self.current_source)

    def add_path(self, path: str | Path) -> None:
        """Add one skill folder, or every skill folder under ``path``."""
        path = Path(path)
        if (path / "skill.yaml").is_file():
            self.add(load_skill(path, self.slot_types))
            return
        if not path.is_dir():
            raise SkillError("skill folder not found", path=str(path))
        for child in sorted(path.iterdir()):
            if child.is_dir() and (child / "skill.yaml").is_file():
                self.add(load_skill(child, self.slot_types))

    def build(self) -> SkillSet:
        return SkillSet(s for s, _ in self._skills.values())


def describe_skill(skill: Skill) -> dict[str, Any]:
    """One skill as `hark skills --json` and `GET /skills` show it: intents with their examples, slots with sizes."""
    return {
        "name": skill.name, "description": skill.description, "path": str(skill.path),
        "handler": str(skill.handler) if skill.handler else None,
        "intents": [{"name": i.name, "action": i.action.name if i.action else None,
                     "examples": list(i.examples), "tests": len(i.tests)} for i in skill.intents],
        "slots": {n: {"type": s.type, "size": len(s.catalog) if s.catalog else len(s.values)}
                  for n, s in skill.slots.items()},
    }
