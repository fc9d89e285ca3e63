"""The tutor's scoring functions on posteriors whose answer is known: CTC forced alignment, per-phone windows,
the window likelihoods and the verdicts (plugins/tutor/scoring.py)."""
from __future__ import annotations

import numpy as np
import pytest

from hark.plugins.tutor.scoring import MAX_WINDOW, align, assess_phone, phone_windows, window_scores

PHONES = ("A", "B", "C")
BLANK = 3


def posteriors(frames: list[str | None], sure: float = 0.97) -> np.ndarray:
    """Log-probabilities: at each frame the named phone (None: the blank) gets ``sure``, the rest share the
    remainder."""
    out = np.full((len(frames), 4), (1 - sure) / 3)
    for t, p in enumerate(frames):
        out[t, BLANK if p is None else PHONES.index(p)] = sure
    return np.log(out)


def test_align_puts_each_label_on_its_frames():
    lp = posteriors([None, "A", "A", None, None, "B", None, "C", None])
    path = align(lp, [0, 1, 2], BLANK)
    assert path.tolist() == [-1, 0, 0, -1, -1, 1, -1, 2, -1]


def test_align_repeated_label_needs_a_blank_between():
    lp = posteriors(["A", None, "A"])
    assert align(lp, [0, 0], BLANK).tolist() == [0, -1, 1]
    assert align(posteriors(["A", "A"]), [0, 0], BLANK) is None  # no room for the blank between the two


def test_align_refuses_audio_shorter_than_the_labels():
    assert align(posteriors(["A", "B"]), [0, 1, 2], BLANK) is None


def test_windows_split_the_blanks_between_neighbours():
    path = np.array([-1, 0, 0, -1, -1, -1, -1, 1, -1, -1])
    assert phone_windows(path, 2) == [(0, 5), (5, 10)]


def test_windows_are_capped_around_the_phone():
    path = np.array([-1] * 200 + [0] + [-1] * 200)
    (start, end), = phone_windows(path, 1)
    assert end - start == MAX_WINDOW and start <= 200 < end


def test_window_scores_prefer_the_phone_that_is_there():
    ll, deletion = window_scores(posteriors([None, "B", "B", None]), BLANK)
    assert int(np.argmax(ll[:3])) == 1
    assert ll[1] > deletion
    ll, deletion = window_scores(posteriors([None, None, None]), BLANK)
    assert deletion > ll[:3].max()


def test_window_scores_sum_over_every_span():
    """One frame, so exactly one path per label: the score is the frame's log-probability."""
    lp = posteriors(["C"])
    ll, deletion = window_scores(lp, BLANK)
    assert ll[:3] == pytest.approx(lp[0, :3])
    assert deletion == pytest.approx(lp[0, BLANK])


@pytest.mark.parametrize("frames, verdict, heard", [
    ([None, "A", None], "ok", None),
    ([None, "B", "B", None], "substitution", "B"),
    ([None, None, None], "deletion", None),
])
def test_verdicts(frames, verdict, heard):
    ll, deletion = window_scores(posteriors(frames), BLANK)
    score = assess_phone(ll, deletion, 0, BLANK, PHONES, 0.0, (0, len(frames)))
    assert (score.verdict, score.heard) == (verdict, heard)
    assert 0.0 <= score.score <= 1.0
    assert (score.score > 0.5) == (verdict == "ok")


def test_margin_trades_catches_for_false_alarms():
    """A phone that sounds a little like another: called wrong with no margin, accepted with a large one."""
    lp = np.log(np.array([[0.05, 0.05, 0.05, 0.85], [0.40, 0.55, 0.02, 0.03], [0.05, 0.05, 0.05, 0.85]]))
    ll, deletion = window_scores(lp, BLANK)
    assert assess_phone(ll, deletion, 0, BLANK, PHONES, 0.0, (0, 3)).verdict == "substitution"
    assert assess_phone(ll, deletion, 0, BLANK, PHONES, 2.0, (0, 3)).verdict == "ok"


def _phone(p, verdict="ok", score=0.9, heard=None):
    from hark.plugins.tutor.scoring import PhoneScore

    return PhoneScore(p, score, verdict, heard, 0.0, (0, 1))


def test_report_trusts_phone_verdicts_while_the_phone_model_follows_the_voice():
    from hark.plugins.tutor.assess import build_report

    words = [("i", ("AY",)), ("think", ("TH", "IH", "NG", "K")), ("so", ("S", "OW"))]
    scores = [_phone("AY"), _phone("TH", "substitution", 0.01, "S"), _phone("IH"), _phone("NG"), _phone("K"),
              _phone("S"), _phone("OW")]
    good_gops = [-0.001] * 3  # pocketsphinx is happy with every word (it cannot tell TH from S either)
    report = build_report("I think so", words, scores, good_gops)
    assert [w.ok for w in report.words] == [True, False, True]
    assert report.words[1].phones[0].heard == "S"


def test_report_judges_words_by_their_fused_score_when_the_phone_model_is_lost():
    from hark.plugins.tutor.assess import build_report

    words = [("three", ("TH", "R", "IY")), ("trees", ("T", "R", "IY", "Z"))]
    lost = [_phone(p, "substitution", 0.05, "AH") for _, ph in words for p in ph]  # most phones "wrong"
    report = build_report("three trees", words, lost, [-0.0005, -0.008])  # real voice: word 1 fine, word 2 not
    assert [w.ok for w in report.words] == [True, False]
    assert all(p.verdict == "ok" for p in report.words[0].phones)  # an ok word shows no phone errors
    assert report.words[1].phones[0].verdict == "substitution"
    assert report.words[0].score > 0.5 > report.words[1].score
    assert report.score < report.words[0].score  # the overall score leans towards the worst word
