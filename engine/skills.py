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
from .templates import (Alt, Opt, Seq, SlotRef, TemplateSyntaxError, Word, expand_template, parse_template,
                        required_slots, slot_names)
from .text import normalize
from .types import Context
from .yamlfile import LocatedYAML, load_located

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
        doc = load_located(path, SkillError, text)
        return _SkillBuilder(doc, slot_types).build()


def load_skill(folder: Path, slot_types: SlotTypeRegistry) -> Skill:
    path = folder / "skill.yaml"
    if not path.is_file():
        raise SkillError("no skill.yaml in this folder", path=str(folder))
    return Skill.from_yaml(path, slot_types)


_SKILL_KEYS = {"name", "description", "intents", "slots", "version", "accepts"}
#: forms a skill may declare as requests; negated, reported and buried commands never are
ACCEPTABLE_FORMS = ("question", "statement")
_INTENT_KEYS = {"examples", "action", "response", "description", "tests", "confirm", "min_confidence", "on_alert"}
_SLOT_FIELDS = ("value", "raw", "entity_id", "confidence")
_SLOT_KEYS = {"type", "description", "values", "file", "column", "id", "aliases", "weight", "fuzzy_cutoff"}


class _SkillBuilder:
    """from_dict with validation: every error names the file, the line and the dotted key."""

    def __init__(self, doc: LocatedYAML, slot_types: SlotTypeRegistry):
        self.doc, self.slot_types, self.path = doc, slot_types, doc.path

    def fail(self, key: str, message: str) -> SkillError:
        return SkillError(message, path=str(self.path), line=self.doc.line(key), key=key or None)

    def expect(self, value: Any, kind: type | tuple, key: str, what: str) -> Any:
        if not isinstance(value, kind):
            got = "nothing" if value is None else type(value).__name__
            raise self.fail(key, f"expected {what}, got {got}")
        return value

    def text_key(self, value: Any, key: str, what: str) -> None:
        if not isinstance(value, str):
            raise self.fail(key, f"{what} {value!r} is not text: YAML reads yes/no/on/off/true/false and numbers "
                                 f"as values, quote it")

    def unknown_keys(self, data: Mapping, allowed: set[str], key: str) -> None:
        extra = sorted(str(k) for k in data if k not in allowed)
        if extra:
            k = f"{key}.{extra[0]}" if key else extra[0]
            raise self.fail(k, f"unknown key {extra[0]!r} (allowed: {', '.join(sorted(allowed))})")

    def inside_folder(self, file: str, key: str) -> Path:
        """``file`` relative to the skill folder, which it must not leave (``..``, an absolute path, a symlink to
        elsewhere): a skill someone shares must not be able to read /etc/passwd into a catalog."""
        folder = self.path.parent.resolve()
        target = (folder / file).resolve()
        if Path(file).is_absolute() or not target.is_relative_to(folder):
            raise self.fail(key, f"catalog file {file!r} is outside the skill folder {folder} (resolves to "
                                 f"{target}); put the catalog inside the skill folder")
        return target

    def build(self) -> Skill:
        data = self.expect(self.doc.data, dict, "", "a mapping with name, intents, slots")
        self.unknown_keys(data, _SKILL_KEYS, "")
        name = self.expect(data.get("name"), str, "name", "a skill name")
        if not NAME_RE.match(name):
            raise self.fail("name", f"skill name {name!r} must be lower_snake_case")
        slots = self.build_slots(data.get("slots") or {}, name)
        intents_data = self.expect(data.get("intents"), dict, "intents", "a mapping of intent names")
        if not intents_data:
            raise self.fail("intents", "a skill needs at least one intent")
        for k in intents_data:
            self.text_key(k, f"intents.{k}", "intent name")
        intents = tuple(self.build_intent(str(k), v, name, slots) for k, v in intents_data.items())
        handler = self.path.parent / "handler.py"
        accepts = self.expect(data.get("accepts") or [], list, "accepts", f"a list of {' / '.join(ACCEPTABLE_FORMS)}")
        for i, form in enumerate(accepts):
            if form not in ACCEPTABLE_FORMS:
                raise self.fail(f"accepts[{i}]", f"expected one of {', '.join(ACCEPTABLE_FORMS)}, got {form!r} "
                                                 f"(negated, reported and buried commands are never requests)")
        spoken = tuple(i for i in intents if i.on_alert is None)
        return Skill(name=name, description=str(data.get("description") or ""), intents=spoken, slots=slots,
                     path=self.path, handler=handler if handler.is_file() else None, accepts=frozenset(accepts),
                     alert_intents=tuple(i for i in intents if i.on_alert is not None))

    def build_slots(self, data: Any, skill: str) -> dict[str, SlotSpec]:
        self.expect(data, dict, "slots", "a mapping of slot names")
        out = {}
        for sname, spec in data.items():
            key = f"slots.{sname}"
            self.text_key(sname, key, "slot name")
            if not str(sname).isidentifier():
                raise self.fail(key, f"slot name {sname!r} must be an identifier")
            if isinstance(spec, str):
                spec = {"type": spec}
            self.expect(spec, dict, key, "a mapping like {type: duration}")
            self.unknown_keys(spec, _SLOT_KEYS, key)
            stype = self.expect(spec.get("type"), str, f"{key}.type", "a slot type name")
            if stype not in self.slot_types:
                raise self.fail(f"{key}.type",
                                f"unknown slot type {stype!r} (known: {', '.join(self.slot_types.names())})")
            values: tuple[ListValue, ...] = ()
            catalog = None
            if stype == "list":
                values = self.build_values(spec.get("values"), f"{key}.values")
            elif spec.get("values") is not None:
                raise self.fail(f"{key}.values", f"'values' only applies to type list, not {stype!r}")
            if stype == "catalog":
                file = self.expect(spec.get("file"), str, f"{key}.file", "a CSV path relative to the skill folder")
                cutoff = spec.get("fuzzy_cutoff", 86.0)
                self.expect(cutoff, (int, float), f"{key}.fuzzy_cutoff", "a number 0-100")
                try:
                    catalog = Catalog.from_csv(self.inside_folder(file, f"{key}.file"), column=spec.get("column"),
                                               id_column=spec.get("id"), aliases_column=spec.get("aliases"),
                                               weight_column=spec.get("weight"), skill_file=self.path, key=key)
                except SkillError as exc:  # add the line of the key at fault
                    raise self.fail(exc.key or f"{key}.file", exc.detail) from None
                catalog.fuzzy_cutoff = float(cutoff)
            elif spec.get("file") is not None:
                raise self.fail(f"{key}.file", f"'file' only applies to type catalog, not {stype!r}")
            registered = self.slot_types.get(stype)
            out[str(sname)] = SlotSpec(str(sname), stype, str(spec.get("description") or ""), values, catalog,
                                       registered.parser if registered else None)
        return out

    def build_values(self, data: Any, key: str) -> tuple[ListValue, ...]:
        self.expect(data, list, key, "a list of values")
        if not data:
            raise self.fail(key, "a list slot needs at least one value")
        out = []
        for i, item in enumerate(data):
            k = f"{key}[{i}]"
            if isinstance(item, bool):
                self.text_key(item, k, "list value")
            if isinstance(item, (str, int, float)):
                out.append(ListValue(str(item), str(item)))
                continue
            self.expect(item, dict, k, "a value or {value, synonyms, id}")
            self.unknown_keys(item, {"value", "synonyms", "id"}, k)
            if isinstance(item.get("value"), bool):
                self.text_key(item.get("value"), f"{k}.value", "list value")
            value = str(self.expect(item.get("value"), (str, int, float), f"{k}.value", "the canonical value"))
            synonyms = item.get("synonyms") or []
            self.expect(synonyms, list, f"{k}.synonyms", "a list of alternative spellings")
            out.append(ListValue(value, str(item.get("id") or value), tuple(str(s) for s in synonyms)))
        return tuple(out)

    def build_intent(self, iname: str, data: Any, skill: str, slots: Mapping[str, SlotSpec]) -> Intent:
        key = f"intents.{iname}"
        if not INTENT_RE.match(iname):
            raise self.fail(key, f"intent name {iname!r} must be an identifier like SetTimer")
        self.expect(data, dict, key, "a mapping with examples and action")
        self.unknown_keys(data, _INTENT_KEYS, key)
        on_alert = self.alert_labels(data, key, slots)
        if on_alert is not None:
            examples = []
        else:
            examples = self.expect(data.get("examples"), list, f"{key}.examples", "a list of example sentences")
            if not examples:
                raise self.fail(f"{key}.examples", "an intent needs at least one example")
        templates = []
        for i, ex in enumerate(examples):
            k = f"{key}.examples[{i}]"
            if isinstance(ex, (list, dict)):  # "- [add {item}]" or "- {item} please" read as YAML structure
                raise self.fail(k, "expected an example sentence, got a YAML list or mapping: an example that "
                                   "starts with [ or { must be quoted, e.g. - \"[ten minutes](duration) timer\"")
            self.expect(ex, str, k, "an example sentence")
            try:
                tree = parse_template(ex)
            except TemplateSyntaxError as exc:
                raise self.fail(k, f"{exc} in {ex!r}") from None
            for sname in slot_names(tree):
                if sname not in slots:
                    raise self.fail(k, f"slot {sname!r} is not declared under 'slots' (declared: "
                                       f"{', '.join(slots) or 'none'})")
            templates.append(tree)
        action = self.build_action(data.get("action"), f"{key}.action", skill, iname, slots)
        responses = data.get("response") or []
        if isinstance(responses, str):
            responses = [responses]
        self.expect(responses, list, f"{key}.response", "a response template or a list of them")
        for i, r in enumerate(responses):
            self.expect(r, str, f"{key}.response[{i}]", "a response template")
            for ref in re.findall(r"\{([^{}]*)\}", r):
                name, _, attr = ref.partition(".")
                if name not in slots:
                    raise self.fail(f"{key}.response", f"response refers to unknown slot {{{ref}}}")
                if attr and attr not in _SLOT_FIELDS:
                    raise self.fail(f"{key}.response", f"unknown slot field {{{ref}}} (use "
                                                       f"{', '.join(_SLOT_FIELDS)})")
        tests = self.build_tests(data.get("tests") or [], f"{key}.tests", skill, iname, slots)
        confirm = data.get("confirm", False)
        prompts = [confirm] if isinstance(confirm, str) else (confirm if isinstance(confirm, list) else [])
        if not isinstance(confirm, bool):
            self.expect(confirm, (str, list), f"{key}.confirm", "true, false, or the question(s) to ask")
        for i, prompt in enumerate(prompts):
            self.expect(prompt, str, f"{key}.confirm[{i}]", "a question like \"Unlock the {door}?\"")
            for ref in re.findall(r"\{([^{}]*)\}", prompt):
                if ref not in slots:
                    raise self.fail(f"{key}.confirm", f"the question refers to unknown slot {{{ref}}}")
        threshold = data.get("min_confidence")
        if threshold is not None:
            if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) \
                    or not 0.0 < threshold <= 1.0:
                raise self.fail(f"{key}.min_confidence", f"expected a number in (0, 1], got {threshold!r}")
            threshold = float(threshold)
        return Intent(iname, skill, tuple(examples), tuple(templates), action, tuple(responses),
                      str(data.get("description") or ""), tests, confirm=bool(confirm), min_confidence=threshold,
                      confirm_prompts=tuple(prompts), on_alert=on_alert)

    def alert_labels(self, data: dict, key: str, slots: Mapping[str, SlotSpec]) -> tuple[str, ...] | None:
        """``on_alert``: true (every alert) or a list of labels; None when absent or false."""
        value = data.get("on_alert", False)
        if value is False:
            return None
        if value is not True:
            self.expect(value, list, f"{key}.on_alert", "true or a list of alert labels (glass_breaking, ...)")
            for i, label in enumerate(value):
                self.expect(label, str, f"{key}.on_alert[{i}]", "an alert label like glass_breaking")
        if data.get("examples"):
            raise self.fail(f"{key}.examples", "an on_alert intent is triggered by sound alerts, never by "
                                               "speech: remove its examples (or make a second intent for speech)")
        if "sound" not in slots:
            raise self.fail(f"{key}.on_alert", "an on_alert intent needs a slot named 'sound' (it receives the "
                                               "alert's label)")
        return () if value is True else tuple(value)

    def build_action(self, data: Any, key: str, skill: str, intent: str,
                     slots: Mapping[str, SlotSpec]) -> ActionSpec:
        if data is None:  # default: skill.intent with every slot as a parameter
            return ActionSpec(f"{skill}.{intent}", {s: f"${s}" for s in slots})
        if isinstance(data, str):
            return ActionSpec(data, {})
        self.expect(data, dict, key, "an action name or {name, params}")
        self.unknown_keys(data, {"name", "params"}, key)
        name = self.expect(data.get("name"), str, f"{key}.name", "an action name like timer.start")
        params = data.get("params") or {}
        self.expect(params, dict, f"{key}.params", "a mapping of parameters")
        for pname, pval in params.items():
            if isinstance(pval, str) and pval.startswith("$"):
                ref = pval[1:].split(".")
                if ref[0] not in slots:
                    raise self.fail(f"{key}.params.{pname}", f"refers to unknown slot ${ref[0]}")
                if len(ref) > 1 and ref[1] not in _SLOT_FIELDS:
                    raise self.fail(f"{key}.params.{pname}",
                                    f"unknown slot field {ref[1]!r} (use value, raw, entity_id or confidence)")
        return ActionSpec(name, dict(params))

    def build_tests(self, data: Any, key: str, skill: str, intent: str,
                    slots: Mapping[str, SlotSpec]) -> tuple[SkillTest, ...]:
        self.expect(data, list, key, "a list of held-out sentences")
        out = []
        for i, item in enumerate(data):
            k = f"{key}[{i}]"
            if isinstance(item, str):
                item = {"text": item}
            self.expect(item, dict, k, "a sentence or {text, slots}")
            self.unknown_keys(item, {"text", "slots"}, k)
            text = self.expect(item.get("text"), str, f"{k}.text", "the sentence")
            expected = item.get("slots") or {}
            self.expect(expected, dict, f"{k}.slots", "a mapping slot -> expected value")
            for sname in expected:
                if sname not in slots:
                    raise self.fail(f"{k}.slots.{sname}", f"unknown slot {sname!r}")
            out.append(SkillTest(text, skill, intent, dict(expected)))
        return tuple(out)


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
