"""The vad plugin (detectors + endpointing policy) on espeak-ng speech, through the real Engine and `hark listen`.

espeak-ng is installed by `make system-deps` (scripts/system-deps.sh); without it the speech tests skip and say so.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from hark.audio import WavFile
from hark.errors import ConfigError
from hark.plugins.vad import VadSettings, VadStream
from hark.plugins.vad.endpointer import Boundary, Endpointer
from hark.plugins.vad.model import EnergyDetector, SpectralDetector
from hark.types import AudioChunk

from conftest import HOME_SKILL, espeak, needs_espeak, save, silence

SR = 16000


def speech_bounds(x: np.ndarray) -> tuple[float, float]:
    """First and last 10 ms of the clean signal within 40 dB of its loudest 10 ms."""
    f = x[: len(x) // 160 * 160].reshape(-1, 160).astype(np.float64)
    db = 10 * np.log10(np.mean(f * f, axis=1) + 1e-9)
    on = np.nonzero(db > db.max() - 40)[0]
    return on[0] * 0.01, (on[-1] + 1) * 0.01


@pytest.fixture(scope="module")
def sentence(tmp_path_factory):
    """'turn off the kitchen lights' (espeak-ng), and where its speech starts/ends within the clip."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (make system-deps installs it)")
    folder = tmp_path_factory.mktemp("speech")
    x = espeak("turn off the kitchen lights", folder / "raw.wav")
    return x, speech_bounds(x), folder


def frames(x: np.ndarray, size: int = 480):
    pcm = np.asarray(x, dtype="<i2").tobytes()
    step = 2 * size
    for i, start in enumerate(range(0, len(pcm), step)):
        yield AudioChunk(pcm[start:start + step], SR, round(start / 2 / SR, 6), i)


@pytest.fixture
def engine_with(write_skill, make_engine):
    """engine_with(**overrides) -> an Engine with the home skill and every built-in plugin (vad included)."""
    write_skill("home", HOME_SKILL)
    return make_engine


def events_of(engine, source) -> list:
    return [e for e in engine.stream(source)]


# ---------------------------------------------------------------------------------------------- the engine


@needs_espeak
def test_one_sentence_in_a_wav_is_one_utterance(sentence, write_skill, make_engine):
    x, (s0, s1), folder = sentence
    path = save(folder / "padded.wav", np.concatenate([silence(1.0), x, silence(1.5)]))
    write_skill("home", HOME_SKILL)
    engine = make_engine()
    events = events_of(engine, WavFile(path))
    kinds = [e.kind for e in events]
    assert kinds == ["speech_start", "speech_end", "out_of_scope"], kinds
    start, end = events[0], events[1]
    assert start.data["start"] == pytest.approx(1.0 + s0, abs=0.1)
    assert end.data["start"] == start.data["start"]
    assert end.data["end"] == pytest.approx(1.0 + s1, abs=0.2)
    assert end.data["reason"] == "silence" and end.data["sample_rate"] == SR
    audio = end.audio.samples
    settings = VadSettings()
    assert end.data["audio_start"] == pytest.approx(end.data["start"] - settings.pre_roll_ms / 1000, abs=0.031)
    assert len(audio) / 2 / SR == pytest.approx(end.data["end"] - end.data["audio_start"]
                                                 + settings.post_roll_ms / 1000, abs=0.031)
    assert events[2].data["reason"] == "no ASR plugin transcribed the audio"
    assert start.utterance == end.utterance == events[2].utterance == 0


@needs_espeak
def test_asr_plugin_gets_the_utterance_audio(sentence, write_skill, make_engine):
    """The speech_end audio reaches hark_transcribe whole (pre-roll included) and its n-best is parsed."""
    from hark import NBest, hookimpl

    x, _, folder = sentence
    got = {}

    class FixedAsr:
        name = "fixed_asr"

        @hookimpl
        def hark_transcribe(self, audio, context):
            got["seconds"], got["rate"] = audio.duration, audio.sample_rate
            return NBest.from_scores([("turn off the kitchen lights", 0.9)], source="fixed_asr")

    write_skill("home", HOME_SKILL)
    engine = make_engine(plugins=[FixedAsr()])
    events = events_of(engine, frames(np.concatenate([silence(0.8), x, silence(1.0)])))
    end = next(e for e in events if e.kind == "speech_end")
    assert got["rate"] == SR
    assert got["seconds"] == pytest.approx(end.audio.duration) and end.audio.timestamp == end.data["audio_start"]
    action = next(e for e in events if e.kind == "action")
    assert action.data["name"] == "home.lights_off" and action.data["params"] == {"room": "kitchen"}


@needs_espeak
def test_two_sentences_in_noise_are_two_utterances(sentence, engine_with):
    x, _, _ = sentence
    clean = np.concatenate([silence(1.2), x, silence(1.5), x, silence(1.5)]).astype(np.float64)
    rng = np.random.default_rng(3)
    speech_power = np.mean(x.astype(np.float64)[np.abs(x) > 300] ** 2)
    noise = rng.standard_normal(len(clean)) * np.sqrt(speech_power / 10)  # 10 dB SNR
    noisy = np.clip(clean + noise, -32768, 32767).astype(np.int16)
    engine = engine_with()
    ends = [e for e in events_of(engine, frames(noisy)) if e.kind == "speech_end"]
    assert len(ends) == 2
    assert ends[0].data["end"] < 1.2 + len(x) / SR + 0.5 < ends[1].data["start"]


def test_noise_and_silence_alone_are_not_speech(engine_with):
    rng = np.random.default_rng(0)
    steady = (rng.standard_normal(6 * SR) * 300).astype(np.int16)
    engine = engine_with()
    assert events_of(engine, frames(steady)) == []
    assert events_of(engine, frames(silence(2.0))) == []
    # noise that switches on is an onset like any other, until the noise estimate has adapted (about 1.5 s)
    events = events_of(engine, frames(np.concatenate([silence(1.0), steady])))
    ends = [e for e in events if e.kind == "speech_end"]
    assert len(ends) <= 1 and all(e.data["end"] < 1.0 + 2.0 for e in ends)


@needs_espeak
def test_chunk_size_does_not_change_the_endpoints(sentence):
    x, _, _ = sentence
    signal = np.concatenate([silence(0.7), x, silence(1.0)])
    found = {}
    for size in (160, 480, 1600, 4000):
        vad = VadStream(VadSettings(), {})
        out = []
        for c in frames(signal, size):
            events = vad.push(c)
            while events and events[-1].kind == "pause":  # no judge: the stream answers None
                out += events[:-1]
                events = vad.judged(None)
            out += events
        found[size] = [(e.kind, e.data["start"], e.data.get("end")) for e in out]
    assert len(found[480]) == 2
    assert all(v == found[480] for v in found.values()), found


@needs_espeak
def test_max_utterance_length_cuts_long_speech(sentence, engine_with):
    x, _, _ = sentence
    talk = np.concatenate([x] * 3)  # ~5 s without a pause long enough to end it
    engine = engine_with(**{"plugins.settings": {"vad": {"max_utterance_s": 1.5, "silence_ms": 900}}})
    ends = [e for e in events_of(engine, frames(np.concatenate([silence(0.5), talk, silence(1.5)])))
            if e.kind == "speech_end"]
    assert ends[0].data["reason"] == "max_length"
    assert 1.2 < ends[0].data["end"] - ends[0].data["start"] <= 1.5
    assert len(ends) >= 3


def test_endpointer_policy_on_hand_made_probabilities():
    """min speech, candidate dropped on a dip, hangover, pre-roll: independent of any detector."""
    settings = VadSettings(min_speech_ms=90, silence_ms=150, pre_roll_ms=60, post_roll_ms=30)
    ep = Endpointer(settings, 30, SR)
    probs = [0, 0, 0, 0.9, 0.9, 0, 0, 0, 0, 0.9, 0.9, 0.9, 0.4, 0.9, 0, 0, 0, 0, 0, 0, 0]
    out = []
    for i, p in enumerate(probs):
        for b in ep.push(bytes([i]) * 960, p, round(i * 0.03, 3)):
            out.append((i, b))
    assert [(i, b.kind) for i, b in out] == [(11, "speech_start"), (18, "speech_end")]
    end = out[1][1]
    assert end.data["start"] == 0.27 and end.data["end"] == 0.42  # frames 9..13 (0.4 >= release 0.35 keeps it)
    assert end.data["audio_start"] == 0.21  # two frames of pre-roll
    assert [end.audio[k * 960] for k in range(len(end.audio) // 960)] == [7, 8, 9, 10, 11, 12, 13, 14]


def test_detectors_reset_and_check_frames():
    for det in (SpectralDetector(), EnergyDetector()):
        with pytest.raises(ValueError, match="expected frames of 480 samples"):
            det(np.zeros(100, dtype=np.int16))
        loud = (np.sin(np.arange(480) / 3) * 8000).astype(np.int16)
        quiet = [det(np.zeros(480, dtype=np.int16)) for _ in range(20)]
        assert max(quiet) < 0.01
        det(loud)
        assert det(loud) > 0.9
        det.reset()
    with pytest.raises(ValueError, match="44100 Hz not supported"):
        SpectralDetector(44100)


@pytest.mark.parametrize("settings,fragment", [
    ({"threshold": 1.5}, "plugins.settings.vad.threshold: expected a probability"),
    ({"detector": "magic"}, "plugins.settings.vad.detector: expected one of spectral, energy, webrtc"),
    ({"silence_ms": 10}, "silence_ms: at least 30 ms"),
    ({"hangover": 3}, "plugins.settings.vad.hangover: unknown setting"),
])
def test_bad_settings_stop_start_up(engine_with, settings, fragment):
    with pytest.raises(ConfigError, match=fragment.replace(".", r"\.")):
        engine_with(**{"plugins.settings": {"vad": settings}})


@needs_espeak
def test_webrtc_detector_when_installed(sentence, engine_with):
    x, _, _ = sentence
    try:
        import webrtcvad  # noqa: F401
    except ImportError:
        with pytest.raises(ConfigError, match="pip install webrtcvad-wheels"):
            engine_with(**{"plugins.settings": {"vad": {"detector": "webrtc"}}})
        return
    engine = engine_with(**{"plugins.settings": {"vad": {"detector": "webrtc"}}})
    kinds = [e.kind for e in events_of(engine, frames(np.concatenate([silence(1.0), x, silence(1.0)])))]
    assert kinds == ["speech_start", "speech_end", "out_of_scope"]


# ------------------------------------------------------------------------------------------------ hark listen


def _vad_only_env() -> dict[str, str]:
    """The command's environment: no ASR plugin, so these tests see the endpointer alone (test_asr.py has both)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARK_") or k == "HARK_CACHE"}
    env["HARK_PLUGINS"] = "-asr_pocketsphinx,-scene_context"  # the speech path alone (test_scene: the scenes)
    return env


def _hark(*args, stdin=None, config: Path | None = None):
    env = _vad_only_env()
    cmd = [sys.executable, "-m", "hark.cli"] + (["--config", str(config)] if config else []) + list(args)
    return subprocess.run(cmd, input=stdin, capture_output=True, env=env, timeout=120)


@pytest.fixture
def small_config(tmp_path, write_skill):
    write_skill("home", HOME_SKILL)
    path = tmp_path / "config.yaml"
    path.write_text("skills:\n  paths: [skills]\n")
    return path


@needs_espeak
def test_listen_wav_readable_and_json(sentence, small_config):
    x, _, folder = sentence
    path = save(folder / "listen.wav", np.concatenate([silence(0.6), x, silence(1.0)]))
    proc = _hark("listen", "--wav", str(path), config=small_config)
    out, err = proc.stdout.decode(), proc.stderr.decode()
    assert proc.returncode == 0, err
    lines = out.splitlines()
    assert "speech started" in lines[0] and "speech ended" in lines[1]
    assert lines[2].endswith("out_of_scope ... no ASR plugin transcribed the audio")
    assert len(lines) == 3 and max(len(line) for line in lines) < 120  # no base64 audio
    assert "no ASR plugin is installed" in err and "done: 1 utterance(s)" in err
    proc = _hark("listen", "--wav", str(path), "--json", config=small_config)
    events = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert [e["kind"] for e in events] == ["speech_start", "speech_end", "out_of_scope"]
    end = events[1]["data"]
    assert "audio" not in end and end["audio_seconds"] == pytest.approx(
        end["end"] - end["audio_start"] + VadSettings().post_roll_ms / 1000, abs=0.031)


@needs_espeak
def test_listen_raw_stdin_and_speech_running_into_the_end(sentence, small_config):
    x, _, _ = sentence
    pcm = np.concatenate([silence(0.5), x]).astype("<i2").tobytes()  # no pause after the speech
    proc = _hark("listen", "--raw", "--json", stdin=pcm, config=small_config)
    assert proc.returncode == 0, proc.stderr.decode()
    kinds = [json.loads(line)["kind"] for line in proc.stdout.decode().splitlines()]
    assert kinds == ["speech_start", "speech_end", "out_of_scope"]


def test_listen_user_errors(tmp_path, small_config):
    for args, fragment in ((["--wav", str(tmp_path / "none.wav")], "none.wav: no such WAV file"),
                           (["--wav", str(small_config)], "not a WAV file"),
                           (["--wav", "a.wav", "--raw"], "give at most one of")):
        proc = _hark("listen", *args, config=small_config)
        err = proc.stderr.decode()
        assert proc.returncode == 1 and fragment in err and "Traceback" not in err, err


@needs_espeak
def test_listen_ctrl_c_stops_with_a_summary(sentence, small_config):
    """A live stream (a pipe that stays open) interrupted with SIGINT after one utterance."""
    x, _, _ = sentence
    env = _vad_only_env()
    # a test run started in the background inherits SIGINT ignored, and Python then leaves it ignored: restore it
    proc = subprocess.Popen([sys.executable, "-m", "hark.cli", "--config", str(small_config), "listen", "--raw"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        proc.stdin.write(np.concatenate([silence(0.5), x, silence(1.2)]).astype("<i2").tobytes())
        proc.stdin.flush()
        deadline = time.time() + 60
        seen = b""
        while b"out_of_scope" not in seen and time.time() < deadline:
            seen += proc.stdout.readline()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)  # stdin stays open until it has stopped: an EOF would end the stream normally
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert b"speech ended" in seen and b"out_of_scope" in seen
    assert proc.returncode == 0, err.decode()
    assert "stopped: 1 utterance(s)" in err.decode() and b"Traceback" not in err


@needs_espeak
def test_utterance_open_at_end_of_audio_is_closed(sentence, engine_with):
    """Speech running to the very end of a file still ends as an utterance (hark_audio_end), timed at its end."""
    x, _, _ = sentence
    engine = engine_with()
    signal = np.concatenate([silence(0.5), x])  # no trailing silence at all
    events = events_of(engine, frames(signal))
    ends = [e for e in events if e.kind == "speech_end"]
    assert len(ends) == 1 and ends[0].data["reason"] == "end_of_stream"
    # espeak-ng leaves ~0.2 s of silence at the end of its clip: speech ends shortly before the file does
    assert ends[0].utterance == 0 and len(signal) / 16000 - 0.4 < ends[0].data["end"] <= len(signal) / 16000


# ------------------------------------------------------------------------------------- semantic endpointing


def _run(ep: Endpointer, probs: list[float], judge=None) -> list[tuple[int, Boundary]]:
    """Push the frames; answer each pause with ``judge(end)`` as the stream does with hark_end_of_turn."""
    out = []
    for i, p in enumerate(probs):
        for b in ep.push(bytes([i]) * 960, p, round(i * 0.03, 3)):
            if b.kind == "pause":
                out += [(i, v) for v in ep.verdict(judge(b.data["end"]) if judge else None)]
            else:
                out.append((i, b))
    return out


def test_a_complete_request_ends_at_the_short_pause():
    """early_silence_ms 90 (3 frames): the judge is asked once, with where the audio would end, and its
    answer decides between ending now (reason complete) and waiting the full silence_ms."""
    settings = VadSettings(min_speech_ms=60, silence_ms=300, early_silence_ms=90, post_roll_ms=30,
                           pre_roll_ms=0, complete_threshold=0.8)
    probs = [0.9] * 5 + [0.0] * 12
    asked: list[float] = []
    sure = Endpointer(settings, 30, SR, ask_at_pauses=True)
    out = _run(sure, probs, lambda end: asked.append(end) or 0.95)
    assert [(i, b.kind) for i, b in out] == [(1, "speech_start"), (7, "speech_end")]
    assert out[1][1].data["reason"] == "complete" and out[1][1].data["end"] == 0.15
    assert asked == [0.18]  # last speech frame (0.12-0.15) + one frame of post-roll
    assert len(out[1][1].audio) == 6 * 960  # the same audio the full wait hands over
    unsure = Endpointer(settings, 30, SR, ask_at_pauses=True)
    out2 = _run(unsure, probs, lambda end: 0.5)
    assert [(i, b.kind) for i, b in out2] == [(1, "speech_start"), (14, "speech_end")]
    assert out2[1][1].data["reason"] == "silence" and out2[1][1].audio == out[1][1].audio
    # no answer (None, e.g. no live decode yet) also waits the full silence
    assert [i for i, _ in _run(Endpointer(settings, 30, SR, ask_at_pauses=True), probs, lambda end: None)] == [1, 14]


def test_the_judge_is_asked_as_each_pause_grows_and_speech_can_go_on():
    settings = VadSettings(min_speech_ms=60, silence_ms=300, early_silence_ms=90, post_roll_ms=0, pre_roll_ms=0)
    asked: list[tuple[float, int]] = []
    ep = Endpointer(settings, 30, SR, ask_at_pauses=True)
    # speech, a 5-frame pause (judged once at 90 ms, not complete), more speech, then silence: judged at 90, 180
    # and 270 ms, and at the full 300 ms, which ends it (the judge does not say the words only start a request)
    probs = [0.9] * 4 + [0.0] * 5 + [0.9] * 3 + [0.0] * 12
    out = []
    for i, p in enumerate(probs):
        for b in ep.push(bytes([i]) * 960, p, round(i * 0.03, 3)):
            if b.kind == "pause":
                asked.append((b.data["end"], b.data["pause_ms"]))
                out += [(i, v) for v in ep.verdict(0.0)]
            else:
                out.append((i, b))
    assert [(i, b.kind) for i, b in out] == [(1, "speech_start"), (21, "speech_end")]
    assert asked == [(0.12, 90), (0.36, 90), (0.36, 180), (0.36, 270), (0.36, 300)]
    assert out[1][1].data["end"] == 0.36  # one utterance across the pause
    # the second answer "complete" ends it at the second pause instead
    answers = iter([0.0, 1.0])
    ep2 = Endpointer(settings, 30, SR, ask_at_pauses=True)
    assert [(i, b.data.get("reason")) for i, b in _run(ep2, probs, lambda end: next(answers))] == \
        [(1, None), (14, "complete")]
    with pytest.raises(RuntimeError, match="before the verdict"):  # a pause must be answered before more audio
        ep3 = Endpointer(settings, 30, SR, ask_at_pauses=True)
        for i, p in enumerate(probs):
            ep3.push(b"\0" * 960, p, i * 0.03)


def test_without_a_judge_or_with_early_silence_off_the_policy_is_unchanged():
    base = dict(min_speech_ms=90, silence_ms=150, pre_roll_ms=60, post_roll_ms=30)
    probs = [0, 0, 0, 0.9, 0.9, 0, 0, 0, 0, 0.9, 0.9, 0.9, 0.4, 0.9, 0, 0, 0, 0, 0, 0, 0]
    expected = [(11, "speech_start"), (18, "speech_end")]
    never = lambda end: pytest.fail("the judge must not be asked")  # noqa: E731
    for settings, ask in ((VadSettings(**base, early_silence_ms=0), True),
                          (VadSettings(**base, early_silence_ms=60), False)):
        assert [(i, b.kind) for i, b in _run(Endpointer(settings, 30, SR, ask_at_pauses=ask), probs, never)] \
            == expected


@pytest.mark.parametrize("settings,fragment", [
    ({"early_silence_ms": 700}, "early_silence_ms: expected 0 (off) or 30 ms up to silence_ms (600)"),
    ({"early_silence_ms": 10}, "early_silence_ms: expected 0 (off) or 30 ms"),
    ({"complete_threshold": 0}, "complete_threshold: expected a probability in (0, 1]"),
])
def test_bad_semantic_endpointing_settings(engine_with, settings, fragment):
    with pytest.raises(ConfigError, match=fragment.replace(".", r"\.").replace("(", r"\(").replace(")", r"\)")):
        engine_with(**{"plugins.settings": {"vad": settings}})


def test_words_that_only_start_a_request_keep_the_turn_open_past_the_silence():
    """A negative answer at silence_ms ("give me a sixteen ounce": the start of a request) holds the utterance open
    up to hold_silence_ms: speech that resumes belongs to it; without more speech it ends at the hold."""
    settings = VadSettings(min_speech_ms=60, silence_ms=300, early_silence_ms=90, hold_silence_ms=900,
                           post_roll_ms=0, pre_roll_ms=0)
    probs = [0.9] * 4 + [0.0] * 20 + [0.9] * 3 + [0.0] * 40  # a 600 ms gap inside the request
    out = _run(Endpointer(settings, 30, SR, ask_at_pauses=True), probs, lambda end: -1.0 if end < 0.5 else 0.0)
    assert [(i, b.kind) for i, b in out] == [(1, "speech_start"), (36, "speech_end")]  # one utterance
    assert out[1][1].data["reason"] == "silence" and out[1][1].data["end"] == 0.81
    # started words and no more speech: the hold runs out
    out = _run(Endpointer(settings, 30, SR, ask_at_pauses=True), [0.9] * 4 + [0.0] * 40, lambda end: -1.0)
    assert [(i, b.kind) for i, b in out] == [(1, "speech_start"), (33, "speech_end")]
    # hold_silence_ms 0: the silence ends it as before
    off = VadSettings(min_speech_ms=60, silence_ms=300, early_silence_ms=90, hold_silence_ms=0, post_roll_ms=0,
                      pre_roll_ms=0)
    out = _run(Endpointer(off, 30, SR, ask_at_pauses=True), probs, lambda end: -1.0)
    assert [(i, b.kind) for i, b in out][:2] == [(1, "speech_start"), (13, "speech_end")]
