"""The trained tier with the model shipped in plugins/intent/model (real onnxruntime session, no torch)."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

import hark
from conftest import ROOT
from hark.plugins.intent import DEFAULT_MODEL_DIR
from hark.plugins.intent.model import JointModel

pytestmark = pytest.mark.skipif(not (DEFAULT_MODEL_DIR / "meta.json").is_file(),
                                reason="no shipped model in plugins/intent/model (hark train --full builds it)")


@pytest.fixture(scope="module")
def model():
    return JointModel(DEFAULT_MODEL_DIR)


def test_shipped_model_covers_the_bundled_skills(model, bundled_engine):
    bundled = {i.qualified for i in bundled_engine.skills.intents()
               if bundled_engine.skills[i.skill].path.is_relative_to(ROOT / "skills")}
    assert bundled and bundled <= set(model.intents)  # a plugin's skill (sounds) is the template tier's until a retrain
    assert "oos" in model.intents
    assert bundled_engine.pm.get_plugin("intent").status.startswith("loaded")
    card = (DEFAULT_MODEL_DIR / "MODEL_CARD.md").read_text()
    assert "HWU64" in card and "python -m training.train_joint" in card


def test_batch_of_hypotheses_equals_one_by_one(model):
    texts = ["set a timer for ten minutes", "turn off the kitchen lights please", "play",
             "what's the weather like in paris tomorrow", "read the hunger games to me"]
    batch = model.predict(texts)
    for text, together in zip(texts, batch):
        alone = model.predict([text])[0]
        # dynamic int8 quantization scales activations per batch tensor, so padding moves probabilities by
        # quantization noise only; decisions must not change
        np.testing.assert_allclose(together.intent_probs, alone.intent_probs, atol=1e-2)
        assert together.intent_probs.argmax() == alone.intent_probs.argmax()
        assert [(s.slot, s.start, s.end) for s in together.spans] == [(s.slot, s.start, s.end) for s in alone.spans]


def test_spans_fall_on_words_and_probabilities_sum_to_one(model):
    text = "set the bedroom lights to 40 percent"
    pred = model.predict([text])[0]
    assert pred.intent_probs.sum() == pytest.approx(1.0, abs=1e-4)
    words = [t.text for t in pred.tokens]
    for span in pred.spans:
        assert 0 <= span.start < span.end <= len(words) and 0 < span.confidence <= 1


def test_engine_uses_the_model_for_paraphrases_and_keeps_templates(bundled_engine):
    exact = bundled_engine.parse("set a timer for ten minutes")
    assert (exact.action.name, exact.action.params["duration"]) == ("timer.start", 600)
    oos = bundled_engine.parse("what is the capital of peru")
    assert oos.action is None


def test_checksum_mismatch_is_a_clear_model_error(tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(DEFAULT_MODEL_DIR, copy)
    data = bytearray((copy / "model.onnx").read_bytes())
    data[-10] ^= 0xFF
    (copy / "model.onnx").write_bytes(bytes(data))
    with pytest.raises(hark.ModelError, match="checksum mismatch"):
        JointModel(copy)


def test_wrong_format_is_a_clear_model_error(tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(DEFAULT_MODEL_DIR, copy)
    meta = json.loads((copy / "meta.json").read_text())
    meta["format"] = "something-else/9"
    (copy / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(hark.ModelError, match="format 'something-else/9'"):
        JointModel(copy)


def test_the_shipped_model_is_what_parses_the_paraphrases_templates_miss():
    """Switching the trained tier off must show: the skills' held-out paraphrases parse right with it (>= 95 %)
    and clearly worse without it (the template tier alone covers about three in four)."""
    from hark import Engine, load_config

    root = DEFAULT_MODEL_DIR.parent.parent.parent
    scores = {}
    for name, overrides in (("both", {}), ("templates", {"plugins.disabled": ["intent", "asr_pocketsphinx"]})):
        with Engine(load_config(root / "config.yaml", env={}, **overrides)) as engine:
            ctx = engine.context(now="2026-11-24T18:30:00+00:00")
            tests = engine.skills.tests()
            right = 0
            for t in tests:
                r = engine.parse(t.text, ctx)
                chosen = r.action or (r.confirm.interpretation if r.confirm else None)
                right += chosen is not None and (chosen.skill, chosen.intent) == (t.skill, t.intent)
            scores[name] = right / len(tests)
    assert scores["both"] >= 0.95 and scores["templates"] <= 0.85, scores
