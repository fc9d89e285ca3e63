"""Slots declared ``multiple``: one request fills them more than once ("from boston or denver", "the kitchen and
the hall lights"), and every value reaches the action, the response and the skill tests."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from hark import Engine, load_config
from hark.errors import SkillError
from hark.plugins.skill_actions import build_action
from hark.skillcheck import values_match
from hark.skills import SkillSet, load_skill
from hark.slots import SlotTypeRegistry
from hark.types import Interpretation, Slot, slot_values

ROOT = Path(__file__).resolve().parent.parent
ATIS = ROOT / "benchmarks" / "artifacts" / "atis"

LIGHTS = """
name: lights
slots:
  room: {type: list, values: [kitchen, hall, bedroom], multiple: true}
  level: {type: list, values: [dim, bright]}
intents:
  LightsOn:
    examples: ["turn on the {room} lights"]
    action: {name: lights.on, params: {rooms: $room, ids: $room.raw, level: $level}}
    response: "Turning on the {room} lights."
"""


def lights(tmp_path: Path, text: str = LIGHTS) -> SkillSet:
    folder = tmp_path / "lights"
    folder.mkdir()
    (folder / "skill.yaml").write_text(text, encoding="utf-8")
    return SkillSet([load_skill(folder, SlotTypeRegistry())])


def reading(*slots: Slot) -> Interpretation:
    return Interpretation("lights", "LightsOn", 0.9, slots)


def test_multiple_is_read_from_the_skill_file(tmp_path):
    skill = lights(tmp_path).get("lights")
    assert skill.slots["room"].multiple and not skill.slots["level"].multiple


def test_multiple_must_be_a_boolean(tmp_path):
    with pytest.raises(SkillError, match=r"slots\.room\.multiple.*true or false"):
        lights(tmp_path, LIGHTS.replace("multiple: true", "multiple: often"))


def test_action_gets_every_value_as_a_list_and_the_response_names_them_all(tmp_path):
    action = build_action(reading(Slot("room", "kitchen", "kitchen", type="list"),
                                  Slot("room", "the hall", "hall", type="list")), lights(tmp_path))
    assert action.params == {"rooms": ["kitchen", "hall"], "ids": ["kitchen", "the hall"], "level": None}
    assert action.response == "Turning on the kitchen and hall lights."


def test_one_value_of_a_multiple_slot_is_still_a_list(tmp_path):
    action = build_action(reading(Slot("room", "kitchen", "kitchen", type="list")), lights(tmp_path))
    assert action.params["rooms"] == ["kitchen"]
    assert action.response == "Turning on the kitchen lights."


def test_slot_values_lists_a_name_filled_twice():
    interp = reading(Slot("room", "kitchen", "kitchen"), Slot("level", "dim", "dim"), Slot("room", "hall", "hall"),
                     Slot("room", "bedroom", "bedroom"))
    assert slot_values(interp.slots) == {"room": ["kitchen", "hall", "bedroom"], "level": "dim"}
    assert interp.slot("room").value == "kitchen"
    assert values_match(["Kitchen", "hall"], ["kitchen", "hall"]) and not values_match(["kitchen"], ["kitchen", "hall"])


@pytest.fixture(scope="module")
def atis_engines(tmp_path_factory):
    """The ATIS benchmark model with its generated skill pack, and the same pack with ``multiple`` removed."""
    single = tmp_path_factory.mktemp("atis") / "atis"
    shutil.copytree(ATIS, single)
    pack = single / "skills" / "atis" / "skill.yaml"
    skill = yaml.safe_load(pack.read_text(encoding="utf-8"))
    assert skill["slots"]["fromloc_city_name"].get("multiple") is True
    for spec in skill["slots"].values():
        spec.pop("multiple", None)
    pack.write_text(yaml.safe_dump(skill, sort_keys=False), encoding="utf-8")
    engines = Engine(load_config(ATIS / "config.yaml", env={})), Engine(load_config(single / "config.yaml", env={}))
    yield engines
    for engine in engines:
        engine.close()


def test_trained_tier_keeps_every_span_of_a_multiple_slot(atis_engines):
    many, single = atis_engines
    text = "i want to fly from pittsburgh to atlanta and then from atlanta to boston"
    got = many.parse(text).best
    assert [s.raw for s in got.slots_named("fromloc_city_name")] == ["pittsburgh", "atlanta"]
    assert [s.raw for s in got.slots_named("toloc_city_name")] == ["atlanta", "boston"]
    assert slot_values(got.slots)["toloc_city_name"] == ["atlanta", "boston"]
    once = single.parse(text).best
    assert [s.raw for s in once.slots_named("fromloc_city_name")] == ["pittsburgh"]


def test_packs_declare_multiple_only_for_slots_the_data_often_fills_twice():
    from training.skill_packs import multiple_slots
    twice = ["B-city", "O", "B-city"]
    once = ["B-city", "O", "B-date"]
    assert multiple_slots([twice] * 3 + [once] * 97) == {"city"}  # 3 of 100 sentences with a city
    assert multiple_slots([twice] * 3 + [once] * 400) == set()  # under 1 %
    assert multiple_slots([twice] * 2) == set()  # too few to tell
