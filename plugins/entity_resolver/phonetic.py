"""The non-learned phonetic and lexical channels of the entity resolver: phone strings, hashed n-gram vectors and
the similarity features the re-ranker combines.

Phones come from ``G2P`` (ARPAbet, no stress, no word boundaries: ASR splits and merges words freely, "beachtalk"
vs "beach talk"). Each phone is written as one character so that rapidfuzz's C implementations of Levenshtein and
partial matching run on phone strings. A second, *coarse* string merges phones that ASR confuses most (voicing
pairs P/B, T/D, S/Z...; nasals; vowels in three groups), so an edit distance on it is a cheap stand-in for a
weighted (phone-similarity) edit distance.

Vectors for retrieval (faiss, inner product):

- phonetic: hashed phone 1-, 2- and 3-grams of the fine string with boundary marks, plus 2- and 3-grams of the coarse
  string, sublinear tf, L2-normalised (``PHONE_DIM`` dimensions);
- lexical: hashed character 2-, 3- and 4-grams of the normalised text with boundary marks, plus whole words,
  sublinear tf, L2-normalised (``LEX_DIM`` dimensions).

Hashing (not a fitted TF-IDF vocabulary) keeps the vectors independent of the catalog: one catalog's entries never
change another's vectors, and a query needs no catalog statistics. Many strings at once are encoded in numpy
(``_hashed_rows``: ~60 us a name, where one at a time in Python took 0.5-0.8 ms; a 1M-name catalog is built in
about a minute), bit for bit the vectors of the one-at-a-time definition (``_hashed``): a compressed index of more
than 50,000 entries keeps no vectors (a smaller one keeps their non-zeros), so the resolver makes its candidates'
vectors again at query time and they must not differ.

``pair_feature_matrix`` computes ``pair_features`` for every (hypothesis, candidate) pair with rapidfuzz's ``cdist``
(the same numbers, one C call per feature instead of one Python call per pair).
"""
from __future__ import annotations

import hashlib
import re
import threading
from array import array
from collections import Counter
from functools import lru_cache
from typing import Sequence

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from hark.phonetics import ARPABET, G2P, normalize_word

__all__ = ["PHONE_DIM", "LEX_DIM", "phone_string", "coarse_string", "normalize_text", "phone_vectors",
           "lexical_vectors", "FEATURES", "pair_features", "pair_feature_matrix"]

PHONE_DIM = 1024
LEX_DIM = 1024

#: one character per ARPAbet phone (a-z, then A-M)
_PHONE_CHAR = {p: (chr(ord("a") + i) if i < 26 else chr(ord("A") + i - 26)) for i, p in enumerate(ARPABET)}
_COARSE_GROUPS = {
    "1": ("IY", "IH", "EY", "EH", "AE", "Y"),   # front vowels (+ glide)
    "2": ("AA", "AH", "AO", "AW", "AY", "OW", "OY", "UH", "UW", "W"),  # central / back vowels (+ glide)
    "3": ("ER", "R"), "4": ("L",),
    "p": ("P", "B"), "t": ("T", "D"), "k": ("K", "G"), "f": ("F", "V"), "h": ("TH", "DH"),
    "s": ("S", "Z"), "c": ("SH", "ZH", "CH", "JH"), "m": ("M", "N", "NG"), "x": ("HH",),
}
_COARSE_CHAR = {_PHONE_CHAR[p]: g for g, phones in _COARSE_GROUPS.items() for p in phones}
_COARSE_TABLE = str.maketrans(_COARSE_CHAR)
_NON_WORD = re.compile(r"[^\w']+|_")  # letters of any script, digits, apostrophes


def phone_string(phones: Sequence[str]) -> str:
    """("M", "EY", "T", "R", "IH", "K", "S") -> "tmAbpj..." style string, one character per phone."""
    return "".join(_PHONE_CHAR[p] for p in phones if p in _PHONE_CHAR)


def coarse_string(fine: str) -> str:
    """The phone string with confusable phones merged (see the module docstring)."""
    return fine.translate(_COARSE_TABLE)


def coarse_strings(fines: Sequence[str]) -> list[str]:
    """``coarse_string`` of each phone string, in one ``translate`` call (phone strings have no newline)."""
    return "\n".join(fines).translate(_COARSE_TABLE).split("\n") if fines else []


def normalize_text(text: str) -> str:
    """Lower case, accents stripped, anything but letters, digits and apostrophes made a single space."""
    return " ".join(_NON_WORD.sub(" ", normalize_word(text)).split())


def _bucket(token: str, dim: int) -> tuple[int, float]:
    h = _token_hash(token)
    return h % dim, (1.0 if (h >> 63) & 1 else -1.0)


def _token_hash(token: str) -> int:
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest(), "little")


def _ngrams(s: str, sizes: Sequence[int], tag: str) -> list[str]:
    padded = f"<{s}>"
    return [f"{tag}{n}:{padded[i:i + n]}" for n in sizes for i in range(len(padded) - n + 1)]


# Vectors are built for many strings at once in numpy (a catalog of 1M names, or a query's ~200 candidates): every
# gram becomes an integer token, (row, token) pairs are counted with one sort, and each row's distinct grams
# are summed into their buckets in float32. Where two grams of a row share a bucket they are added in order of
# first use, like adding them one by one: a vector is bit for bit the same whatever batch it was made in.

#: 1 + log(count) for small counts, each from a scalar np.log like the per-gram definition
_LOGW = np.array([0.0] + [1.0 + np.log(n) for n in range(1, 257)])
#: the code of padding in ``_PhoneGrams``' grids: an n-gram touching it gets an id past every block
_PAD = 1 << 20
_ROWS_PER_CHUNK = 4096


def _log_weights(counts: np.ndarray) -> np.ndarray:
    if counts.max(initial=0) < len(_LOGW):
        return _LOGW[counts]
    return np.array([1.0 + np.log(int(n)) for n in counts])


#: batches up to this size are encoded one string at a time in Python (numpy's per-call costs dominate there)
_SMALL_BATCH = 8
_LOGW_LIST = _LOGW.tolist()


@lru_cache(maxsize=1 << 16)
def _cached_bucket(token: str, dim: int) -> tuple[int, float]:
    return _bucket(token, dim)


def _hashed(grams: list[str], dim: int) -> np.ndarray:
    """One L2-normalised sublinear-tf hashed vector: the definition (``_hashed_rows`` computes the same, bit for
    bit, for many rows)."""
    acc = array("f", bytes(4 * dim))  # float32 storage: each addition is rounded to float32, as in an ndarray
    for g, n in Counter(grams).items():  # in order of first use
        i, sign = _cached_bucket(g, dim)
        acc[i] = acc[i] + sign * (_LOGW_LIST[n] if n < len(_LOGW_LIST) else 1.0 + float(np.log(n)))
    vec = np.frombuffer(acc, dtype=np.float32).copy()
    norm = float(np.sqrt(vec.dot(vec)))
    return vec / norm if norm > 0 else vec


def _phone_grams(fine: str) -> list[str]:
    return _ngrams(fine, (1, 2, 3), "f") + _ngrams(coarse_string(fine), (2, 3), "c")


def _lexical_grams(norm: str) -> list[str]:
    words = norm.split()
    return [g for w in words for g in _ngrams(w, (2, 3, 4), "w")] + [f"W:{w}" for w in words]


def _hashed_rows(rows: np.ndarray, tokens: np.ndarray, buckets: np.ndarray, signs: np.ndarray, n_rows: int,
                 dim: int) -> np.ndarray:
    """[n_rows, dim] sublinear-tf hashed vectors, L2-normalised, from gram occurrences: ``rows`` (non-decreasing)
    and ``tokens`` (ids into ``buckets``/``signs``), each row's grams in their defining order."""
    out = np.zeros((n_rows, dim), dtype=np.float32)
    if not len(tokens):
        return out
    n_occ = len(tokens)
    # (row, token) and position in one int64, sorted: a distinct pair's first entry is its first use (np.sort is
    # several times faster than a stable argsort); < 2**50 for a 4096-row chunk, so no overflow
    keys = (rows * (int(tokens.max()) + 1) + tokens) * n_occ + np.arange(n_occ)
    keys.sort()
    pairs, positions = np.divmod(keys, n_occ)
    starts = np.flatnonzero(np.concatenate(([True], pairs[1:] != pairs[:-1])))
    counts = np.diff(np.append(starts, n_occ))
    first = positions[starts]
    flat = rows[first] * dim + buckets[tokens[first]]
    weights = signs[tokens[first]] * _log_weights(counts)
    flat_out = out.reshape(-1)
    shared = np.bincount(flat, minlength=len(flat_out))[flat] > 1
    flat_out[flat[~shared]] = weights[~shared]  # rounded to float32 once, as 0 + w would be
    if shared.any():  # np.add.at adds in the order given, rounding each step: the grams' order of first use
        pick = np.flatnonzero(shared)
        pick = pick[np.argsort(first[pick], kind="stable")]
        np.add.at(flat_out, flat[pick], weights[pick])
    # np.linalg.norm's own arithmetic (a float32 dot product per row), so each row matches a one-row call
    norms = np.sqrt(np.array([v.dot(v) for v in out], dtype=np.float32))
    norms[norms == 0] = 1.0  # an all-zero row stays zero
    out /= norms[:, None]
    return out


class _PhoneGrams:
    """Every possible fine 1-3-gram and coarse 2-3-gram of phone strings as an integer id, with its hashed bucket
    and sign (filled in the first time a gram is seen: 74k possible, far fewer in use)."""

    def __init__(self, dim: int):
        self.dim = dim
        fine = "<>" + "".join(_PHONE_CHAR[p] for p in ARPABET)
        coarse = "<>" + "".join(_COARSE_GROUPS)
        self.alphabets = {"f": fine, "c": coarse}
        self.blocks: list[tuple[str, int, int]] = []  # (tag, n, first id)
        size = 0
        for tag, sizes in (("f", (1, 2, 3)), ("c", (2, 3))):
            for n in sizes:
                self.blocks.append((tag, n, size))
                size += len(self.alphabets[tag]) ** n
        #: byte -> fine code; padding (a space) -> _PAD, anything else -> -1
        self.fine_codes = np.full(256, -1, dtype=np.int64)
        self.fine_codes[np.frombuffer(fine.encode("ascii"), dtype=np.uint8)] = np.arange(len(fine))
        self.fine_codes[ord(" ")] = _PAD
        #: fine code -> coarse code (codes as indices, padding kept: _PAD is the last slot)
        self.to_coarse = np.zeros(_PAD + 1, dtype=np.int64)
        self.to_coarse[:len(fine)] = [coarse.index(coarse_string(c)) for c in fine]
        self.to_coarse[_PAD] = _PAD
        self.buckets = np.full(size, -1, dtype=np.int64)
        self.signs = np.zeros(size, dtype=np.float64)
        self._lock = threading.Lock()

    def occurrences(self, fines: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(rows, ids) of every gram of the non-empty ``fines``, each row's grams in ``phone_vectors``' order
        (fine 1-, 2-, 3-grams, coarse 2-, 3-grams, each by position), from the strings padded to one width: a
        gram touching the padding gets an id past its block (``_PAD`` is larger than any block)."""
        width = max(len(f) for f in fines) + 2
        padded = "".join(f"<{f}>".ljust(width) for f in fines).encode("ascii", "replace")
        grid = self.fine_codes[np.frombuffer(padded, dtype=np.uint8)].reshape(len(fines), width)
        if grid.min() < 0:
            raise ValueError("phone_vectors takes phone strings (phonetic.phone_string), got other characters")
        grids = {"f": grid, "c": self.to_coarse[grid]}
        parts = []
        for tag, n, first in self.blocks:
            g, size = grids[tag], len(self.alphabets[tag])
            m = width - n + 1
            ids = g[:, :m]
            for j in range(1, n):
                ids = ids * size + g[:, j:j + m]
            parts.append(np.where(ids < size ** n, ids + first, -1))
        every = np.concatenate(parts, axis=1)
        keep = every >= 0
        ids = every[keep]
        self._fill(ids)
        return np.nonzero(keep)[0], ids

    def _fill(self, ids: np.ndarray) -> None:
        missing = ids[self.buckets[ids] < 0]
        if not len(missing):
            return
        with self._lock:
            for gram_id in set(missing.tolist()):
                bucket, sign = _bucket(self._token(gram_id), self.dim)
                self.signs[gram_id] = sign
                self.buckets[gram_id] = bucket  # last: a bucket >= 0 means the sign is there too

    def _token(self, gram_id: int) -> str:
        for tag, n, first in reversed(self.blocks):
            if gram_id >= first:
                alphabet = self.alphabets[tag]
                rest, chars = gram_id - first, []
                for _ in range(n):
                    rest, c = divmod(rest, len(alphabet))
                    chars.append(alphabet[c])
                return f"{tag}{n}:{''.join(reversed(chars))}"
        raise AssertionError(gram_id)


_PHONE_GRAMS = _PhoneGrams(PHONE_DIM)


def phone_vectors(fines: Sequence[str]) -> np.ndarray:
    """[N, PHONE_DIM] float32, L2-normalised (a zero row for an empty string)."""
    out = np.zeros((len(fines), PHONE_DIM), dtype=np.float32)
    if len(fines) <= _SMALL_BATCH:
        for row, fine in enumerate(fines):
            if fine:
                out[row] = _hashed(_phone_grams(fine), PHONE_DIM)
        return out
    for start in range(0, len(fines), _ROWS_PER_CHUNK):
        chunk = fines[start:start + _ROWS_PER_CHUNK]
        rows = [i for i, f in enumerate(chunk) if f]
        if rows:
            occ_rows, ids = _PHONE_GRAMS.occurrences([chunk[i] for i in rows])
            vecs = _hashed_rows(occ_rows, ids, _PHONE_GRAMS.buckets, _PHONE_GRAMS.signs, len(rows), PHONE_DIM)
            out[start + np.array(rows)] = vecs
    return out


@lru_cache(maxsize=1 << 16)
def _word_hashes(word: str) -> tuple[np.ndarray, int]:
    """(hashes of the word's character 2-4-grams in order, hash of the whole word) for ``lexical_vectors``."""
    grams = np.array([_token_hash(g) for g in _ngrams(word, (2, 3, 4), "w")], dtype=np.uint64)
    return grams, _token_hash(f"W:{word}")


def _lexical_occurrences(norms: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(rows, token hashes) of the normalised texts: every word's n-grams, then the whole words."""
    parts, lengths = [], []
    for norm in norms:
        words = [_word_hashes(w) for w in norm.split()]
        seq = [g for g, _ in words] + [np.array([h for _, h in words], dtype=np.uint64)]
        parts.extend(seq)
        lengths.append(sum(len(s) for s in seq))
    return np.repeat(np.arange(len(norms)), lengths), np.concatenate(parts)


def _dense_ids(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct values, sorted; each value's index among them): np.unique(return_inverse=True), faster."""
    order = np.argsort(values)
    sorted_values = values[order]
    new = np.concatenate(([True], sorted_values[1:] != sorted_values[:-1]))
    ids = np.empty(len(values), dtype=np.int64)
    ids[order] = np.cumsum(new) - 1
    return sorted_values[new], ids


def lexical_vectors(texts: Sequence[str], normalized: bool = False) -> np.ndarray:
    """[N, LEX_DIM] float32 over ``normalize_text`` of each text, L2-normalised. ``normalized``: the texts are
    ``normalize_text`` output already (it is not idempotent for every character: "™" becomes "TM", then "tm")."""
    out = np.zeros((len(texts), LEX_DIM), dtype=np.float32)
    if len(texts) <= _SMALL_BATCH:
        for row, text in enumerate(texts):
            norm = text if normalized else normalize_text(text)
            if norm:
                out[row] = _hashed(_lexical_grams(norm), LEX_DIM)
        return out
    for start in range(0, len(texts), _ROWS_PER_CHUNK):
        chunk = texts[start:start + _ROWS_PER_CHUNK]
        norms = list(chunk) if normalized else [normalize_text(t) for t in chunk]
        rows = [i for i, n in enumerate(norms) if n]
        if rows:
            occ_rows, hashes = _lexical_occurrences([norms[i] for i in rows])
            unique, tokens = _dense_ids(hashes)
            buckets = (unique % np.uint64(LEX_DIM)).astype(np.int64)
            signs = np.where(unique >> np.uint64(63), 1.0, -1.0)
            vecs = _hashed_rows(occ_rows, tokens.astype(np.int64), buckets, signs, len(rows), LEX_DIM)
            out[start + np.array(rows)] = vecs
    return out


#: what the re-ranker knows about one (hypothesis, candidate) pair: all in [0, 1] but the two log-weights
#: (<= 0). Feature names, in the order of ``pair_features``'s output and of the ranker weights
FEATURES: tuple[str, ...] = (
    "phon_fine",      # 1 - normalised Levenshtein distance of the fine phone strings
    "phon_coarse",    # the same on the coarse strings
    "phon_partial",   # rapidfuzz partial_ratio of the fine phone strings (best substring alignment) ...
    "phon_cover",     # ... times the length ratio of the shorter to the longer phone string
    "phon_embed",     # cosine of the phonetic vectors (hashed n-grams, or the learned encoder's embeddings)
    "lex_cosine",     # cosine of the lexical vectors
    "lex_wratio",     # rapidfuzz WRatio of the normalised texts
    "lex_exact",      # 1 when the normalised texts are equal
    "hyp_logw",       # log of the hypothesis weight relative to the best hypothesis (0 for the 1-best)
    "pop_logw",       # log of the entry's popularity relative to the most popular entry (0 without weights)
)


def pair_features(h_fine: str, h_coarse: str, h_text: str, c_fine: str, c_coarse: str, c_text: str,
                  embed_cos: float, lex_cos: float, hyp_logw: float, pop_logw: float) -> list[float]:
    """The ``FEATURES`` of one pair; ``*_fine``/``*_coarse`` from ``phone_string``/``coarse_string``, ``*_text``
    from ``normalize_text``."""
    if h_fine and c_fine:
        fine = Levenshtein.normalized_similarity(h_fine, c_fine)
        coarse = Levenshtein.normalized_similarity(h_coarse, c_coarse)
        short, long_ = sorted((len(h_fine), len(c_fine)))
        partial = fuzz.partial_ratio(h_fine, c_fine) / 100.0
        cover = partial * short / long_
    else:
        fine = coarse = partial = cover = 0.0
    wratio = lex_wratio(h_text, c_text)
    return [fine, coarse, partial, cover, embed_cos, lex_cos, wratio, float(h_text == c_text and bool(h_text)),
            hyp_logw, pop_logw]


def lex_wratio(h_text: str, c_text: str) -> float:
    """The "lex_wratio" feature of one pair (normalised texts)."""
    return fuzz.WRatio(h_text, c_text) / 100.0 if h_text and c_text else 0.0


#: the features ``pair_feature_matrix`` computes from the two phone strings
PHONE_STRING_FEATURES = frozenset({"phon_fine", "phon_coarse", "phon_partial", "phon_cover"})
#: the features it computes from the candidates' texts (``c_texts`` is not read without one of them)
TEXT_FEATURES = frozenset({"lex_wratio", "lex_exact"})


def pair_feature_matrix(h_fines: Sequence[str], h_texts: Sequence[str], c_fines: Sequence[str],
                        c_texts: Sequence[str], embed_cos: np.ndarray | None, lex_cos: np.ndarray | None,
                        hyp_logw: Sequence[float], pop_logw: np.ndarray,
                        wanted: frozenset[str] = frozenset(FEATURES)) -> np.ndarray:
    """[H, C, F] float32: ``pair_features`` of every (hypothesis, candidate) pair, the same numbers, with the string
    similarities computed by rapidfuzz's ``cdist`` in C instead of one Python call per pair. Features not in
    ``wanted`` are left 0 (a resolver skips those its ranker gives no weight); ``embed_cos``/``lex_cos`` [H, C] may
    be None when not wanted."""
    out = np.zeros((len(h_fines), len(c_fines), len(FEATURES)), dtype=np.float32)
    if not out.size:
        return out
    col = {name: i for i, name in enumerate(FEATURES)}
    if wanted & PHONE_STRING_FEATURES:
        both = _nonempty(h_fines)[:, None] & _nonempty(c_fines)[None, :]
        if "phon_fine" in wanted:
            out[..., col["phon_fine"]] = np.where(both, _cdist(h_fines, c_fines, Levenshtein.normalized_similarity), 0)
        if "phon_coarse" in wanted:
            sims = _cdist(coarse_strings(h_fines), coarse_strings(c_fines), Levenshtein.normalized_similarity)
            out[..., col["phon_coarse"]] = np.where(both, sims, 0.0)
        if wanted & {"phon_partial", "phon_cover"}:
            partial = _cdist(h_fines, c_fines, fuzz.partial_ratio) / 100.0
            out[..., col["phon_partial"]] = np.where(both, partial, 0.0)
            h_len = np.array([len(f) for f in h_fines])[:, None]
            c_len = np.array([len(f) for f in c_fines])[None, :]
            cover = partial * np.minimum(h_len, c_len) / np.maximum(np.maximum(h_len, c_len), 1)
            out[..., col["phon_cover"]] = np.where(both, cover, 0.0)
    if "phon_embed" in wanted:
        out[..., col["phon_embed"]] = embed_cos
    if "lex_cosine" in wanted:
        out[..., col["lex_cosine"]] = lex_cos
    if "lex_wratio" in wanted:
        both = _nonempty(h_texts)[:, None] & _nonempty(c_texts)[None, :]
        out[..., col["lex_wratio"]] = np.where(both, _cdist(h_texts, c_texts, fuzz.WRatio) / 100.0, 0.0)
    if "lex_exact" in wanted:
        out[..., col["lex_exact"]] = [[float(h == c and bool(h)) for c in c_texts] for h in h_texts]
    if "hyp_logw" in wanted:
        out[..., col["hyp_logw"]] = np.asarray(hyp_logw, dtype=np.float64)[:, None]
    if "pop_logw" in wanted:
        out[..., col["pop_logw"]] = np.asarray(pop_logw, dtype=np.float64)[None, :]
    return out


def _nonempty(strings: Sequence[str]) -> np.ndarray:
    return np.array([bool(s) for s in strings], dtype=bool)


def _cdist(queries: Sequence[str], choices: Sequence[str], scorer) -> np.ndarray:
    return process.cdist(queries, choices, scorer=scorer, dtype=np.float64, workers=1)


def phones_of(texts: Sequence[str], g2p: G2P | None = None) -> list[str]:
    """Fine phone strings of ``texts`` through ``G2P`` (the default instance unless given)."""
    g2p = g2p or G2P.default()
    return [phone_string(g2p.phrase(t)) for t in texts]
