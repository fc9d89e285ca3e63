"""Training on what a recogniser heard: a reference's BIO tags carried over to its hypothesis (issue 20)."""
from __future__ import annotations

import pytest

from training.asr_hypotheses import align_words, transfer_tags
from training.data import Example
from training.slurp_data import heard_examples


def test_alignment_pairs_every_word_once_in_order():
    ref, hyp = "play the beatles now".split(), "play beetles now please".split()
    pairs = align_words(ref, hyp)
    assert [i for i, _ in pairs if i is not None] == list(range(len(ref)))
    assert [j for _, j in pairs if j is not None] == list(range(len(hyp)))
    assert (2, 1) in pairs  # beatles heard as beetles: a substitution, not a deletion plus an insertion


@pytest.mark.parametrize("ref, tags, hyp, expected", [
    ("wake me up at nine am", "O O O O B-time I-time", "wake me up at nine a m", "O O O O B-time I-time I-time"),
    ("play the beatles now", "O O B-artist O", "play beetles now", "O B-artist O"),
    ("call john smith", "O B-person I-person", "call smith", "O B-person"),  # the B- was lost: I- becomes B-
    ("set an alarm", "O O O", "set an alarm for", "O O O O"),  # an insertion outside any entity
    ("call john smith", "O B-person I-person", "call john and smith", "O B-person I-person I-person"),
])
def test_tags_follow_the_words_they_were_heard_as(ref, tags, hyp, expected):
    assert transfer_tags(ref.split(), tags.split(), hyp.split()) == expected.split()


def test_only_training_sentences_may_be_heard(tmp_path):
    train = [Example("play the beatles now".split(), "O O B-artist O".split(), "play_music")]
    tsv = tmp_path / "heard.tsv"
    tsv.write_text("reference\tvoice\tsnr_db\thypothesis\n"
                   "play the beatles now\ten-us+m5\t12.0\tplay beetles now\n"
                   "play the beatles now\ten-us+m6\t20.0\tplay the beatles now\n", encoding="utf-8")
    heard = heard_examples(tsv, train)
    assert [(e.words, e.tags, e.intent) for e in heard] == [(["play", "beetles", "now"], ["O", "B-artist", "O"],
                                                             "play_music")]  # an unchanged hypothesis adds nothing
    tsv.write_text("reference\tvoice\tsnr_db\thypothesis\nwhat is the weather\ten-us+m5\t12.0\twhat is whether\n",
                   encoding="utf-8")
    with pytest.raises(ValueError, match="not a training sentence"):
        heard_examples(tsv, train)
