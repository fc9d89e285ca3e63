"""The one tokenizer: offsets into the original text, and recognizer conventions read as the words they stand for."""
from __future__ import annotations

import pytest

from hark.text import normalize, tokenize


@pytest.mark.parametrize("heard, words", [
    ("what 's the weather", ["what's", "the", "weather"]),   # a recognizer's Penn Treebank split
    ("i ca n't hear you", ["i", "can't", "hear", "you"]),
    ("that 'll do", ["that'll", "do"]),
    ("what's the weather", ["what's", "the", "weather"]),     # typed: unchanged
    ("send it to < unk > dot com", ["send", "it", "to", "dot", "com"]),  # unknown-word markers are no words
    ("set @@UNKNOWN@@ alarm", ["set", "alarm"]),
    ("play <unk> [unk] music", ["play", "music"]),
    ("play punk and funk", ["play", "punk", "and", "funk"]),  # "unk" inside a word stays
    ("rock 'n' roll", ["rock", "n", "roll"]),
    ("'s", ["s"]),
    ("It's 5% OFF", ["it's", "5%", "off"]),
])
def test_tokens(heard, words):
    assert [t.text for t in tokenize(heard)] == words


def test_offsets_cover_what_was_said():
    text = "what 's on at 8:30"
    assert [text[t.start:t.end] for t in tokenize(text)] == ["what 's", "on", "at", "8:30"]


def test_split_and_joined_clitics_compare_equal():
    assert normalize("Who 's playing") == normalize("who's playing") == "who's playing"
