"""Streams: several inputs on one Engine, each with its own plugin state, giving the events it would give alone.

The two-stream test runs the real pipeline (vad -> asr_pocketsphinx with live decoding -> intent tiers -> entity
resolver) on espeak-ng speech; the others use small real plugins and synthetic audio.
"""
from __future__ import annotations

import re

import numpy as np
import pytest

from hark import AudioChunk, Engine, Event, InputError, NBest, hookimpl, load_config
from hark.streams import Stream

from conftest import HOME_SKILL, ROOT, espeak, needs_espeak, silence

CHUNK = 480  # 30 ms at 16 kHz


def _comparable(events):
    """What must agree between a stream fed alone and fed interleaved: everything but wall-clock times."""
    out = []
    for e in events:
        d = e.to_dict()
        d.pop("time")
        d["data"].pop("judge_ms", None)
        if e.audio is not None:
            d["audio"] = (e.audio.timestamp, len(e.audio.samples), hash(e.audio.samples))
        out.append(d)
    return out


@pytest.fixture(scope="module")
def speech_engine(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HARK_CACHE", str(tmp_path_factory.mktemp("asr-cache")))
        engine = Engine(load_config(ROOT / "config.yaml", env={}))
        yield engine
    engine.close()


@needs_espeak
def test_two_interleaved_streams_act_as_each_alone(speech_engine, tmp_path):
    """Two devices, two different spoken commands each (all decoded live, while the other stream decodes too), fed in alternating 30 ms chunks to one Engine: each stream gets its own right actions and
    exactly the events it gets when fed alone."""
    def speech(*texts, voice):
        parts = [silence(0.4)]
        for i, text in enumerate(texts):
            parts += [espeak(text, tmp_path / f"{voice}-{i}.wav", voice), silence(1.0)]
        return np.concatenate(parts)

    kitchen = speech("turn off the kitchen lights", "pause the music", voice="en-us")
    hallway = speech("set a ten minute timer", "play the matrix", voice="en-gb")

    def alone(x):
        with speech_engine.open_stream() as stream:
            events = [e for i in range(0, len(x), CHUNK) for e in stream.feed(x[i:i + CHUNK])]
            return events + stream.close()

    expected = {"kitchen": alone(kitchen), "hallway": alone(hallway)}
    got = {"kitchen": [], "hallway": []}
    streams = {"kitchen": speech_engine.open_stream(device_id="kitchen"),
               "hallway": speech_engine.open_stream(device_id="hallway")}
    for i in range(0, max(len(kitchen), len(hallway)), CHUNK):
        for name, x in (("kitchen", kitchen), ("hallway", hallway)):
            if i < len(x):
                got[name] += streams[name].feed(x[i:i + CHUNK])
    live = {name: stream.states["asr_pocketsphinx"].streamed for name, stream in streams.items()}
    for name, stream in streams.items():
        got[name] += stream.close()
    assert live == {"kitchen": 2, "hallway": 2}  # every command was decoded while it was spoken

    actions = {name: [e.data["name"] for e in events if e.kind == "action"] for name, events in got.items()}
    assert actions == {"kitchen": ["home.lights_off", "music.pause"], "hallway": ["timer.start", "video.play"]}
    timer = next(e for e in got["hallway"] if e.kind == "action")
    assert timer.data["params"]["duration"] == 600
    for name in got:
        assert _comparable(got[name]) == _comparable(expected[name]), name
    ends = [e.data["reason"] for e in got["kitchen"] if e.kind == "speech_end"]
    assert len(ends) == 2  # two utterances, endpointed apart


class Counter:
    """A per-stream observer: counts the audio it has seen, per stream, in the state object it handed out."""

    name = "counter"

    def __init__(self):
        self.ended = []

    @hookimpl
    def hark_stream_start(self, stream):
        return {"samples": 0, "id": stream.id}

    @hookimpl
    def hark_audio_chunk(self, chunk, features, state):
        state["samples"] += len(chunk.samples) // 2
        state["rows"] = state.get("rows", 0) + (len(features) if features is not None else 0)

    @hookimpl
    def hark_stream_end(self, state):
        self.ended.append(dict(state))


def test_each_stream_gets_its_own_state_and_releases_it(write_skill, make_engine):
    write_skill("home", HOME_SKILL)
    counter = Counter()
    engine = make_engine(plugins=[counter])
    a, b = engine.open_stream(), engine.open_stream()
    a.feed(np.zeros(16000, np.int16))
    b.feed(np.zeros(4800, np.int16))
    assert a.states["counter"]["samples"] == 15840  # whole 30 ms frames; the rest waits for more audio
    assert b.states["counter"]["samples"] == 4800
    a.close()
    b.close()
    assert sorted(s["samples"] for s in counter.ended) == [4800, 16000]  # close ran the partial frame
    assert {s["id"] for s in counter.ended} == {a.id, b.id}
    with pytest.raises(InputError, match="closed"):
        a.feed(b"\0\0")


def test_feed_accepts_bytes_int16_and_float_arrays_and_other_rates(write_skill, make_engine):
    """The same second of audio as int16 bytes split mid-sample, an int16 array, a float array, and at 48 kHz:
    every form reaches the observers as the same number of 16 kHz samples."""
    write_skill("home", HOME_SKILL)
    x = (np.sin(np.arange(16000) * 0.05) * 8000).astype(np.int16)
    seen = {}
    for form in ("bytes", "int16", "float", "48k"):
        counter = Counter()
        engine = make_engine(plugins=[counter])
        stream = engine.open_stream(sample_rate=48000 if form == "48k" else 16000)
        if form == "bytes":
            raw = x.tobytes()
            stream.feed(raw[:1001])  # half a sample waits for the next feed
            stream.feed(raw[1001:])
        elif form == "int16":
            stream.feed(x)
        elif form == "float":
            stream.feed(x.astype(np.float32) / 32768.0)
        else:
            stream.feed(np.repeat(x, 3).astype(np.float32) / 32768.0)
        stream.close()
        seen[form] = counter.ended[0]["samples"]
    assert seen == {"bytes": 16000, "int16": 16000, "float": 16000, "48k": 16000}
    stream = make_engine().open_stream()
    with pytest.raises(InputError, match="one channel"):
        stream.feed(np.zeros((100, 2), np.float32))
    with pytest.raises(InputError, match="expected int16 bytes"):
        stream.feed("hello")


def test_no_plugin_holds_the_engine():
    """One-way flow: plugins get what they need at start-up and per call; none keeps the Engine to call hooks."""
    engine = Engine(load_config(ROOT / "config.yaml", env={}, **{"plugins.disabled": ["asr_pocketsphinx"]}))
    try:
        for name, plugin in engine.pm.list_name_plugin():
            held = [k for k, v in vars(plugin).items() if isinstance(v, Engine)] if hasattr(plugin, "__dict__") \
                else []
            assert not held, f"plugin {name} holds the engine in {held}"
    finally:
        engine.close()


def test_the_documented_example_endpointer_runs_on_two_streams(write_skill, make_engine):
    """docs/hooks.md's worked example, as printed there, endpoints two interleaved streams independently."""
    docs = (ROOT / "docs" / "hooks.md").read_text(encoding="utf-8")
    code = next(block for block in re.findall(r"```python\n(.*?)```", docs, re.S) if "class EnergyEndpointer" in block)
    namespace: dict = {}
    exec(compile(code, "docs/hooks.md", "exec"), namespace)  # noqa: S102 - our own documentation
    write_skill("home", HOME_SKILL)

    class Scripted:
        name = "scripted_asr"

        @hookimpl
        def hark_transcribe(self, audio):
            return NBest.from_text("turn on the lights" if audio.timestamp < 1.0 else "turn off the lights")

    engine = make_engine(plugins=[namespace["EnergyEndpointer"](), Scripted()], **{"plugins.disabled":
                                                                                  ["intent", "asr_pocketsphinx", "vad"]})
    tone = (np.sin(np.arange(8000) * 0.1) * 3000).astype(np.int16)
    early = np.concatenate([silence(0.3), tone, silence(0.6)])
    late = np.concatenate([silence(1.2), tone, silence(0.6)])
    a, b = engine.open_stream(), engine.open_stream()
    got = {"a": [], "b": []}
    for i in range(0, len(late), CHUNK):
        got["a"] += a.feed(early[i:i + CHUNK]) if i < len(early) else []
        got["b"] += b.feed(late[i:i + CHUNK])
    got["a"] += a.close()
    got["b"] += b.close()
    assert [e.data["name"] for e in got["a"] if e.kind == "action"] == ["home.lights_on"]
    assert [e.data["name"] for e in got["b"] if e.kind == "action"] == ["home.lights_off"]


def test_pause_events_are_answered_by_the_judges_and_never_emitted(write_skill, make_engine):
    """An endpointer's pause goes to hark_end_of_turn; an NBest answer is interpreted by the runtime and the
    verdict returns to the same plugin, which may end the turn."""
    write_skill("home", HOME_SKILL)
    verdicts = []

    class Pauser:
        name = "pauser"

        @hookimpl
        def hark_stream_start(self):
            return {"n": 0}

        @hookimpl
        def hark_audio_chunk(self, chunk, state):
            state["n"] += 1
            return Event("pause", {"end": chunk.timestamp}) if state["n"] == 3 else None

        @hookimpl
        def hark_turn_judged(self, end, probability, state):
            verdicts.append((round(end, 2), probability))
            audio = AudioChunk(b"\0\0" * 4800, 16000, 0.0)
            return Event("speech_end", {"reason": "complete"}, audio=audio) if probability > 0.5 else None

    class Judge:
        name = "judge"

        @hookimpl
        def hark_end_of_turn(self, end):
            return NBest.from_text("turn on the lights")

    class Scripted:
        name = "scripted_asr"

        @hookimpl
        def hark_transcribe(self, audio, state):
            assert state is None  # this plugin keeps no per-stream state
            return NBest.from_text("turn on the lights")

    engine = make_engine(plugins=[Pauser(), Judge(), Scripted()], **{"plugins.disabled":
                                                                    ["intent", "asr_pocketsphinx", "vad"]})
    stream = engine.open_stream()
    events = stream.feed(np.zeros(CHUNK * 4, np.int16)) + stream.close()
    assert "pause" not in [e.kind for e in events]
    assert verdicts and verdicts[0][0] == 0.06 and verdicts[0][1] > 0.5
    end = next(e for e in events if e.kind == "speech_end")
    assert end.data["judge_ms"] >= 0 and stream.last_judgement["probability"] == verdicts[0][1]
    assert [e.data["name"] for e in events if e.kind == "action"] == ["home.lights_on"]


def test_a_consumer_that_stops_early_still_releases_the_stream(write_skill, make_engine):
    write_skill("home", HOME_SKILL)
    counter = Counter()
    engine = make_engine(plugins=[counter])
    it = engine.stream(["turn on the lights", "turn off the lights"])
    next(it)
    it.close()
    assert len(counter.ended) == 1


def test_stream_is_importable_from_the_package():
    assert Stream.__module__ == "hark.streams"


def test_audio_after_a_flush_is_endpointed_as_in_a_fresh_stream(write_skill, make_engine):
    """flush() ends a stretch of audio (a file, a push-to-talk press); the next stretch continues the clock and is
    detected exactly as the same audio in a new stream (the front end's rows realign with the VAD's frames)."""
    write_skill("home", HOME_SKILL)

    class Rows:
        name = "rows"

        @hookimpl
        def hark_stream_start(self):
            return []

        @hookimpl
        def hark_audio_chunk(self, features, state):
            state.append(features.log_mel.copy())

    engine = make_engine(plugins=[Rows()])
    t = np.arange(int(0.7 * 16000)) / 16000
    burst = (np.sin(2 * np.pi * 300 * t) * 6000).astype(np.int16)
    x = np.concatenate([silence(0.5), burst, silence(0.9), np.zeros(123, np.int16)])  # a partial last frame

    def ends(events):
        return [(e.data["start"], e.data["end"], e.data["reason"]) for e in events if e.kind == "speech_end"]

    fresh = engine.open_stream()
    alone = ends(fresh.feed(x) + fresh.flush())
    fresh_rows = np.concatenate(fresh.states["rows"])
    again = engine.open_stream()
    first = ends(again.feed(x) + again.flush())
    before = len(again.states["rows"])
    second = ends(again.feed(x) + again.flush())
    assert np.array_equal(np.concatenate(again.states["rows"][before:]), fresh_rows)
    offset = len(x) / 16000
    assert alone and first == alone
    assert [(round(s - offset, 3), round(e - offset, 3), r) for s, e, r in second] == alone


@needs_espeak
def test_each_utterance_of_a_stream_gets_its_number_and_a_fresh_context(make_engine, tmp_path):
    """Two sentences in one stream: speech_end events numbered 0 and 1, each utterance its own Context."""
    seen = []

    class Clock:
        name = "clock"

        @hookimpl
        def hark_transcribe(self, audio, context):
            seen.append(context)
            return None

    engine = make_engine(plugins=[Clock()], **{"skills.paths": []})
    x = espeak("turn on the lights", tmp_path / "a.wav")
    pcm = np.concatenate([silence(0.5), x, silence(1.5), x, silence(1.5)])
    with engine.open_stream() as stream:
        events = [e for i in range(0, len(pcm), 4800) for e in stream.feed(pcm[i:i + 4800])]
    assert [e.utterance for e in events if e.kind == "speech_end"] == [0, 1]
    assert len(seen) == 2 and seen[0] is not seen[1]
