"""Training data generated from skills: well-formed BIO, values the slot types accept, held-out tests excluded."""
from __future__ import annotations

import random
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT))
from hark.sentences import TYPE_GENERATORS  # noqa: E402
from training.skill_data import generate, spoken_number  # noqa: E402


@pytest.mark.parametrize("n,words", [(0, "zero"), (7, "seven"), (21, "twenty one"), (40, "forty"),
                                     (105, "one hundred and five"), (2026, "two thousand twenty six")])
def test_spoken_number(n, words):
    assert spoken_number(n) == words


@pytest.mark.parametrize("slot_type", sorted(TYPE_GENERATORS))
def test_generated_values_parse_with_the_real_slot_types(slot_type, bundled_engine):
    """The generator and the parsers must agree, or the model learns spans the runtime cannot normalise."""
    parser = bundled_engine.slot_types.get(slot_type)
    ctx = bundled_engine.context(now="2026-11-24T18:30:00+00:00")
    rng = random.Random(3)
    values = [TYPE_GENERATORS[slot_type](rng) for _ in range(300)]
    rejected = sorted({v for v in values if parser.parse(" ".join(v.split()), ctx) is None})
    assert not rejected, f"{slot_type}: parser rejects generated values {rejected[:10]}"


def test_generated_examples_are_well_formed_and_cover_every_intent(bundled_engine):
    skills = bundled_engine.skills
    data = generate(skills, per_intent=40, seed=1)
    labels = {e.intent for e in data}
    assert labels == {i.qualified for i in skills.intents()}
    for e in data:
        assert len(e.words) == len(e.tags) and e.words
        prev = "O"
        for tag in e.tags:
            assert not (tag.startswith("I-") and prev[2:] != tag[2:]), (e.words, e.tags)
            prev = tag
        skill = skills[e.intent.split(".")[0]]
        assert {t[2:] for t in e.tags if t != "O"} <= set(skill.slots)
