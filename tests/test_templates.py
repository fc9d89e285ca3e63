"""Template tier behaviour: whole-utterance matching, slot boundaries, fillers, catalogs, n-best fusion."""
from __future__ import annotations

import pytest

from hark import NBest, Hypothesis

from conftest import HOME_SKILL, TIMER_SKILL

MEDIA_SKILL = """
name: media
description: films and music
intents:
  PlayMovie:
    examples: ["(play|watch|put on) {movie}", "play the (movie|film) {movie}"]
    action: {name: video.play, params: {title: $movie, id: $movie.entity_id}}
    response: "Playing {movie}."
  PlaySong:
    examples: ["play {song} by {artist}", "play (some|the)? songs by {artist}"]
    action: {name: music.play, params: {song: $song, artist: $artist}}
slots:
  movie: {type: catalog, file: titles.csv, column: title, id: id, aliases: aliases}
  song: {type: text}
  artist: {type: catalog, file: artists.csv, column: name, id: id}
"""
TITLES = """\
id,title,aliases
m1,The Matrix,
m2,Toy Story,
m3,Love Actually,
m4,Star Wars,Star Wars Episode IV|A New Hope
"""
ARTISTS = """\
id,name
a1,Daft Punk
a2,The Beatles
a3,Love
"""


@pytest.fixture
def engine(write_skill, make_engine):
    write_skill("home", HOME_SKILL)
    write_skill("timer", TIMER_SKILL)
    write_skill("media", MEDIA_SKILL, files={"titles.csv": TITLES, "artists.csv": ARTISTS})
    return make_engine(**{"engine.timezone": "UTC"})


def slots(result):
    return {s.name: s.value for s in result.action.slots} if result.action else None


def test_exact_match_with_typed_slot(engine):
    r = engine.parse("set a timer for ten minutes")
    assert (r.action.name, slots(r), r.action.confidence) == ("timer.start", {"duration": 600}, 1.0)
    assert r.action.response == "Timer set for ten minutes."
    slot = r.action.slots[0]
    assert (slot.raw, slot.start, slot.end, slot.type) == ("ten minutes", 16, 27, "duration")


def test_slot_boundary_is_chosen_by_the_slot_type(engine):
    r = engine.parse("start a five minute timer for the pasta")
    assert slots(r) == {"duration": 300, "label": "the pasta"}
    assert r.action.response == "the pasta timer set for five minutes."  # the value, not "five minute"


def test_the_whole_utterance_must_match(engine):
    assert engine.parse("set a timer for ten minutes and call mum").action is None
    assert engine.parse("timer").action is None


def test_fillers_are_skipped_at_a_small_cost(engine):
    r = engine.parse("hey hark could you please turn off the kitchen lights")
    assert r.action.name == "home.lights_off" and slots(r) == {"room": "kitchen"}
    assert 0.8 < r.action.confidence < 1.0


def test_list_synonyms_and_optional_parts(engine):
    assert slots(engine.parse("switch off the lights in the lounge")) == {"room": "living room"}
    assert slots(engine.parse("switch off the lights")) == {"room": None} or \
        engine.parse("switch off the lights").action.params == {"room": None}


def test_catalog_exact_alias_article_and_fuzzy(engine):
    r = engine.parse("play the matrix")
    assert (r.action.params, r.action.confidence) == ({"title": "The Matrix", "id": "m1"}, 1.0)
    assert engine.parse("play matrix").action.params["id"] == "m1"  # article optional
    assert engine.parse("watch a new hope").action.params["id"] == "m4"  # alias
    fuzzy = engine.parse("play toy stori")
    assert fuzzy.action.params["id"] == "m2" and fuzzy.action.confidence < 0.95
    assert engine.parse("play zzzz qqqq").best is None or engine.parse("play zzzz qqqq").action is None


def test_text_slot_next_to_catalog_slot(engine):
    r = engine.parse("play get lucky by daft punk")
    assert slots(r) == {"song": "get lucky", "artist": "Daft Punk"}
    # "love" is both a word of the song and an artist: the split must leave a valid artist at the end
    r = engine.parse("play all you need is love by the beatles")
    assert slots(r) == {"song": "all you need is love", "artist": "The Beatles"}


def test_ambiguous_readings_share_confidence(engine):
    r = engine.parse("play love actually")  # a film; also "play {song} by {artist}" cannot match: no "by"
    assert r.action.name == "video.play"


def test_out_of_scope(engine):
    r = engine.parse("what is the capital of peru")
    assert r.action is None and r.out_of_scope and r.interpretations == ()
    assert [e.kind for e in r.events] == ["utterance", "out_of_scope"]


def test_nbest_second_hypothesis_wins_when_first_does_not_parse(engine):
    nbest = NBest.from_scores([{"text": "turn of the kitchen lights", "score": 0.6},
                               {"text": "turn off the kitchen lights", "score": 0.4}])
    r = engine.parse(nbest)
    assert r.action.name == "home.lights_off" and r.best.hypothesis_index == 1
    # 0.4 / (0.6 * 0.15 + 0.4): an unparseable 1-best weighs less than a parseable one
    assert r.action.confidence == pytest.approx(0.4 / 0.49, abs=1e-3)


def test_nbest_agreeing_hypotheses_add_up(engine):
    nbest = NBest((Hypothesis("set a timer for ten minutes", 0.5), Hypothesis("set a timer for ten minute", 0.3),
                   Hypothesis("set a time for ten minutes", 0.2)))
    r = engine.parse(nbest)
    assert slots(r) == {"duration": 600}
    assert r.action.confidence == pytest.approx(0.8 / (0.8 + 0.2 * 0.15), abs=1e-3)


def test_nbest_competing_values_keep_the_asr_ranking(engine):
    nbest = NBest((Hypothesis("set a timer for ten minutes", 0.7), Hypothesis("set a timer for two minutes", 0.3)))
    r = engine.parse(nbest)
    assert slots(r) == {"duration": 600}
    # the intent is certain (every hypothesis sets a timer); the doubt is the duration's
    assert r.interpretations[0].confidence == pytest.approx(1.0)
    assert r.interpretations[0].slot("duration").confidence == pytest.approx(0.7)
    alt = r.interpretations[1]
    assert alt.slot("duration").value == 120 and alt.confidence == pytest.approx(0.3)
    assert alt.slot("duration").confidence == pytest.approx(0.3)


def test_low_posterior_match_is_out_of_scope(engine):
    nbest = NBest((Hypothesis("what's the capital of peru", 0.9), Hypothesis("what's the capital of peru now", 0.05),
                   Hypothesis("turn on the lights", 0.05)))
    r = engine.parse(nbest)
    assert r.action is None and r.best.intent == "LightsOn" and r.best.confidence < 0.5


def test_datetime_slot_uses_the_context_clock(write_skill, make_engine):
    write_skill("alarm", """
        name: alarm
        description: alarms
        intents:
          SetAlarm:
            examples: ["wake me up {when}", "set an alarm for {when}"]
            action: {name: alarm.set, params: {when: $when}}
        slots:
          when: {type: datetime}
    """)
    engine = make_engine()
    ctx = engine.context(now="2026-11-24T21:00:00+01:00")
    r = engine.parse("wake me up tomorrow at 7 pm", ctx)
    assert r.action.params["when"]["iso"] == "2026-11-25T19:00:00+01:00"


def test_continuation_says_whether_words_are_a_whole_sentence_and_whether_more_may_follow():
    from hark.templates import continuation, parse_template

    tree = parse_template("(give me|may i have) (a|an) {drink}( with ({milk}( and {sugar})?|{sugar}))?")
    closed = {"drink": (("mocha",), ("iced", "mocha")), "milk": (("soy", "milk"),), "sugar": (("sugar",),)}.get

    def ask(text, forms=closed):
        return continuation(tree, tuple(text.split()), forms)

    assert ask("give me a mocha") == (True, True)  # "with ..." may follow
    assert ask("give me an iced") == (False, True)  # inside a slot value
    assert ask("give me a mocha with soy milk and sugar") == (True, False)  # nothing can follow
    assert ask("give me a mocha with sugar") == (True, False)
    assert ask("give me a latte") == (False, False)  # not this grammar's
    assert ask("") == (False, True)
    # an open slot tested by a parser holds only words it accepts; one without a test holds any words
    digits = lambda words: all(w.isdigit() for w in words)  # noqa: E731
    timer = parse_template("{minutes} minute timer")
    assert continuation(timer, ("turn", "off"), {"minutes": digits}.get) == (False, False)
    assert continuation(timer, ("5",), {"minutes": digits}.get) == (False, True)
    assert continuation(timer, ("turn", "off"), {"minutes": None}.get) == (False, True)
