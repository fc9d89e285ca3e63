"""How the recogniser's raw decode becomes n-best posteriors (``asr_pocketsphinx.nbest_posteriors``: score scale,
the generic-LM transcription's share) and how benchmarks/nbest_replay.py rebuilds and scores saved lists. Pure
functions: no audio is decoded here."""
from __future__ import annotations

import math
import sys
from dataclasses import replace

import pytest

from hark.plugins.asr_pocketsphinx import AsrSettings, nbest_posteriors

from conftest import ROOT

SKILL = [("turn off the lights", -3.00), ("turn of the lights", -3.01), ("turn on the lights", -3.03)]
GENERIC = [("turn of the light", -3.2)]


def probs(rows, confidence=1.0, extra=(), **settings):
    return dict(nbest_posteriors(list(rows), confidence, list(extra), replace(AsrSettings(), **settings)))


def test_posteriors_are_a_scaled_softmax_of_the_path_scores():
    p = probs(SKILL, score_scale=100.0)
    z = sum(math.exp(100.0 * (s + 3.0)) for _, s in SKILL)
    for text, s in SKILL:
        assert p[text] == pytest.approx(math.exp(100.0 * (s + 3.0)) / z, abs=1e-5)
    assert list(p) == [t for t, _ in SKILL]  # best first


def test_a_lower_score_scale_flattens_the_list():
    sharp, flat = probs(SKILL, score_scale=250.0), probs(SKILL, score_scale=60.0)
    assert flat["turn off the lights"] < sharp["turn off the lights"]
    assert flat["turn on the lights"] > sharp["turn on the lights"]
    assert sum(flat.values()) == pytest.approx(1.0, abs=1e-5)


def test_generic_transcription_gets_the_skill_lms_missing_confidence():
    p = probs(SKILL, confidence=0.3, extra=GENERIC, generic_weight=1.0)
    assert p["turn of the light"] == pytest.approx(0.7, abs=1e-5)  # 1 - confidence
    assert sum(v for t, v in p.items() if t != "turn of the light") == pytest.approx(0.3, abs=1e-5)


def test_generic_weight_shrinks_the_generic_share_before_renormalising():
    p = probs(SKILL, confidence=0.3, extra=GENERIC, generic_weight=0.25, score_scale=250.0)
    assert p["turn of the light"] == pytest.approx(0.7 * 0.25 / (0.3 + 0.7 * 0.25), abs=1e-5)
    assert next(iter(p)) == "turn off the lights"  # a peaked skill 1-best now leads
    assert next(iter(probs(SKILL, confidence=0.3, extra=GENERIC, generic_weight=1.0, score_scale=250.0))) == \
        "turn of the light"
    assert sum(p.values()) == pytest.approx(1.0, abs=1e-5)


def test_generic_weight_does_nothing_without_a_generic_transcription():
    assert probs(SKILL, confidence=0.3, generic_weight=0.25) == probs(SKILL, confidence=0.3, generic_weight=1.0)


def test_generic_text_repeating_a_skill_hypothesis_adds_to_it_and_nbest_truncates():
    p = probs(SKILL, confidence=0.5, extra=[("turn on the lights", -3.1)], nbest=2, score_scale=1.0)
    assert list(p) == ["turn on the lights", "turn off the lights"]
    assert sum(p.values()) == pytest.approx(1.0, abs=1e-5)


def test_nothing_decoded_is_an_empty_list():
    assert nbest_posteriors([], 0.0, [], AsrSettings()) == []


# --------------------------------------------------------------------------------- benchmarks/nbest_replay.py

sys.path.insert(0, str(ROOT / "benchmarks"))


def _row(**kw):
    row = {"condition": "clean", "voice": "v", "text": "turn off the lights", "expected": "home.LightsOff",
           "expected_slots": {}, "nbest": [{"text": "turn of the light", "score": 0.7},
                                           {"text": "turn off the lights", "score": 0.3}],
           "asr_raw": {"skill": SKILL, "confidence": 0.3, "generic": GENERIC}}
    row.update(kw)
    return row


def test_replay_rebuilds_lists_from_the_raw_decode():
    from nbest_replay import nbest_of

    saved = nbest_of(_row())
    assert saved == [("turn of the light", 0.7), ("turn off the lights", 0.3)]
    auto = replace(AsrSettings(), fallback="auto", fallback_confidence=0.55, generic_weight=1.0)
    assert dict(nbest_of(_row(), asr=auto))["turn of the light"] == pytest.approx(0.7, abs=1e-5)
    # above the fallback threshold the generic transcription was not asked for: it is left out
    skill_only = nbest_of(_row(), asr=replace(auto, fallback_confidence=0.2))
    assert "turn of the light" not in dict(skill_only)
    assert nbest_of(_row(), k=1) == [("turn of the light", 1.0)]


def test_replay_summary_counts_accuracy_rejections_and_false_accepts():
    from nbest_replay import summarise

    rows = [{"condition": "clean", "expected": "a.X", "intent": "a.X", "one_best_intent": None, "oracle_ok": True,
             "slots_ok": 1, "slots_n": 1, "intent_ok": True},
            {"condition": "clean", "expected": "a.Y", "intent": None, "one_best_intent": "a.Y", "oracle_ok": True,
             "slots_ok": 0, "slots_n": 1, "intent_ok": False},
            {"condition": "clean", "expected": None, "intent": "a.X", "one_best_intent": None, "oracle_ok": True,
             "slots_ok": 0, "slots_n": 0, "intent_ok": False}]
    s = summarise(rows)["clean"]
    assert (s["utterances"], s["intent_accuracy"], s["intent_accuracy_1best"], s["slot_value_accuracy"]) == \
        (2, 0.5, 0.5, 0.5)
    assert (s["rejected_in_scope"], s["out_of_scope_utterances"], s["out_of_scope_false_accepts"]) == (1, 1, 1)


def test_search_and_final_pass_settings_name_what_was_wrong():
    bad = replace(AsrSettings(), search="fsg", final_pass="twice", other_weight=2.0)
    assert {name for name, _ in bad.problems()} == {"search", "final_pass", "other_weight"}
    assert AsrSettings().problems() == []
