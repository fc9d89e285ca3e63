"""Constrained BIO decoding and n-best fusion of the trained tier (pure numpy; the model itself is tested with
the shipped model in test_intent_model.py)."""
from __future__ import annotations

import numpy as np
import pytest

from hark.errors import ModelError
from hark.plugins.intent.model import allowed_transitions, viterbi_bio, viterbi_bio_batch, with_transition_prior

TAGS = ["O", "B-room", "I-room", "B-device", "I-device"]


def logp(rows):
    x = np.log(np.array(rows, dtype=np.float64) + 1e-9)
    return x - np.log(np.exp(x).sum(axis=1, keepdims=True))


def test_constraints_forbid_inside_without_begin():
    start, trans = allowed_transitions(TAGS)
    assert start[TAGS.index("I-room")] == -np.inf and start[TAGS.index("B-room")] == 0
    assert trans[TAGS.index("O"), TAGS.index("I-room")] == -np.inf
    assert trans[TAGS.index("B-device"), TAGS.index("I-room")] == -np.inf
    assert trans[TAGS.index("B-room"), TAGS.index("I-room")] == 0
    assert trans[TAGS.index("I-room"), TAGS.index("I-room")] == 0


def test_viterbi_repairs_what_greedy_gets_wrong():
    # greedy would say O I-room: ill-formed. The best well-formed path is O B-room.
    lp = logp([[0.9, 0.05, 0.02, 0.02, 0.01], [0.1, 0.35, 0.45, 0.05, 0.05]])
    greedy = [int(i) for i in lp.argmax(axis=1)]
    assert [TAGS[i] for i in greedy] == ["O", "I-room"]
    start, trans = allowed_transitions(TAGS)
    assert [TAGS[i] for i in viterbi_bio(lp, start, trans)] == ["O", "B-room"]


def test_viterbi_keeps_a_well_formed_greedy_path():
    lp = logp([[0.1, 0.8, 0.05, 0.03, 0.02], [0.1, 0.1, 0.7, 0.05, 0.05], [0.8, 0.05, 0.05, 0.05, 0.05]])
    start, trans = allowed_transitions(TAGS)
    assert [TAGS[i] for i in viterbi_bio(lp, start, trans)] == ["B-room", "I-room", "O"]


def test_transition_prior_splits_nothing_the_training_data_never_split():
    """Two adjacent spans of one type (B-room B-room) are allowed by BIO, and the logits here prefer them;
    a prior that has seen B-room followed by I-room, never by B-room, joins them into one span."""
    lp = logp([[0.1, 0.8, 0.05, 0.03, 0.02], [0.1, 0.48, 0.4, 0.01, 0.01]])
    start, trans = allowed_transitions(TAGS)
    assert [TAGS[i] for i in viterbi_bio(lp, start, trans)] == ["B-room", "B-room"]
    log_probs = np.full((5, 5), np.log(0.2))
    log_probs[TAGS.index("B-room")] = np.log([0.3, 0.01, 0.67, 0.01, 0.01])
    prior = {"start": np.log(np.full(5, 0.2)).tolist(), "log_probs": log_probs.tolist(), "weight": 0.5}
    start_p, trans_p = with_transition_prior(start, trans, prior, "meta.json")
    assert [TAGS[i] for i in viterbi_bio(lp, start_p, trans_p)] == ["B-room", "I-room"]
    assert np.isneginf(trans_p[TAGS.index("O"), TAGS.index("I-room")])  # the BIO constraint still holds


def test_transition_prior_weight_zero_or_absent_is_the_plain_constraint():
    start, trans = allowed_transitions(TAGS)
    for prior in (None, {"weight": 0.0, "note": "did not help"}):
        s, t = with_transition_prior(start, trans, prior, "meta.json")
        assert s is start and t is trans


def test_malformed_transition_prior_is_a_model_error():
    start, trans = allowed_transitions(TAGS)
    with pytest.raises(ModelError, match="expected \\(5,\\) and \\(5, 5\\)"):
        with_transition_prior(start, trans, {"start": [0.0] * 4, "log_probs": [[0.0] * 5] * 5, "weight": 1},
                              "meta.json")
    with pytest.raises(ModelError, match="malformed"):
        with_transition_prior(start, trans, {"weight": 1}, "meta.json")


def test_batched_viterbi_is_the_exhaustive_best_path_of_every_row():
    """A padded batch of rows of different lengths, checked against brute force over all well-formed paths."""
    import itertools

    rng = np.random.default_rng(3)
    start, trans = allowed_transitions(TAGS)
    lengths = [4, 1, 0, 3, 4]
    lp = np.stack([logp(rng.random((4, len(TAGS)))) for _ in lengths])
    lp[1, 1:] = lp[3, 3:] = 99.0  # padding must be ignored whatever it holds
    paths = viterbi_bio_batch(lp, lengths, start, trans)
    for row, n, path in zip(lp, lengths, paths):
        best, best_score = [], -np.inf
        for cand in itertools.product(range(len(TAGS)), repeat=n):
            score = start[cand[0]] + row[0, cand[0]] if n else 0.0
            for t in range(1, n):
                score += trans[cand[t - 1], cand[t]] + row[t, cand[t]]
            if score > best_score:
                best, best_score = list(cand), score
        assert path == best
        assert path == viterbi_bio(row[:n], start, trans)


def test_viterbi_empty():
    start, trans = allowed_transitions(TAGS)
    assert viterbi_bio(np.zeros((0, len(TAGS))), start, trans) == []


def test_plugin_is_idle_without_a_model(write_skill, make_engine, tmp_path):
    from conftest import HOME_SKILL

    write_skill("home", HOME_SKILL)
    engine = make_engine(**{"plugins.disabled": [],
                             "plugins.settings": {"intent": {"model_dir": str(tmp_path / "nothing")}}})
    plugin = engine.pm.get_plugin("intent")
    assert plugin.status.startswith("idle: no model in")
    assert engine.parse("turn on the lights").action.name == "home.lights_on"  # templates still answer


@pytest.mark.parametrize("meta, message", [("{not json", "meta.json: not valid JSON"),
                                           ("[1, 2]", "meta.json: format None"),
                                           ('{"format": "hark-joint-intent-slot/1"}', "missing key 'intents'")])
def test_broken_model_is_reported_and_templates_keep_working(write_skill, make_engine, tmp_path, meta, message):
    """A corrupt model is the intent plugin's failure: reported (error event naming it), the rest goes on."""
    from conftest import HOME_SKILL

    write_skill("home", HOME_SKILL)
    broken = tmp_path / "model"
    broken.mkdir()
    (broken / "meta.json").write_text(meta)
    engine = make_engine(**{"plugins.disabled": [], "plugins.settings": {"intent": {"model_dir": str(broken)}}})
    errors = [e.data for e in engine.startup_events if e.kind == "error"]
    assert errors and errors[0]["plugin"] == "intent" and message in errors[0]["message"]
    assert engine.parse("turn on the lights").action.name == "home.lights_on"
