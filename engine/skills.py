"""Skills: ``skills/<name>/skill.yaml`` loaded into frozen dataclasses, validated with file:line: key errors.

A skill declares intents (example sentences in a small template language), slots (typed), the action each intent
maps to and a response a TTS can speak. Example syntax::

    set a timer for [ten minutes](duration)      slot with an example value
    set a timer for {duration}                   slot without an example value
    (start|set) a timer                          alternatives
    cancel (the|my)? timer                       optional group: (...)?
    timer( for [the pasta](label))?              optional part containing a slot

Everything a matcher or trainer needs is here; how to match is the business of the intent plugins.
"""
from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from .errors import SkillError
from .slots import SlotTypeRegistry
from .text import normalize, tokenize
from .types import Context
from .yamlfile import LocatedYAML, load_located

__all__ = [
    "Word", "SlotRef", "Seq", "Alt", "Opt", "parse_template", "expand_template",
    "SlotMatch", "ListValue", "CatalogEntry", "Catalog", "SlotSpec", "ActionSpec", "SkillTest", "Intent", "Skill",
    "SkillSet", "SkillRegistry", "load_skill",
]

NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
INTENT_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


# ------------------------------------------------------------------------------------------- template language


@dataclass(frozen=True)
class Word:
    text: str  # one normalised token


@dataclass(frozen=True)
class SlotRef:
    name: str
    #: the example value written in the template ("ten minutes"), or None for ``{slot}``
    example: str | None = None


@dataclass(frozen=True)
class Seq:
    items: tuple[Any, ...]


@dataclass(frozen=True)
class Alt:
    options: tuple[Seq, ...]


@dataclass(frozen=True)
class Opt:
    item: Any


class TemplateSyntaxError(ValueError):
    def __init__(self, message: str, column: int):
        super().__init__(f"{message} at column {column + 1}")
        self.column = column


def parse_template(source: str) -> Seq:
    """Parse one example sentence into a tree of Seq/Alt/Opt/Word/SlotRef."""
    parser = _TemplateParser(source)
    tree = parser.seq()
    if parser.pos < len(source):
        raise TemplateSyntaxError(f"unexpected {source[parser.pos]!r}", parser.pos)
    if not tree.items:
        raise TemplateSyntaxError("empty example", 0)
    return tree


class _TemplateParser:
    SPECIAL = "()|?[]{}"

    def __init__(self, source: str):
        self.src, self.pos = source, 0

    def peek(self) -> str:
        self.skip_space()
        return self.src[self.pos] if self.pos < len(self.src) else ""

    def skip_space(self) -> None:
        while self.pos < len(self.src) and self.src[self.pos].isspace():
            self.pos += 1

    def seq(self) -> Seq:
        items: list[Any] = []
        while True:
            ch = self.peek()
            if ch in ("", ")", "|"):
                return Seq(tuple(items))
            item = self.item()
            if self.peek() == "?" and isinstance(item, (Alt, SlotRef)):  # "(...)?", "{slot}?"; a "?" after a
                self.pos += 1                                           # plain word is punctuation
                item = Opt(item)
            elif self.peek() == "?":
                self.pos += 1
            if isinstance(item, list):
                items.extend(item)
            else:
                items.append(item)

    def item(self) -> Any:
        start = self.pos
        ch = self.src[self.pos]
        if ch == "(":
            self.pos += 1
            options = [self.seq()]
            while self.peek() == "|":
                self.pos += 1
                options.append(self.seq())
            if self.peek() != ")":
                raise TemplateSyntaxError("unclosed '('", start)
            self.pos += 1
            if all(not o.items for o in options):
                raise TemplateSyntaxError("empty group '()'", start)
            return Alt(tuple(options))
        if ch == "[":
            end = self.src.find("]", self.pos)
            if end < 0:
                raise TemplateSyntaxError("unclosed '['", start)
            example = self.src[self.pos + 1:end].strip()
            self.pos = end + 1
            m = re.compile(r"\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)").match(self.src, self.pos)
            if not m:
                raise TemplateSyntaxError("'[example]' must be followed by '(slot_name)'", self.pos)
            self.pos = m.end()
            if not normalize(example):
                raise TemplateSyntaxError("empty slot example '[]'", start)
            return SlotRef(m.group(1), example)
        if ch == "{":
            m = re.compile(r"\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}").match(self.src, self.pos)
            if not m:
                raise TemplateSyntaxError("'{' must enclose a slot name like {duration}", start)
            self.pos = m.end()
            return SlotRef(m.group(1), None)
        if ch in ")]}?":
            raise TemplateSyntaxError(f"unexpected {ch!r}", start)
        while self.pos < len(self.src) and not self.src[self.pos].isspace() and self.src[self.pos] not in self.SPECIAL:
            self.pos += 1
        words = [Word(t.text) for t in tokenize(self.src[start:self.pos])]
        if not words:  # punctuation only: ignore it, but keep the parser moving
            return []
        return words if len(words) > 1 else words[0]


def slot_names(node: Any) -> list[str]:
    """Slot names referenced anywhere in a template tree, in order of appearance."""
    if isinstance(node, SlotRef):
        return [node.name]
    if isinstance(node, Seq):
        return [n for item in node.items for n in slot_names(item)]
    if isinstance(node, Alt):
        return [n for opt in node.options for n in slot_names(opt)]
    if isinstance(node, Opt):
        return slot_names(node.item)
    return []


def expand_template(node: Any, limit: int = 10_000) -> Iterator[tuple[Any, ...]]:
    """Every concrete sentence of a template as a tuple of Word/SlotRef (training data, statistics).

    Raises ValueError past ``limit`` expansions so a runaway template is reported rather than hanging.
    """
    count = 0
    for seq in _expand(node):
        count += 1
        if count > limit:
            raise ValueError(f"template expands to more than {limit} sentences")
        yield seq


def _expand(node: Any) -> Iterator[tuple[Any, ...]]:
    if isinstance(node, (Word, SlotRef)):
        yield (node,)
    elif isinstance(node, Opt):
        yield ()
        yield from _expand(node.item)
    elif isinstance(node, Alt):
        for opt in node.options:
            yield from _expand(opt)
    elif isinstance(node, Seq):
        if not node.items:
            yield ()
            return
        for head in _expand(node.items[0]):
            for tail in _expand(Seq(node.items[1:])):
                yield head + tail


# ---------------------------------------------------------------------------------------------- slot values


@dataclass(frozen=True)
class SlotMatch:
    """A way to read some words as a slot value."""

    value: Any
    entity_id: str | None = None
    #: how sure the slot type is about this reading, in [0, 1] (exact catalog match 1.0, fuzzy less)
    score: float = 1.0


@dataclass(frozen=True)
class ListValue:
    value: str
    id: str
    synonyms: tuple[str, ...] = ()


@dataclass(frozen=True)
class CatalogEntry:
    id: str
    name: str
    aliases: tuple[str, ...] = ()
    #: relative popularity prior (>= 0), from an optional weight column
    weight: float = 1.0


_ARTICLES = ("the ", "a ", "an ")


class Catalog:
    """Named entities of one slot: exact lookup on normalised names and aliases, fuzzy fallback (rapidfuzz)."""

    def __init__(self, entries: Iterable[CatalogEntry], *, name: str = "", fuzzy_cutoff: float = 86.0):
        self.name = name
        self.entries: tuple[CatalogEntry, ...] = tuple(entries)
        self.fuzzy_cutoff = fuzzy_cutoff
        self._exact: dict[str, list[int]] = {}
        for i, entry in enumerate(self.entries):
            for form in (entry.name, *entry.aliases):
                for key in self._keys(normalize(form)):
                    bucket = self._exact.setdefault(key, [])
                    if i not in bucket:
                        bucket.append(i)
        self._choices = list(self._exact)
        self.lookup = lru_cache(maxsize=4096)(self._lookup)  # the matcher asks about the same spans repeatedly

    @staticmethod
    def _keys(norm: str) -> list[str]:
        keys = [norm] if norm else []
        for article in _ARTICLES:  # "play matrix" finds "The Matrix"
            if norm.startswith(article) and len(norm) > len(article):
                keys.append(norm[len(article):])
        return keys

    def __len__(self) -> int:
        return len(self.entries)

    def exact(self, text: str) -> tuple[SlotMatch, ...]:
        """The entries whose name or alias is exactly ``text`` (normalised, a leading article optional)."""
        hits = self._exact.get(normalize(text)) or ()
        return tuple(SlotMatch(self.entries[i].name, self.entries[i].id, 1.0) for i in hits)

    def _lookup(self, text: str, limit: int = 5) -> tuple[SlotMatch, ...]:
        norm = normalize(text)
        if not norm:
            return ()
        hits = self._exact.get(norm)
        if hits:
            return tuple(SlotMatch(self.entries[i].name, self.entries[i].id, 1.0) for i in hits[:limit])
        from rapidfuzz import fuzz, process

        found = process.extract(norm, self._choices, scorer=fuzz.ratio, limit=limit, score_cutoff=self.fuzzy_cutoff)
        out: list[SlotMatch] = []
        seen: set[str] = set()
        for key, score, _ in found:
            for i in self._exact[key]:
                entry = self.entries[i]
                if entry.id not in seen:
                    seen.add(entry.id)
                    # fuzzy matches stay below exact ones: 86 -> 0.72, 100 -> 0.95
                    out.append(SlotMatch(entry.name, entry.id, round(0.95 - (100 - score) * 0.0164, 4)))
        return tuple(out[:limit])

    @classmethod
    def from_csv(cls, path: Path, *, column: str | None = None, id_column: str | None = None,
                 aliases_column: str | None = None, weight_column: str | None = None,
                 skill_file: Path | None = None, key: str = "", line: int | None = None) -> "Catalog":
        """Read a catalog CSV; errors name the skill file, line and ``<key>.file`` / ``<key>.<option>``."""
        where = dict(path=str(skill_file or path), key=f"{key}.file" if key else None, line=line)
        try:
            with open(path, newline="", encoding="utf-8") as fh:
                rows = list(csv.DictReader(fh))
                header = rows[0].keys() if rows else []
        except FileNotFoundError:
            raise SkillError(f"catalog file not found: {path}", **where) from None
        except (UnicodeDecodeError, csv.Error) as exc:
            raise SkillError(f"cannot read catalog {path}: {exc}", **where) from None
        if not rows:
            raise SkillError(f"catalog {path} has no rows", **where)
        column = column or next(iter(header))
        for label, col in (("column", column), ("id", id_column), ("aliases", aliases_column),
                           ("weight", weight_column)):
            if col and col not in header:
                raise SkillError(f"{label} {col!r} is not a column of {path.name} (columns: {', '.join(header)})",
                                 **{**where, "key": f"{key}.{label}" if key else None})
        entries = []
        for i, row in enumerate(rows):
            name = (row.get(column) or "").strip()
            if not name:
                continue
            aliases = tuple(a.strip() for a in (row.get(aliases_column) or "").split("|") if a.strip()) \
                if aliases_column else ()
            weight = 1.0
            if weight_column and (row.get(weight_column) or "").strip():
                try:
                    weight = float(row[weight_column])
                except ValueError:
                    raise SkillError(f"{path.name} row {i + 2}: weight {row[weight_column]!r} is not a number",
                                     **where) from None
            entry_id = (row.get(id_column) or "").strip() if id_column else str(i + 1)
            entries.append(CatalogEntry(entry_id or str(i + 1), name, aliases, weight))
        return cls(entries, name=path.stem)


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

    def _list_lookup(self, norm: str) -> tuple[SlotMatch, ...]:
        hit = self._list_index.get(norm)  # type: ignore[attr-defined]
        return (hit,) if hit else ()


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

    @property
    def qualified(self) -> str:
        return f"{self.skill}.{self.name}"


@dataclass(frozen=True)
class Skill:
    name: str
    description: str
    intents: tuple[Intent, ...]
    slots: Mapping[str, SlotSpec]
    path: Path | None = None
    #: optional handler.py next to skill.yaml, registered as a plugin
    handler: Path | None = None

    def intent(self, name: str) -> Intent | None:
        return next((i for i in self.intents if i.name == name), None)

    @classmethod
    def from_yaml(cls, path: Path, slot_types: SlotTypeRegistry, text: str | None = None) -> "Skill":
        doc = load_located(path, SkillError, text)
        return _SkillBuilder(doc, slot_types).build()


def load_skill(folder: Path, slot_types: SlotTypeRegistry) -> Skill:
    path = folder / "skill.yaml"
    if not path.is_file():
        raise SkillError("no skill.yaml in this folder", path=str(folder))
    return Skill.from_yaml(path, slot_types)


_SKILL_KEYS = {"name", "description", "intents", "slots", "version"}
_INTENT_KEYS = {"examples", "action", "response", "description", "tests", "confirm", "min_confidence"}
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
        return Skill(name=name, description=str(data.get("description") or ""), intents=intents, slots=slots,
                     path=self.path, handler=handler if handler.is_file() else None)

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
                      confirm_prompts=tuple(prompts))

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
