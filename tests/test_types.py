"""hark.types: the values that cross hook boundaries serialise to JSON and back, and validate what they are given."""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math

import pytest

import hark.types as T
from hark.errors import InputError
from hark.types import (AudioChunk, Context, EntityCandidate, Event, Hypothesis, Interpretation, NBest,
                        HeardSound, PhoneAssessment, PronunciationReport, SceneState, SkillAction, Slot, WordAssessment)

# ------------------------------------------------------------------------------------------------ samples

_CANDIDATE = EntityCandidate(value="The Matrix Reloaded", entity_id="m2", score=0.71)
_SLOT = Slot(name="title", raw="the matrix", value="The Matrix", entity_id="m1", confidence=0.93, start=5, end=15,
             type="catalog", alternatives=(_CANDIDATE, EntityCandidate({"title": "Matrix", "year": 1999}, None, 0.5)))
_DURATION = Slot("duration", "ten minutes", 600, None, 1.0, 16, 27, "duration")
_HEARD = HeardSound(label="pouring_water", score=0.81, start=9.5, end=11.0)
_SCENE = SceneState(scene="kitchen", confidence=0.8, events=(("pouring_water", 0.7), ("footsteps", 0.25)),
                    timestamp=12.5, heard=(_HEARD,), quiet=True)
_ACTION = SkillAction(skill="timer", intent="SetTimer", name="timer.start",
                      params={"duration": 600, "label": None, "nested": {"steps": [1, 2.5, "x"], "ok": True}},
                      response="Timer set for ten minutes.", confidence=0.87, slots=(_DURATION, _SLOT),
                      text="set a timer for ten minutes")
_PHONES = (PhoneAssessment(expected="TH", heard="F", score=0.2, verdict="substitution"),
           PhoneAssessment(expected="R", heard=None, score=0.0, verdict="deletion"))
_WORD = WordAssessment(word="three", score=0.45, phones=_PHONES, ok=False)

#: one instance per dataclass in hark.types.__all__, with every defaulted field set to a non-default value
SAMPLES = {
    "Hypothesis": Hypothesis(text="turn off the lights", score=0.25),
    "NBest": NBest((Hypothesis("turn of the lights", 0.6), Hypothesis("turn off the lights", 0.4)),
                   source="external"),
    # not valid UTF-8 on purpose: bytes must survive as base64
    "AudioChunk": AudioChunk(samples=b"\x00\x01\xff\xfe\x80\x7f" * 3, sample_rate=8000, timestamp=1.25, index=7),
    "EntityCandidate": _CANDIDATE,
    "Slot": _SLOT,
    "Interpretation": Interpretation(skill="media", intent="Play", confidence=0.66, slots=(_SLOT,),
                                     text="play the matrix", hypothesis_index=2, source="intent_templates"),
    "SceneState": _SCENE,
    "HeardSound": _HEARD,
    "PhoneAssessment": _PHONES[0],
    "WordAssessment": _WORD,
    "PronunciationReport": PronunciationReport(expected="three trees", score=0.5,
                                               words=(_WORD, WordAssessment("trees", 0.9)),
                                               feedback=("Try the 'th' in 'three' again.",)),
    "SkillAction": _ACTION,
    "Event": Event(kind="speech_end", data={"name": "timer.start", "params": {"duration": 600}, "list": [1, None]},
                   time=1_764_000_000.5, utterance=3, audio=AudioChunk(b"\x01\x00\xff\x7f", 16000, 1.25)),
    "Context": Context(now="2026-11-24T21:00:00+01:00", locale="en-GB", device_id="kitchen", scene=_SCENE,
                       active_skill="tutor", expected_text="three trees", previous_action=_ACTION,
                       last_report=PronunciationReport(expected="three trees", score=0.5)),
}

#: instances that leave optional parts empty (None, empty tuples): those must round-trip too
MINIMAL = [
    Hypothesis("x"),
    NBest((Hypothesis("x"),)),
    AudioChunk(b""),
    EntityCandidate("x"),
    Slot("a", "b"),
    Interpretation("s", "I", 0.0),
    SceneState(),
    PhoneAssessment("AH", None, 0.0),
    WordAssessment("a", 1.0),
    PronunciationReport("a", 1.0),
    SkillAction("s", "I", "s.I"),
    Event("info"),
    Context(),
]


def _exported_dataclasses() -> list[str]:
    return [name for name in T.__all__ if dataclasses.is_dataclass(getattr(T, name))]


def _round_trip(obj):
    return type(obj).from_dict(json.loads(json.dumps(obj.to_dict())))


# ------------------------------------------------------------------------------------------------ round trips


def test_every_exported_dataclass_has_a_round_trip_sample():
    exported = _exported_dataclasses()
    assert exported, "hark.types.__all__ exports no dataclass?"
    missing = sorted(set(exported) - set(SAMPLES))
    assert not missing, f"add a round-trip sample to tests/test_types.py SAMPLES for: {', '.join(missing)}"
    for name, sample in SAMPLES.items():
        assert type(sample) is getattr(T, name)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_samples_set_every_defaulted_field(name):
    """A field left at its default would not really be tested by the round trip."""
    sample = SAMPLES[name]
    for f in dataclasses.fields(sample):
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            continue
        assert getattr(sample, f.name) != default, f"{name}.{f.name} is at its default in SAMPLES"


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_json_round_trip(name):
    sample = SAMPLES[name]
    data = sample.to_dict()
    text = json.dumps(data)  # plain JSON: no bytes, tuples of objects, or dataclasses left
    assert json.loads(text) == data
    assert _round_trip(sample) == sample


@pytest.mark.parametrize("obj", MINIMAL, ids=lambda o: type(o).__name__)
def test_json_round_trip_minimal(obj):
    assert _round_trip(obj) == obj


def test_round_trip_keeps_nested_types():
    ctx = _round_trip(SAMPLES["Context"])
    assert isinstance(ctx.scene, SceneState)
    assert ctx.scene.events == (("pouring_water", 0.7), ("footsteps", 0.25))
    assert ctx.scene.heard == (_HEARD,) and isinstance(ctx.scene.heard[0], HeardSound)
    assert isinstance(ctx.scene.events, tuple) and isinstance(ctx.scene.events[0], tuple)
    assert isinstance(ctx.previous_action, SkillAction)
    assert isinstance(ctx.previous_action.slots[1].alternatives[0], EntityCandidate)
    assert ctx.previous_action.params["nested"] == {"steps": [1, 2.5, "x"], "ok": True}


def test_audio_bytes_serialise_as_base64_text():
    chunk = SAMPLES["AudioChunk"]
    data = chunk.to_dict()
    assert isinstance(data["samples"], str)
    back = AudioChunk.from_dict(data)
    assert isinstance(back.samples, bytes) and back.samples == chunk.samples
    assert back.duration == pytest.approx(len(chunk.samples) / 2 / 8000)


def test_audio_bad_base64_is_input_error():
    with pytest.raises(InputError, match="samples"):
        AudioChunk.from_dict({"samples": "not base64!!"})


def test_int_given_for_float_field_becomes_float():
    h = Hypothesis.from_dict({"text": "a", "score": 1})
    assert h.score == 1.0 and isinstance(h.score, float)


# ------------------------------------------------------------------------------------------------ from_dict errors


@pytest.mark.parametrize("cls, data, field", [
    (Slot, {"name": "a", "raw": "b", "colour": 1}, "colour"),
    (Hypothesis, {"text": "a", "scroe": 0.5}, "scroe"),
    (Event, {"kind": "info", "payload": {}}, "payload"),
    (Context, {"nwo": "2026-01-01T00:00:00+00:00"}, "nwo"),
])
def test_from_dict_unknown_field_is_input_error_naming_it(cls, data, field):
    with pytest.raises(InputError, match=field) as info:
        cls.from_dict(data)
    assert cls.__name__ in str(info.value)


def test_from_dict_unknown_field_in_nested_object():
    with pytest.raises(InputError, match="bogus"):
        Context.from_dict({"scene": {"scene": "car", "bogus": 1}})


def test_from_dict_missing_required_field_is_input_error():
    with pytest.raises(InputError, match="Slot"):
        Slot.from_dict({"name": "a"})


def test_from_dict_wrong_type_is_input_error():
    with pytest.raises(InputError, match=r"Slot\.name"):
        Slot.from_dict({"name": 3, "raw": "x"})
    with pytest.raises(InputError, match="Interpretation"):
        Interpretation.from_dict({"skill": "s", "intent": "I", "confidence": 1.0, "slots": {"a": 1}})


def test_from_dict_needs_an_object():
    with pytest.raises(InputError, match="Hypothesis"):
        Hypothesis.from_dict(["a", 1.0])


def test_event_unknown_kind_is_input_error():
    with pytest.raises(InputError, match="'nope'"):
        Event("nope")
    with pytest.raises(InputError, match="'nope'"):
        Event.from_dict({"kind": "nope", "data": {}})
    for kind in T.EVENT_KINDS:
        assert Event(kind).kind == kind


def test_nbest_needs_a_hypothesis():
    with pytest.raises(InputError):
        NBest(())
    with pytest.raises(InputError):
        NBest.from_dict({"hypotheses": []})


# ------------------------------------------------------------------------------------------------ NBest.from_scores


def _scores(nbest: NBest) -> dict[str, float]:
    return {h.text: h.score for h in nbest.hypotheses}


def test_from_scores_renormalises_probabilities():
    nb = NBest.from_scores([{"text": "a", "score": 0.6}, {"text": "b", "score": 0.2}])
    assert _scores(nb) == pytest.approx({"a": 0.75, "b": 0.25})
    assert nb.source == "external"


def test_from_scores_sorts_best_first():
    nb = NBest.from_scores([{"text": "low", "score": 0.1}, {"text": "high", "score": 0.9}])
    assert [h.text for h in nb.hypotheses] == ["high", "low"]
    assert nb.best.text == "high"


def test_from_scores_softmaxes_log_scores():
    nb = NBest.from_scores([("a", -1.0), ("b", -3.0), ("c", -3.5)])
    exps = [math.exp(-1.0), math.exp(-3.0), math.exp(-3.5)]
    expected = {t: e / sum(exps) for t, e in zip("abc", exps)}
    assert _scores(nb) == pytest.approx(expected, abs=1e-6)
    assert sum(h.score for h in nb.hypotheses) == pytest.approx(1.0, abs=1e-5)


def test_from_scores_softmaxes_unbounded_logits():
    nb = NBest.from_scores([{"text": "a", "score": 12.0}, {"text": "b", "score": 10.0}])
    assert _scores(nb)["a"] == pytest.approx(1 / (1 + math.exp(-2.0)), abs=1e-6)


def test_from_scores_missing_scores_fall_off_by_rank():
    nb = NBest.from_scores(["first", {"text": "second"}, {"text": "third", "score": None}])
    scores = [h.score for h in nb.hypotheses]
    assert [h.text for h in nb.hypotheses] == ["first", "second", "third"]
    assert scores[0] > scores[1] > scores[2] > 0
    assert sum(scores) == pytest.approx(1.0, abs=1e-5)


def test_from_scores_mixed_missing_scores_is_input_error():
    with pytest.raises(InputError, match="every hypothesis or for none"):
        NBest.from_scores([{"text": "a", "score": 0.5}, {"text": "b"}])


def test_from_scores_merges_duplicates():
    nb = NBest.from_scores([("a", 0.3), (" a ", 0.3), ("b", 0.4)])
    assert _scores(nb) == pytest.approx({"a": 0.6, "b": 0.4})
    assert [h.text for h in nb.hypotheses] == ["a", "b"]


def test_from_scores_drops_empty_and_whitespace_texts():
    nb = NBest.from_scores([{"text": "", "score": 0.2}, {"text": "  \t", "score": 0.3}, {"text": "a", "score": 0.5}])
    assert [h.text for h in nb.hypotheses] == ["a"]
    assert nb.best.score == pytest.approx(1.0)


@pytest.mark.parametrize("items", [[], [{"text": "  "}], ["", " "]])
def test_from_scores_nothing_left_is_input_error(items):
    with pytest.raises(InputError):
        NBest.from_scores(items)


@pytest.mark.parametrize("bad", ["high", "0.5", True, [0.5], {"p": 1}, float("nan"), float("inf")],
                         ids=["word", "numeric-str", "bool", "list", "dict", "nan", "inf"])
def test_from_scores_bad_score_is_input_error_with_index(bad):
    items = [{"text": "fine", "score": 0.5}, {"text": "bad", "score": bad}]
    with pytest.raises(InputError, match=r"\b1\b") as info:
        NBest.from_scores(items)
    assert "score" in str(info.value)


@pytest.mark.parametrize("item, fragment", [
    ({"score": 0.5}, "text"),
    ({"text": 5, "score": 0.5}, "text"),
    (42, "item 2"),
])
def test_from_scores_bad_item_is_input_error_with_index(item, fragment):
    with pytest.raises(InputError, match=r"\b2\b") as info:
        NBest.from_scores([{"text": "a", "score": 0.5}, {"text": "b", "score": 0.3}, item])
    assert fragment in str(info.value)


# ------------------------------------------------------------------------------------------------ Context


def test_context_create_with_aware_datetime_keeps_offset():
    tz = dt.timezone(dt.timedelta(hours=1))
    now = dt.datetime(2026, 11, 24, 21, 0, 5, 123456, tzinfo=tz)
    ctx = Context.create(now, locale="en-GB", device_id="kitchen")
    assert ctx.now == "2026-11-24T21:00:05+01:00"
    assert ctx.locale == "en-GB" and ctx.device_id == "kitchen"
    assert ctx.clock == now.replace(microsecond=0)
    assert ctx.clock.utcoffset() == dt.timedelta(hours=1)


def test_context_create_with_naive_datetime_uses_local_zone():
    naive = dt.datetime(2026, 7, 1, 8, 30, 0)
    ctx = Context.create(naive)
    clock = ctx.clock
    assert clock.tzinfo is not None
    assert clock.replace(tzinfo=None) == naive  # the wall-clock time is kept, the machine's zone added
    assert clock == naive.astimezone()


def test_context_create_with_string():
    ctx = Context.create("2026-11-24T21:00:00-05:00")
    assert ctx.now == "2026-11-24T21:00:00-05:00"
    assert ctx.clock == dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.timezone.utc)
    naive = Context.create("2026-11-24T21:00:00")
    assert naive.clock.tzinfo is not None and naive.clock.replace(tzinfo=None) == dt.datetime(2026, 11, 24, 21)


def test_context_create_with_bad_string_is_input_error():
    with pytest.raises(InputError, match="tomorrow"):
        Context.create("tomorrow")


def test_context_create_default_is_now():
    before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    ctx = Context.create()
    after = dt.datetime.now(dt.timezone.utc)
    assert ctx.clock.tzinfo is not None
    assert before <= ctx.clock <= after


def test_context_clock_of_empty_now_is_current_time():
    ctx = Context()
    clock = ctx.clock
    assert clock.tzinfo is not None
    assert abs((clock - dt.datetime.now(dt.timezone.utc)).total_seconds()) < 5
