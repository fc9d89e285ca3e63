"""Sensitive actions wait for a yes in the same conversation (skills mark them ``confirm:``)."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from hark import SkillError
from hark.conversation import answer_of

ROOT = Path(__file__).resolve().parent.parent
HARK = [str(Path(sys.executable).with_name("hark"))]

DOORS = """
name: doors
description: locks
slots:
  door: {type: list, values: [front door, back door]}
intents:
  Unlock:
    description: Unlock a door.
    confirm: ["Unlock the {door}?", "Unlock which door?"]
    examples: ["unlock the {door}", "unlock (the|a) door"]
    action: {name: doors.unlock, params: {door: $door}}
    response: Unlocking the {door}.
  Lock:
    examples: ["lock the {door}"]
    action: {name: doors.lock, params: {door: $door}}
"""

NOW = dt.datetime(2026, 12, 4, 21, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def engine(write_skill, make_engine):
    write_skill("doors", DOORS)
    return make_engine()


def at(engine, seconds: float):
    return engine.context(now=(NOW + dt.timedelta(seconds=seconds)).isoformat())


def test_a_sensitive_intent_asks_instead_of_acting(engine):
    r = engine.parse("unlock the front door", at(engine, 0))
    assert r.action is None and not r.out_of_scope
    assert r.confirm.prompt == "Unlock the front door?"
    assert [e.kind for e in r.events if e.kind in ("confirm", "action")] == ["confirm"]
    d = r.to_dict()
    assert d["intent"] == "Unlock" and d["action"] is None and d["confirm"]["expires_in_s"] == 20.0
    assert engine.parse("unlock the door", at(engine, 0)).confirm.prompt == "Unlock which door?"
    assert engine.parse("lock the back door", at(engine, 0)).action.name == "doors.lock"  # not sensitive


def test_yes_in_the_same_conversation_acts(engine):
    talk = engine.conversation()
    assert talk.parse("unlock the front door", at(engine, 0)).confirm is not None
    r = talk.parse("yes please", at(engine, 3))
    assert r.action.name == "doors.unlock" and r.action.params == {"door": "front door"}
    assert talk.parse("yes", at(engine, 4)).action is None  # one yes, one action


def test_no_other_talk_late_yes_or_another_conversation_never_acts(engine):
    talk = engine.conversation()
    talk.parse("unlock the front door", at(engine, 0))
    r = talk.parse("no", at(engine, 2))
    assert r.action is None and r.cancelled and not r.out_of_scope
    assert next(e for e in r.events if e.kind == "cancelled").data["reason"] == "declined"

    talk.parse("unlock the front door", at(engine, 10))
    assert talk.parse("lock the back door", at(engine, 12)).action.name == "doors.lock"  # a new request
    assert talk.parse("yes", at(engine, 13)).action is None  # the unlock lapsed

    talk.parse("unlock the back door", at(engine, 20))
    late = talk.parse("yes", at(engine, 20 + 21))
    assert late.action is None and next(e for e in late.events if e.kind == "cancelled").data["reason"] == "expired"

    kitchen, hallway = engine.conversation(), engine.conversation()
    kitchen.parse("unlock the front door", at(engine, 50))
    assert hallway.parse("yes", at(engine, 51)).action is None
    assert engine.parse("yes", at(engine, 51)).action is None  # a bare parse has no conversation


@pytest.mark.parametrize("text, answer", [("yes", "yes"), ("yeah go ahead", "yes"), ("hey hark yes please", "yes"),
                                          ("ok do it", "yes"), ("no", "no"), ("nope", "no"), ("don't", "no"),
                                          ("never mind", "no"), ("yes don't", None), ("turn on the lights", None),
                                          ("", None)])
def test_answers(text, answer):
    assert answer_of(text) == answer


def test_stream_is_one_conversation(tmp_path, write_skill):
    write_skill("doors", DOORS)
    config = tmp_path / "config.yaml"
    config.write_text(f"skills:\n  paths: [{tmp_path / 'skills'}]\nplugins:\n  disabled: [intent, asr_pocketsphinx]\n")
    lines = "unlock the back door\nyes\nunlock the front door\nno\n"
    proc = subprocess.run([*HARK, "--config", str(config), "stream"], input=lines, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    kinds = [(e["kind"], e["data"].get("name") or e["data"].get("reason") or e["data"].get("prompt"))
             for e in map(json.loads, proc.stdout.splitlines()) if e["kind"] in ("confirm", "action", "cancelled")]
    assert kinds == [("confirm", "Unlock the back door?"), ("action", "doors.unlock"),
                     ("confirm", "Unlock the front door?"), ("cancelled", "declined")]


def test_bundled_home_skill_confirms_unlocking(bundled_engine):
    r = bundled_engine.parse("unlock the front door")
    assert r.action is None and r.confirm.prompt == "Unlock the front door? Say yes or no."


@pytest.mark.parametrize("snippet, fragment", [
    ('confirm: "Unlock the {window}?"', "unknown slot {window}"),
    ("confirm: 3", "true, false, or the question"),
    ("min_confidence: 7", "(0, 1]"),
    ("min_confidence: .nan", "(0, 1]"),
])
def test_bad_confirm_and_threshold_settings_are_named(write_skill, make_engine, snippet, fragment):
    write_skill("doors", DOORS.replace('    confirm: ["Unlock the {door}?", "Unlock which door?"]\n', f"    {snippet}\n"))
    with pytest.raises(SkillError, match=fragment.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")
                       .replace("]", r"\]").replace("{", r"\{").replace("}", r"\}")):
        make_engine()


def test_per_intent_threshold(write_skill, make_engine):
    write_skill("doors", DOORS.replace("  Lock:\n", "  Lock:\n    min_confidence: 1.0\n"))
    engine = make_engine()
    assert engine.parse("lock the front door").action is not None  # an exact match scores 1.0
    assert engine.parse("please lock the front door").action is None  # a skipped filler costs a little
    assert make_engine(**{"skills.paths": [str(write_skill("doors", DOORS).parent)]}) \
        .parse("please lock the front door").action is not None
