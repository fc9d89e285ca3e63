"""skill.yaml -> ``Skill``: reading a skill file's mapping into the frozen dataclasses of skills.py, with every
error naming the file, the line and the dotted key (``SkillError``). Kept apart from the dataclasses it builds:
they are what the rest of hark reads, this is only how a file becomes one."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Mapping

from .catalogs import Catalog, ListValue
from .errors import SkillError
from .skills import INTENT_RE, NAME_RE, ActionSpec, Intent, Skill, SkillTest, SlotSpec
from .slots import SlotTypeRegistry
from .templates import TemplateSyntaxError, parse_template, slot_names
from .yamlfile import LocatedYAML

__all__ = ["SkillBuilder", "ACCEPTABLE_FORMS"]


_SKILL_KEYS = {"name", "description", "intents", "slots", "version", "accepts"}
#: forms a skill may declare as requests; negated, reported and buried commands never are
ACCEPTABLE_FORMS = ("question", "statement")
_INTENT_KEYS = {"examples", "action", "response", "description", "tests", "confirm", "min_confidence", "on_alert"}
_SLOT_FIELDS = ("value", "raw", "entity_id", "confidence")
_SLOT_KEYS = {"type", "description", "values", "file", "column", "id", "aliases", "weight", "fuzzy_cutoff",
              "multiple"}


class SkillBuilder:
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
            multiple = self.expect(spec.get("multiple", False), bool, f"{key}.multiple", "true or false")
            out[str(sname)] = SlotSpec(str(sname), stype, str(spec.get("description") or ""), values, catalog,
                                       registered.parser if registered else None, multiple)
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
