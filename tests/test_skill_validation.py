"""Skill files: a valid skill loads completely; every mistake is a SkillError starting with file:line: dotted.key.

Skills are written inline to tmp_path (hassil style); nothing here depends on the bundled skills.
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from hark.errors import SkillError
from hark.skills import (ActionSpec, Alt, CatalogEntry, ListValue, Opt, Seq, Skill, SkillRegistry, SkillTest,
                         SlotRef, Word, expand_template, load_skill, parse_template)
from hark.slots import SlotTypeRegistry
from hark.types import Context

NOW = Context.create("2026-11-24T21:00:00+01:00")


def _register_stub_parsers(registry: SlotTypeRegistry) -> None:
    # FALLBACK ONLY: used when the real built-in parsers (hark.plugins.slot_parsers) cannot be imported, e.g. while
    # that plugin is being rewritten. These stubs understand just the phrases the tests below use; they exist so that
    # skill-file validation (this file's subject) can still be tested. Prefer the real parsers.
    words = {"ten minutes": 600, "five minute": 300, "an hour": 3600}
    registry.add("number", lambda text, ctx: {"one": 1, "two": 2, "3": 3}.get(text))
    registry.add("duration", lambda text, ctx: words.get(text))
    registry.add("datetime", lambda text, ctx: None)
    registry.add("percentage", lambda text, ctx: 50 if text == "fifty percent" else None)
    registry.add("ordinal", lambda text, ctx: 3 if text == "third" else None)


@pytest.fixture
def slot_types() -> SlotTypeRegistry:
    registry = SlotTypeRegistry()
    try:
        from hark.plugins.slot_parsers import SlotParsersPlugin
    except ImportError:
        SlotParsersPlugin = None
    registry.current_source = "slot_parsers"
    if SlotParsersPlugin is not None:
        SlotParsersPlugin().hark_register_slot_types(registry=registry)
    else:
        _register_stub_parsers(registry)
    registry.current_source = ""
    return registry


@pytest.fixture
def skill_dir(tmp_path):
    """skill_dir(yaml_text, files={name: text}, name="s", root=tmp_path/"skills") -> (folder, dedented text)."""

    def write(text: str, files: dict[str, str] | None = None, name: str = "s", root: Path | None = None):
        folder = (root or tmp_path / "skills") / name
        folder.mkdir(parents=True, exist_ok=True)
        text = textwrap.dedent(text).lstrip("\n")
        (folder / "skill.yaml").write_text(text, encoding="utf-8")
        for rel, content in (files or {}).items():
            (folder / rel).write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
        return folder, text

    return write


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """1-based line of the nth line of ``text`` containing ``needle``."""
    hits = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(hits) >= nth, f"{needle!r} not in the test's YAML"
    return hits[nth - 1]


def load_error(folder: Path, slot_types: SlotTypeRegistry) -> SkillError:
    with pytest.raises(SkillError) as info:
        load_skill(folder, slot_types)
    return info.value


def assert_located(err: SkillError, folder: Path, line: int, key: str, *fragments: str) -> None:
    """The message names the file, the line and the dotted key, in the documented ``file:line: key:`` form."""
    message = str(err)
    path = str(folder / "skill.yaml")
    assert path in message, message
    assert f":{line}:" in message, message
    assert key in message, message
    assert message.startswith(f"{path}:{line}: {key}"), message
    for fragment in fragments:
        assert fragment in message, message
    assert (err.path, err.line) == (path, line)
    assert err.key is not None and err.key.startswith(key)


# ------------------------------------------------------------------------------------------------ a valid skill

VALID = """
name: kitchen
description: timers and lights for the kitchen
slots:
  duration: duration
  count: {type: number, description: how many}
  label: {type: text}
  room:
    type: list
    values:
      - kitchen
      - {value: living room, synonyms: [lounge, sitting room], id: living}
      - 3
  dish:
    type: catalog
    file: dishes.csv
    column: name
    id: code
    aliases: aliases
    weight: popularity
    fuzzy_cutoff: 80
intents:
  SetTimer:
    description: start a countdown
    examples:
      - set a timer for [ten minutes](duration)
      - (start|set) a [five minute](duration) timer( for [the pasta](label))?
      - "{count} timers for {duration}"
    action:
      name: timer.start
      params: {seconds: $duration, label: $label.raw, kind: countdown, repeat: 1}
    response: ["{label} timer set for {duration}.", "Timer set for {duration}."]
    tests:
      - set a timer for an hour
      - text: start a ten minutes timer for the eggs
        slots: {duration: 600, label: the eggs}
  LightsOff:
    examples: ["turn off the {room} lights"]
    response: Lights off in {room}.
  Cook:
    examples: ["cook [pad thai](dish)"]
"""

DISHES = """
code,name,aliases,popularity
d1,Pad Thai,phad thai|pad-thai,5
d2,The Green Curry,,0.5
d3,Risotto,,
"""


def test_valid_skill_loads(skill_dir, slot_types):
    folder, _ = skill_dir(VALID, {"dishes.csv": DISHES})
    skill = load_skill(folder, slot_types)

    assert skill.name == "kitchen"
    assert skill.description == "timers and lights for the kitchen"
    assert skill.path == folder / "skill.yaml"
    assert skill.handler is None
    assert [i.name for i in skill.intents] == ["SetTimer", "LightsOff", "Cook"]

    timer = skill.intent("SetTimer")
    assert timer.qualified == "kitchen.SetTimer"
    assert timer.description == "start a countdown"
    assert timer.examples[0] == "set a timer for [ten minutes](duration)"
    assert len(timer.templates) == 3 and all(isinstance(t, Seq) for t in timer.templates)
    assert timer.action == ActionSpec("timer.start", {"seconds": "$duration", "label": "$label.raw",
                                                      "kind": "countdown", "repeat": 1})
    assert timer.responses == ("{label} timer set for {duration}.", "Timer set for {duration}.")
    assert timer.tests == (
        SkillTest("set a timer for an hour", "kitchen", "SetTimer", {}),
        SkillTest("start a ten minutes timer for the eggs", "kitchen", "SetTimer",
                  {"duration": 600, "label": "the eggs"}),
    )

    lights = skill.intent("LightsOff")
    assert lights.responses == ("Lights off in {room}.",)  # a single string becomes a one-item tuple
    # no action given: skill.intent, every slot of the skill passed through
    assert lights.action == ActionSpec("kitchen.LightsOff", {s: f"${s}" for s in skill.slots})
    assert skill.intent("Nope") is None


def test_valid_skill_slots(skill_dir, slot_types):
    folder, _ = skill_dir(VALID, {"dishes.csv": DISHES})
    skill = load_skill(folder, slot_types)

    assert {n: s.type for n, s in skill.slots.items()} == {
        "duration": "duration", "count": "number", "label": "text", "room": "list", "dish": "catalog"}
    assert skill.slots["count"].description == "how many"

    room = skill.slots["room"]
    assert room.values == (ListValue("kitchen", "kitchen"),
                           ListValue("living room", "living", ("lounge", "sitting room")),
                           ListValue("3", "3"))
    (hit,) = room.match("Lounge", NOW)
    assert (hit.value, hit.entity_id) == ("living room", "living")
    assert room.match("Sitting Room", NOW)[0].entity_id == "living"
    assert room.match("garage", NOW) == ()

    assert skill.slots["duration"].match("ten minutes", NOW)[0].value == 600
    assert skill.slots["duration"].match("ten minutes please", NOW) == ()
    assert skill.slots["label"].match("the pasta", NOW)[0].value == "the pasta"


def test_valid_skill_catalog(skill_dir, slot_types):
    folder, _ = skill_dir(VALID, {"dishes.csv": DISHES})
    catalog = load_skill(folder, slot_types).slots["dish"].catalog
    assert catalog is not None and len(catalog) == 3
    assert catalog.entries == (
        CatalogEntry("d1", "Pad Thai", ("phad thai", "pad-thai"), 5.0),
        CatalogEntry("d2", "The Green Curry", (), 0.5),
        CatalogEntry("d3", "Risotto", (), 1.0),  # empty weight cell: default weight
    )
    assert catalog.fuzzy_cutoff == 80.0
    assert [(m.value, m.entity_id, m.score) for m in catalog.lookup("pad thai")] == [("Pad Thai", "d1", 1.0)]
    assert catalog.lookup("phad thai")[0].entity_id == "d1"  # alias
    assert catalog.lookup("green curry")[0].entity_id == "d2"  # leading article optional
    fuzzy = catalog.lookup("risoto")
    assert fuzzy and fuzzy[0].entity_id == "d3" and 0 < fuzzy[0].score < 1.0
    assert catalog.lookup("chocolate cake") == ()


def test_catalog_without_id_column_numbers_rows(skill_dir, slot_types):
    folder, _ = skill_dir("""
        name: films
        slots:
          title: {type: catalog, file: titles.csv}
        intents:
          Play: {examples: ["play {title}"]}
    """, {"titles.csv": "title\nAlien\nHeat\n"})
    catalog = load_skill(folder, slot_types).slots["title"].catalog
    assert [(e.id, e.name) for e in catalog.entries] == [("1", "Alien"), ("2", "Heat")]


def test_registry_loads_a_folder_of_skills(skill_dir, slot_types, tmp_path):
    skill_dir(VALID, {"dishes.csv": DISHES}, name="kitchen")
    skill_dir("""
        name: home
        intents:
          LightsOn: {examples: [turn on the lights], tests: [lights on]}
    """, name="home")
    (tmp_path / "skills" / "not_a_skill").mkdir()
    registry = SkillRegistry(slot_types)
    registry.add_path(tmp_path / "skills")
    skills = registry.build()
    assert [s.name for s in skills] == ["home", "kitchen"]
    assert skills.intent("home", "LightsOn") is not None
    assert len(skills.tests()) == 3


def test_registry_skips_disabled_skills(skill_dir, slot_types, tmp_path):
    skill_dir("name: home\nintents: {LightsOn: {examples: [lights on]}}\n", name="home")
    registry = SkillRegistry(slot_types, disabled=["home"])
    registry.add_path(tmp_path / "skills")
    assert len(registry.build()) == 0


def test_registry_missing_folder_is_skill_error(slot_types, tmp_path):
    with pytest.raises(SkillError, match="not found") as info:
        SkillRegistry(slot_types).add_path(tmp_path / "nowhere")
    assert str(tmp_path / "nowhere") in str(info.value)


# ------------------------------------------------------------------------------------------------ errors


def test_bad_yaml_syntax(skill_dir, slot_types):
    folder, text = skill_dir("""
        name: timer
        intents:
          SetTimer:
            examples: [set a timer]
            action: : timer.start
    """)
    err = load_error(folder, slot_types)
    message = str(err)
    assert message.startswith(f"{folder / 'skill.yaml'}:{line_of(text, 'action: :')}:"), message
    assert "invalid YAML" in message


def test_unknown_top_level_key(skill_dir, slot_types):
    folder, text = skill_dir("""
        name: timer
        intents:
          SetTimer: {examples: [set a timer]}
        colour: red
    """)
    err = load_error(folder, slot_types)
    assert_located(err, folder, line_of(text, "colour:"), "colour", "unknown key", "intents")


def test_unknown_intent_key(skill_dir, slot_types):
    folder, text = skill_dir("""
        name: timer
        intents:
          SetTimer:
            examples: [set a timer]
            exmaples: [start a timer]
    """)
    err = load_error(folder, slot_types)
    assert_located(err, folder, line_of(text, "exmaples:"), "intents.SetTimer.exmaples", "unknown key", "examples")


def test_unknown_slot_type_lists_known_types(skill_dir, slot_types):
    folder, text = skill_dir("""
        name: timer
        slots:
          length:
            description: how long
            type: durration
        intents:
          SetTimer: {examples: ["set a timer for {length}"]}
    """)
    err = load_error(folder, slot_types)
    assert_located(err, folder, line_of(text, "type: durration"), "slots.length.type", "durration")
    for known in ("duration", "number", "text", "list", "catalog"):
        assert known in str(err)


def test_missing_catalog_file(skill_dir, slot_types):
    folder, text = skill_dir("""
        name: films
        slots:
          title:
            type: catalog
            file: catalogs/titles.csv
        intents:
          Play: {examples: ["play {title}"]}
    """)
    err = load_error(folder, slot_types)
    assert_located(err, folder, line_of(text, "file: catalogs"), "slots.title.file", "titles.csv", "not found")


def test_catalog_column_that_does_not_exist(skill_dir, slot_types):
    folder, text = skill_dir("""
        name: films
        slots:
          title:
            type: catalog
            file: titles.csv
            column: name
            aliases: aka
        intents:
          Play: {examples: ["play {title}"]}
    """, {"titles.csv": "id,name\nm1,Alien\n"})
    err = load_error(folder, slot_types)
    message = str(err)
    assert "'aka'" in message and "titles.csv" in message
    assert "id, name" in message  # the real columns are listed
    # located at the slot's key that names the column or the file
    candidates = [(line_of(text, "aliases: aka"), "slots.title.aliases"), (line_of(text, "file: titles"),
                                                                           "slots.title.file")]
    assert any(message.startswith(f"{folder / 'skill.yaml'}:{line}: {key}:") for line, key in candidates), message


def test_catalog_bad_weight(skill_dir, slot_types):
    folder, _ = skill_dir("""
        name: films
        slots:
          title: {type: catalog, file: titles.csv, weight: w}
        intents:
          Play: {examples: ["play {title}"]}
    """, {"titles.csv": "name,w\nAlien,lots\n"})
    err = load_error(folder, slot_types)
    assert "slots.title" in str(err) and "lots" in str(err) and "row 2" in str(err)


@pytest.mark.parametrize("example, fragment", [
    ("start (a|the timer", "unclosed '('"),
    ("set [x] timer", "(slot_name)"),
    ("set {length} timer", "'length' is not declared"),
    ("set a timer for [ten minutes](lenght)", "'lenght' is not declared"),
    ("set ] timer", "unexpected ']'"),
    ("set {} timer", "slot name"),
    ("set [ ](duration) timer", "empty"),
])
def test_template_syntax_errors(skill_dir, slot_types, example, fragment):
    folder, text = skill_dir(f"""
        name: timer
        slots:
          duration: duration
        intents:
          CancelTimer:
            examples: [cancel the timer]
          SetTimer:
            examples:
              - set a timer for [ten minutes](duration)
              - "{example}"
    """)
    err = load_error(folder, slot_types)
    assert_located(err, folder, line_of(text, f'- "{example}"'), "intents.SetTimer.examples[1]", fragment)
    if "not declared" not in fragment:  # syntax errors quote the example they are about
        assert example in str(err)


def test_action_param_referencing_unknown_slot(skill_dir, slot_types):
    folder, text = skill_dir("""
        name: timer
        slots:
          duration: duration
        intents:
          SetTimer:
            examples: ["set a timer for {duration}"]
            action:
              name: timer.start
              params:
                seconds: $duration
                label: $label
    """)
    err = load_error(folder, slot_types)
    assert_located(err, folder, line_of(text, "label: $label"), "intents.SetTimer.action.params.label", "$label")


def test_action_param_unknown_slot_field(skill_dir, slot_types):
    folder, text = skill_dir("""
        name: timer
        slots:
          duration: duration
        intents:
          SetTimer:
            examples: ["set a timer for {duration}"]
            action: {name: timer.start, params: {seconds: $duration.seconds}}
    """)
    err = load_error(folder, slot_types)
    assert_located(err, folder, line_of(text, "action:"), "intents.SetTimer.action.params.seconds", "'seconds'")


def test_response_referencing_unknown_slot(skill_dir, slot_types):
    folder, text = skill_dir("""
        name: timer
        slots:
          duration: duration
        intents:
          SetTimer:
            examples: ["set a timer for {duration}"]
            response: "Timer {label} set for {duration}."
    """)
    err = load_error(folder, slot_types)
    assert_located(err, folder, line_of(text, "response:"), "intents.SetTimer.response", "{label}")


def test_list_slot_without_values(skill_dir, slot_types):
    folder, text = skill_dir("""
        name: home
        slots:
          room:
            type: list
        intents:
          LightsOn: {examples: ["lights on in the {room}"]}
    """)
    err = load_error(folder, slot_types)
    assert_located(err, folder, line_of(text, "room:"), "slots.room.values", "list")


def test_list_slot_with_empty_values(skill_dir, slot_types):
    folder, text = skill_dir("""
        name: home
        slots:
          room:
            type: list
            values: []
        intents:
          LightsOn: {examples: ["lights on in the {room}"]}
    """)
    err = load_error(folder, slot_types)
    assert_located(err, folder, line_of(text, "values: []"), "slots.room.values", "at least one value")


def test_values_on_a_non_list_slot(skill_dir, slot_types):
    folder, text = skill_dir("""
        name: timer
        slots:
          duration:
            type: duration
            values: [ten minutes]
        intents:
          SetTimer: {examples: ["set a timer for {duration}"]}
    """)
    err = load_error(folder, slot_types)
    assert_located(err, folder, line_of(text, "values:"), "slots.duration.values", "list")


def test_empty_intents(skill_dir, slot_types):
    folder, text = skill_dir("""
        name: timer
        description: nothing yet
        intents: {}
    """)
    err = load_error(folder, slot_types)
    assert_located(err, folder, line_of(text, "intents:"), "intents", "at least one intent")


def test_intent_without_examples(skill_dir, slot_types):
    folder, text = skill_dir("""
        name: timer
        intents:
          SetTimer:
            examples: []
    """)
    err = load_error(folder, slot_types)
    assert_located(err, folder, line_of(text, "examples:"), "intents.SetTimer.examples", "at least one example")


def test_bad_skill_name(skill_dir, slot_types):
    folder, text = skill_dir("""
        name: My Timer
        intents:
          SetTimer: {examples: [set a timer]}
    """)
    err = load_error(folder, slot_types)
    assert_located(err, folder, line_of(text, "name:"), "name", "lower_snake_case")


def test_test_sentence_with_unknown_slot(skill_dir, slot_types):
    folder, text = skill_dir("""
        name: timer
        slots:
          duration: duration
        intents:
          SetTimer:
            examples: ["set a timer for {duration}"]
            tests:
              - text: set a timer for an hour
                slots: {seconds: 3600}
    """)
    err = load_error(folder, slot_types)
    assert_located(err, folder, line_of(text, "slots: {seconds"), "intents.SetTimer.tests[0].slots.seconds",
                   "'seconds'")


def test_duplicate_skill_name_across_folders_names_both_paths(skill_dir, slot_types, tmp_path):
    text = "name: timer\nintents:\n  SetTimer: {examples: [set a timer]}\n"
    first, _ = skill_dir(text, name="timer", root=tmp_path / "a")
    second, _ = skill_dir(text, name="my_timer", root=tmp_path / "b")
    registry = SkillRegistry(slot_types)
    registry.add_path(tmp_path / "a")
    with pytest.raises(SkillError) as info:
        registry.add_path(tmp_path / "b")
    message = str(info.value)
    assert "'timer'" in message
    assert str(first / "skill.yaml") in message
    assert str(second / "skill.yaml") in message


# ------------------------------------------------------------------------------------------------ template language


def sentences(template: str, limit: int = 10_000) -> set[str]:
    out = set()
    for seq in expand_template(parse_template(template), limit=limit):
        out.add(" ".join(x.text if isinstance(x, Word) else "{" + x.name + "}" for x in seq))
    return out


def test_plain_words_are_normalised():
    assert parse_template("Turn OFF the lights") == Seq((Word("turn"), Word("off"), Word("the"), Word("lights")))


def test_alternation():
    tree = parse_template("(turn|switch) off")
    assert tree == Seq((Alt((Seq((Word("turn"),)), Seq((Word("switch"),)))), Word("off")))
    assert sentences("(turn|switch) off the (light|lights)") == {
        "turn off the light", "turn off the lights", "switch off the light", "switch off the lights"}


def test_alternation_of_phrases():
    assert sentences("(turn off|kill) the lights") == {"turn off the lights", "kill the lights"}


def test_optional_group():
    tree = parse_template("cancel (the|my)? timer")
    assert isinstance(tree.items[1], Opt)
    assert sentences("cancel (the|my)? timer") == {"cancel timer", "cancel the timer", "cancel my timer"}


def test_nested_groups():
    assert sentences("a ((b|c) d)? e") == {"a e", "a b d e", "a c d e"}
    assert sentences("((x|y)|(z w))") == {"x", "y", "z w"}


def test_slot_reference_with_example():
    tree = parse_template("set a timer for [Ten Minutes](duration)")
    assert tree.items[-1] == SlotRef("duration", "Ten Minutes")


def test_slot_reference_without_example():
    tree = parse_template("set a timer for { duration }")
    assert tree.items[-1] == SlotRef("duration", None)


def test_optional_part_with_a_slot():
    assert sentences("timer( for [the pasta](label))?") == {"timer", "timer for {label}"}


def test_punctuation_is_ignored():
    assert parse_template("Hello, world! What's up.") == parse_template("hello world what's up")
    assert sentences("ok , turn off the lights !") == {"ok turn off the lights"}


def test_question_mark_ending_a_sentence_is_punctuation():
    """Example sentences are written as people write questions; the final "?" must not make "it" optional."""
    assert sentences("what time is it?") == {"what time is it"}


@pytest.mark.parametrize("template, fragment", [
    ("(a|b", "unclosed '('"),
    ("[ten minutes] timer", "(slot_name)"),
    ("[ten minutes", "unclosed '['"),
    ("a ) b", "unexpected ')'"),
    ("", "empty"),
    ("{1abc}", "slot name"),
])
def test_template_syntax_errors_are_value_errors(template, fragment):
    with pytest.raises(ValueError, match="column") as info:
        parse_template(template)
    assert fragment in str(info.value)


def test_expand_limit_raises_value_error():
    template = " ".join(["(a|b|c)"] * 8)  # 3**8 = 6561 sentences
    with pytest.raises(ValueError, match="100"):
        sentences(template, limit=100)
    assert len(sentences("(a|b) (c|d)", limit=4)) == 4  # exactly at the limit is fine


# ------------------------------------------------------------------------------------- strictness (issue 14)

CATALOG_SKILL = """
name: s
slots:
  thing:
    type: catalog
    file: {file}
intents:
  Get:
    examples: ["get {{thing}}"]
"""


@pytest.mark.parametrize("file", ["../../outside.csv", "ABSOLUTE", "link.csv", "sub/../../outside.csv"])
def test_a_catalog_file_outside_the_skill_folder_is_refused(skill_dir, slot_types, tmp_path, file):
    outside = tmp_path / "outside.csv"
    outside.write_text("name\nsecret\n")
    if file == "ABSOLUTE":
        file = str(outside)
    folder, text = skill_dir(CATALOG_SKILL.format(file=file))
    (folder / "sub").mkdir(exist_ok=True)
    (folder / "link.csv").symlink_to(outside)
    err = load_error(folder, slot_types)
    assert_located(err, folder, line_of(text, "file:"), "slots.thing.file", "outside the skill folder")


def test_a_catalog_file_inside_the_skill_folder_loads_even_through_a_subfolder_or_symlink(skill_dir, slot_types):
    folder, _ = skill_dir(CATALOG_SKILL.format(file="data/../data/link.csv"))
    (folder / "data").mkdir()
    (folder / "data" / "real.csv").write_text("name\nlamp\n")
    (folder / "data" / "link.csv").symlink_to(folder / "data" / "real.csv")
    skill = load_skill(folder, slot_types)
    assert [e.name for e in skill.slots["thing"].catalog.entries] == ["lamp"]


def test_etc_passwd_as_a_catalog_is_refused(skill_dir, slot_types):
    folder, text = skill_dir(CATALOG_SKILL.format(file="../../../../../../../../etc/passwd"))
    err = load_error(folder, slot_types)
    assert_located(err, folder, line_of(text, "file:"), "slots.thing.file", "outside the skill folder")


def test_a_duplicate_key_in_a_skill_is_an_error(skill_dir, slot_types):
    folder, text = skill_dir("""
        name: s
        intents:
          Stop:
            examples: [stop]
          Go:
            examples: [go]
          Stop:
            examples: [halt]
    """)
    err = load_error(folder, slot_types)
    assert str(err).startswith(f"{folder / 'skill.yaml'}:{line_of(text, 'Stop:', 2)}: key 'Stop' appears twice")
    assert f"first on line {line_of(text, 'Stop:')}" in str(err)


@pytest.mark.parametrize("example,hint", [
    ("- [add {item}] to my list", 'quote the example: - "[add {item}] to my list"'),
    ("- {item} to my list", 'quote the example: - "{item} to my list"'),
    ("- [ten](item) things", 'quote the example: - "[ten](item) things"'),
])
def test_an_unquoted_example_starting_with_a_bracket_gets_a_hint(skill_dir, slot_types, example, hint):
    folder, _ = skill_dir(f"""
        name: s
        slots: {{item: text}}
        intents:
          Add:
            examples:
              {example}
    """)
    err = load_error(folder, slot_types)
    assert "invalid YAML" in str(err) and hint in str(err), str(err)


def test_an_example_that_yaml_reads_as_a_list_is_explained(skill_dir, slot_types):
    folder, text = skill_dir("""
        name: s
        slots: {item: text}
        intents:
          Add:
            examples:
              - [add {item}]
    """.replace("[add {item}]", "[add, more]"))
    err = load_error(folder, slot_types)
    assert_located(err, folder, line_of(text, "[add, more]"), "intents.Add.examples[0]", "must be quoted")


def test_yaml_hints_for_tabs_and_a_missing_space(skill_dir, slot_types):
    folder, _ = skill_dir("name: s\nintents:\n  Stop:\n\texamples: [stop]\n")
    assert "indent with spaces" in str(load_error(folder, slot_types))
    folder, _ = skill_dir("name: s\nintents:\n  Stop:\n    examples: [stop]\n    action:stop.now\n    response: ok\n")
    assert "put a space after the colon: action: stop.now" in str(load_error(folder, slot_types))


# ------------------------------------------------------------------------------------- colliding sentences

DUPLICATE_OF_BUNDLED = """
name: lamps
slots:
  place:
    type: list
    values: [kitchen, bedroom]
intents:
  Dark:
    examples:
      - turn off the {place} lights
      - make it dark
    tests:
      - switch off the light
"""


def test_find_collisions_names_both_intents_and_a_sentence(skill_dir, slot_types):
    from hark.collisions import find_collisions
    from hark.skills import SkillSet

    a, _ = skill_dir(DUPLICATE_OF_BUNDLED, name="lamps")
    b, _ = skill_dir("""
        name: house
        slots:
          room: {type: list, values: [bedroom, hall]}
        intents:
          LightsOff:
            examples: ["(turn|switch) off the {room} lights", "switch off the light"]
          Quiet:
            examples: ["make it quiet"]
    """, name="house")
    found = find_collisions(SkillSet([load_skill(a, slot_types), load_skill(b, slot_types)]))
    assert [(c.first, c.second, c.sentence, c.kind) for c in found] == [
        ("house.LightsOff", "lamps.Dark", "turn off the bedroom lights", "template"),
        ("lamps.Dark", "house.LightsOff", "switch off the light", "test")]
    assert "house.LightsOff and lamps.Dark both claim 'turn off the bedroom lights'" in found[0].message()


def test_typed_slots_collide_whatever_their_example(skill_dir, slot_types):
    from hark.collisions import find_collisions
    from hark.skills import SkillSet

    a, _ = skill_dir('name: a\nslots: {d: duration}\nintents:\n  T:\n    examples: ["wait [ten minutes](d)"]\n',
                     name="a")
    b, _ = skill_dir('name: b\nslots: {x: duration}\nintents:\n  U:\n    examples: ["wait {x}"]\n', name="b")
    found = find_collisions(SkillSet([load_skill(a, slot_types), load_skill(b, slot_types)]))
    assert [(c.first, c.second, c.sentence) for c in found] == [("a.T", "b.U", "wait <duration>")]


@pytest.mark.parametrize("command", [["skills"], ["train"]])
def test_skills_and_train_warn_about_a_sentence_a_bundled_skill_claims_too(skill_dir, tmp_path, command):
    import json
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    skill_dir(DUPLICATE_OF_BUNDLED, name="lamps", root=tmp_path / "mine")
    cfg = tmp_path / "config.yaml"
    cfg.write_text(json.dumps({"skills": {"paths": [str(root / "skills"), str(tmp_path / "mine")]},
                               "plugins": {"disabled": ["asr_pocketsphinx", "intent", "entity_resolver"]}}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARK_") or k == "HARK_DATA"}
    env["HARK_CACHE"] = str(tmp_path / "cache")
    proc = subprocess.run([sys.executable, "-m", "hark.cli", "-c", str(cfg), *command], capture_output=True,
                          text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if "lamps.Dark" in line]
    assert any("home.LightsOff and lamps.Dark both claim 'turn off the" in w for w in warnings), proc.stderr
