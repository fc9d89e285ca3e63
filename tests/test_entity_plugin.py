"""The entity_resolver plugin in the engine: catalog slots resolved by sound in hark_resolve, n-best spans, slots
the interpreter missed, hark train building the indexes. Real skills, real resolver, real catalogs; no data set."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from hark import Engine, load_config
from hark.errors import ConfigError
from hark.plugins.entity_resolver.plugin import (EntityResolverPlugin, boosted, candidate_spans, carrier_words,
                                                 project_span)
from hark.skills import parse_template
from hark.types import Interpretation, NBest, Slot

ROOT = Path(__file__).resolve().parent.parent


# ----------------------------------------------------------------------------------------------- pure parts


@pytest.mark.parametrize("src,span,dst,expected", [
    ("play the mattress", (1, 3), "play the matrix", "the matrix"),
    ("play the mattress", (2, 3), "play the matrix", "matrix"),
    ("play the mattress please", (2, 3), "play the matrix please", "matrix"),
    ("watch breaking bed season two", (1, 3), "watch breaking bad season two", "breaking bad"),
    ("put on jaws", (2, 3), "put on the jaws movie", "jaws"),
    ("put on jaws", (2, 3), "put on the jars movie", "the jars movie"),
    ("play jaws", (1, 2), "play", None),  # the span vanished from the other hypothesis
    ("play the mattress", (1, 3), "pay the mattress", "the mattress"),
])
def test_project_span_follows_the_shared_words(src, span, dst, expected):
    s, d = src.split(), dst.split()
    found = project_span(s, *span, d)
    assert (None if found is None else " ".join(d[found[0]:found[1]])) == expected


def test_carrier_words_skip_slot_examples():
    words = carrier_words([parse_template("(play|watch) (the)? movie [the matrix](title)"),
                           parse_template("put on {title} now")])
    assert words == {"play", "watch", "the", "movie", "put", "on", "now"}
    assert "matrix" not in words


def test_candidate_spans_are_framed_by_carriers_and_skip_taken_words():
    carriers = frozenset({"play", "the", "movie", "on", "tv"})
    words = "play the mattress movie on tv".split()
    spans = candidate_spans(words, carriers, [False] * len(words), max_words=8)
    texts = [" ".join(words[a:b]) for a, b in spans]
    assert "the mattress" in texts and "mattress" in texts
    assert all(any(w not in carriers for w in t.split()) for t in texts)  # never only carrier words
    taken = [False, False, True, False, False, False]
    assert all(not (a <= 2 < b) for a, b in candidate_spans(words, carriers, taken, 8))


def test_nearby_spans_move_fewest_words_first_and_skip_taken_ones():
    from hark.text import nearby_spans

    spans = nearby_spans(2, 3, [False] * 5, reach=1)
    assert (2, 3) not in spans and spans[:2] == [(1, 3), (2, 4)]
    assert all(not (a <= 0 < b) for a, b in nearby_spans(1, 3, [True, False, False, False], reach=2))


def test_boost_only_raises_confidence_and_stays_below_one():
    assert boosted(0.4, 0.0, 0.5) == 0.4
    assert 0.4 < boosted(0.4, 0.8, 0.5) < 1.0
    assert boosted(1.0, 0.9, 0.5) == 1.0


# --------------------------------------------------------------------------------------- with real skills


@pytest.fixture(scope="module")
def engine():
    eng = Engine(load_config(None, env={}, **{"plugins.disabled": ["asr_pocketsphinx"]}))
    yield eng
    eng.close()


@pytest.fixture(scope="module")
def plugin(engine) -> EntityResolverPlugin:
    found = engine.pm.get_plugin("entity_resolver")
    assert isinstance(found, EntityResolverPlugin)
    return found


def _title_slot(text: str, raw: str, value=None) -> Slot:
    start = text.index(raw)
    return Slot("title", raw, value, None, 0.4, start, start + len(raw), "catalog")


def test_a_misheard_title_the_interpreter_tagged_is_resolved(engine):
    result = engine.parse("play the dark night")
    assert result.action is not None and result.action.name == "video.play"
    assert result.action.params["title"] == "The Dark Knight"
    assert result.action.params["title_id"] == "vid-0134"
    slot = result.best.slot("title")
    assert slot.raw == "the dark night" and slot.entity_id == "vid-0134"
    assert 0 < slot.confidence <= 1 and slot.alternatives  # the action carries raw, value, id, confidence, alts
    assert all(a.entity_id != "vid-0134" for a in slot.alternatives)


def _unused_without_plugin():
    eng = Engine(load_config(None, env={}, **{"plugins.disabled": ["asr_pocketsphinx", "entity_resolver"]}))
    try:
        result = eng.parse("play the dark night")
        best = result.interpretations[0] if result.interpretations else None
        assert best is None or best.slot("title") is None or best.slot("title").value != "The Dark Knight"
    finally:
        eng.close()


def test_exact_titles_keep_their_value_and_gain_sound_alike_alternatives(engine):
    slot = engine.parse("play the matrix").best.slot("title")
    assert slot.value == "The Matrix" and slot.entity_id == "vid-0094"
    assert slot.alternatives and all(a.entity_id != "vid-0094" for a in slot.alternatives)


def test_other_hypotheses_resolve_a_span_the_first_one_misheard(engine, plugin):
    """"the mattress" alone is a weak match for "The Matrix"; the second hypothesis' words at the same place make
    it a sure one."""
    text = "play the mattress"
    interp = Interpretation("video", "PlayMovie", 0.35, (_title_slot(text, "the mattress"),), text, 0, "intent")
    alone = plugin.hark_resolve(interp, NBest.from_text(text), engine.skills, engine.context())
    alone_score = alone.slot("title").confidence if alone and alone.slot("title").value == "The Matrix" else 0.0
    assert alone_score < 0.5
    nbest = NBest.from_scores([(text, 0.6), ("play the matrix", 0.4)])
    found = plugin.hark_resolve(interp, nbest, engine.skills, engine.context())
    assert found.slot("title").value == "The Matrix" and found.slot("title").entity_id == "vid-0094"
    assert found.slot("title").confidence > max(0.5, alone_score)
    assert found.confidence > interp.confidence  # an unresolved slot now resolved raises the reading


def test_a_title_the_interpreter_did_not_tag_is_recovered(engine, plugin):
    text = "put on jurassic parking"
    interp = Interpretation("video", "PlayMovie", 0.3, (), text, 0, "intent")
    found = plugin.hark_resolve(interp, NBest.from_text(text), engine.skills, engine.context())
    slot = found.slot("title")
    assert slot.value == "Jurassic Park" and slot.raw == "jurassic parking"
    assert text[slot.start:slot.end] == "jurassic parking"
    assert found.confidence > 0.3


def test_nothing_is_recovered_from_words_that_are_no_title(engine, plugin):
    for text in ("play something nice", "put on the tv", "watch the weather"):
        interp = Interpretation("video", "PlayMovie", 0.3, (), text, 0, "intent")
        found = plugin.hark_resolve(interp, NBest.from_text(text), engine.skills, engine.context())
        assert found is None or found.slot("title") is None, text


def test_intents_without_catalog_slots_are_left_alone(engine, plugin):
    interp = Interpretation("timer", "SetTimer", 0.9, (), "set a timer", 0, "intent")
    assert plugin.hark_resolve(interp, NBest.from_text("set a timer"), engine.skills, engine.context()) is None


def test_action_json_has_the_resolution(engine):
    action = engine.parse("watch breaking bed season two").action
    data = json.loads(json.dumps(action.to_dict()))
    title = next(s for s in data["slots"] if s["name"] == "title")
    assert title["raw"] == "breaking bed" and title["value"] == "Breaking Bad"
    assert title["entity_id"] and title["confidence"] > 0 and isinstance(title["alternatives"], list)


def test_bad_settings_name_the_key():
    with pytest.raises(ConfigError, match=r"plugins\.settings\.entity_resolver\.weights"):
        Engine(load_config(None, env={}, **{"plugins.disabled": ["asr_pocketsphinx"],
                                            "plugins.settings.entity_resolver": {"weights": "loud"}}))


CATALOG_SKILL = """
    name: cinema
    slots:
      film: {type: catalog, file: films.csv, column: name, id: id}
    intents:
      Play:
        examples: ["(play|watch) [heat](film)", "put on {film}"]
        action: {name: cinema.play, params: {film: $film, film_id: $film.entity_id}}
"""
FILMS = "id,name\nf1,The Matrix\nf2,Heat\nf3,Jurassic Park\nf4,Beach Talk\nf5,Casablanca\n"


def test_hark_train_builds_the_catalog_indexes_and_the_engine_uses_them(write_skill, make_engine, tmp_path):
    write_skill("cinema", CATALOG_SKILL, {"films.csv": FILMS})
    engine = make_engine(**{"plugins.disabled": ["intent", "asr_pocketsphinx"]})
    plugin = engine.pm.get_plugin("entity_resolver")
    line = next(line for _, line in engine.call("hark_compile", engine=engine, force=True)
                if line and line.startswith("entity_resolver"))
    assert line == "entity_resolver: 1 catalog indexes (5 entries), 1 built, 0 up to date"
    again = next(line for _, line in engine.call("hark_compile", engine=engine, force=False)
                 if line and line.startswith("entity_resolver"))
    assert again.endswith("0 built, 1 up to date")
    assert "films (5)" in plugin.status
    # the templates tier cannot read "jurassic parking" as a film; an interpretation without the slot gets it
    interp = Interpretation("cinema", "Play", 0.4, (), "put on jurassic parking", 0, "test")
    found = plugin.hark_resolve(interp, NBest.from_text(interp.text), engine.skills, engine.context())
    assert found.slot("film").entity_id == "f3"


def test_a_fresh_engine_reads_the_indexes_from_the_disk_cache(write_skill, make_engine):
    write_skill("cinema", CATALOG_SKILL, {"films.csv": FILMS})
    first = make_engine()
    first.call("hark_compile", engine=first, force=False)
    second = make_engine()
    line = next(line for _, line in second.call("hark_compile", engine=second, force=False)
                if line and line.startswith("entity_resolver"))
    assert line.endswith("0 built, 1 up to date")


def test_an_audio_stream_loads_the_indexes_in_the_background(write_skill, make_engine):
    import threading

    write_skill("cinema", CATALOG_SKILL, {"films.csv": FILMS})
    engine = make_engine()
    plugin = engine.pm.get_plugin("entity_resolver")
    assert "no catalog index loaded" in plugin.status
    engine.open_stream().close()
    for thread in threading.enumerate():
        if thread.name == "hark-entity-warm":
            thread.join(timeout=60)
    assert "films (5)" in plugin.status


RADIO_SKILL = """
    name: radio
    slots:
      station: {type: catalog, file: stations.csv, column: name}
    intents:
      PlayStation:
        examples: ["(play|tune to) [radio one](station)", "put on {station}"]
        action: {name: radio.play, params: {station: $station}}
"""
STATIONS = "name\nRadio One\nBBC Radio 4\nJazz FM\nClassic FM\n"


def test_templates_alone_reach_a_misheard_name_through_the_resolver(write_skill, make_engine):
    """No trained model knows this skill: the template tier's catalog wildcard frames the words, the resolver
    finds them by sound, and words that sound like no station stay out of scope."""
    write_skill("radio", RADIO_SKILL, {"stations.csv": STATIONS})
    engine = make_engine()
    action = engine.parse("put on bbc radio four").action
    assert action is not None and action.params == {"station": "BBC Radio 4"}
    assert engine.parse("put on your shoes").action is None
    assert engine.parse("play radio one").action.params == {"station": "Radio One"}


def test_without_the_resolver_a_wildcard_reading_is_never_acted_on(write_skill, make_engine):
    write_skill("radio", RADIO_SKILL, {"stations.csv": STATIONS})
    engine = make_engine(**{"plugins.disabled": ["intent", "asr_pocketsphinx", "entity_resolver"]})
    result = engine.parse("put on bbc radio four")
    assert result.action is None
    slot = result.interpretations[0].slot("station")
    assert slot.raw == "bbc radio four" and slot.value is None and slot.confidence == 0.0
