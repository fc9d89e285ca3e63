"""Acoustic-model adaptation (training/acoustic_adaptation.py, training/adapt_asr.py) with real pocketsphinx
decoders and, when installed, real sphinxtrain tools."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, espeak, needs_espeak

sys.path.insert(0, str(ROOT))  # training/ is not a runtime package

from training.acoustic_adaptation import (Recording, SphinxtrainMissing, adapt_model,  # noqa: E402
                                          mixture_weights_from_sendump, sphinxtrain_dir)

pocketsphinx = pytest.importorskip("pocketsphinx")
BASE = Path(pocketsphinx.get_model_path()) / "en-us"
SHIPPED = Path(__file__).resolve().parent.parent / "plugins" / "asr_pocketsphinx" / "models" / "en-us-synthetic"


def _sphinxtrain() -> bool:
    try:
        sphinxtrain_dir()
        return True
    except SphinxtrainMissing:
        return False


needs_sphinxtrain = pytest.mark.skipif(not _sphinxtrain(),
                                       reason="sphinxtrain is not installed (make system-deps installs it)")


def _floor(pcm: np.ndarray, seed: int = 0) -> np.ndarray:
    x = np.concatenate([np.zeros(4800), pcm / 32768.0, np.zeros(4800)])
    x = x + np.random.default_rng(seed).normal(0, 10 ** (-50 / 20), len(x))
    return np.clip(x * 32768, -32768, 32767).astype(np.int16)


def _decode(hmm: Path, pcm: np.ndarray, **options) -> tuple[str, int]:
    options = options or {"lm": str(BASE / "en-us.lm.bin")}
    decoder = pocketsphinx.Decoder(hmm=str(hmm), dict=str(BASE / "cmudict-en-us.dict"), loglevel="FATAL",
                                   **options)
    decoder.start_utt()
    decoder.process_raw(pcm.tobytes(), full_utt=True)
    decoder.end_utt()
    hyp = decoder.hyp()
    return (hyp.hypstr, hyp.best_score) if hyp else ("", 0)


@needs_espeak
def test_float_mixture_weights_rebuilt_from_the_sendump_decode_identically(tmp_path):
    model = tmp_path / "model"
    shutil.copytree(BASE / "en-us", model)
    shape = mixture_weights_from_sendump(model / "sendump", model / "mixture_weights")
    assert shape == (5126, 3, 128)
    pcm = _floor(espeak("what is the weather like tomorrow", tmp_path / "a.wav"))
    with_sendump = _decode(model, pcm)
    (model / "sendump").unlink()  # now pocketsphinx must read the rebuilt float weights
    assert _decode(model, pcm) == with_sendump
    assert with_sendump[0]


def test_a_bad_sendump_is_a_clear_error(tmp_path):
    bad = tmp_path / "sendump"
    bad.write_bytes(b"\x00" * 16)
    with pytest.raises(ValueError, match="not a usable pocketsphinx sendump"):
        mixture_weights_from_sendump(bad, tmp_path / "out")


def test_shipped_synthetic_voice_model_is_complete_and_loads():
    for name in ("mdef", "means", "variances", "sendump", "transition_matrices", "noisedict", "feat.params",
                 "MODEL_CARD.md", "adaptation.json"):
        assert (SHIPPED / name).exists(), name
    assert sum(f.stat().st_size for f in SHIPPED.iterdir()) < 8e6
    pocketsphinx.Decoder(hmm=str(SHIPPED), dict=str(BASE / "cmudict-en-us.dict"), lm=None, loglevel="FATAL")


@needs_espeak
@needs_sphinxtrain
def test_map_adaptation_fits_the_voice_it_heard(tmp_path):
    """Adapting to 12 sentences of one voice must raise the acoustic score of a new sentence in that voice."""
    lexicon = {}
    for line in (BASE / "cmudict-en-us.dict").read_text(encoding="utf-8").splitlines():
        word, *phones = line.split()
        lexicon.setdefault(word.split("(")[0], " ".join(phones))
    sentences = ["turn on the lights in the kitchen", "set a timer for ten minutes", "play some music",
                 "what is the weather like today", "turn off the bedroom lights", "stop the music",
                 "set an alarm for seven in the morning", "how long is left on my timer",
                 "dim the living room lights", "will it rain tomorrow", "pause the song", "cancel my alarm"]
    recordings = [Recording(_floor(espeak(s, tmp_path / "r.wav", voice="en-us+m7"), i), tuple(s.split()))
                  for i, s in enumerate(sentences)]
    out = tmp_path / "adapted"
    stats = adapt_model(recordings, BASE / "en-us", out, lexicon, tmp_path / "work")
    assert stats["utterances"] == 12 and stats["words"] > 20
    assert not np.array_equal(np.fromfile(out / "means", np.uint8), np.fromfile(BASE / "en-us" / "means", np.uint8))
    held_out = _floor(espeak("turn on the music in the living room", tmp_path / "h.wav", voice="en-us+m7"))
    # the same words forced through both models: only the acoustic fit differs
    jsgf = tmp_path / "one.gram"
    jsgf.write_text("#JSGF V1.0;\ngrammar one;\npublic <s> = turn on the music in the living room;\n")
    before = _decode(BASE / "en-us", held_out, jsgf=str(jsgf))
    after = _decode(out, held_out, jsgf=str(jsgf))
    assert after[0] == before[0] == "turn on the music in the living room"
    assert after[1] > before[1]


def test_adaptation_names_a_word_it_cannot_pronounce(tmp_path):
    if not _sphinxtrain():
        pytest.skip("sphinxtrain is not installed (make system-deps installs it)")
    rec = Recording(np.zeros(16000, dtype=np.int16), ("hello", "zorblax"))
    with pytest.raises(ValueError, match="zorblax"):
        adapt_model([rec], BASE / "en-us", tmp_path / "out", {"hello": "HH AH L OW"}, tmp_path / "work")


@needs_espeak
def test_engine_decodes_with_the_shipped_adapted_model(tmp_path, monkeypatch):
    """The folder works as `asr_pocketsphinx.hmm` end to end: a test voice's command -> the right words."""
    from conftest import silence

    from hark import Engine, load_config
    from hark.types import AudioChunk

    monkeypatch.setenv("HARK_CACHE", str(tmp_path / "cache"))
    root = SHIPPED.parents[3]
    engine = Engine(load_config(root / "config.yaml", env={},
                                **{"plugins.settings.asr_pocketsphinx": {"hmm": str(SHIPPED)}}))
    try:
        pcm = np.concatenate([silence(0.3), espeak("turn off the kitchen lights", tmp_path / "c.wav", "en-us+f4"),
                              silence(0.6)])
        nbest = engine.transcribe(AudioChunk(samples=pcm.astype("<i2").tobytes()))
        assert Path(engine.pm.get_plugin("asr_pocketsphinx").transcriber._hmm) == SHIPPED
        assert nbest.hypotheses[0].text == "turn off the kitchen lights"
    finally:
        engine.close()
