"""The pure parts of benchmarks/entity_spoken.py and training/confusion.py (fast; no data set, no audio)."""
from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

from training.confusion import (ConfusionCounts, ConfusionModel, Rewriter, WordMapper, align,  # noqa: E402
                                clean_asr_text, slurp_asr_pairs, wer, word_errors)
from entity_spoken import Title, reduction, right, spans_of, strip_carrier, strip_series  # noqa: E402

from hark.config import data_dir  # noqa: E402

# a small vocabulary with unigram log-probabilities: the mapper must find these words in CMUdict phones
VOCAB = {"the": -3.0, "a": -3.5, "matrix": -11.0, "may": -7.0, "tricks": -10.0, "trick": -10.0, "toy": -10.0,
         "story": -8.0, "stories": -9.0, "sorry": -8.0, "tree": -9.0, "mat": -10.0, "ticks": -11.0}


def model_of(pairs) -> ConfusionModel:
    """pairs: (reference as one phone tuple per word, hypothesis phones)."""
    counts = ConfusionCounts()
    for ref, hyp in pairs:
        counts.add_pair(ref, hyp)
    return ConfusionModel(counts, k=0.1)


def test_alignment_pairs_sound_alike_phones_and_counts_edits():
    assert align(("K", "AE", "T"), ("K", "AE", "D")) == [("K", "K"), ("AE", "AE"), ("T", "D")]
    assert align(("K", "AE", "T"), ("K", "T")) == [("K", "K"), ("AE", None), ("T", "T")]
    assert align(("K", "T"), ("K", "AE", "T")) == [("K", "K"), (None, "AE"), ("T", "T")]
    assert align(("S", "IY"), ("Z", "IY")) == [("S", "Z"), ("IY", "IY")]
    counts = ConfusionCounts()
    counts.add_pair([("K", "AE", "T")], ("K", "AE", "D"))
    counts.add_pair([("K", "AE", "T")], ("K", "T", "S"))
    counts.add_pair([("S", "IY")], ("S", "IY"))  # unchanged: counted as a word, not in the phone counts
    assert counts.out[("T", "D")] == 1 and counts.out[("AE", None)] == 1 and counts.ins["S"] == 1
    assert counts.out[("K", "K")] == 2 and counts.out[("S", "S")] == 0
    assert (counts.words, counts.changed, counts.slots) == (3, 2, 2 + 6)
    s = counts.summary()
    assert (s["substitutions"], s["deletions"], s["insertions"], s["reference_phones"]) == (1, 1, 1, 8)
    assert s["phone_error_rate"] == round(3 / 8, 4) and s["word_change_rate"] == round(2 / 3, 4)


def test_only_the_misrecognised_word_counts_as_changed():
    counts = ConfusionCounts()
    counts.add_pair([("DH", "AH"), ("K", "AE", "T")], ("DH", "AH", "K", "AE", "D"))
    assert (counts.words, counts.changed) == (2, 1)
    assert counts.out[("DH", "DH")] == 0 and counts.out[("T", "D")] == 1


def test_model_probabilities_follow_the_counts_and_sum_to_one():
    model = model_of([([("T",)], ("D",))] * 3 + [([("T",)], ("K",))] + [([("AH",)], ("AH",))] * 4)
    assert model.p_change == pytest.approx(4.1 / 8.2)
    assert model.prob("T", "D") > model.prob("T", "K") > model.prob("T", "S") > 0
    assert sum(model.prob("T", o) for o in list(model._out["T"][0])) == pytest.approx(1.0)
    changed, _ = model.change_word(("T",), random.Random(0))
    assert changed != ("T",)


def test_rewrite_of_a_known_title_returns_words_and_is_seeded():
    model = model_of([([("M", "AE", "T")], ("M", "AE", "D")), ([("T", "R", "IH")], ("T", "R", "IY"))]
                     + [([("DH", "AH"), ("S", "T", "AO", "R", "IY")], ("DH", "AH", "S", "T", "AO", "R", "IY"))] * 20)
    rewriter = Rewriter(model, WordMapper(VOCAB))
    a = rewriter.nbest("The Matrix", random.Random(3), n=5)
    b = rewriter.nbest("The Matrix", random.Random(3), n=5)
    assert a == b
    assert 1 <= len(a) <= 5 and len({t for t, _ in a}) == len(a)
    assert all(t and set(t.split()) <= set(VOCAB) for t, _ in a)
    assert sum(p for _, p in a) == pytest.approx(1.0, abs=1e-4)
    assert rewriter.nbest("", random.Random(0)) == []


def test_word_mapper_prefers_whole_frequent_words_and_allows_one_edit():
    mapper = WordMapper(VOCAB)
    words, phones = mapper.words(("DH", "AH", "M", "EY", "T", "R", "IH", "K", "S"))
    assert words == ["the", "matrix"] and phones[0] == ("DH", "AH")
    words, _ = mapper.words(("T", "OY", "S", "T", "AO", "R", "IY", "Z"))  # "story" + Z: one edit from "stories"
    assert words[0] == "toy" and words[1] in ("stories", "story")


def test_wer_reads_words_like_g2p():
    assert wer([("Toy Story 2", "toy story two")]) == 0.0
    assert wer([("The Matrix", "the may tricks")]) == pytest.approx(1.0)  # one substitution + one insertion
    assert word_errors(["a", "b", "c"], ["a", "c"]) == 1
    assert wer([]) == 0.0


def test_asr_text_cleaning():
    assert clean_asr_text("what 's the time < unk > .") == "what's the time"
    assert clean_asr_text("i ca n't @@UNKNOWN@@ go") == "i can't go"


def test_carrier_spans_and_scoring_helpers():
    assert strip_carrier("play the matrix", "play") == "the matrix"
    assert strip_carrier("lately three days", "play") == "lately three days"
    assert spans_of([("play a b", 0.5), ("a b", 0.3), ("play", 0.1), ("c", 0.1)], "play") == [("a b", 0.8),
                                                                                           ("c", 0.1)]
    assert strip_series("The Hunger Games (The Hunger Games, #1)") == "The Hunger Games"
    assert strip_series("Night Watch (Discworld, #29; City Watch, #6)") == "Night Watch"
    assert strip_series("To Kill a Mockingbird") == "To Kill a Mockingbird"
    gold = Title("7", "The Thing", "The Thing", "The Thing")
    assert right(gold, "7", "x") and right(gold, "99", "the thing!") and not right(gold, "8", "Thing")
    assert not right(gold, None, None)
    assert reduction(90.0, 80.0) == 50.0 and reduction(50.0, 100.0) is None


@pytest.mark.skipif(not (data_dir() / "slurp" / "test_dev_asr_1best_pairs.tsv").is_file(),
                    reason="SLURP data set not found in HARK_DATA (slurp/test_dev_asr_1best_pairs.tsv)")
def test_slurp_pairs_load_clean_and_skip_ids():
    path = data_dir() / "slurp" / "test_dev_asr_1best_pairs.tsv"
    pairs = slurp_asr_pairs(path)
    assert len(pairs) > 5000 and not any("unk" in h.split() for _, h in pairs)
    assert len(slurp_asr_pairs(path, exclude_slurp_ids={"861"})) < len(pairs)


def test_missing_slurp_file_names_hark_data(tmp_path):
    with pytest.raises(FileNotFoundError, match="HARK_DATA"):
        slurp_asr_pairs(tmp_path / "nope.tsv")


@pytest.mark.skipif(not (data_dir() / "catalogs" / "books.csv").is_file(),
                    reason="catalogs data set not found in HARK_DATA (catalogs/books.csv)")
def test_book_sample_is_seeded_spoken_and_a_prefix_of_a_larger_one():
    from entity_spoken import load_titles, sample_titles

    from hark.plugins.entity_resolver.phonetic import normalize_text

    titles = load_titles("books")
    assert len(titles) == 10000
    small, large = sample_titles(titles, 20, 7), sample_titles(titles, 40, 7)
    assert small == large[:20] and small != sample_titles(titles, 20, 8)
    assert all("#" not in t.name and normalize_text(t.name).isascii() for t in small)


def test_missing_catalog_names_hark_data(tmp_path):
    from entity_spoken import load_titles

    with pytest.raises(FileNotFoundError, match="HARK_DATA"):
        load_titles("movies", folder=tmp_path)
