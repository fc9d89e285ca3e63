"""The JSGF grammar compiled from skill templates (plugins/asr_pocketsphinx/grammar.py): its structure for the coffee
skill, that pocketsphinx parses it with the pocketsphinx dictionary, and that an espeak-ng order decodes to the
sentence it is. Fast: no engine, no compiled LM, no data set."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hark.plugins.asr_pocketsphinx.compile import Lexicon
from hark.plugins.asr_pocketsphinx.grammar import SEARCH, grammar_decoder, jsgf
from hark.plugins.asr_pocketsphinx.transcriber import add_noise_floor, clean
from hark.skills import SkillRegistry
from hark.slots import SlotTypeRegistry

from conftest import ROOT, espeak, needs_espeak, silence


@pytest.fixture(scope="module")
def coffee():
    registry = SkillRegistry(SlotTypeRegistry())
    registry.add_path(ROOT / "examples" / "skills")
    return registry.build()


@pytest.fixture(scope="module")
def models():
    import pocketsphinx

    base = Path(pocketsphinx.get_model_path()) / "en-us"
    return base / "en-us", base / "cmudict-en-us.dict"


def test_the_coffee_grammar_has_one_public_rule_and_every_slot_value(coffee):
    g = jsgf(coffee)
    assert g.startswith("#JSGF V1.0;")
    assert g.count("public <") == 1
    for value in ("twelve ounce", "a little bit of almond milk", "lots of brown sugar", "drip coffee", "i'd like"):
        assert value in g
    # the six orders of size, roast and shots are written once each as distinct sequences, the tail once
    assert g.count("[with (") == 1
    body = next(line for line in g.splitlines() if line.startswith("<coffee_OrderDrink>"))
    assert body.count("<slot_coffee_size> <slot_coffee_roast> <slot_coffee_shots>") == 1


def test_words_the_dictionary_lacks_are_left_out(coffee):
    g = jsgf(coffee, known=lambda w: w != "mocha")
    assert "mocha" not in g and "latte" in g


def test_pocketsphinx_parses_the_grammar(coffee, models):
    hmm, dic = models
    lexicon = Lexicon(dic)
    decoder = grammar_decoder(hmm, dic, jsgf(coffee, lambda w: w in lexicon.entries))
    assert decoder.current_search() == SEARCH
    fsg = decoder.get_fsg(SEARCH)
    assert fsg is not None


@needs_espeak
def test_an_order_decodes_to_itself(coffee, models, tmp_path):
    hmm, dic = models
    lexicon = Lexicon(dic)
    decoder = grammar_decoder(hmm, dic, jsgf(coffee, lambda w: w in lexicon.entries), bestpath=False)
    said = "can i have a large latte with soy milk"
    pcm = np.concatenate([silence(0.5), espeak(said, tmp_path / "order.wav"), silence(0.5)])
    decoder.start_utt()
    decoder.process_raw(add_noise_floor(pcm, -50.0).tobytes(), full_utt=True)
    decoder.end_utt()
    assert decoder.hyp() is not None and clean(decoder.hyp().hypstr) == said
