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
change another's vectors, and a query needs no catalog statistics.
"""
from __future__ import annotations

import hashlib
import re
from typing import Sequence

import numpy as np
from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from .g2p import ARPABET, G2P, normalize_word

__all__ = ["PHONE_DIM", "LEX_DIM", "phone_string", "coarse_string", "normalize_text", "phone_vectors",
           "lexical_vectors", "FEATURES", "pair_features"]

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


def normalize_text(text: str) -> str:
    """Lower case, accents stripped, anything but letters, digits and apostrophes made a single space."""
    return " ".join(_NON_WORD.sub(" ", normalize_word(text)).split())


def _bucket(token: str, dim: int) -> tuple[int, float]:
    h = int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest(), "little")
    return h % dim, (1.0 if (h >> 63) & 1 else -1.0)


def _hashed(grams: list[str], dim: int) -> np.ndarray:
    vec = np.zeros(dim, dtype=np.float32)
    counts: dict[str, int] = {}
    for g in grams:
        counts[g] = counts.get(g, 0) + 1
    for g, n in counts.items():
        i, sign = _bucket(g, dim)
        vec[i] += sign * (1.0 + np.log(n))
    norm = float(np.linalg.norm(vec))
    return vec / norm if norm > 0 else vec


def _ngrams(s: str, sizes: Sequence[int], tag: str) -> list[str]:
    padded = f"<{s}>"
    return [f"{tag}{n}:{padded[i:i + n]}" for n in sizes for i in range(len(padded) - n + 1)]


def phone_vectors(fines: Sequence[str]) -> np.ndarray:
    """[N, PHONE_DIM] float32, L2-normalised (a zero row for an empty string)."""
    out = np.zeros((len(fines), PHONE_DIM), dtype=np.float32)
    for row, fine in enumerate(fines):
        if fine:
            out[row] = _hashed(_ngrams(fine, (1, 2, 3), "f") + _ngrams(coarse_string(fine), (2, 3), "c"), PHONE_DIM)
    return out


def lexical_vectors(texts: Sequence[str]) -> np.ndarray:
    """[N, LEX_DIM] float32 over ``normalize_text`` of each text, L2-normalised."""
    out = np.zeros((len(texts), LEX_DIM), dtype=np.float32)
    for row, text in enumerate(texts):
        norm = normalize_text(text)
        if norm:
            grams = [g for w in norm.split() for g in _ngrams(w, (2, 3, 4), "w")] + [f"W:{w}" for w in norm.split()]
            out[row] = _hashed(grams, LEX_DIM)
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
    wratio = fuzz.WRatio(h_text, c_text) / 100.0 if h_text and c_text else 0.0
    return [fine, coarse, partial, cover, embed_cos, lex_cos, wratio, float(h_text == c_text and bool(h_text)),
            hyp_logw, pop_logw]


def phones_of(texts: Sequence[str], g2p: G2P | None = None) -> list[str]:
    """Fine phone strings of ``texts`` through ``G2P`` (the default instance unless given)."""
    g2p = g2p or G2P.default()
    return [phone_string(g2p.phrase(t)) for t in texts]
