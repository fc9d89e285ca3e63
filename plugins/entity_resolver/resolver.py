"""Resolve what ASR heard ("play bach talk") to an entry of a user's catalog ("Beach Talk").

    resolver = Resolver.from_values(["The Matrix", "Beach Talk", ("tt01", "Heat", 120.0)], kind="movie")
    resolver.resolve("the mattress")                      # [Match(value='The Matrix', score=0.9, ...), ...]
    resolver.resolve("bach talk", nbest=[("bach talk", 0.6), ("beach talk", 0.4)])

How it works:

1. **Catalog** (``from_values``): every name goes through g2p (``G2P.default()``; each distinct word once) to a
   phone string, and is normalised (``normalize_text``). Both strings are kept packed (one UTF-8 buffer + offsets,
   not a Python object per name), with a sorted hash of the texts for names heard exactly. Each *channel* the
   ranker searches gets a faiss inner-product index over its vectors: phonetic (``encoder``: hashed phone n-grams,
   or the learned Siamese encoder when it ships and is chosen) and lexical (hashed character n-grams); a channel
   no ranker has searched is not built (the default "phonetic" preset never builds the lexical one).
   The index type (``index=`` to force one: "flat" up to ``index.FLAT_LIMIT`` entries, exact; product-quantised
   "pq" up to ``index.IVF_LIMIT``; "ivfpq" above) and the on-disk cache (building the same catalog again only
   reads the files) are described in ``index``.
2. **Candidates** (``resolve``): the heard text and every n-best alternative are encoded the same way; each
   hypothesis contributes its ``depth`` nearest entries (as the index sees them) in each searched channel
   (``depth = max(50, 10 k)``), unioned, plus every entry whose normalised name is exactly what was heard.
3. **Re-ranking**: for every (hypothesis, candidate) pair ``phonetic.pair_feature_matrix`` computes phone-string
   similarities (Levenshtein on fine and coarse phone strings, best-substring alignment), the exact vector cosines
   (read back from a "flat"/"hnsw" index; for "pq"/"ivfpq" from the entries' vectors kept as their non-zeros up to
   ``index.SPARSE_LIMIT`` (50,000) entries, made again from the packed strings above: cosines of the decoded
   codes cost 2-4 points of top-1), rapidfuzz WRatio and exact match, the hypothesis' n-best log-weight and the
   entry's popularity log-weight; ``resolve`` computes only the features its ranker weighs. A linear
   ranker (``models/ranker/ranker.json``, tuned on the SLURP dev part by ``training/tune_resolver.py``) scores
   each pair; a candidate keeps its best pair. ``Match.score`` is a logistic calibration of that score and of its
   margin over the best other candidate (fitted on the same dev part, with the gold entry removed from the catalog
   half of the time so that "not in the catalog" is learnt too): roughly the probability that the match is right.
4. **No match**: when the best score is under ``min_score`` (default from ranker.json, see
   ``ranker.DEFAULT_MIN_SCORE``), ``resolve`` returns ``[]``: the heard text sounds like nothing in the catalog.

Only numpy, faiss, rapidfuzz and onnxruntime run here (no torch). This module is the query side and the public
API; the catalog's types, the ranker, the packed storage and the indexes have modules of their own
(``catalog``, ``ranker``, ``packed``, ``index``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from hark.phonetics import G2P
from .catalog import Entry, EntryColumns, catalog_columns
from .index import INDEX_KINDS, CatalogIndex, default_index_kind, load_or_build_index
from .packed import PackedStrings
from .phonetic import (FEATURES, TEXT_FEATURES, coarse_string, lex_wratio, lexical_vectors, normalize_text,
                       pair_feature_matrix, pair_features, phone_string)
from .ranker import Ranker, load_rankers, pick_ranker

__all__ = ["Resolver", "Match"]

_LOG_FLOOR = math.log(1e-4)
#: score floor of an entry whose normalised name is exactly what was heard
EXACT_SCORE = 0.9
#: the features a Match shows: phon_fine and phon_coarse (their mean is Match.phonetic), lex_wratio (Match.lexical)
_SHOWN_COLUMNS = [FEATURES.index(f) for f in ("phon_fine", "phon_coarse", "lex_wratio")]


@dataclass(frozen=True)
class Match:
    """One catalog entry that may be what was said."""

    #: the catalog name, as given to ``from_values``
    value: str
    #: the id given with the name (None when the catalog was plain strings)
    id: Any
    #: confidence in [0, 1]: the ranker's score through a logistic calibration fitted on the SLURP dev part
    score: float
    #: phone-string similarity of the best-matching hypothesis and the entry, in [0, 1] (mean of the fine and
    #: coarse normalised Levenshtein similarities)
    phonetic: float
    #: rapidfuzz WRatio / 100 of the best-matching hypothesis and the entry, in [0, 1]
    lexical: float
    #: index of the hypothesis that matched best: 0 = ``text``, then the n-best alternatives not equal to it
    hypothesis: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "id": self.id, "score": self.score, "phonetic": self.phonetic,
                "lexical": self.lexical, "hypothesis": self.hypothesis}


@dataclass
class _Pool:
    """One query's hypotheses and candidate entries, with the cosines the wanted features need."""

    h_fines: list[str]
    h_texts: list[str]
    h_logw: list[float]
    ids: np.ndarray
    c_fines: list[str]
    #: None when no wanted feature reads the candidates' texts (the "phonetic" preset: not decoded)
    c_texts: list[str] | None
    pop_logw: np.ndarray
    cosines: dict[str, np.ndarray]

    def features(self, wanted: frozenset[str]) -> np.ndarray:
        if wanted & TEXT_FEATURES and self.c_texts is None:
            raise ValueError(f"the pool was made without the candidates' texts, wanted {sorted(wanted)}")
        return pair_feature_matrix(self.h_fines, self.h_texts, self.c_fines, self.c_texts or [],
                                   self.cosines.get("phonetic"), self.cosines.get("lexical"), self.h_logw,
                                   self.pop_logw, wanted)


class Resolver:
    """A catalog made searchable by sound and spelling; build it with ``from_values``."""

    def __init__(self, entries: Sequence[Entry], index: CatalogIndex, encoder: Any, ranker: Ranker, *,
                 kind: str | None, min_score: float, g2p: G2P, cache_path: Path | None, loaded_from_cache: bool):
        self.entries = entries
        self.kind = kind
        self.ranker = ranker
        self.min_score = min_score
        self.encoder = encoder
        self.cache_path = cache_path
        #: True when the indexes were read from the on-disk cache instead of being built
        self.loaded_from_cache = loaded_from_cache
        self._index = index
        self._g2p = g2p
        pops = entries.popularity if isinstance(entries, EntryColumns) else np.array([e.popularity for e in entries])
        self._pop_logw = None if pops is None else np.maximum(np.log(pops / pops.max()), _LOG_FLOOR)
        #: the features the ranker weighs (resolve computes no other)
        self._wanted = frozenset(f for f, w in zip(FEATURES, ranker.weights) if w)
        self._channels = ranker.channels or frozenset({"phonetic", "lexical"})

    def __len__(self) -> int:
        return len(self.entries)

    def __repr__(self) -> str:
        return (f"Resolver(kind={self.kind!r}, entries={len(self.entries)}, ranker={self.ranker.name!r}, "
                f"encoder={self.encoder.version!r}, index={self._index.kind!r})")

    @property
    def index_kind(self) -> str:
        """"flat", "pq", "ivfpq" or "hnsw": the faiss index type of this catalog (see ``index``)."""
        return self._index.kind

    @classmethod
    def from_values(cls, values: Iterable[Any], kind: str | None = None,
                    weights: str | Mapping[str, float] | None = None, *, min_score: float | None = None,
                    encoder: str | None = None, cache: bool = True, g2p: G2P | None = None,
                    index: str | None = None) -> Resolver:
        """A resolver over ``values``: names (str), ``(id, name)`` or ``(id, name, popularity)`` tuples.

        - ``kind``: what the catalog holds ("movie", "artist_name"...), for messages and logs only.
        - ``weights``: the re-ranking weights: None for the shipped default preset, a preset name ("combined",
          "phonetic", "lexical"), or ``{feature: weight}`` overriding single weights of the default preset
          (names in ``phonetic.FEATURES``; e.g. ``{"pop_logw": 0.5}`` to trust popularity more).
        - ``min_score``: calibrated score under which ``resolve`` returns no match (default: the preset's).
        - ``encoder``: phonetic vectors, "hashed" (phone n-grams) or "learned" (the Siamese ONNX encoder, when
          models/phonetic/ ships); default: the one ranker.json names.
        - ``cache``: read/write the indexes under ``cache_dir("entity_resolver")``.
        - ``index``: the faiss index type, one of ``index.INDEX_KINDS``; default "flat" up to ``index.FLAT_LIMIT``
          entries, "pq" up to ``index.IVF_LIMIT``, "ivfpq" above (see ``index``).

        Raises ValueError naming the entry for an empty catalog, a non-string name, a name without letters or
        digits, or a bad popularity.
        """
        from .phonetic_model import get_encoder

        names, ids, pops = catalog_columns(values)
        ranker = pick_ranker(weights)
        if min_score is None:
            min_score = ranker.min_score
        elif isinstance(min_score, bool) or not isinstance(min_score, (int, float)) or not 0 <= min_score <= 1:
            raise ValueError(f"min_score must be a number in [0, 1], got {min_score!r}")
        if index is not None and index not in INDEX_KINDS:
            raise ValueError(f"unknown index kind {index!r}: expected one of {', '.join(INDEX_KINDS)}")
        enc = get_encoder(encoder or load_rankers()[2])
        g2p = g2p or G2P.default()
        folder = None
        if cache:
            from hark.config import cache_dir

            folder = cache_dir("entity_resolver") / "indexes"
        data, folder, loaded = load_or_build_index(names, index or default_index_kind(len(names)), enc, g2p,
                                                   ranker.channels or frozenset({"phonetic", "lexical"}), folder)
        entries = EntryColumns(PackedStrings.pack(names), ids, pops)
        return cls(entries, data, enc, ranker, kind=kind, min_score=float(min_score), g2p=g2p,
                   cache_path=folder, loaded_from_cache=loaded)

    # ------------------------------------------------------------------------------------------- hypotheses

    @staticmethod
    def hypotheses(text: str, nbest: Sequence[tuple[str, float]] | None = None) -> list[tuple[str, float]]:
        """``[(text, log_weight)]``: ``text`` first, then the n-best alternatives that differ from it. Scores are
        normalised like ``hark.types.NBest.from_scores`` (probabilities, or a softmax of log-likelihoods); the
        log-weight is relative to the most probable hypothesis (0 for it; ``text`` gets its own weight when it is
        in the list, else the top one)."""
        if not isinstance(text, str):
            raise ValueError(f"text to resolve must be a string, got {type(text).__name__}")
        hyps = [(text.strip(), 0.0)]
        if nbest:
            from hark.errors import InputError
            from hark.types import NBest

            if isinstance(nbest, (str, bytes)):
                raise ValueError("nbest must be a list of (text, score) pairs, got a string")
            try:
                probs = {h.text: h.score for h in NBest.from_scores(list(nbest)).hypotheses}
            except InputError as exc:
                raise ValueError(str(exc)) from None
            top = max(probs.values())
            logw = {t: max(math.log(p / top), _LOG_FLOOR) if p > 0 else _LOG_FLOOR for t, p in probs.items()}
            hyps = [(hyps[0][0], logw.get(hyps[0][0], 0.0))] + [(t, w) for t, w in logw.items() if t != hyps[0][0]]
        return [(t, w) for t, w in hyps if normalize_text(t)]

    # ----------------------------------------------------------------------------------------- candidates

    def candidates(self, text: str, nbest: Sequence[tuple[str, float]] | None = None, depth: int = 50,
                   ) -> tuple[np.ndarray, np.ndarray]:
        """(entry indices [C], features [H, C, F]) for the union of each hypothesis' ``depth`` nearest entries
        in the channels the ranker uses (every entry when the catalog is small). For tuning and benchmarks;
        ``resolve`` is built on it."""
        hyps = self.hypotheses(text, nbest)
        if not hyps:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0, len(FEATURES)), dtype=np.float32)
        pool = self._pool(hyps, depth, frozenset(FEATURES))
        return pool.ids, pool.features(frozenset(FEATURES))

    def _pool(self, hyps: list[tuple[str, float]], depth: int, wanted: frozenset[str]) -> _Pool:
        """The candidates of ``hyps``: each hypothesis' ``depth`` nearest entries per searched channel (as far as
        the index knows: "pq" and "ivfpq" are approximate), and every entry named exactly as heard."""
        h_fines = [phone_string(self._g2p.phrase(t)) for t, _ in hyps]
        h_texts = [normalize_text(t) for t, _ in hyps]
        queries = _Lazy({"phonetic": lambda: self.encoder.encode(h_fines),
                         "lexical": lambda: lexical_vectors(h_texts)})
        n = len(self.entries)
        if n <= depth:
            ids = np.arange(n, dtype=np.int64)
        else:
            found = [self._nearest(channel, queries[channel], depth) for channel in sorted(self._channels)]
            # an entry named exactly as heard is always a candidate, whatever the vectors say
            found += [np.array(self._index.named(t), dtype=np.int64) for t in h_texts]
            ids = np.unique(np.concatenate(found))  # sorted
        c_fines = self._index.fines.take(ids)
        c_texts = self._index.texts.take(ids) if wanted & TEXT_FEATURES else None
        strings = {"phonetic": c_fines, "lexical": c_texts}
        cosines = {channel: queries[channel] @ self._index.vectors(channel, ids, self.encoder, strings[channel]).T
                   for channel, feature in (("phonetic", "phon_embed"), ("lexical", "lex_cosine"))
                   if feature in wanted and len(ids)}
        pop = self._pop_logw[ids] if self._pop_logw is not None else np.zeros(len(ids))
        return _Pool(h_fines, h_texts, [w for _, w in hyps], ids, c_fines, c_texts, pop, cosines)

    def _nearest(self, channel: str, queries: np.ndarray, depth: int) -> np.ndarray:
        nn = self._index.search(channel, queries, depth).ravel()
        return nn[nn >= 0].astype(np.int64)

    # -------------------------------------------------------------------------------------------- resolve

    def resolve(self, text: str, nbest: Sequence[tuple[str, float]] | None = None, k: int = 5) -> list[Match]:
        """Up to ``k`` entries, best first, for what was heard: ``text`` (the 1-best) and optionally the ASR's
        n-best alternatives ``[(text, score)]`` for the same span, best first. ``[]`` when nothing scores at
        least ``min_score`` (no match) or the text has no words."""
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        hyps = self.hypotheses(text, nbest)
        if not hyps:
            return []
        pool = self._pool(hyps, max(50, 10 * k), self._wanted)
        if not len(pool.ids):
            return []
        feats = pool.features(self._wanted)
        raw = feats @ np.asarray(self.ranker.weights, dtype=np.float32)  # [H, C]
        best_h = raw.argmax(axis=0)
        best = raw[best_h, np.arange(len(pool.ids))]
        scores = self.ranker.calibrate(best.astype(np.float64))
        # a name the g2p cannot pronounce (another script) gets nothing from the phonetic channel: heard exactly
        # as spelled, it is that name (for pronounceable names the ranker decides; measured on SLURP, a floor for
        # every exact spelling costs 2 points on misrecognised rows)
        named = set(self._index.named(normalize_text(text)))
        for c in [c for c, i in enumerate(pool.ids.tolist()) if i in named] if named else []:
            if not self._g2p.phrase(self._name(int(pool.ids[c]))):
                scores[c] = EXACT_SCORE + (1.0 - EXACT_SCORE) * scores[c]  # keeps the ranker's order among them
        order = np.argsort(-scores, kind="stable")[:k]
        if scores[order[0]] < self.min_score:
            return []
        out = []
        shown = self._shown(pool, best_h[order], order, feats)
        for (fine, coarse, wratio), c in zip(shown.tolist(), order.tolist()):
            h = int(best_h[c])
            entry = self.entries[int(pool.ids[c])]
            out.append(Match(entry.name, entry.id, round(float(scores[c]), 4),
                             round(float(0.5 * (fine + coarse)), 4), round(float(wratio), 4), h))
        return out

    def _name(self, i: int) -> str:
        entries = self.entries
        return entries.names[i] if isinstance(entries, EntryColumns) else entries[i].name

    def _shown(self, pool: _Pool, hs: np.ndarray, cs: np.ndarray, feats: np.ndarray) -> np.ndarray:
        """[len(cs), 3] float32 like ``feats``: phon_fine, phon_coarse and lex_wratio of the pairs (hs[j], cs[j])
        (what a Match shows); computed here (the same numbers) when the ranker did not need them."""
        cols = _SHOWN_COLUMNS
        shown = feats[hs, cs][:, cols]
        missing = {FEATURES[i] for i in cols} - self._wanted
        if not missing:
            return shown
        pairs = list(zip(hs.tolist(), cs.tolist(), self._index.texts.take(pool.ids[cs])))
        if missing == {"lex_wratio"}:  # the "phonetic" preset reads no spelling: only WRatio is new
            shown[:, 2] = [lex_wratio(pool.h_texts[h], c_text) for h, _, c_text in pairs]
            return shown
        for j, (h, c, c_text) in enumerate(pairs):
            hf, cf = pool.h_fines[h], pool.c_fines[c]
            one = pair_features(hf, coarse_string(hf), pool.h_texts[h], cf, coarse_string(cf), c_text, 0.0, 0.0,
                                0.0, 0.0)
            shown[j] = [one[i] for i in cols]
        return shown


class _Lazy(dict):
    """A dict whose values are computed on first access from the functions it was made with."""

    def __init__(self, makers: Mapping[str, Any]):
        super().__init__()
        self._makers = makers

    def __missing__(self, key: str) -> Any:
        value = self[key] = self._makers[key]()
        return value
