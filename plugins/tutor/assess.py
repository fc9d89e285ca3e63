"""From a learner's audio and the text they meant to say to a PronunciationReport: canonical phones (CMUdict, then
hark's g2p), phone posteriors (``PhoneModel``), per-phone verdicts (``scoring``), per-word scores and feedback a
learner can act on ("In 'think' you said S (as in 'sun') instead of TH (as in 'think')")."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from hark.errors import InputError
from hark.features import log_mel
from hark.phonetics import G2P, text_words
from hark.types import PhoneAssessment, PronunciationReport, WordAssessment

from .model import PhoneModel
from .scoring import PhoneScore, align, assess_phone, phone_windows, window_scores

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


@dataclass(frozen=True)
class Assessor:
    """Scores attempts with one phone model; ``margin`` (nats) is how much better another phone must explain a
    phone's frames before the phone is called wrong (higher: fewer false alarms, fewer catches)."""

    model: PhoneModel
    g2p: G2P
    margin: float = 1.0

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
        return self.assess_features(log_mel(samples).log_mel, expected, words)

    def assess_features(self, rows: np.ndarray, expected: str,
                        words: Sequence[tuple[str, tuple[str, ...]]]) -> PronunciationReport:
        return build_report(expected, words, self.score_phones(rows, words))

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


def build_report(expected: str, words: Sequence[tuple[str, tuple[str, ...]]],
                 scores: Sequence[PhoneScore]) -> PronunciationReport:
    out, feedback, at = [], [], 0
    for word, phones in words:
        mine = scores[at:at + len(phones)]
        at += len(phones)
        assessed = tuple(PhoneAssessment(expected=s.expected, heard=s.expected if s.verdict == "ok" else s.heard,
                                         score=round(s.score, 3), verdict=s.verdict) for s in mine)
        out.append(WordAssessment(word=word, score=round(float(np.mean([s.score for s in mine])), 3),
                                  phones=assessed, ok=all(s.verdict == "ok" for s in mine)))
        for s in mine:
            if s.verdict == "substitution":
                feedback.append(f"In '{word}' you said {describe_phone(s.heard or '?')} instead of "
                                f"{describe_phone(s.expected)}.")
            elif s.verdict == "deletion":
                feedback.append(f"In '{word}' the {describe_phone(s.expected)} was missing.")
    total = float(np.mean([s.score for s in scores])) if scores else 0.0
    if not feedback:
        feedback = [f"Well said: every sound of '{expected.strip()}' was right."]
    return PronunciationReport(expected=expected, score=round(total, 3), words=tuple(out),
                               feedback=tuple(feedback[:5]))
