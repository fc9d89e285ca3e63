"""A word n-gram language model estimated from sentences, written as ARPA text for pocketsphinx.

Interpolated Kneser-Ney: the highest order uses raw counts, lower orders use continuation counts (how many distinct
words precede an n-gram), so "lights" is likely after any room name because it follows many words, not because it
is frequent. Discounts come from the count-of-counts (Ney's D = n1 / (n1 + 2 n2)). An interpolated model maps to
the ARPA back-off format exactly: P(w|h) of a seen n-gram is the interpolated probability and the back-off weight
of a context is its interpolation weight.

Why our own estimator: pocketsphinx ships no LM toolkit, and the skill corpora are small (tens of thousands of
sentences), so a few dictionaries of counts estimate one in well under a second.
"""
from __future__ import annotations

import math
from collections import defaultdict
from typing import Iterable, Sequence

__all__ = ["NgramModel", "BOS", "EOS"]

BOS, EOS = "<s>", "</s>"
_FLOOR = -99.0  # log10 probability ARPA files give <s>, which is never predicted


def _discount(counts: Iterable[int]) -> float:
    n1 = n2 = 0
    for c in counts:
        n1 += c == 1
        n2 += c == 2
    if n1 == 0:
        return 0.5
    return min(0.95, max(0.05, n1 / (n1 + 2 * n2)))


class NgramModel:
    """Kneser-Ney n-gram probabilities over the sentences given (tuples of words, without <s>/</s>)."""

    def __init__(self, sentences: Iterable[Sequence[str]], order: int = 3):
        if order < 1:
            raise ValueError("order must be at least 1")
        self.order = order
        # counts[n][ngram]: raw counts for the highest order and for n-grams starting with <s>,
        # continuation counts (distinct left neighbours) for the other lower orders.
        raw: list[dict[tuple[str, ...], int]] = [defaultdict(int) for _ in range(order + 1)]
        left: list[dict[tuple[str, ...], set[str]]] = [defaultdict(set) for _ in range(order + 1)]
        for words in sentences:
            seq = (BOS, *words, EOS)
            for n in range(1, order + 1):
                for i in range(len(seq) - n + 1):
                    gram = seq[i:i + n]
                    if gram == (BOS,):
                        continue
                    raw[n][gram] += 1
                    if i > 0:
                        left[n][gram].add(seq[i - 1])
        if not raw[1]:
            raise ValueError("no sentences to estimate a language model from")
        self.counts: list[dict[tuple[str, ...], int]] = [{}]
        for n in range(1, order + 1):
            if n == order:
                self.counts.append(dict(raw[n]))
            else:
                self.counts.append({g: (c if g[0] == BOS else len(left[n][g])) for g, c in raw[n].items()})
        self.discounts = [0.0] + [_discount(self.counts[n].values()) for n in range(1, order + 1)]
        # per context: total count and number of distinct continuations
        self._context_total: list[dict[tuple[str, ...], int]] = [{} for _ in range(order + 1)]
        self._context_types: list[dict[tuple[str, ...], int]] = [{} for _ in range(order + 1)]
        for n in range(1, order + 1):
            total: dict[tuple[str, ...], int] = defaultdict(int)
            types: dict[tuple[str, ...], int] = defaultdict(int)
            for gram, c in self.counts[n].items():
                total[gram[:-1]] += c
                types[gram[:-1]] += 1
            self._context_total[n], self._context_types[n] = dict(total), dict(types)
        self.vocabulary = sorted({g[0] for g in self.counts[1]} | {BOS})
        self._prob_cache: dict[tuple[str, ...], float] = {}

    def prob(self, gram: tuple[str, ...]) -> float:
        """Interpolated P(gram[-1] | gram[:-1]) (any length up to the order)."""
        cached = self._prob_cache.get(gram)
        if cached is not None:
            return cached
        n = len(gram)
        if n == 1:
            vocab = len(self.vocabulary) - 1  # everything but <s>
            d = self.discounts[1]
            total = self._context_total[1].get((), 0)
            c = self.counts[1].get(gram, 0)
            p = (max(c - d, 0.0) + d * self._context_types[1].get((), 0) / vocab) / total
        else:
            context = gram[:-1]
            total = self._context_total[n].get(context, 0)
            lower = self.prob(gram[1:])
            if total == 0:
                p = lower
            else:
                d = self.discounts[n]
                c = self.counts[n].get(gram, 0)
                p = max(c - d, 0.0) / total + d * self._context_types[n][context] / total * lower
        self._prob_cache[gram] = p
        return p

    def backoff(self, context: tuple[str, ...]) -> float:
        """Weight of the lower order for ``context`` (its interpolation weight); 1 for unseen contexts."""
        n = len(context) + 1
        total = self._context_total[n].get(context, 0) if n <= self.order else 0
        if total == 0:
            return 1.0
        return self.discounts[n] * self._context_types[n][context] / total

    def sentence_logprob(self, words: Sequence[str]) -> float:
        """Natural-log probability of a whole sentence (with </s>), for tests and perplexity."""
        seq = (BOS, *words, EOS)
        total = 0.0
        for i in range(1, len(seq)):
            gram = seq[max(0, i - self.order + 1):i + 1]
            total += math.log(self.prob(gram))
        return total

    def to_arpa(self) -> str:
        """The model in ARPA text format (log10 probabilities and back-off weights)."""
        lines = ["", "\\data\\"]
        grams = [sorted(self.counts[n]) for n in range(self.order + 1)]
        unigrams = sorted(set(grams[1]) | {(BOS,)})
        grams[1] = unigrams
        for n in range(1, self.order + 1):
            lines.append(f"ngram {n}={len(grams[n])}")
        for n in range(1, self.order + 1):
            lines += ["", f"\\{n}-grams:"]
            for gram in grams[n]:
                lp = _FLOOR if gram == (BOS,) else math.log10(self.prob(gram))
                text = f"{lp:.6f}\t{' '.join(gram)}"
                if n < self.order and gram[-1] != EOS and (gram in self._context_total[n + 1]):
                    text += f"\t{math.log10(self.backoff(gram)):.6f}"
                lines.append(text)
        lines += ["", "\\end\\", ""]
        return "\n".join(lines)


class ArpaModel:
    """An ARPA back-off model read back (what pocketsphinx decodes with), for P(word | history) outside the decoder.

    The asr plugin asks it how likely the words heard so far end a sentence, P(</s> | last words), to judge at a
    pause whether a request is complete (semantic endpointing)."""

    def __init__(self, text: str):
        self.order = 0
        self._logp: dict[tuple[str, ...], float] = {}
        self._backoff: dict[tuple[str, ...], float] = {}
        n = 0
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith("ngram ") or line in ("\\data\\", "\\end\\"):
                continue
            if line.startswith("\\") and line.endswith("-grams:"):
                n = int(line[1:-len("-grams:")])
                self.order = max(self.order, n)
                continue
            if n == 0:
                continue
            parts = line.split("\t") if "\t" in line else line.split()
            if "\t" in line:
                words = tuple(parts[1].split())
                backoff = parts[2] if len(parts) > 2 else None
            else:
                words, backoff = tuple(parts[1:1 + n]), (parts[1 + n] if len(parts) > 1 + n else None)
            self._logp[words] = float(parts[0])
            if backoff is not None:
                self._backoff[words] = float(backoff)
        if not self._logp:
            raise ValueError("not an ARPA model: no n-grams")

    @classmethod
    def load(cls, path) -> "ArpaModel":
        from pathlib import Path

        return cls(Path(path).read_text(encoding="utf-8"))

    def log10prob(self, history: Sequence[str], word: str) -> float:
        """log10 P(word | history) with ARPA back-off (an unknown word gets the floor)."""
        history = tuple(history)[-(self.order - 1):] if self.order > 1 else ()
        penalty = 0.0
        while True:
            found = self._logp.get((*history, word))
            if found is not None:
                return penalty + found
            if not history:
                return _FLOOR
            penalty += self._backoff.get(history, 0.0)
            history = history[1:]

    def end_probability(self, words: Sequence[str]) -> float:
        """P(</s> | the last words of ``words``): how likely the sentence ends here."""
        return 10 ** self.log10prob((BOS, *words), EOS)
