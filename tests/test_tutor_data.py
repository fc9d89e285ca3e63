"""The tutor's training data: which voices and prompts may be trained on, how made-up learners mispronounce, and
the L2-GEN paraphraser's samples (training/tutor_data.py, training/l2gen.py)."""
from __future__ import annotations

import random

import numpy as np
import pytest

from training import tutor_data as td

THINK = (("AY",), ("TH", "IH", "NG", "K"), ("S", "OW"))


def test_voice_sets_share_no_variant():
    variants = {k: {td.voice_variant(v) for v in voices} for k, voices in td.VOICES.items()}
    assert not variants["train"] & variants["dev"]
    assert not variants["train"] & variants["test"]
    assert not variants["dev"] & variants["test"]


def test_phone_edits_name_what_was_said_in_each_place():
    assert td.phone_edits(["TH", "IH", "NG", "K"], ["S", "IH", "NG", "K"]) == ["S", "IH", "NG", "K"]
    assert td.phone_edits(["TH", "IH", "NG", "K"], ["TH", "IH", "NG"]) == ["TH", "IH", "NG", None]
    assert td.phone_edits(["TH", "IH", "NG"], ["TH", "IY", "IH", "NG"]) == ["TH", "IH", "NG"]  # an insertion


def test_regroup_puts_a_sentence_sample_back_into_words():
    said = ["AY", "S", "IH", "NG", "K", "S", "OW"]
    assert td.regroup(THINK, said) == (("AY",), ("S", "IH", "NG", "K"), ("S", "OW"))
    assert td.regroup(THINK, ["AY", "S", "OW"]) == (("AY",), ("TH", "IH", "NG", "K"), ("S", "OW"))


def test_syllables_cover_the_sequence_and_hold_one_vowel_each():
    phones = ("F", "AO", "R", "DH", "AH", "T", "W", "EH", "N", "T", "IY")
    parts = td.syllables(phones)
    assert tuple(p for part in parts for p in part) == phones
    vowels = {"AO", "AH", "EH", "IY"}
    assert all(sum(p in vowels for p in part) == 1 for part in parts)


@pytest.mark.parametrize("make", [td.mispronounce, lambda w, rng: td.random_errors(w, rng, 0.12)])
def test_made_up_errors_change_about_the_rate_asked(make):
    rng = random.Random(0)
    words = THINK * 200
    said = make(words, rng)
    changed = sum(a != b for w, s in zip(words, said) for a, b in zip(w, s)) + \
        sum(len(w) - len(s) for w, s in zip(words, said))
    assert 0.06 < changed / sum(len(w) for w in words) < 0.2
    assert all(s for s in said)  # no word vanishes


def test_l2gen_samples_are_plausible_paraphrases():
    from hark.phonetics import edit_distance
    from training.l2gen import Paraphraser

    para = Paraphraser()
    prompt = [p for w in THINK for p in w] * 3
    samples = para.sample([prompt] * 20, np.random.default_rng(0))
    rates = [edit_distance(s, prompt) / len(prompt) for s in samples]
    assert 0.0 < np.mean(rates) < 0.5, rates
    assert sum(r == 0 for r in rates) < 20  # it does make mistakes
    assert para.meta["temperature"] in (0.6, 0.8, 1.0, 1.2, 1.5)


@pytest.mark.data
def test_prompts_leave_out_every_benchmark_prompt():
    from hark.phonetics import text_words

    data = td._data_dir()
    prompts = td.prompts(20000)
    held = td._held_out_sentences(data)
    assert held, "speechocean762 prompts were not read"
    g2p_held = {tuple(p for w in ws for p in w) for ws in prompts} & td._held_out_phones(data)
    assert not g2p_held
    texts = {" ".join(text_words(line.split("\t", 1)[-1])) for line in
             (data / "speechocean762" / "test" / "text").read_text().splitlines()}
    assert texts <= held
    with pytest.raises(ValueError, match="L2-ARCTIC"):
        canonical = td.l2arctic("test")[0][1]
        td.check_disjoint([[canonical]], data)


@pytest.mark.data
def test_l2arctic_split_by_speaker():
    train, test = td.l2arctic("train"), td.l2arctic("test")
    assert {u.split("_")[0] for u, _, _ in test} == set(td.L2ARCTIC_TEST_SPEAKERS)
    assert not {u.split("_")[0] for u, _, _ in train} & set(td.L2ARCTIC_TEST_SPEAKERS)
    assert len(train) == 600 and len(test) == 300
