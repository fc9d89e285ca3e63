"""The misheard-word pass tries each template only with the edits its heard words could pay for
(matcher.iter_parses). Checked against the unbounded search on the bundled skills: no intent it found is lost and
none scores lower, so the bound changes cost, not answers."""
from __future__ import annotations

import random

import pytest

import hark.plugins.intent_templates as templates_plugin
from hark.plugins.intent_templates.matcher import filler_edges, match_template


def _unbounded(index, tokens, fillers, lookup_for, free_slots_for=None, **kwargs):
    """Every template with the full number of edits: the search before the bound."""
    starts, ends = filler_edges(tokens, fillers)
    for tpl in index.all:
        if free_slots_for is not None:
            kwargs["free_slots"] = free_slots_for(tpl.skill)
        parse = match_template(tpl, tokens, starts, ends, lookup_for(tpl.skill), **kwargs)
        if parse is not None:
            yield tpl, parse


def _heard(sentence: str, rng: random.Random) -> str:
    """The sentence as a recogniser might garble it: a word dropped, swapped with its neighbour or replaced."""
    words = sentence.lower().split()
    i = rng.randrange(len(words))
    kind = rng.choice(["drop", "swap", "replace"])
    if kind == "drop" and len(words) > 1:
        del words[i]
    elif kind == "swap" and i + 1 < len(words):
        words[i], words[i + 1] = words[i + 1], words[i]
    else:
        words[i] = rng.choice(["the", "a", "uh", "and", "to", "it"])
    return " ".join(words)


def test_the_bound_loses_no_parse_of_the_misheard_pass(bundled_engine, monkeypatch):
    plugin = bundled_engine.pm.get_plugin("intent_templates")
    assert type(plugin).__module__ == templates_plugin.__name__  # the module whose iter_parses is swapped below
    skills, ctx = bundled_engine.skills, bundled_engine.context(now="2026-11-24T18:30:00+00:00")
    index = plugin._compile(skills).index
    rng = random.Random(3)
    tests = [t.text for t in skills.tests()]
    heard = [_heard(t, rng) for t in rng.sample(tests, 40)]

    def readings(text):
        return {(i.skill, i.intent): i.confidence
                for i in plugin.parse_hypothesis(text, index, skills, ctx, 0, misheard_words=True)}

    bounded = [readings(h) for h in heard]
    monkeypatch.setattr(templates_plugin, "iter_parses", _unbounded)
    unbounded = [readings(h) for h in heard]
    assert sum(map(bool, unbounded)) >= 5, "the sample must exercise the pass"
    for text, got, want in zip(heard, bounded, unbounded):
        for key, confidence in want.items():
            assert key in got, (text, key)
            assert got[key] >= confidence - 1e-9, (text, key)
