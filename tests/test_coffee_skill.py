"""The example coffee skill (examples/skills/coffee) and what spoken orders need from the template tier: a long
order whose n-best hypotheses disagree on one slot is still one confident order, and a misheard word of the
template is forgiven in what a recogniser heard (never in typed text, never around a free-text slot)."""
from __future__ import annotations

import pytest

from hark.types import Hypothesis, NBest

from conftest import ROOT

COFFEE = ROOT / "examples" / "skills"


@pytest.fixture
def coffee(make_engine):
    return make_engine(skills_path=COFFEE)


def heard(*texts_and_scores) -> NBest:
    return NBest(tuple(Hypothesis(t, p) for t, p in texts_and_scores), source="asr_pocketsphinx")


def params(result) -> dict:
    return {k: v for k, v in result.action.params.items() if v is not None} if result.action else {}


def test_the_skill_passes_its_own_tests(coffee):
    tests = coffee.skills.tests()
    assert len(tests) >= 4
    for t in tests:
        r = coffee.parse(t.text)
        assert r.action is not None, t.text
        assert {s.name: s.value for s in r.action.slots} == dict(t.slots), t.text


def test_an_order_the_hypotheses_agree_on_but_for_one_slot_is_confident(coffee):
    r = coffee.parse(heard(("i'd like an medium roast triple shot mocha with milk and some sugar", 0.45),
                           ("i'd like an medium roast double shot mocha with milk and some sugar", 0.22),
                           ("i'd like an medium roast triple shot mocha with milk and sugar", 0.16),
                           ("i'd like a medium roast triple shot mocha with milk and some sugar", 0.17)))
    assert params(r) == {"roast": "medium roast", "shots": "triple shot", "drink": "mocha", "milk": "milk",
                         "sugar": "some sugar"}
    assert r.action.confidence == pytest.approx(1.0)
    by_name = {s.name: s.confidence for s in r.action.slots}
    assert by_name["shots"] == pytest.approx(0.78, abs=0.01)  # 0.22 of the mass heard "double shot"
    assert by_name["sugar"] == pytest.approx(0.84, abs=0.01)
    assert by_name["drink"] == pytest.approx(1.0)


def test_a_misheard_opener_is_forgiven_in_what_was_heard(coffee):
    r = coffee.parse(heard(("i have a coffee with brown sugar", 1.0)))
    assert params(r) == {"drink": "coffee", "sugar": "brown sugar"}
    assert r.action.confidence == pytest.approx(0.85)  # one misheard word: misheard_word_cost
    r = coffee.parse(heard(("can i light roast espresso with a lot of sweetener and some skim milk", 1.0)))
    assert params(r) == {"roast": "light roast", "drink": "espresso", "sugar": "a lot of sweetener",
                         "milk": "some skim milk"}


def test_typed_text_and_short_sentences_get_no_edits(coffee):
    assert coffee.parse("i have a coffee with brown sugar").out_of_scope  # typed: nothing was misheard
    assert coffee.parse(heard(("i have a coffee", 1.0))).out_of_scope  # too little heard right for an edit
    assert coffee.parse(heard(("a latte", 1.0))).out_of_scope


def test_misheard_words_are_off_when_the_setting_is_zero(make_engine):
    engine = make_engine(skills_path=COFFEE, **{"plugins.settings.intent_templates": {"max_misheard_words": 0}})
    assert engine.parse(heard(("i have a coffee with brown sugar", 1.0))).out_of_scope


def test_no_edits_around_a_free_text_slot(write_skill, make_engine):
    write_skill("timer", """
        name: timer
        slots:
          duration: duration
          label: text
        intents:
          SetTimer:
            examples:
              - (start|set) (a|the) [pizza](label) timer for [ten minutes](duration)
              - (start|set) a timer for [ten minutes](duration)
    """)
    engine = make_engine()
    assert params(engine.parse(heard(("set a timer for twenty minutes", 1.0)))) == {"duration": 1200}
    # an edit (the opener dropped) plus a text slot would swallow "says": reported speech, not a request
    r = engine.parse(heard(("the recipe says set a timer for twenty minutes", 1.0)))
    assert r.out_of_scope


def test_the_skill_grammar_knows_an_order_that_cannot_go_on(coffee):
    """The end-of-turn judge's grammar view: an order ends at once only when no template can go on from it."""
    from hark.plugins.asr_pocketsphinx.turns import SkillGrammar

    grammar = SkillGrammar.from_skills(coffee.skills)
    assert grammar.finished("give me a sixteen ounce single shot coffee with whole milk and some brown sugar")
    assert grammar.finished("can i get a medium roast house coffee with brown sugar and a bit of soy milk")
    assert not grammar.finished("give me a sixteen ounce single shot coffee")  # "with ..." may follow
    assert not grammar.finished("give me a coffee with brown sugar")  # "and {milk}" may follow
    assert not grammar.finished("give me a large")
    assert not grammar.finished("what time is it")


def test_a_last_word_lost_is_completed_when_one_value_goes_on(coffee):
    """In noise the recogniser loses quiet last words: "... and soy" can only be soy milk. "a bit of" goes on to
    several values, so nothing is guessed; typed text is never completed."""
    r = coffee.parse(heard(("can i have a light roast iced mocha with brown sugar and soy", 1.0)))
    assert params(r) == {"drink": "iced mocha", "roast": "light roast", "sugar": "brown sugar", "milk": "soy milk"}
    assert coffee.parse(heard(("may i have a double shot coffee with a bit of", 1.0))).action is None
    assert coffee.parse("can i have a light roast iced mocha with brown sugar and soy").action is None


def test_weak_weight_sets_how_much_a_forgiven_reading_counts(coffee, make_engine):
    """Half the n-best ends in a slot word cut short, half in a word no template takes: the completed reading
    wins only when weak readings count for more than unparseable ones (the default)."""
    split = heard(("give me a dark roast double shot twenty ounce drip coffee with soy", 0.5),
                  ("give me a dark roast double shot twenty ounce drip coffee with brew", 0.5))
    assert params(coffee.parse(split))["milk"] == "soy milk"
    engine = make_engine(skills_path=COFFEE, **{"plugins.settings.intent_templates": {"weak_weight": 0.15}})
    assert engine.parse(split).action is None  # a weak reading counting like an unparsed one
