"""A phone-level ASR confusion model learned from real ASR output, and a rewriter that turns a title into the
sound-alike word sequences an ASR might have heard (an n-best list).

Why: espeak-ng speech decoded by pocketsphinx is one source of recognition errors, but a synthetic voice errs in
its own way. This is a second source, learned from a real ASR system on real recordings (SLURP's
``test_dev_asr_1best_pairs.tsv``: reference vs the SLURP authors' ASR 1-best), for ``benchmarks/entity_spoken.py``.

1. **Fit** (``fit_pairs``): reference and hypothesis go to ARPAbet phones through ``G2P`` (CMUdict, a neural g2p
   for the rest); the two phone sequences are aligned by a weighted Levenshtein with backtrace (``align``: a
   substitution between phones that sound alike costs less, so the alignment pairs /t/ with /d/ rather than with
   /ay/). A reference word is *changed* when one of its phones is not matched exactly or a phone was inserted
   after it. Real ASR errors cluster in words (most words come out right, a misrecognised one is often wrong in
   several phones), so the model learns two levels (``ConfusionCounts``): how often a word is changed, and, inside
   changed words only, how often each phone is kept, substituted, deleted or followed by an insertion.
2. **Model** (``ConfusionModel``): a word is changed with the learned rate; a changed word's phones go through
   add-k smoothed per-phone probabilities of every output phone and of deletion, plus a per-position insertion
   rate and a distribution over the inserted phone, drawn again until the word really changes. ``sample`` gives
   the corrupted phone sequence and its log-probability.
3. **Words** (``WordMapper``): a corrupted phone sequence is mapped back to words by dynamic programming over the
   vocabulary of pocketsphinx's generic LM (words also in CMUdict): exact pronunciation look-ups plus look-ups at
   one phone edit (a deletion-neighbourhood index, as in SymSpell), each word costing a constant plus its unigram
   surprisal, so frequent words and fewer words win; a phone no word covers is skipped at a high cost. Names the
   LM lacks come out as sound-alike common words, as they would from a generic-LM decoder.
4. **n-best** (``Rewriter.nbest``): up to n distinct rewrites, each an independent draw of the channel from the
   title (the hypotheses an ASR weighs); the first draw is the 1-best, so the 1-best has the learned error rate
   (ranking draws by their probability would nearly always put the untouched title first). Scores are what an
   ASR could know: how far each alternative is from what it heard, ``phone_error_rate ** d`` for ``d`` phone
   edits between the alternative and the 1-best, normalised. The sampling log-probability given the title is
   not used as the score: it would mark the untouched title, whenever drawn, as the most probable hypothesis.
"""
from __future__ import annotations

import csv
import math
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from rapidfuzz.distance import Levenshtein

from hark.phonetics import ARPABET, G2P, load_cmudict, text_words
from hark.phonetics import edit_distance as word_errors  # Levenshtein on any token lists
from hark.plugins.entity_resolver.phonetic import coarse_string, phone_string

__all__ = ["PHONES", "clean_asr_text", "sub_cost", "align", "ConfusionCounts", "ConfusionModel", "WordMapper",
           "Rewriter", "slurp_asr_pairs", "fit_pairs", "word_errors", "wer", "generic_lm_vocabulary"]

PHONES: tuple[str, ...] = ARPABET
VOWELS = frozenset({"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"})
#: alignment costs: insertion/deletion 1; substitution 0.5 within a coarse group (phonetic.coarse_string: P/B,
#: T/D, nasals, front vowels...), 1.0 within vowels or within consonants, 1.5 across (a vowel for a consonant is
#: rather a deletion plus an insertion)
INDEL_COST = 1.0
_UNKNOWN = re.compile(r"<\s*unk\s*>|@@unknown@@", re.IGNORECASE)


# ------------------------------------------------------------------------------------------------- text


def clean_asr_text(text: str) -> str:
    """SLURP ASR tokenisation back to plain words: lower case, clitics re-attached ("what 's" -> "what's",
    "ca n't" -> "can't"), "a._m" -> "a. m.", unknown-word marks and stray "." tokens dropped."""
    text = _UNKNOWN.sub(" ", text.lower()).replace("._", ". ")
    words: list[str] = []
    for tok in text.split():
        if tok == ".":
            continue
        if words and (tok.startswith("'") or tok == "n't"):
            words[-1] += tok
        else:
            words.append(tok)
    return " ".join(words)


def has_unknown(text: str) -> bool:
    """True when the ASR marked a word as unknown: such a pair says nothing about which phones it heard."""
    return bool(_UNKNOWN.search(text))


def wer(pairs: Iterable[tuple[str, str]]) -> float:
    """Corpus WER of (reference, hypothesis) texts, words as g2p reads them (``text_words``: lower case, digits
    spelled out, punctuation dropped), so "Toy Story 2" and "toy story two" agree. 0.0 for no reference words."""
    errors = words = 0
    for ref, hyp in pairs:
        r, h = text_words(ref), text_words(hyp)
        errors += word_errors(r, h)
        words += len(r)
    return errors / words if words else 0.0


# -------------------------------------------------------------------------------------------- alignment


@lru_cache(maxsize=None)
def sub_cost(a: str, b: str) -> float:
    """Cost of aligning reference phone ``a`` with hypothesis phone ``b`` (0 when equal)."""
    if a == b:
        return 0.0
    if coarse_string(phone_string([a])) == coarse_string(phone_string([b])):
        return 0.5
    return 1.0 if (a in VOWELS) == (b in VOWELS) else 1.5


def align(ref: Sequence[str], hyp: Sequence[str]) -> list[tuple[str | None, str | None]]:
    """Weighted Levenshtein alignment of two phone sequences with backtrace: pairs (ref phone, hyp phone), None on
    the side of a deletion (hyp None) or insertion (ref None). Ties prefer substitution, then deletion."""
    n, m = len(ref), len(hyp)
    cost = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(1, n + 1):
        cost[i][0] = i * INDEL_COST
    for j in range(1, m + 1):
        cost[0][j] = j * INDEL_COST
    for i in range(1, n + 1):
        row, prev, a = cost[i], cost[i - 1], ref[i - 1]
        for j in range(1, m + 1):
            row[j] = min(prev[j - 1] + sub_cost(a, hyp[j - 1]), prev[j] + INDEL_COST, row[j - 1] + INDEL_COST)
    out: list[tuple[str | None, str | None]] = []
    i, j = n, m
    while i > 0 or j > 0:
        if i > 0 and j > 0 and math.isclose(cost[i][j], cost[i - 1][j - 1] + sub_cost(ref[i - 1], hyp[j - 1])):
            out.append((ref[i - 1], hyp[j - 1]))
            i, j = i - 1, j - 1
        elif i > 0 and math.isclose(cost[i][j], cost[i - 1][j] + INDEL_COST):
            out.append((ref[i - 1], None))
            i -= 1
        else:
            out.append((None, hyp[j - 1]))
            j -= 1
    return out[::-1]


@dataclass
class ConfusionCounts:
    """What the aligned pairs show. Word level: ``words`` reference words, ``changed`` of them misrecognised.
    Phone level, inside changed words only: ``out[(ref phone, hyp phone or None)]`` (None = deleted; equal =
    kept), ``ins[phone]`` (inserted phones) and ``slots`` (positions where an insertion could happen: one per
    reference phone plus one per changed word). ``errors``/``phones``: phone errors and reference phones over all
    words (the overall phone error rate)."""

    out: Counter = field(default_factory=Counter)
    ins: Counter = field(default_factory=Counter)
    slots: int = 0
    words: int = 0
    changed: int = 0
    pairs: int = 0
    phones: int = 0
    errors: int = 0

    def add_pair(self, ref_words: Sequence[Sequence[str]], hyp: Sequence[str]) -> None:
        """Count one pair: the reference as one phone tuple per word, the hypothesis as a flat phone sequence."""
        ref = [p for w in ref_words for p in w]
        word_of = [i for i, w in enumerate(ref_words) for _ in w]
        self.pairs += 1
        self.words += len(ref_words)
        self.phones += len(ref)
        if tuple(ref) == tuple(hyp):
            return
        per_word: list[list[tuple[str | None, str | None]]] = [[] for _ in ref_words]
        i = 0  # reference phones seen so far: an insertion belongs to the word of the phone before it
        for r, h in align(ref, hyp):
            if r is None:
                per_word[word_of[max(0, i - 1)]].append((None, h))
            else:
                per_word[word_of[i]].append((r, h))
                i += 1
            self.errors += r != h
        for pairs in per_word:
            if any(r != h for r, h in pairs):
                self.changed += 1
                self.slots += 1
                for r, h in pairs:
                    if r is None:
                        self.ins[h] += 1
                    else:
                        self.out[(r, h)] += 1
                        self.slots += 1

    def summary(self) -> dict:
        in_changed = sum(self.out.values())
        subs = sum(c for (r, h), c in self.out.items() if h is not None and h != r)
        dels = sum(c for (r, h), c in self.out.items() if h is None)
        ins = sum(self.ins.values())
        top = lambda items, n: [f"{k} {c}" for k, c in sorted(items, key=lambda kc: -kc[1])[:n]]  # noqa: E731
        return {"pairs": self.pairs, "reference_words": self.words, "changed_words": self.changed,
                "word_change_rate": round(self.changed / max(1, self.words), 4),
                "reference_phones": self.phones, "phone_error_rate": round(self.errors / max(1, self.phones), 4),
                "phones_in_changed_words": in_changed, "substitutions": subs, "deletions": dels, "insertions": ins,
                "phone_error_rate_in_changed_words": round((subs + dels + ins) / max(1, in_changed), 4),
                "top_substitutions": top(((f"{r}->{h}", c) for (r, h), c in self.out.items()
                                          if h is not None and h != r), 15),
                "top_deletions": top(((r, c) for (r, h), c in self.out.items() if h is None), 8),
                "top_insertions": top(self.ins.items(), 8)}


# ------------------------------------------------------------------------------------------------- model



def _draw(outcomes: Sequence, cum: Sequence[float], logps: Sequence[float], rng: random.Random):
    x = rng.random() * cum[-1]
    lo, hi = 0, len(cum) - 1
    while lo < hi:  # first index with cum > x
        mid = (lo + hi) // 2
        if cum[mid] > x:
            hi = mid
        else:
            lo = mid + 1
    return outcomes[lo], logps[lo]


class ConfusionModel:
    """A word is changed with probability ``p_change``; a changed word's phones go through P(output | reference
    phone) over every phone and deletion (None), an insertion rate per position and P(inserted phone), all add-k
    smoothed (``k`` pseudo-counts per outcome), so every confusion is possible."""

    def __init__(self, counts: ConfusionCounts, k: float = 0.1):
        if k <= 0:
            raise ValueError(f"smoothing k must be positive, got {k}")
        if counts.words == 0:
            raise ValueError("no reference words counted: fit the model on some pairs first")
        self.k = k
        self.counts = counts
        self.p_change = (counts.changed + k) / (counts.words + 2 * k)
        outcomes: list[str | None] = list(PHONES) + [None]
        self._out: dict[str, tuple[list, list[float], list[float]]] = {}
        for p in PHONES:
            raw = [counts.out.get((p, o), 0) + k for o in outcomes]
            total = sum(raw)
            probs = [c / total for c in raw]
            self._out[p] = (outcomes, list(accumulate(probs)), [math.log(q) for q in probs])
        n_ins = sum(counts.ins.values())
        self.p_insert = (n_ins + k) / (counts.slots + n_ins + 2 * k)
        raw = [counts.ins.get(p, 0) + k for p in PHONES]
        probs = [c / sum(raw) for c in raw]
        self._ins = (list(PHONES), list(accumulate(probs)), [math.log(q) for q in probs])

    def prob(self, ref: str, out: str | None) -> float:
        """P(``out`` | ``ref``) inside a changed word; ``out`` None = deleted."""
        outcomes, _, logps = self._out[ref]
        return math.exp(logps[outcomes.index(out)])

    def _logp_kept(self, phones: Sequence[str]) -> float:
        """log P(a changed word's channel leaves ``phones`` as they are)."""
        stay = math.log1p(-self.p_insert)
        return stay * (len(phones) + 1) + sum(self._out[p][2][PHONES.index(p)] for p in phones if p in self._out)

    def _channel(self, phones: Sequence[str], rng: random.Random) -> tuple[tuple[str, ...], float]:
        out: list[str] = []
        logp = 0.0
        log_ins, log_stay = math.log(self.p_insert), math.log1p(-self.p_insert)
        for i in range(len(phones) + 1):
            while rng.random() < self.p_insert:
                q, lq = _draw(*self._ins, rng)
                out.append(q)
                logp += log_ins + lq
            logp += log_stay
            if i == len(phones):
                break
            p = phones[i]
            if p not in self._out:
                out.append(p)
                continue
            q, lq = _draw(*self._out[p], rng)
            logp += lq
            if q is not None:
                out.append(q)
        return tuple(out), logp

    def change_word(self, phones: Sequence[str], rng: random.Random, tries: int = 100) -> tuple[tuple[str, ...], float]:
        """A changed copy of one word's phones and its log-probability given that the word changes."""
        norm = math.log(max(1e-12, -math.expm1(self._logp_kept(phones))))
        for _ in range(tries):
            out, logp = self._channel(phones, rng)
            if out != tuple(phones):
                return out, logp - norm
        return (), -norm  # the channel keeps this word nearly always: drop it, as a deletion

    def sample(self, words: Sequence[Sequence[str]], rng: random.Random) -> tuple[tuple[str, ...], float]:
        """A corrupted copy of a phrase (one phone tuple per word), flat, and its log-probability."""
        out: list[str] = []
        logp = 0.0
        for phones in words:
            if rng.random() < self.p_change:
                changed, lp = self.change_word(phones, rng)
                out.extend(changed)
                logp += math.log(self.p_change) + lp
            else:
                out.extend(phones)
                logp += math.log1p(-self.p_change)
        return tuple(out), logp

    def to_dict(self) -> dict:
        return {"smoothing_k": self.k, "p_word_change": round(self.p_change, 5), "p_insert": round(self.p_insert, 5),
                **self.counts.summary()}


# ------------------------------------------------------------------------------------------------- words


#: DP costs of the word mapper: per word, per phone edit inside a word (at most one), per skipped phone; the
#: unigram surprisal (natural log) is added per word with weight LM_WEIGHT
WORD_COST, EDIT_COST, SKIP_COST, LM_WEIGHT = 1.0, 3.0, 8.0, 0.3
MAX_WORD_PHONES = 14
_PLAIN_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


class WordMapper:
    """Phones -> a word sequence that sounds like them (see the module docstring, step 3)."""

    def __init__(self, vocabulary: Mapping[str, float], pronunciations: Mapping[str, Sequence[str]] | None = None,
                 *, near_min_phones: int = 3):
        """``vocabulary``: word -> natural-log unigram probability; ``pronunciations``: word -> phones (default:
        CMUdict via ``load_cmudict``). Words without a pronunciation are ignored. One-edit matches are only
        looked up for pronunciations of at least ``near_min_phones`` phones (an edit in a shorter word changes it
        too much)."""
        prons = pronunciations if pronunciations is not None else load_cmudict()
        self.exact: dict[str, tuple[str, float]] = {}
        for word, logp in vocabulary.items():
            phones = prons.get(word)
            if not phones or not _PLAIN_WORD.fullmatch(word):
                continue
            key = phone_string(phones)
            cost = WORD_COST - LM_WEIGHT * logp
            if len(key) == len(phones) and (key not in self.exact or cost < self.exact[key][1]):
                self.exact[key] = (word, cost)
        self.near: dict[str, list[str]] = {}
        for key in self.exact:
            if len(key) >= near_min_phones:
                for i in range(len(key)):
                    self.near.setdefault(key[:i] + key[i + 1:], []).append(key)
        self._char_phone = {phone_string([p]): p for p in PHONES}
        self._memo: dict[str, tuple[str, float, str] | None] = {}
        if not self.exact:
            raise ValueError("the word mapper's vocabulary has no word with a pronunciation")

    def __len__(self) -> int:
        return len(self.exact)

    def _best(self, span: str) -> tuple[str, float, str] | None:
        """(word, cost, its phone string) for a phone-string span: exact, else the cheapest word one edit away."""
        if span not in self._memo:
            if len(self._memo) > 500_000:
                self._memo.clear()
            self._memo[span] = self._lookup(span)
        return self._memo[span]

    def _lookup(self, span: str) -> tuple[str, float, str] | None:
        if span in self.exact:
            word, cost = self.exact[span]
            return word, cost, span
        found: set[str] = set(self.near.get(span, ()))  # a word with one phone more
        for i in range(len(span)):
            d = span[:i] + span[i + 1:]
            if d in self.exact:  # a word with one phone fewer
                found.add(d)
            found.update(self.near.get(d, ()))  # one substitution (verified below)
        best = None
        for key in found:
            if Levenshtein.distance(key, span) == 1:
                word, cost = self.exact[key]
                cost += EDIT_COST
                if best is None or cost < best[1]:
                    best = (word, cost, key)
        return best

    def words(self, phones: Sequence[str]) -> tuple[list[str], list[tuple[str, ...]]]:
        """The cheapest word sequence for ``phones``, and the phones of each of those words."""
        s = phone_string(phones)
        n = len(s)
        best: list[tuple[float, int, str | None, str]] = [(0.0, -1, None, "")] + [(math.inf, -1, None, "")] * n
        for i in range(n):
            base = best[i][0]
            if base == math.inf:
                continue
            if base + SKIP_COST < best[i + 1][0]:
                best[i + 1] = (base + SKIP_COST, i, None, "")
            for j in range(i + 1, min(n, i + MAX_WORD_PHONES) + 1):
                hit = self._best(s[i:j])
                if hit is not None and base + hit[1] < best[j][0]:
                    best[j] = (base + hit[1], i, hit[0], hit[2])
        words: list[str] = []
        keys: list[str] = []
        j = n
        while j > 0:
            _, i, word, key = best[j]
            if word is not None:
                words.append(word)
                keys.append(key)
            j = i
        return words[::-1], [tuple(self._char_phone[c] for c in key) for key in keys[::-1]]


def generic_lm_vocabulary(cache: Path | None = None) -> dict[str, float]:
    """word -> natural-log unigram probability, for the CMUdict words that pocketsphinx's generic English LM
    knows (the words a generic-LM decoder can output). Read from the LM with ``NGramModel.prob`` (a few seconds),
    cached as a TSV under ``cache`` when given."""
    if cache is not None and cache.is_file():
        rows = (line.split("\t") for line in cache.read_text(encoding="utf-8").splitlines() if line)
        return {w: float(p) for w, p in rows}
    import pocketsphinx

    lm_path = Path(pocketsphinx.get_model_path()) / "en-us" / "en-us.lm.bin"
    logmath = pocketsphinx.LogMath()
    lm = pocketsphinx.NGramModel(pocketsphinx.Config(loglevel="FATAL"), logmath, str(lm_path))
    floor = logmath.get_zero() // 2  # out-of-vocabulary words score (about) log(0)
    vocab: dict[str, float] = {}
    for word in load_cmudict():
        if _PLAIN_WORD.fullmatch(word):
            score = lm.prob([word])
            if score > floor:
                vocab[word] = logmath.log_to_ln(score)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp")
        tmp.write_text("".join(f"{w}\t{p:.4f}\n" for w, p in vocab.items()), encoding="utf-8")
        tmp.replace(cache)
    return vocab


# ----------------------------------------------------------------------------------------------- rewriter


class Rewriter:
    """Titles -> n-best lists of sound-alike word sequences (module docstring, step 4)."""

    def __init__(self, model: ConfusionModel, mapper: WordMapper, g2p: G2P | None = None):
        self.model = model
        self.mapper = mapper
        self.g2p = g2p or G2P.default()

    def nbest(self, text: str, rng: random.Random, n: int = 5, max_draws: int = 60) -> list[tuple[str, float]]:
        """Up to ``n`` distinct rewrites of ``text`` as ``(text, probability)``, the 1-best first, the others by
        probability; [] when ``text`` has no pronounceable word (or every draw came out empty)."""
        words = self.g2p.phrase_words(text)
        if not words:
            return []
        found: dict[str, str] = {}  # rewrite -> its phone string
        for _ in range(max_draws):
            heard, _ = self.model.sample(words, rng)
            out, phones = self.mapper.words(heard)
            rewrite = " ".join(out)
            if rewrite and rewrite not in found:
                found[rewrite] = phone_string([p for w in phones for p in w])
                if len(found) >= n:
                    break
        if not found:
            return []
        first = next(iter(found))
        log_edit = math.log(self.model.counts.errors / max(1, self.model.counts.phones) or 0.1)
        logp = {t: log_edit * Levenshtein.distance(found[first], s) for t, s in found.items()}
        total = sum(math.exp(lp) for lp in logp.values())
        rest = sorted((t for t in found if t != first), key=lambda t: -logp[t])
        return [(t, round(math.exp(logp[t]) / total, 6)) for t in [first] + rest]


# ------------------------------------------------------------------------------------------------- data


def slurp_asr_pairs(path: Path, exclude_slurp_ids: Iterable[str] = ()) -> list[tuple[str, str]]:
    """(reference, cleaned ASR hypothesis) of ``test_dev_asr_1best_pairs.tsv``, without the given slurp_ids and
    without hypotheses that contain an unknown-word mark."""
    if not path.is_file():
        raise FileNotFoundError(f"SLURP ASR pairs not found: {path} (set HARK_DATA to the folder holding "
                                f"slurp/test_dev_asr_1best_pairs.tsv)")
    skip = set(exclude_slurp_ids)
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    missing = {"slurp_id", "reference", "asr_hypothesis"} - set(rows[0] if rows else {})
    if missing:
        raise ValueError(f"{path}: missing columns {sorted(missing)}")
    return [(r["reference"].lower(), clean_asr_text(r["asr_hypothesis"])) for r in rows
            if r["slurp_id"] not in skip and not has_unknown(r["asr_hypothesis"])]


def fit_pairs(pairs: Iterable[tuple[str, str]], g2p: G2P | None = None, k: float = 0.1) -> ConfusionModel:
    """The confusion model of (reference text, hypothesis text) pairs (module docstring, steps 1-2)."""
    g2p = g2p or G2P.default()
    counts = ConfusionCounts()
    for ref, hyp in pairs:
        r = g2p.phrase_words(ref)
        if r:
            counts.add_pair(r, g2p.phrase(hyp))
    return ConfusionModel(counts, k=k)
