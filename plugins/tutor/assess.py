"""From a learner's audio and the text they meant to say to a PronunciationReport: canonical phones (CMUdict, then
hark's g2p), phone posteriors (``PhoneModel``), per-phone verdicts (``scoring``), per-word scores and feedback a
learner can act on ("In 'think' you said S (as in 'sun') instead of TH (as in 'think')")."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from hark.errors import InputError
from hark.features import log_mel
from hark.phonetics import G2P, text_words
from hark.types import PhoneAssessment, PronunciationReport, WordAssessment

from .model import PhoneModel
from .scoring import PhoneScore, align, assess_phone, phone_windows, window_scores
from .sphinx_gop import SphinxGop

__all__ = ["Assessor", "EXAMPLE_WORDS", "describe_phone", "MAX_WORDS"]

#: a prompt longer than this is refused (a practice sentence, not a speech)
MAX_WORDS = 40

#: a common word with each ARPAbet phone, for feedback a learner can follow
EXAMPLE_WORDS = {
    "AA": "father", "AE": "cat", "AH": "but", "AO": "law", "AW": "cow", "AY": "my", "B": "bee", "CH": "cheese",
    "D": "dog", "DH": "this", "EH": "bed", "ER": "bird", "EY": "say", "F": "fish", "G": "go", "HH": "hat",
    "IH": "sit", "IY": "see", "JH": "jam", "K": "key", "L": "leg", "M": "man", "N": "no", "NG": "sing",
    "OW": "boat", "OY": "boy", "P": "pen", "R": "red", "S": "sun", "SH": "she", "T": "ten", "TH": "think",
    "UH": "book", "UW": "food", "V": "van", "W": "wet", "Y": "yes", "Z": "zoo", "ZH": "measure"}


def describe_phone(phone: str) -> str:
    example = EXAMPLE_WORDS.get(phone)
    return f"{phone} (as in '{example}')" if example else phone


#: the word-GOP logistic (centre, scale in nats per frame) and the fusion weight, chosen on the development
#: speakers of speechocean762 (training.tutor_data.dev_speaker; benchmarks/tutor.py reports on the others)
GOP_CENTRE, GOP_SCALE, SPHINX_WEIGHT = -0.0028, 0.0008, 0.75
#: below this share of phones heard as expected, the phone model is out of its depth (real voices unlike its
#: synthetic training speech): words are then judged by their fused score, not by single phones
TRUST_PHONES = 0.6


@dataclass(frozen=True)
class Assessor:
    """Scores attempts with one phone model (and pocketsphinx's word GOP when ``sphinx`` is given); ``margin``
    (nats) is how much better another phone must explain a phone's frames before the phone is called wrong
    (higher: fewer false alarms, fewer catches)."""

    model: PhoneModel
    g2p: G2P
    margin: float = 1.0
    sphinx: SphinxGop | None = None

    def canonical(self, expected: str) -> list[tuple[str, tuple[str, ...]]]:
        """(word, phones) of the prompt; words without letters are dropped."""
        words = text_words(expected)
        if not words:
            raise InputError(f"nothing to pronounce in {expected!r}: give a word or a sentence")
        if len(words) > MAX_WORDS:
            raise InputError(f"the text to practise has {len(words)} words; at most {MAX_WORDS}")
        return [(w, tuple(p)) for w, p in zip(words, self.g2p.phonemes_many(words)) if p]

    def assess(self, samples: np.ndarray, expected: str) -> PronunciationReport:
        """``samples``: the attempt as 16 kHz int16."""
        words = self.canonical(expected)
        gops = self.sphinx.word_gops(samples, [p for _, p in words]) if self.sphinx is not None else None
        return self.assess_features(log_mel(samples).log_mel, expected, words, gops)

    def assess_features(self, rows: np.ndarray, expected: str, words: Sequence[tuple[str, tuple[str, ...]]],
                        gops: Sequence[float] | None = None) -> PronunciationReport:
        return build_report(expected, words, self.score_phones(rows, words), gops)

    def score_phones(self, rows: np.ndarray, words: Sequence[tuple[str, tuple[str, ...]]]) -> list[PhoneScore]:
        """One PhoneScore per expected phone of ``words``, from log-mel ``rows``."""
        phones = [p for _, ph in words for p in ph]
        labels = [self.model.index[p] for p in phones]
        log_probs = self.model.log_probs(rows)
        path = align(log_probs, labels, self.model.blank)
        if path is None:  # not enough audio for the phones
            return [PhoneScore(p, 0.0, "deletion", None, float("inf"), (0, 0)) for p in phones]
        scores = []
        for i, (start, end) in enumerate(phone_windows(path, len(labels))):
            ll, deletion = window_scores(log_probs[start:end], self.model.blank)
            scores.append(assess_phone(ll, deletion, labels[i], self.model.blank, self.model.phones,
                                       self.margin, (start, end)))
        return scores


def gop_score(gop: float) -> float:
    """A word GOP (nats per frame) as a score in [0, 1]."""
    return float(1.0 / (1.0 + np.exp(-(gop - GOP_CENTRE) / GOP_SCALE)))


def build_report(expected: str, words: Sequence[tuple[str, tuple[str, ...]]], scores: Sequence[PhoneScore],
                 gops: Sequence[float] | None = None) -> PronunciationReport:
    """Per word: the phone model's mean score, fused with pocketsphinx's word GOP when there is one. Phone verdicts
    decide a word while the phone model hears most phones as expected (synthetic-like speech); past that, on
    voices it cannot follow, the fused word score does (>= 0.5 is ok) and only the flagged words keep their
    phone verdicts."""
    trusted = gops is None or np.mean([s.verdict == "ok" for s in scores] or [1.0]) >= TRUST_PHONES
    out, feedback, word_scores, at = [], [], [], 0
    for k, (word, phones) in enumerate(words):
        mine = scores[at:at + len(phones)]
        at += len(phones)
        score = float(np.mean([s.score for s in mine]))
        if gops is not None:
            score = SPHINX_WEIGHT * gop_score(gops[k]) + (1 - SPHINX_WEIGHT) * score
        ok = all(s.verdict == "ok" for s in mine) if trusted else score >= 0.5
        shown = mine if not ok else [dataclasses.replace(s, verdict="ok", heard=None) for s in mine]
        word_scores.append(score)
        out.append(WordAssessment(word=word, score=round(score, 3), ok=ok, phones=tuple(
            PhoneAssessment(expected=s.expected, heard=s.expected if s.verdict == "ok" else s.heard,
                            score=round(s.score, 3), verdict=s.verdict) for s in shown)))
        tips = [f"In '{word}' you said {describe_phone(s.heard or '?')} instead of {describe_phone(s.expected)}."
                if s.verdict == "substitution" else f"In '{word}' the {describe_phone(s.expected)} was missing."
                for s in shown if s.verdict != "ok"]
        feedback += tips or ([] if ok else [f"'{word}' did not sound right: listen and say it again."])
    total = 0.5 * float(np.mean(word_scores)) + 0.5 * float(min(word_scores)) if word_scores else 0.0
    if not feedback:
        feedback = [f"Well said: every sound of '{expected.strip()}' was right."]
    return PronunciationReport(expected=expected, score=round(total, 3), words=tuple(out),
                               feedback=tuple(feedback[:5]))
