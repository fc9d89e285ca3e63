"""Requests, not trigger words: the speech-act gate, the hard-negative generator and the held-out non-request set."""
from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

from hark.speech_acts import FormLicences, detect_form, licence_for
from hark.skills import parse_template

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from training.hard_negatives import FORMS, hard_negatives, past_tense, rewrite  # noqa: E402
from training.skill_data import heldout_sentences, non_request_rows, skill_dataset, template_acceptor  # noqa: E402

NOW = "2026-11-24T18:30:00+00:00"

UNLOCK = licence_for([parse_template("unlock (the|my)? {door}"), parse_template("let (me|us) in")])
CANCEL = licence_for([parse_template("i (don't|do not) need (the|my) timer( anymore)?"),
                      parse_template("(never mind|forget) the timer")])
RAIN = licence_for([parse_template("(will it|is it going to) rain( {when})?")])
DARK = licence_for([parse_template("(it's|it is) (too|so)? dark in here")])


@pytest.mark.parametrize("words, form", [
    ("don't unlock the", "negated"),
    ("please do not unlock the", "negated"),
    ("no need to unlock the", "negated"),
    ("who unlocked the", "question"),
    ("did you unlock the", "question"),
    ("is the locked", "question"),
    ("the is unlocked", "statement"),
    ("i already unlocked the", "statement"),
    ("unlock the is what the burglar said in the movie", "reported"),
    ("she told me to unlock the", "reported"),
    ("you know at my aunt's place we argue about how you unlock the and everybody laughs about it",
     "buried"),
])
def test_non_request_forms_are_detected(words, form):
    assert detect_form(words.split(), UNLOCK) == form


@pytest.mark.parametrize("words, form", [
    ("why would you unlock the", "question"),
    ("how come you unlocked the", "question"),
    ("did you unlock the last week", "question"),
    ("i forgot to unlock the", "statement"),
    ("the has a lock that sticks", "statement"),
    ("it's so cold that nobody wants to unlock the", "statement"),
    ("i usually unlock the before breakfast", "statement"),
    ("hold off on unlocking the", "negated"),
    ("skip unlocking the tonight", "negated"),
    ("leave the alone", "negated"),
    ("how long was the unlocked", "question"),
    ("the kids keep begging me to unlock the", "reported"),
    ("and then she goes unlock the", "reported"),
])
def test_more_non_request_forms(words, form):
    assert detect_form(words.split(), UNLOCK) == form


@pytest.mark.parametrize("words", ["unlock the", "hey hark could you please unlock my", "let me in",
                                   "can you unlock the", "i'm home so unlock the", "the kids are back let them in",
                                   "we're expecting guests so please unlock the", "it's late could you unlock the",
                                   "unlock the that goes to the garden", "unlock the which goes out back"])
def test_requests_pass(words):
    assert detect_form(words.split(), UNLOCK) is None


def test_forms_the_intent_itself_uses_are_licensed():
    assert detect_form("i don't need the timer anymore".split(), CANCEL) is None
    assert detect_form("never mind the timer".split(), CANCEL) is None
    assert detect_form("don't stop the timer".split(), CANCEL) == "negated"  # not the licensed "don't need"
    assert detect_form("is it going to rain".split(), RAIN) is None
    assert detect_form("it's so dark in here".split(), DARK) is None
    assert detect_form("it's so dark in here".split(), UNLOCK) == "statement"


def test_past_tense():
    assert [past_tense(v) for v in ("turn", "set", "stop", "play", "make", "carry")] == \
        ["turned", "set", "stopped", "played", "made", "carried"]
    assert past_tense("take", participle=True) == "taken"


def test_rewrites_cover_every_form():
    rng = random.Random(0)
    words = "turn off the kitchen lights please".split()
    for form in FORMS:
        text = rewrite(words, form, rng)
        assert text and "kitchen lights" in text and text != "turn off the kitchen lights"
    assert rewrite("unlock the front door".split(), "statement", random.Random(1)) is not None
    with pytest.raises(ValueError, match="unknown form"):
        rewrite(words, "sarcastic", rng)


@pytest.fixture(scope="module")
def template_engine():
    from hark import Engine, load_config

    engine = Engine(load_config(ROOT / "config.yaml", env={}, **{"plugins.disabled": ["intent",
                                                                                       "asr_pocketsphinx"]}))
    yield engine
    engine.close()


def test_hard_negatives_never_contradict_a_skill_or_leak_held_out_sentences(template_engine):
    accepts = template_acceptor(template_engine)
    held = heldout_sentences(template_engine.skills)
    negatives = hard_negatives(template_engine.skills, per_intent=6, seed=3, is_request=accepts, exclude=held)
    assert {n.form for n in negatives} == set(FORMS)
    assert {n.source_intent.split(".")[0] for n in negatives} == {s.name for s in template_engine.skills}
    assert not [n.text for n in negatives if accepts(n.text)]
    assert not [n.text for n in negatives if n.text in held]
    assert not accepts("don't unlock the front door") and accepts("i don't need the timer anymore")


def test_held_out_sets_never_enter_training(template_engine):
    rows = list(non_request_rows("dev"))
    assert len(rows) >= 200 and {r.form for r in rows} == set(FORMS)
    held = heldout_sentences(template_engine.skills)
    train, valid = skill_dataset(template_engine.skills, per_intent=20, oos=0, negatives=10,
                                 is_request=template_acceptor(template_engine))
    generated = {" ".join(e.words) for e in train + valid}
    assert any(e.intent == "oos" for e in train)
    assert not generated & held


def test_runtime_drops_non_requests_and_says_why(bundled_engine):
    ctx = bundled_engine.context(now=NOW)
    r = bundled_engine.parse("don't unlock the front door", ctx)
    assert r.action is None and r.confirm is None and r.out_of_scope
    event = next(e for e in r.events if e.kind == "out_of_scope")
    assert any(v["form"] == "negated" for v in event.data.get("not_a_request", [])) or event.data["best"] is None
    for text in ("who unlocked the front door", "the front door is unlocked", "do not turn off the kitchen lights",
                 "unlock the front door is what the burglar said in the movie last night"):
        assert bundled_engine.parse(text, ctx).action is None, text
    assert bundled_engine.parse("i don't need the timer anymore", ctx).action.intent == "CancelTimer"
    assert bundled_engine.parse("turn off the kitchen lights", ctx).action.intent == "LightsOff"


ISSUE_EXAMPLES = [  # what a tester found the trained tier acting on (issue 14), with the intent it chose
    ("don't unlock the front door", "UnlockDoor"), ("do not turn off the kitchen lights", "LightsOff"),
    ("who unlocked the front door", "UnlockDoor"), ("the front door is unlocked", "UnlockDoor"),
    ("unlock the front door is what the burglar said in the movie last night", "UnlockDoor"),
]


@pytest.mark.parametrize("text, intent", ISSUE_EXAMPLES)
def test_the_reported_non_requests_are_refused_by_each_layer_alone(bundled_engine, text, intent):
    """The engine refuses them; so does the shipped model with the rule check off, and the rule check alone on
    the reading the old model made (the whole sentence as that intent's words)."""
    from hark import Engine, load_config

    assert bundled_engine.parse(text, bundled_engine.context(now=NOW)).out_of_scope
    with Engine(load_config(ROOT / "config.yaml", env={}, **{"engine.request_gate": False})) as model_only:
        r = model_only.parse(text, model_only.context(now=NOW))
        assert r.out_of_scope, f"the model alone acts: {r.best.intent} {r.best.confidence}"
    licence = FormLicences(bundled_engine.skills).get("home", intent)
    assert detect_form(text.split(), licence) is not None


def test_the_held_out_sets_are_measured_not_asserted_here():
    """Set-level rates are benchmark output (benchmarks/requests.py -> results/requests.json); this checks the
    result file describes the shipped defaults on both splits, so a stale table cannot hide."""
    import json

    result = json.loads((ROOT / "benchmarks" / "results" / "requests.json").read_text())
    assert set(result["variants"]) == {"defaults", "no_request_gate", "templates_only"}
    for variant in result["variants"].values():
        assert variant["test"]["non_requests"]["n"] == len(list(non_request_rows("test")))
        assert variant["test"]["paraphrases"]["n"] >= 400


def test_acoustic_adaptation_never_speaks_a_held_out_sentence(template_engine):
    """The espeak-ng adaptation set (training/adapt_asr.py) samples the templates; the audio benchmark speaks the
    skills' held-out tests, so none of them, in written or spoken form, may be among the adaptation sentences."""
    from hark.plugins.asr_pocketsphinx.compile import speakable
    from training.adapt_asr import adaptation_sentences

    class AnyWord(dict):
        def __contains__(self, word):
            return True

    held = heldout_sentences(template_engine.skills)
    held |= {" ".join(speakable(h.split())) for h in held}
    chosen = adaptation_sentences(template_engine.skills, 0, AnyWord())
    assert len(chosen) > 1000
    assert not [s for s in chosen if " ".join(s) in held]


QUERY_SKILL = """
name: flights
accepts: [question]
intents:
  FindFlight:
    examples: ["show me flights to {city}", "find a flight to {city}"]
    action: flights.find
slots:
  city: {type: list, values: [boston, denver]}
"""


def test_a_skill_that_answers_questions_accepts_them_and_nothing_else(write_skill, make_engine):
    """``accepts: [question]``: a question is how people ask this skill (its templates need not say so);
    negated and reported commands are still never requests."""
    from hark import Interpretation
    from hark.speech_acts import veto_reason

    def verdicts(skill_text):
        write_skill("flights", skill_text)
        licences = FormLicences(make_engine().skills)
        return [veto_reason(Interpretation("flights", "FindFlight", 0.9, (), text), licences)
                for text in ("are there flights to boston", "don't show me flights to boston",
                             "she said show me flights to boston")]

    assert verdicts(QUERY_SKILL.replace("accepts: [question]\n", "")) == ["question", "negated", "reported"]
    assert verdicts(QUERY_SKILL) == [None, "negated", "reported"]


def test_accepts_names_only_question_or_statement(write_skill, make_engine):
    import hark

    write_skill("flights", QUERY_SKILL.replace("accepts: [question]", "accepts: [negated]"))
    with pytest.raises(hark.SkillError, match=r"accepts\[0\].*never requests"):
        make_engine()
