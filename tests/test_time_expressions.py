"""Times people mean (docs/time-expressions.md): the independent table, each policy rule and each reported bug,
through the public API (``Engine.parse`` with ``engine.context(now=...)``)."""
from __future__ import annotations

import datetime as dt

import pytest

from hark import Engine
from hark.config import load_config
from hark.plugins.slot_parsers import parse_datetime, wake_up_slots
from hark.plugins.slot_parsers.timepolicy import is_wake_up
from hark.types import Interpretation, Slot

from conftest import ROOT

TABLE = ROOT / "tests" / "data" / "time_expressions.tsv"
EVENING = "2026-11-24T21:00:00+01:00"  # a Tuesday
AFTERNOON = "2026-11-24T14:00:00+01:00"


@pytest.fixture(scope="module")
def engine():
    with Engine.from_config() as e:
        yield e


@pytest.fixture(scope="module")
def template_engine():
    """The template tier alone (the trained tier disabled)."""
    with Engine(load_config(None, **{"plugins.disabled": ["intent"]})) as e:
        yield e


def _slot(engine, text, now, name):
    result = engine.parse(text, engine.context(now=now))
    assert result.action is not None, f"{text!r}: no action"
    slot = next((s for s in result.action.slots if s.name == name), None)
    return result, slot


def _when(engine, text, now, name="time"):
    _, slot = _slot(engine, text, now, name)
    assert slot is not None and slot.value is not None, f"{text!r}: no {name} value"
    return slot.value["iso"][:16]


# --------------------------------------------------------------------------------------------------- the table


def _rows():
    rows = []
    for line in TABLE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            utterance, now, slot, iso, grain, *note = line.split("\t")
            rows.append((utterance, now, slot, iso, grain, note[0] if note else ""))
    return rows


def test_time_expression_table_is_at_least_98_percent_right(engine):
    rows = _rows()
    assert len(rows) >= 150
    wrong = []
    for utterance, now, slot_name, iso, grain, note in rows:
        result = engine.parse(utterance, engine.context(now=now))
        slots = {s.name: s.value for s in result.action.slots} if result.action else {}
        got = slots.get(slot_name)
        if got != {"iso": iso, "grain": grain}:
            wrong.append(f"{utterance!r} @ {now}: expected {iso} {grain}, got {got}  ({note})")
    accuracy = 1 - len(wrong) / len(rows)
    assert accuracy >= 0.98, f"{len(rows) - len(wrong)}/{len(rows)} right:\n" + "\n".join(wrong)


# --------------------------------------------------------------------------------------------------- policy rules


@pytest.mark.parametrize("text, now, expected", [
    ("set an alarm for 7 pm", EVENING, "2026-11-25T19:00"),           # am/pm
    ("set an alarm for 7 a.m.", AFTERNOON, "2026-11-25T07:00"),
    ("set an alarm for 6 in the evening", EVENING, "2026-11-25T18:00"),  # part of the day
    ("set an alarm for 11 tonight", AFTERNOON, "2026-11-24T23:00"),
    ("set an alarm for 2 this afternoon", "2026-11-24T09:00:00+01:00", "2026-11-24T14:00"),
    ("set an alarm for 07:30", AFTERNOON, "2026-11-25T07:30"),        # 24-hour forms
    ("set an alarm for 19:30", EVENING, "2026-11-25T19:30"),
    ("set an alarm for oh seven hundred", AFTERNOON, "2026-11-25T07:00"),
    ("set an alarm for nineteen thirty", AFTERNOON, "2026-11-24T19:30"),
    ("set an alarm for noon", AFTERNOON, "2026-11-25T12:00"),
    ("set an alarm for midnight", AFTERNOON, "2026-11-25T00:00"),
    ("wake me up at 6 pm", AFTERNOON, "2026-11-24T18:00"),            # explicit beats the wake-up rule
])
def test_rule1_explicit_wins(engine, text, now, expected):
    assert _when(engine, text, now) == expected


@pytest.mark.parametrize("text, now, expected", [
    ("wake me up at 6", AFTERNOON, "2026-11-25T06:00"),       # not 18:00 today
    ("get me up at 7:15", AFTERNOON, "2026-11-25T07:15"),
    ("i need to be up by 5", AFTERNOON, "2026-11-25T05:00"),
    ("i have to get up at 8", EVENING, "2026-11-25T08:00"),
    ("wake me up tomorrow at 4", EVENING, "2026-11-25T04:00"),  # beats rule 3's afternoon
    ("wake me up at 6 this evening", AFTERNOON, "2026-11-24T18:00"),  # evening words say otherwise
])
def test_rule2_wake_ups_are_in_the_morning(engine, text, now, expected):
    assert _when(engine, text, now) == expected


def test_rule2_without_a_wake_up_the_next_occurrence_wins(engine):
    assert _when(engine, "set an alarm for 6", AFTERNOON) == "2026-11-24T18:00"


@pytest.mark.parametrize("text, expected", [
    ("set an alarm for tomorrow at 6", "2026-11-25T06:00"),
    ("set an alarm for tomorrow at 11", "2026-11-25T11:00"),
    ("set an alarm for tomorrow at 12", "2026-11-25T12:00"),
    ("set an alarm for tomorrow at 2", "2026-11-25T14:00"),
    ("set an alarm for tomorrow at 4", "2026-11-25T16:00"),
    ("set an alarm for 7 tomorrow", "2026-11-25T07:00"),
    ("set an alarm for monday at 8", "2026-11-30T08:00"),
])
def test_rule3_an_ambiguous_hour_on_a_named_day(engine, text, expected):
    assert _when(engine, text, EVENING) == expected


@pytest.mark.parametrize("now, expected", [(EVENING, "2026-11-25T06:00"), (AFTERNOON, "2026-11-24T18:00")])
def test_rule4_an_ambiguous_hour_without_a_day_is_the_next_one(engine, now, expected):
    assert _when(engine, "set an alarm for at 6", now) == expected


@pytest.mark.parametrize("text, now, expected", [
    ("set an alarm for 8 pm", EVENING, "2026-11-25T20:00"),            # past today -> tomorrow
    ("set an alarm for 9 pm", EVENING, "2026-11-25T21:00"),            # now exactly counts as past
    ("set an alarm for tuesday at 10 pm", EVENING, "2026-12-01T22:00"),  # a weekday is strictly after today
    ("set an alarm for friday at 7 am", EVENING, "2026-11-27T07:00"),
    ("set an alarm for the 24th at 7 am", EVENING, "2026-12-24T07:00"),  # today, time past -> next month
])
def test_rule5_past_times_and_weekdays(engine, text, now, expected):
    assert _when(engine, text, now) == expected


# --------------------------------------------------------------------------------------------------- the bugs


@pytest.mark.parametrize("text, expected", [
    ("wake me up tomorrow at 6:30", "2026-11-25T06:30"),
    ("wake me up tomorrow at 5", "2026-11-25T05:00"),
    ("wake me up tomorrow at 6", "2026-11-25T06:00"),
    ("wake me up at half past six tomorrow", "2026-11-25T06:30"),
    ("set an alarm for 7 tomorrow", "2026-11-25T07:00"),
    ("set an alarm for 7 tomorrow morning", "2026-11-25T07:00"),
])
@pytest.mark.parametrize("tiers", ["engine", "template_engine"])
def test_alarm_bugs_at_nine_pm(request, tiers, text, expected):
    assert _when(request.getfixturevalue(tiers), text, EVENING) == expected


@pytest.mark.parametrize("text, expected", [
    ("wake me up tomorrow at 6:30", "Alarm set for 6:30 am tomorrow."),
    ("wake me up at half past six tomorrow", "Alarm set for 6:30 am tomorrow."),
    ("set a timer for 3 minute", "Timer set for three minutes."),
    ("set a timer for an hour and a half", "Timer set for an hour and a half."),
    ("set the thermostat to 72", "Setting the thermostat to seventy two degrees."),
])
def test_responses_speak_the_normalised_value(engine, text, expected):
    result = engine.parse(text, engine.context(now=EVENING))
    assert result.action.response == expected


@pytest.mark.parametrize("tiers", [
    pytest.param("engine", marks=pytest.mark.xfail(
        strict=False, reason="the shipped intent model tags no label here; the SetTimer templates added for it "
                             "(commit 6899e83) reach it when the model is retrained from the skills")),
    "template_engine",
])
def test_reminder_keeps_its_label(request, tiers):
    engine = request.getfixturevalue(tiers)
    result, label = _slot(engine, "remind me in 25 minutes to take the pizza out", EVENING, "label")
    assert result.action.intent == "SetTimer"
    assert label is not None and label.value == "take the pizza out"
    assert result.action.params["duration"] == 1500


@pytest.mark.parametrize("tiers", ["engine", "template_engine"])
def test_pronunciation_word_is_filled(request, tiers):
    result, word = _slot(request.getfixturevalue(tiers), "how do you pronounce quinoa", EVENING, "word")
    assert result.action.intent == "PracticeWord"
    assert word is not None and word.value == "quinoa"
    # the tutor plugin answers with the word's sounds and arms practice mode for it
    assert result.action.response.startswith("Listen: quinoa. The sounds are quinoa: ")
    assert result.action.params["practice"] == "quinoa"


@pytest.mark.parametrize("tiers", ["engine", "template_engine"])
def test_rain_in_paris_this_weekend(request, tiers):
    e = request.getfixturevalue(tiers)
    result = e.parse("rain in paris this weekend", e.context(now=EVENING))
    assert result.action is not None and result.action.intent == "WillItRain"
    assert result.action.params["location"] == "paris"
    assert result.action.params["when"] == {"iso": "2026-11-28T00:00:00+01:00", "grain": "weekend"}


@pytest.mark.parametrize("tiers", ["engine", "template_engine"])
@pytest.mark.parametrize("text", ["bump the heat up to 72", "turn the heating up to 72 degrees"])
def test_bump_the_heat_up_to_a_number_sets_the_thermostat(request, tiers, text):
    e = request.getfixturevalue(tiers)
    result = e.parse(text)
    assert (result.action.intent, result.action.params["degrees"]) == ("SetThermostat", 72)


def test_turn_the_heat_up_without_a_number_still_changes_it(template_engine):
    result = template_engine.parse("turn the heat up a bit")
    assert result.action.intent == "ChangeTemperature"


# --------------------------------------------------------------------------------------------------- the wake-up cue


@pytest.mark.parametrize("words, expected", [
    ("wake me up", True), ("wake me", True), ("get me up", True), ("i need to get up", True),
    ("i have to be up by", True), ("set an alarm for", False), ("turn up the heat", False),
    ("wake me up from my nap", False), ("wake me this evening", False),
])
def test_is_wake_up(words, expected):
    assert is_wake_up(words.split()) is expected


def test_wake_up_slots_reads_only_a_wake_up_as_morning():
    now = dt.datetime.fromisoformat(AFTERNOON)
    slot = Slot("time", "at 6", parse_datetime("at 6", now), None, 1.0, 10, 14, "datetime")
    assert slot.value["iso"].startswith("2026-11-24T18:00")
    woken = wake_up_slots(Interpretation("timer", "SetAlarm", 1.0, (slot,), "wake me at 6"), now)
    assert woken[0].value["iso"].startswith("2026-11-25T06:00")
    plain = Slot("time", "6", parse_datetime("6", now), None, 1.0, 17, 18, "datetime")
    assert wake_up_slots(Interpretation("timer", "SetAlarm", 1.0, (plain,), "set an alarm for 6"), now) is None
