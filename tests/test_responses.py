"""Responses speak slot values in a normalised form, grammatical whatever words the user chose."""
from __future__ import annotations

import datetime as dt

import pytest

from hark.plugins.skill_actions import render_response, spoken
from hark.plugins.slot_parsers import parse_datetime, parse_duration
from hark.plugins.slot_parsers.spoken import (speak, speak_datetime, speak_duration, speak_number, speak_ordinal,
                                              speak_percentage)
from hark.types import Interpretation, Slot

NOW = dt.datetime.fromisoformat("2026-11-24T21:00:00+01:00")  # a Tuesday


@pytest.mark.parametrize("said, expected", [
    ("tomorrow at 6:30", "6:30 am tomorrow"),
    ("at 6:30 tomorrow", "6:30 am tomorrow"),
    ("half past six tomorrow", "6:30 am tomorrow"),
    ("tomorrow at 7 pm", "7 pm tomorrow"),
    ("at 10", "10 pm today"),
    ("noon", "noon tomorrow"),
    ("midnight", "midnight tonight"),
    ("friday at 7:45 pm", "7:45 pm on Friday"),
    ("tomorrow", "tomorrow"),
    ("friday", "Friday"),
    ("december 24th", "Thursday, December 24"),
    ("december 24th at 8 am", "8 am on Thursday, December 24"),
    ("november 25 2027", "Thursday, November 25, 2027"),
    ("this weekend", "this weekend"),
    ("next week", "next week"),
    ("this week", "this week"),
])
def test_speak_datetime(said, expected):
    assert speak_datetime(parse_datetime(said, NOW), NOW) == expected


def test_speak_datetime_without_a_clock_names_the_date():
    assert speak_datetime(parse_datetime("tomorrow at 6:30", NOW)) == "6:30 am on Wednesday, November 25, 2026"


@pytest.mark.parametrize("said, expected", [
    ("3 minute", "three minutes"), ("3 minutes", "three minutes"), ("a minute", "a minute"),
    ("an hour and a half", "an hour and a half"), ("90 minutes", "an hour and a half"),
    ("90 seconds", "a minute and a half"), ("two and a half hours", "two and a half hours"),
    ("1h30", "an hour and a half"), ("2 hours 15 minutes", "two hours and fifteen minutes"),
    ("an hour one minute and thirty seconds", "an hour, a minute and thirty seconds"),
    ("a day", "a day"), ("45 seconds", "forty five seconds"),
])
def test_speak_duration(said, expected):
    assert speak_duration(parse_duration(said)) == expected


@pytest.mark.parametrize("fn, value, expected", [
    (speak_number, 72, "seventy two"), (speak_number, 0, "zero"), (speak_number, 2.5, "2.5"),
    (speak_number, -3, "-3"), (speak_number, 20.0, "twenty"), (speak_ordinal, 3, "third"),
    (speak_ordinal, 21, "twenty first"), (speak_percentage, 50, "fifty percent"),
    (speak_number, "7", None), (speak_number, True, None), (speak_duration, None, None),
    (speak_datetime, {"iso": "not a date"}, None), (speak_datetime, 5, None),
])
def test_speak_values(fn, value, expected):
    assert fn(value) == expected


def test_speak_unknown_type_is_none():
    assert speak("colour", "red") is None


def _slot(name, raw, value, type_):
    return Slot(name, raw, value, None, 1.0, 0, len(raw), type_)


def test_spoken_falls_back_to_the_words_for_text_and_unresolved_slots():
    assert spoken(_slot("label", "take the pizza out", "take the pizza out", "text")) == "take the pizza out"
    assert spoken(_slot("time", "this weekish", None, "datetime"), NOW) == "this weekish"
    assert spoken(_slot("room", "lounge", "living room", "list")) == "living room"


@pytest.mark.parametrize("raw", ["at 6:30 tomorrow", "tomorrow at 6:30", "6:30 tomorrow morning",
                                 "half past six tomorrow"])
def test_alarm_response_is_grammatical_for_every_form(raw):
    interp = Interpretation("timer", "SetAlarm", 1.0, (_slot("time", raw, parse_datetime(raw, NOW), "datetime"),))
    templates = ("Alarm set for {time}: {label}.", "Alarm set for {time}.")
    assert render_response(templates, interp, NOW) == "Alarm set for 6:30 am tomorrow."


def test_raw_field_still_gives_the_words():
    interp = Interpretation("timer", "SetTimer", 1.0, (_slot("duration", "3 minute", 180, "duration"),))
    assert render_response(("{duration} ({duration.raw}, {duration.value} s)",), interp) == \
        "three minutes (3 minute, 180 s)"
