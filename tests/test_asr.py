"""The asr_pocketsphinx plugin: the skill language model, real pocketsphinx decoding of espeak-ng speech for every
bundled skill, `hark listen --wav` / `hark transcribe` / `hark train`, and its settings errors. No mocks: the
audio is synthesized here and decoded by pocketsphinx itself.
"""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hark import Engine, load_config
from hark.audio import WavFile
from hark.errors import ConfigError
from hark.plugins.asr_pocketsphinx.transcriber import add_noise_floor
from hark.plugins.asr_pocketsphinx.compile import speakable
from hark.plugins.asr_pocketsphinx.lm import EOS, NgramModel
from hark.types import AudioChunk

from conftest import espeak, needs_espeak, save, silence

ROOT = Path(__file__).resolve().parent.parent

# one command per bundled skill, spoken by espeak-ng's default en-us voice (benchmarks/audio.py uses other voices)
SPOKEN = [
    ("timer", "set a timer for ten minutes", "timer.start", {"duration": 600}),
    ("weather", "will it rain today", "weather.forecast", {"report": "rain"}),
    ("music", "play some jazz", "music.play", {"genre": "jazz"}),
    ("video", "play the matrix", "video.play", {"title": "The Matrix"}),
    ("audiobooks", "read the hobbit", "audiobooks.read", {"book": "The Hobbit"}),
    ("home", "turn off the kitchen lights", "home.lights_off", {"room": "kitchen"}),
    ("pronunciation", "how did i do", "pronunciation.feedback", {}),
]


# ------------------------------------------------------------------------------------------------ language model


def test_kneser_ney_distributions_sum_to_one():
    m = NgramModel([("turn", "on", "the", "lights"), ("turn", "off", "the", "lights"), ("set", "a", "timer"),
                    ("turn", "the", "lights", "off")], order=3)
    vocab = [w for w in m.vocabulary if w != "<s>"]
    for context in [(), ("<s>",), ("turn",), ("<s>", "turn"), ("the", "lights"), ("never", "seen")]:
        assert math.isclose(sum(m.prob(context + (w,)) for w in vocab), 1.0, rel_tol=1e-9), context


def test_language_model_prefers_sentences_it_has_seen():
    m = NgramModel([("turn", "on", "the", "lights")] * 3 + [("set", "a", "timer")], order=3)
    assert m.sentence_logprob(("turn", "on", "the", "lights")) > m.sentence_logprob(("lights", "the", "on", "turn"))


def test_arpa_output_has_every_order_and_backoffs():
    m = NgramModel([("pause", "the", "music"), ("play", "the", "music")], order=3)
    arpa = m.to_arpa()
    header = [line for line in arpa.splitlines() if line.startswith("ngram ")]
    assert header == [f"ngram 1={len(m.vocabulary)}", f"ngram 2={len(m.counts[2])}", f"ngram 3={len(m.counts[3])}"]
    the = next(line for line in arpa.splitlines() if line.endswith("\tthe") or "\tthe\t" in line)
    assert len(the.split("\t")) == 3  # "the" starts seen bigrams: it has a back-off weight
    assert f"\t{EOS}" in arpa


@pytest.mark.parametrize("words, spoken", [
    (["set", "a", "timer", "for", "25", "minutes"], "set a timer for twenty five minutes"),
    (["wake", "me", "at", "7:30"], "wake me at seven thirty"),
    (["the", "21st"], "the twenty first"),
    (["volume", "40%"], "volume forty percent"),
    (["nineteen", "1984"], "nineteen nineteen eighty four"),
    (["at", "8:05"], "at eight oh five"),
])
def test_speakable_spells_out_what_an_asr_writes_as_words(words, spoken):
    assert " ".join(speakable(words)) == spoken


def test_noise_floor_fills_digital_silence_only():
    silent = np.zeros(16000, dtype=np.int16)
    filled = add_noise_floor(silent, -50.0)
    rms = float(np.sqrt(np.mean(filled.astype(np.float64) ** 2)))
    assert 80 < rms < 125  # -50 dBFS is 103.6 on the int16 scale
    noisy = (np.random.default_rng(1).normal(0, 2000, 16000)).astype(np.int16)
    assert np.array_equal(add_noise_floor(noisy, -50.0), noisy)  # already louder than the floor
    assert np.array_equal(add_noise_floor(silent, None), silent)


# --------------------------------------------------------------------------------------------- real decoding


@pytest.fixture(scope="module")
def asr_cache(tmp_path_factory):
    """One cache folder for this module: the skill LM is compiled once (about 5 s) and reused."""
    return tmp_path_factory.mktemp("asr-cache")


@pytest.fixture(scope="module")
def asr_engine(asr_cache):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HARK_CACHE", str(asr_cache))
        engine = Engine(load_config(ROOT / "config.yaml", env={}))
        yield engine
    engine.close()


def _say(text: str, folder: Path, voice: str = "en-us") -> np.ndarray:
    return espeak(text, folder / "espeak.wav", voice)


def _espeak_wav(text: str, path: Path, voice: str = "en-us") -> Path:
    """espeak-ng speech with a little silence around it, written as 16 kHz mono (as a recording would be)."""
    return save(path, np.concatenate([silence(0.25), _say(text, path.parent, voice), silence(0.5)]))


def test_skill_language_model_is_compiled_and_cached(asr_engine, asr_cache, monkeypatch):
    plugin = asr_engine.pm.get_plugin("asr_pocketsphinx")
    meta = plugin.compiled.meta
    assert meta["sentences"] > 5000 and meta["vocabulary"] > 1000
    words = {line.split()[0] for line in plugin.compiled.dict.read_text().splitlines()}
    assert {"kitchen", "timer", "matrix", "hobbit"} <= words  # catalog titles are in the vocabulary
    # a second engine on the same skills reuses the folder instead of compiling again
    stamp = plugin.compiled.lm.stat().st_mtime_ns
    monkeypatch.setenv("HARK_CACHE", str(asr_cache))
    again = Engine(load_config(ROOT / "config.yaml", env={}))
    try:
        assert again.pm.get_plugin("asr_pocketsphinx").compiled.folder == plugin.compiled.folder
        assert plugin.compiled.lm.stat().st_mtime_ns == stamp
    finally:
        again.close()


@needs_espeak
@pytest.mark.parametrize("skill, text, action, params", SPOKEN, ids=[s[0] for s in SPOKEN])
def test_spoken_command_for_every_skill(asr_engine, tmp_path, skill, text, action, params):
    """Audio -> vad -> pocketsphinx n-best -> intent -> action, through the same hooks as typed text."""
    wav = _espeak_wav(text, tmp_path / "command.wav")
    events = list(asr_engine.stream(WavFile(wav)))
    kinds = [e.kind for e in events]
    assert "speech_start" in kinds and "speech_end" in kinds
    heard = next(e for e in events if e.kind == "utterance")
    assert heard.data["source"] == "asr_pocketsphinx"
    scores = [h["score"] for h in heard.data["nbest"]]
    assert scores == sorted(scores, reverse=True) and 0.99 < sum(scores) < 1.01
    actions = [e.data for e in events if e.kind == "action"]
    assert actions, f"no action for {text!r}; heard {heard.data['nbest'][:3]}"
    assert actions[0]["name"] == action
    for key, value in params.items():
        assert actions[0]["params"][key] == value


@needs_espeak
def test_out_of_skill_speech_is_not_acted_on(asr_engine, tmp_path):
    wav = _espeak_wav("my grandmother baked an apple pie yesterday afternoon", tmp_path / "chat.wav")
    events = list(asr_engine.stream(WavFile(wav)))
    assert any(e.kind == "utterance" for e in events)
    assert not [e for e in events if e.kind == "action"]


def test_transcribe_rejects_other_sample_rates(asr_engine):
    plugin = asr_engine.pm.get_plugin("asr_pocketsphinx")
    with pytest.raises(ValueError, match="16 kHz"):
        plugin.transcriber.transcribe(np.zeros(8000, np.int16), 8000)


def test_silence_gives_no_confident_command(asr_engine):
    events: list = []
    nbest = asr_engine.transcribe(AudioChunk(np.zeros(16000, np.int16).tobytes()), sink=events)
    assert not events  # no plugin error
    if nbest is not None:  # a decoder may hear a filler word in silence, never a command
        assert asr_engine.parse(nbest).action is None


# ---------------------------------------------------------------------------------------------- settings, CLI


@pytest.mark.parametrize("settings, key", [
    ({"lm": "everything"}, "lm"),
    ({"fallback": "sometimes"}, "fallback"),
    ({"nbest": 0}, "nbest"),
    ({"generic_weight": 0}, "generic_weight"),
    ({"noise_floor_dbfs": 3}, "noise_floor_dbfs"),
    ({"streaming_lag_s": -1}, "streaming_lag_s"),
    ({"bogus": 1}, "bogus"),
])
def test_bad_settings_name_the_key(tmp_path, monkeypatch, settings, key):
    monkeypatch.setenv("HARK_CACHE", str(tmp_path / "cache"))
    cfg = tmp_path / "config.yaml"
    cfg.write_text(json.dumps({"skills": {"paths": [str(ROOT / "skills")]},
                               "plugins": {"settings": {"asr_pocketsphinx": settings}}}))
    with pytest.raises(ConfigError, match=rf"plugins\.settings\.asr_pocketsphinx\.{key}"):
        Engine(load_config(cfg, env={}))


def test_bad_decoder_option_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HARK_CACHE", str(tmp_path / "cache"))
    cfg = tmp_path / "config.yaml"
    cfg.write_text(json.dumps({"skills": {"paths": [str(ROOT / "skills")]},
                               "plugins": {"settings": {"asr_pocketsphinx": {"lm": "generic",
                                                                             "decoder": {"no_such_option": 1}}}}}))
    with pytest.raises(ConfigError, match=r"asr_pocketsphinx\.decoder: pocketsphinx refused .*no_such_option"):
        Engine(load_config(cfg, env={}))


def _hark(*args: str, env_cache: Path) -> subprocess.CompletedProcess:
    import os

    env = dict(os.environ, HARK_CACHE=str(env_cache))
    return subprocess.run([sys.executable, "-m", "hark.cli", *args], capture_output=True, text=True, env=env,
                          timeout=240)


def test_hark_listen_on_the_bundled_example_prints_the_action(asr_cache):
    wav = ROOT / "examples" / "demo" / "audio" / "turn_off_the_kitchen_lights.wav"
    out = _hark("listen", "--wav", str(wav), env_cache=asr_cache)
    assert out.returncode == 0, out.stderr
    assert "action: home.lights_off" in out.stdout and '"room": "kitchen"' in out.stdout


@needs_espeak
def test_hark_transcribe_prints_the_nbest(tmp_path, asr_cache):
    wav = _espeak_wav("pause the music", tmp_path / "pause.wav")
    out = _hark("transcribe", "--json", str(wav), env_cache=asr_cache)
    assert out.returncode == 0, out.stderr
    nbest = json.loads(out.stdout)
    assert nbest["source"] == "asr_pocketsphinx"
    assert nbest["hypotheses"][0]["text"] == "pause the music"


def test_hark_transcribe_bad_file_is_one_line(tmp_path):
    out = _hark("transcribe", str(tmp_path / "missing.wav"), env_cache=tmp_path)
    assert out.returncode != 0
    assert "no such WAV file" in out.stderr and "Traceback" not in out.stderr


def test_hark_train_rebuilds_the_language_model(tmp_path):
    out = _hark("train", env_cache=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "compiled: asr_pocketsphinx: skill language model compiled" in out.stdout
    assert list(tmp_path.glob("asr/*/skills.lm"))


# ---------------------------------------------------------------------------------------------------- wake phrase


from hark.types import Hypothesis, NBest  # noqa: E402
from hark.wake import find_wake_phrase  # noqa: E402


def _nb(*pairs):
    return NBest(tuple(Hypothesis(t, s) for t, s in pairs), source="test")


@pytest.mark.parametrize("heard, command", [
    ("hey hark turn off the lights", "turn off the lights"),
    ("hey hawk turn off the lights", "turn off the lights"),  # an ASR's near miss of a made-up name
    ("hey hark", None),
])
def test_wake_phrase_is_found_and_stripped(heard, command):
    found = find_wake_phrase(_nb((heard, 1.0)), "hey hark")
    assert found is not None
    assert (found.command.best.text if found.command else None) == command


def test_no_wake_phrase_means_no_match():
    assert find_wake_phrase(_nb(("turn off the lights", 1.0)), "hey hark") is None
    # only a minority of the n-best mass starts with the phrase: not said
    assert find_wake_phrase(_nb(("turn off the lights", 0.7), ("hey hark turn off the lights", 0.3)),
                            "hey hark") is None


def test_wake_phrase_strips_every_hypothesis_and_renormalises():
    found = find_wake_phrase(_nb(("hey hark pause the music", 0.6), ("hey hark pause the movie", 0.3),
                                 ("pause the music", 0.1)), "hey hark")
    assert [h.text for h in found.command.hypotheses] == ["pause the music", "pause the movie"]
    assert math.isclose(sum(h.score for h in found.command.hypotheses), 1.0, rel_tol=1e-5)


@needs_espeak
def test_wake_phrase_gates_spoken_commands(tmp_path, asr_cache):
    """'hey hark' alone, then a command (acted on), then another command without the phrase (ignored)."""
    x = np.concatenate([silence(0.5), _say("hey hark", tmp_path), silence(1.5),
                        _say("turn off the kitchen lights", tmp_path), silence(1.0),
                        _say("turn on the kitchen lights", tmp_path), silence(1.0)])
    wav = save(tmp_path / "session.wav", x)
    out = _hark("listen", "--json", "--wake", "hey hark", "--wav", str(wav), env_cache=asr_cache)
    assert out.returncode == 0, out.stderr
    kinds = [json.loads(line)["kind"] for line in out.stdout.splitlines()]
    decisions = [k for k in kinds if k in ("wake", "action", "ignored", "out_of_scope")]
    assert decisions == ["wake", "action", "ignored"], kinds
    actions = [json.loads(line)["data"]["name"] for line in out.stdout.splitlines()
               if json.loads(line)["kind"] == "action"]
    assert actions == ["home.lights_off"]


def test_push_to_talk_needs_a_microphone(tmp_path):
    wav = ROOT / "examples" / "demo" / "audio" / "play_the_matrix.wav"
    out = _hark("listen", "--push-to-talk", "--wav", str(wav), env_cache=tmp_path)
    assert out.returncode != 0 and "--push-to-talk needs a microphone" in out.stderr


@needs_espeak
@pytest.mark.parametrize("streaming, final_pass", [(True, "whole"), (True, "live"), (False, "whole")])
def test_live_decoding_and_whole_utterance_decoding_agree(tmp_path, asr_cache, monkeypatch, streaming, final_pass):
    """Three commands in one stream, each decoded live (the first too: its own first second gives the cepstral
    mean) and then finished at the endpoint (``live``) or decoded again whole with the live decode's mean
    (``whole``); without streaming, decoded whole with a mean of their own."""
    x = np.concatenate([silence(0.5), _say("turn off the kitchen lights", tmp_path), silence(1.2),
                        _say("pause the music", tmp_path), silence(1.2), _say("play the matrix", tmp_path), silence(1.2)])
    frames = [AudioChunk(x[i:i + 480].tobytes(), 16000, i / 16000, k) for k, i in enumerate(range(0, len(x), 480))]
    monkeypatch.setenv("HARK_CACHE", str(asr_cache))
    with Engine(load_config(ROOT / "config.yaml", env={},
                            **{"plugins.settings.asr_pocketsphinx": {"streaming": streaming,
                                                                     "final_pass": final_pass}})) as engine:
        stream = engine.open_stream()
        events = [e for chunk in frames for e in stream.feed(chunk)]
        streamed = stream.states["asr_pocketsphinx"].streamed
        actions = [e.data["name"] for e in events + stream.close() if e.kind == "action"]
    assert actions == ["home.lights_off", "music.pause", "video.play"]
    assert streamed == (3 if streaming else 0)


def test_whole_utterance_decode_while_a_live_one_is_open(asr_engine, tmp_path):
    """A transcription request for other audio mid-utterance abandons the live decode instead of failing."""
    stream = asr_engine.open_stream()
    live = stream.states["asr_pocketsphinx"]
    live.audio(np.zeros(4800, np.int16), 100.0)
    live.speech_start(100.2)
    assert live._live is not None
    nbest = live.transcribe(np.zeros(16000, np.int16), 16000, 200.0, 201.0)  # other audio: decoded whole
    assert live._live is None and live.streamed == 0
    assert nbest is None or asr_engine.parse(nbest).action is None
    stream.close()


@needs_espeak
def test_semantic_endpointing_ends_complete_requests_early_and_waits_through_a_hesitation(asr_engine, tmp_path):
    """Real pocketsphinx, live decoding: a complete command ends at the short pause (reason complete); "turn off
    the ... kitchen lights" with a 400 ms pause after "the" stays one utterance (the skill LM expects more words)."""
    def trim(x):
        loud = np.nonzero(np.abs(x) > 300)[0]
        return x[loud[0]:loud[-1] + 1]

    half = trim(_say("turn off the", tmp_path)), trim(_say("kitchen lights", tmp_path))
    # "pause the music" may go on ("... in the kitchen": the skill LM gives P(</s>) 0.23), so it waits the full
    # silence; "turn off the kitchen lights" rarely does (0.75) and ends at the first 150 ms of the pause
    x = np.concatenate([silence(0.5), _say("pause the music", tmp_path), silence(1.0),
                        _say("turn off the kitchen lights", tmp_path), silence(1.0),
                        half[0], silence(0.4), half[1], silence(1.0)])
    frames = [AudioChunk(x[i:i + 480].tobytes(), 16000, i / 16000, k) for k, i in enumerate(range(0, len(x), 480))]
    events = list(asr_engine.stream(frames))
    ends = [e.data["reason"] for e in events if e.kind == "speech_end"]
    actions = [e.data["name"] for e in events if e.kind == "action"]
    assert actions == ["music.pause", "home.lights_off", "home.lights_off"]
    assert len(ends) == 3  # the hesitation did not split the third request
    assert ends[:2] == ["silence", "complete"]
    lights = [e for e in events if e.kind == "action"][2]
    assert lights.data["params"] == {"room": "kitchen"}, lights.data


@needs_espeak
def test_spoken_unlock_asks_and_a_spoken_yes_confirms(asr_engine, tmp_path):
    """One recording, one stream: "unlock the front door", a pause, "yes" -> confirm, then the action."""
    speech = [silence(0.25), _say("unlock the front door", tmp_path), silence(1.5), _say("yes", tmp_path),
              silence(0.8)]
    wav = save(tmp_path / "unlock_yes.wav", np.concatenate(speech))
    events = list(asr_engine.stream(WavFile(wav)))
    heard = [e.data["nbest"][0]["text"] for e in events if e.kind == "utterance"]
    kinds = [e.kind for e in events if e.kind in ("confirm", "action", "cancelled")]
    assert kinds == ["confirm", "action"], f"heard {heard}"
    action = next(e.data for e in events if e.kind == "action")
    assert action["name"] == "home.unlock" and action["params"]["door"] == "front door"
    # the same command without the yes never unlocks
    alone = save(tmp_path / "unlock.wav", np.concatenate(speech[:3]))
    assert not [e for e in asr_engine.stream(WavFile(alone)) if e.kind == "action"]


@needs_espeak
def test_with_a_wake_phrase_the_yes_to_a_confirmation_needs_none(tmp_path, asr_cache):
    """'hey hark unlock the front door' asks; the bare 'yes' that follows answers it; a later bare 'yes' does not."""
    x = np.concatenate([silence(0.5), _say("hey hark unlock the front door", tmp_path), silence(1.5),
                        _say("yes", tmp_path), silence(1.0), _say("yes", tmp_path), silence(1.0)])
    wav = save(tmp_path / "session.wav", x)
    out = _hark("listen", "--json", "--wake", "hey hark", "--wav", str(wav), env_cache=asr_cache)
    assert out.returncode == 0, out.stderr
    events = [json.loads(line) for line in out.stdout.splitlines()]
    decisions = [e["kind"] for e in events if e["kind"] in ("confirm", "action", "ignored", "cancelled")]
    assert decisions == ["confirm", "action", "ignored"], [(e["kind"], e["data"].get("text")) for e in events]
    assert next(e for e in events if e["kind"] == "action")["data"]["name"] == "home.unlock"
