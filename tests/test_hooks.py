"""The hook contract: every hook documented (docstring + docs/hooks.md) and exercised by a test_hook_<name> here.

Each test registers a small real plugin object and drives the real Engine through the public API.
"""
from __future__ import annotations

import dataclasses
import inspect
import math
import struct

import pytest

import hark
from hark import hookimpl, hookspecs
from hark.types import AudioChunk, Event, Hypothesis, NBest, PronunciationReport, SceneState, SkillAction, WordAssessment

from conftest import HOME_SKILL, ROOT, TIMER_SKILL

HOOKS = hookspecs.hook_names()


def test_hook_list_is_complete():
    assert {"hark_startup", "hark_shutdown", "hark_register_skills", "hark_register_slot_types", "hark_audio_chunk",
            "hark_transcribe", "hark_interpret", "hark_resolve", "hark_scene", "hark_assess_pronunciation",
            "hark_act", "hark_event", "hark_compile", "hark_audio_end"} <= set(HOOKS)


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_has_a_docstring_saying_caller_and_kind(name):
    doc = inspect.getdoc(getattr(hookspecs, name)) or ""
    assert len(doc) > 80, f"{name}: docstring too short"
    assert "Called" in doc, f"{name}: docstring must say who calls it and when"
    assert ("firstresult" in doc) or ("Broadcast" in doc), f"{name}: say firstresult or broadcast"


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_is_in_docs_with_its_exact_signature(name):
    docs = (ROOT / "docs" / "hooks.md").read_text(encoding="utf-8")
    args = ", ".join(inspect.signature(getattr(hookspecs, name)).parameters)
    assert f"## {name}({args})" in docs, f"docs/hooks.md lacks the heading '## {name}({args})'"


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_has_a_test_here(name):
    assert f"test_{name.replace('hark_', 'hook_', 1)}" in globals(), f"write test_hook_{name[5:]} in this file"


@pytest.mark.parametrize("name", HOOKS)
def test_firstresult_specs_match_docstrings(name):
    spec_opts = getattr(getattr(hookspecs, name), "hark_spec")
    doc = inspect.getdoc(getattr(hookspecs, name))
    assert spec_opts["firstresult"] == ("firstresult" in doc and "Broadcast" not in doc)


# ------------------------------------------------------------------------------------------ one test per hook


class Recorder:
    """Counts calls per hook."""

    name = "recorder"

    def __init__(self):
        self.calls: dict[str, int] = {}

    def _hit(self, hook):
        self.calls[hook] = self.calls.get(hook, 0) + 1


def test_hook_startup(write_skill, make_engine):
    write_skill("home", HOME_SKILL)

    class P(Recorder):
        @hookimpl
        def hark_startup(self, engine):
            self._hit("startup")
            self.skill_names = [s.name for s in engine.skills]

    p = P()
    make_engine(plugins=[p])
    assert p.calls == {"startup": 1} and p.skill_names == ["home"]


def test_hook_shutdown(write_skill, make_engine):
    write_skill("home", HOME_SKILL)

    class P(Recorder):
        @hookimpl
        def hark_shutdown(self, engine):
            self._hit("shutdown")

    p = P()
    engine = make_engine(plugins=[p])
    engine.close()
    engine.close()  # idempotent
    assert p.calls == {"shutdown": 1}


def test_hook_register_slot_types(write_skill, make_engine):
    write_skill("paint", """
        name: paint
        description: colours
        intents:
          Paint:
            examples: ["paint it {color}"]
            action: {name: paint.it, params: {color: $color}}
        slots:
          color: {type: hexcolor}
    """)

    class Colors:
        name = "colors"

        @hookimpl
        def hark_register_slot_types(self, registry):
            table = {"red": "#ff0000", "blue": "#0000ff"}
            registry.add("hexcolor", lambda text, context: table.get(text), description="colour -> hex")

    engine = make_engine(plugins=[Colors()])
    result = engine.parse("paint it blue")
    assert result.action.params == {"color": "#0000ff"}
    assert engine.parse("paint it plaid").action is None


def test_hook_register_slot_types_duplicate_is_a_startup_error(write_skill, make_engine):
    write_skill("home", HOME_SKILL)

    class Dup:
        name = "dup"

        @hookimpl
        def hark_register_slot_types(self, registry):
            registry.add("duration", lambda t, c: None)

    with pytest.raises(hark.PluginError, match=r"'duration' registered twice: by 'dup' and 'slot_parsers'"):
        make_engine(plugins=[Dup()])


def test_hook_register_skills(write_skill, make_engine, tmp_path):
    extra = tmp_path / "extra" / "timer"
    extra.mkdir(parents=True)
    (extra / "skill.yaml").write_text(inspect.cleandoc(TIMER_SKILL))
    write_skill("home", HOME_SKILL)

    class Ships:
        name = "ships_timer"

        @hookimpl
        def hark_register_skills(self, registry):
            registry.add_path(extra.parent)

    engine = make_engine(plugins=[Ships()])
    assert [s.name for s in engine.skills] == ["home", "timer"]
    assert engine.parse("set a timer for ten minutes").action.params["duration"] == 600


def test_hook_audio_chunk(write_skill, make_engine):
    write_skill("home", HOME_SKILL)
    seen = []

    class Observer:
        name = "observer"

        @hookimpl
        def hark_audio_chunk(self, chunk, context):
            seen.append((chunk.index, round(chunk.duration, 3)))
            if chunk.index == 2:
                return Event("speech_start", {"at": chunk.timestamp})

    engine = make_engine(plugins=[Observer()])
    frames = [AudioChunk(_tone(0.03, 440), 16000, i * 0.03, i) for i in range(4)]
    events = list(engine.stream(frames))
    assert seen == [(0, 0.03), (1, 0.03), (2, 0.03), (3, 0.03)]
    assert [e.kind for e in events] == ["speech_start"]


def test_hook_audio_end(write_skill, make_engine):
    """An utterance still open when the audio ends is closed by the end-of-stream hook, then transcribed."""
    write_skill("home", HOME_SKILL)

    class Endpointer:
        name = "open_ended"

        def __init__(self):
            self.buffer = b""

        @hookimpl
        def hark_audio_chunk(self, chunk):
            self.buffer += chunk.samples
            return [Event("speech_start", {"start": 0.0})] if chunk.index == 0 else None

        @hookimpl
        def hark_audio_end(self, context):
            audio, self.buffer = self.buffer, b""
            return Event("speech_end", {"audio_start": 0.5}, audio=AudioChunk(audio, 16000, 0.5))

    class Asr:
        name = "fake_asr"

        @hookimpl
        def hark_transcribe(self, audio):
            self.timestamp = audio.timestamp
            return NBest.from_text("turn on the lights")

    asr = Asr()
    engine = make_engine(plugins=[Endpointer(), asr])
    frames = [AudioChunk(_tone(0.03, 300), 16000, i * 0.03, i) for i in range(3)]
    events = list(engine.stream(frames + ["turn off the lights"]))
    kinds = [e.kind for e in events]
    assert kinds[:2] == ["speech_start", "speech_end"] and kinds.count("action") == 2
    assert asr.timestamp == 0.5  # the utterance audio is stamped with its first sample's time
    assert [e.data["name"] for e in events if e.kind == "action"] == ["home.lights_on", "home.lights_off"]


def test_hook_end_of_turn(write_skill, make_engine):
    """The vad plugin asks at a short pause whether the request is complete: a sure judge ends the utterance
    there (reason "complete"), an unsure one or none makes it wait the full silence."""
    write_skill("home", HOME_SKILL)

    class Judge:
        name = "judge"

        def __init__(self, answer):
            self.answer, self.asked = answer, []

        @hookimpl
        def hark_end_of_turn(self, end, context):
            self.asked.append((round(end, 2), context is not None))
            return self.answer

    class Asr:
        name = "fake_asr"

        @hookimpl
        def hark_transcribe(self, audio):
            return NBest.from_text("turn on the lights")

    audio = b"\0\0" * 8000 + _tone(0.6, 300) + b"\0\0" * 16000
    frames = [AudioChunk(audio[i:i + 960], 16000, i / 32000, k) for k, i in enumerate(range(0, len(audio), 960))]
    ends = {}
    for answer in (0.95, 0.3, None):
        judge = Judge(answer)
        engine = make_engine(plugins=[judge, Asr()], **{"plugins.settings.vad": {"early_silence_ms": 210}})
        events = list(engine.stream(frames))
        end = next(e for e in events if e.kind == "speech_end")
        ends[answer] = (end.data["reason"], end.data["end"])
        assert judge.asked and judge.asked[0][1] and [e.kind for e in events].count("action") == 1
    assert ends[0.95][0] == "complete" and ends[0.3][0] == ends[None][0] == "silence"
    assert ends[0.95][1] == ends[0.3][1]  # the same speech: only the wait differs


def test_hook_stream_start(write_skill, make_engine):
    """Each stream gets the state object the plugin returned for it, in every hook of that stream only."""
    write_skill("home", HOME_SKILL)

    class Meter:
        name = "meter"

        @hookimpl
        def hark_stream_start(self, stream):
            return {"device": stream.context_defaults.get("device_id"), "frames": 0}

        @hookimpl
        def hark_audio_chunk(self, chunk, state):
            state["frames"] += 1

    engine = make_engine(plugins=[Meter()])
    a, b = engine.open_stream(device_id="kitchen"), engine.open_stream(device_id="hall")
    a.feed(_tone(0.09, 300))
    b.feed(_tone(0.03, 300))
    assert a.states["meter"] == {"device": "kitchen", "frames": 3}
    assert b.states["meter"] == {"device": "hall", "frames": 1}

    class Broken:
        name = "broken"

        @hookimpl
        def hark_stream_start(self):
            raise RuntimeError("no device")

    engine = make_engine(plugins=[Broken()])
    events = list(engine.stream(["turn on the lights"]))
    assert events[0].kind == "error" and events[0].data["hook"] == "hark_stream_start"
    assert any(e.kind == "action" for e in events)


def test_hook_stream_end(write_skill, make_engine):
    write_skill("home", HOME_SKILL)
    released = []

    class Holder:
        name = "holder"

        @hookimpl
        def hark_stream_start(self, stream):
            return stream.id

        @hookimpl
        def hark_stream_end(self, stream, state):
            released.append((state, stream.id))

    engine = make_engine(plugins=[Holder()])
    with engine.open_stream() as stream:
        stream.feed(_tone(0.03, 300))
    stream.close()  # idempotent
    assert released == [(stream.id, stream.id)]


def test_hook_speech_start(write_skill, make_engine):
    """An endpointer's speech_start reaches every hark_speech_start with the stream time speech began."""
    write_skill("home", HOME_SKILL)
    starts = []

    class Onset:
        name = "onset"

        @hookimpl
        def hark_audio_chunk(self, chunk):
            return Event("speech_start", {"start": chunk.timestamp}) if chunk.index == 2 else None

    class Recogniser:
        name = "recogniser"

        @hookimpl
        def hark_stream_start(self):
            return []

        @hookimpl
        def hark_speech_start(self, start, context, state):
            state.append(start)
            starts.append((round(start, 2), context is not None))

    engine = make_engine(plugins=[Onset(), Recogniser()])
    stream = engine.open_stream()
    stream.feed(_tone(0.12, 300))
    assert starts == [(0.06, True)] and stream.states["recogniser"] == [0.06]


def test_hook_turn_judged(write_skill, make_engine):
    """The vad plugin gets the judges' answer for its pause: a sure one ends the turn there."""
    write_skill("home", HOME_SKILL)
    answers = []

    class Judge:
        name = "judge"

        @hookimpl
        def hark_end_of_turn(self, end):
            return 0.97

    class Spy:
        """Sees the verdict the vad plugin gets (hark_turn_judged goes only to the plugin that paused)."""
        name = "spy"

        @hookimpl
        def hark_turn_judged(self, probability):
            answers.append(probability)

    class Asr:
        name = "fake_asr"

        @hookimpl
        def hark_transcribe(self, audio):
            return NBest.from_text("turn on the lights")

    engine = make_engine(plugins=[Judge(), Spy(), Asr()], **{"plugins.settings.vad": {"early_silence_ms": 210}})
    stream = engine.open_stream()
    events = stream.feed(b"\0\0" * 8000 + _tone(0.6, 300) + b"\0\0" * 16000) + stream.close()
    end = next(e for e in events if e.kind == "speech_end")
    assert end.data["reason"] == "complete" and "judge_ms" in end.data
    assert stream.last_judgement["probability"] == 0.97
    assert answers == []  # the spy never paused, so it was never asked


def test_hook_compile(write_skill, make_engine):
    """`hark train` asks every plugin to rebuild (tests/test_asr.py runs the command); a failing one is isolated."""
    write_skill("home", HOME_SKILL)
    engine = make_engine()
    built = []

    class Compiler:
        name = "compiler"

        @hookimpl
        def hark_compile(self, engine, force):
            built.append((len(engine.skills), force))
            return "compiler: 1 skill compiled"

    class Broken:
        name = "broken"

        @hookimpl
        def hark_compile(self, engine, force):
            raise RuntimeError("disk full")

    engine.pm.register(Compiler(), name="compiler")
    engine.pm.register(Broken(), name="broken")
    errors: list = []
    lines = engine.call("hark_compile", sink=errors, engine=engine, force=True)
    assert lines == [("compiler", "compiler: 1 skill compiled")]
    assert built == [(1, True)]
    assert [e.data["plugin"] for e in errors] == ["broken"] and "disk full" in errors[0].data["message"]


def test_hook_transcribe(write_skill, make_engine):
    """An observer endpoints the utterance; the ASR plugin gets all of its audio and its n-best is parsed."""
    write_skill("home", HOME_SKILL)
    got = {}

    class Endpointer:
        name = "endpointer"

        def __init__(self):
            self.buffer = b""

        @hookimpl
        def hark_audio_chunk(self, chunk, context):
            self.buffer += chunk.samples
            if chunk.index == 3:
                return Event("speech_end", {"sample_rate": 16000}, audio=AudioChunk(self.buffer))

    class Asr:
        name = "fake_asr"

        @hookimpl
        def hark_transcribe(self, audio, context):
            got["seconds"] = round(audio.duration, 3)
            return NBest((Hypothesis("turn of the kitchen lights", 0.7), Hypothesis("turn off the kitchen lights", 0.3)),
                         source="fake_asr")

    engine = make_engine(plugins=[Endpointer(), Asr()])
    frames = [AudioChunk(_tone(0.03, 300), 16000, i * 0.03, i) for i in range(4)]
    events = list(engine.stream(frames))
    assert got["seconds"] == 0.12
    kinds = [e.kind for e in events]
    assert kinds[0] == "speech_end" and "action" in kinds
    action = next(e for e in events if e.kind == "action")
    assert action.data["params"] == {"room": "kitchen"} and action.utterance == 0


def test_hook_interpret(write_skill, make_engine):
    write_skill("home", HOME_SKILL)

    class Extra:
        name = "extra_tier"

        @hookimpl
        def hark_interpret(self, nbest, skills, context):
            if "lamp" in nbest.best.text:
                return [hark.Interpretation("home", "LightsOn", 0.8, (), nbest.best.text)]
            return []

    engine = make_engine(plugins=[Extra()])
    result = engine.parse("lamp please")
    assert result.action.name == "home.lights_on"
    assert result.best.source == "extra_tier"
    # both tiers produce the same reading: merged into one, the higher confidence kept
    result = engine.parse("turn on the lights")
    assert [(i.intent, i.confidence) for i in result.interpretations] == [("LightsOn", 1.0)]


def test_hook_resolve(write_skill, make_engine):
    write_skill("home", HOME_SKILL)
    order = []

    class First:
        name = "first_resolver"

        @hookimpl
        def hark_resolve(self, interpretation, nbest, skills, context):
            order.append("first")
            slot = interpretation.slot("room")
            if slot is None:
                return None
            slot = dataclasses.replace(slot, entity_id="room-" + slot.value.replace(" ", "-"))
            return dataclasses.replace(interpretation, slots=(slot,))

    class Second:
        name = "second_resolver"

        @hookimpl(trylast=True)
        def hark_resolve(self, interpretation):  # a subset of the arguments is allowed
            order.append(("second", interpretation.slot("room").entity_id))
            return None

    engine = make_engine(plugins=[First(), Second()])
    result = engine.parse("switch off the lounge lights")
    assert order == ["first", ("second", "room-living-room")]
    assert result.action.slots[0].entity_id == "room-living-room"


def test_hook_scene(write_skill, make_engine):
    write_skill("home", HOME_SKILL)
    seen = {}

    class Scene:
        name = "scene"

        @hookimpl
        def hark_scene(self, context):
            return SceneState("kitchen", 0.9, (("running_water", 0.7),), 12.0)

    class Reader:
        name = "reader"

        @hookimpl
        def hark_act(self, interpretation, context):
            seen["scene"] = context.scene
            return None

    engine = make_engine(plugins=[Scene(), Reader()])
    result = engine.parse("turn on the lights")
    assert seen["scene"].scene == "kitchen" and result.context.scene.events == (("running_water", 0.7),)


def test_hook_assess_pronunciation(write_skill, make_engine):
    write_skill("home", HOME_SKILL)

    class Tutor:
        name = "my_tutor"

        @hookimpl
        def hark_assess_pronunciation(self, audio, expected, context):
            return PronunciationReport(expected, 0.75, (WordAssessment(expected.split()[0], 0.75),),
                                       ("Good, try again slower.",))

    engine = make_engine(plugins=[Tutor()])
    audio = AudioChunk(_tone(0.5, 200))
    report = engine.assess_pronunciation(audio, "three trees")
    assert report.score == 0.75 and report.words[0].word == "three"
    # practice mode through the audio path emits a pronunciation event instead of parsing

    class Endpointer:
        name = "endpointer"

        @hookimpl
        def hark_audio_end(self):
            return Event("speech_end", {}, audio=audio)

    engine = make_engine(plugins=[Tutor(), Endpointer()])
    stream = engine.open_stream(expected_text="three trees")
    stream.feed(b"\0\0" * 480)
    events = stream.close()
    assert [e.kind for e in events] == ["speech_end", "pronunciation"]
    assert events[1].data["expected"] == "three trees"


def test_hook_act(write_skill, make_engine):
    write_skill("home", HOME_SKILL)

    class Handler:
        name = "handler"

        @hookimpl
        def hark_act(self, interpretation, skills, context):
            if interpretation.intent == "LightsOn":
                return SkillAction("home", "LightsOn", "custom.lights", {"level": 100}, "Let there be light.")
            return None

    engine = make_engine(plugins=[Handler()])
    assert engine.parse("turn on the lights").action.name == "custom.lights"
    # the generic skill_actions plugin runs last for everything else
    assert engine.parse("turn off the lights").action.name == "home.lights_off"


def test_hook_act_skill_handler_file(write_skill, make_engine):
    write_skill("home", HOME_SKILL, files={"handler.py": """
        from hark import hookimpl, SkillAction

        @hookimpl
        def hark_act(interpretation):
            if interpretation.skill == "home" and interpretation.intent == "LightsOff":
                room = interpretation.slot("room")
                return SkillAction("home", "LightsOff", "home.scene_off",
                                   {"rooms": [room.value] if room else ["all"]}, "Good night.")
    """})
    engine = make_engine()
    assert any(i.name == "skill:home" and i.status == "loaded" for i in engine.plugin_info)
    action = engine.parse("turn off the lights").action
    assert (action.name, action.params, action.response) == ("home.scene_off", {"rooms": ["all"]}, "Good night.")


def test_hook_event(write_skill, make_engine, event_log):
    write_skill("home", HOME_SKILL)
    engine = make_engine(plugins=[event_log])
    engine.parse("turn on the lights")
    engine.parse("what is the capital of peru")
    assert [e.kind for e in event_log.events] == ["utterance", "interpretation", "action", "utterance",
                                                  "out_of_scope"]


def test_failing_listener_is_reported_not_reentered(write_skill, make_engine, caplog):
    write_skill("home", HOME_SKILL)

    class Broken:
        name = "broken_listener"

        @hookimpl
        def hark_event(self, event):
            raise RuntimeError("disk full")

    engine = make_engine(plugins=[Broken()])
    result = engine.parse("turn on the lights")
    assert result.action is not None
    assert "broken_listener" in caplog.text and "disk full" in caplog.text


def _tone(seconds: float, freq: float, rate: int = 16000) -> bytes:
    n = int(seconds * rate)
    return struct.pack(f"<{n}h", *(int(8000 * math.sin(2 * math.pi * freq * i / rate)) for i in range(n)))
