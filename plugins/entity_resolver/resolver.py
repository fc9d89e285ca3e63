"""Resolve what ASR heard ("play bach talk") to an entry of a user's catalog ("Beach Talk").

    resolver = Resolver.from_values(["The Matrix", "Beach Talk", ("tt01", "Heat", 120.0)], kind="movie")
    resolver.resolve("the mattress")                      # [Match(value='The Matrix', score=0.9, ...), ...]
    resolver.resolve("bach talk", nbest=[("bach talk", 0.6), ("beach talk", 0.4)])

How it works:

1. **Catalog** (``from_values``): every name goes through g2p (``G2P.default()``) to a phone string, and gets a
   phonetic vector (``encoder``: hashed phone n-grams, or the learned Siamese encoder when it ships and is chosen)
   and a lexical vector (hashed character n-grams). Each channel has its own faiss inner-product index:
   ``IndexFlatIP`` (exact; a query costs one pass over 1,024 floats per entry and channel, ~10 ms at 50k) up to
   ``FLAT_LIMIT`` (50,000) entries, ``IndexHNSWFlat`` (M = 32, efConstruction = 80, efSearch = 128; approximate,
   sub-linear) above. Indexes are cached on disk under
   ``hark.config.cache_dir("entity_resolver")``, keyed by a hash of the names, the phonetic encoder's version and
   ``INDEX_FORMAT``: building the same catalog again only reads the files.
2. **Candidates** (``resolve``): the heard text and every n-best alternative are encoded the same way; each
   hypothesis contributes its ``depth`` nearest entries in both channels (``depth = max(50, 10 k)``), unioned.
3. **Re-ranking**: for every (hypothesis, candidate) pair ``phonetic.pair_features`` computes phone-string
   similarities (Levenshtein on fine and coarse phone strings, best-substring alignment), the vector cosines,
   rapidfuzz WRatio and exact match, the hypothesis' n-best log-weight and the entry's popularity log-weight. A
   linear ranker (``models/ranker/ranker.json``, tuned on the SLURP dev part by ``training/tune_resolver.py``)
   scores each pair; a candidate keeps its best pair. ``Match.score`` is a logistic calibration of that score and
   of its margin over the best other candidate (fitted on the same dev part, with the gold entry removed from the
   catalog half of the time so that "not in the catalog" is learnt too): roughly the probability that the match is
   right.
4. **No match**: when the best score is under ``min_score`` (default from ranker.json, see
   ``DEFAULT_MIN_SCORE``), ``resolve`` returns ``[]``: the heard text sounds like nothing in the catalog.

Only numpy, faiss, rapidfuzz and onnxruntime run here (no torch).
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from .g2p import G2P
from .phonetic import (FEATURES, LEX_DIM, coarse_string, lexical_vectors, normalize_text, pair_features,
                       phone_string)

__all__ = ["Resolver", "Match", "Entry", "Ranker", "margins", "FLAT_LIMIT", "INDEX_FORMAT", "RANKER_PATH"]

INDEX_FORMAT = "hark-entity-index/1"
RANKER_FORMAT = "hark-entity-ranker/1"
RANKER_PATH = Path(__file__).resolve().parent / "models" / "ranker" / "ranker.json"
#: up to this many entries the indexes are exact (IndexFlatIP); above, HNSW
FLAT_LIMIT = 50_000
#: used when ranker.json gives none: the calibrated score under which resolve() answers "no match"
DEFAULT_MIN_SCORE = 0.3
MARGIN_CAP = 3.0
_LOG_FLOOR = math.log(1e-4)
#: score floor of an entry whose normalised name is exactly what was heard
EXACT_SCORE = 0.9


# ------------------------------------------------------------------------------------------------------- types


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


@dataclass(frozen=True)
class Entry:
    """One catalog entry."""

    name: str
    id: Any = None
    #: popularity (play count, rating count...): > 0, relative values matter; 1.0 when not given
    popularity: float = 1.0


@dataclass(frozen=True)
class Ranker:
    """Linear weights over ``phonetic.FEATURES`` plus the logistic calibration of the summed score."""

    name: str
    weights: tuple[float, ...]
    #: score = sigmoid(scale * raw + margin_scale * margin + bias); margin = raw minus the best other candidate's
    #: raw (clipped to +-``MARGIN_CAP``): a clear winner is surer than one of several look-alikes
    scale: float = 1.0
    bias: float = 0.0
    margin_scale: float = 0.0
    min_score: float = DEFAULT_MIN_SCORE
    notes: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.weights) != len(FEATURES):
            raise ValueError(f"ranker {self.name!r}: {len(self.weights)} weights for {len(FEATURES)} features")

    @property
    def channels(self) -> frozenset[str]:
        """"phonetic" and/or "lexical": the channels whose features have a non-zero weight (for retrieval)."""
        used = {name for name, w in zip(FEATURES, self.weights) if w}
        out = set()
        if used & {"phon_fine", "phon_coarse", "phon_partial", "phon_cover", "phon_embed"}:
            out.add("phonetic")
        if used & {"lex_cosine", "lex_wratio", "lex_exact"}:
            out.add("lexical")
        return frozenset(out)

    def calibrate(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated scores of a query's candidates from their raw ranker scores."""
        return 1.0 / (1.0 + np.exp(-(self.scale * raw + self.margin_scale * margins(raw) + self.bias)))

    def with_weights(self, overrides: Mapping[str, float]) -> Ranker:
        weights = list(self.weights)
        for key, value in overrides.items():
            if key not in FEATURES:
                raise ValueError(f"unknown ranker feature {key!r}: expected one of {', '.join(FEATURES)}")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"ranker weight {key!r} must be a finite number, got {value!r}")
            weights[FEATURES.index(key)] = float(value)
        return Ranker(self.name + "+custom", tuple(weights), self.scale, self.bias, self.margin_scale, self.min_score,
                      self.notes)


def margins(raw: np.ndarray) -> np.ndarray:
    """Each candidate's raw score minus the best *other* candidate's, clipped to [-MARGIN_CAP, MARGIN_CAP]."""
    raw = np.asarray(raw, dtype=np.float64)
    if len(raw) < 2:
        return np.full(len(raw), MARGIN_CAP)
    order = np.argsort(-raw)
    other = np.full(len(raw), raw[order[0]])
    other[order[0]] = raw[order[1]]
    return np.clip(raw - other, -MARGIN_CAP, MARGIN_CAP)


_RANKERS: dict[str, Any] = {}
_RANKERS_LOCK = threading.Lock()


def load_rankers(path: Path = RANKER_PATH) -> tuple[dict[str, Ranker], str, str]:
    """(presets by name, the default preset's name, the default phonetic encoder) from ranker.json."""
    key = str(path)
    with _RANKERS_LOCK:
        if key not in _RANKERS:
            from hark.errors import ModelError

            if not path.is_file():
                raise ModelError(f"entity ranker not found: {path} (rebuild it: python -m training.tune_resolver)")
            meta = json.loads(path.read_text(encoding="utf-8"))
            if meta.get("format") != RANKER_FORMAT:
                raise ModelError(f"{path}: format {meta.get('format')!r}, this hark reads {RANKER_FORMAT!r}")
            if list(meta["features"]) != list(FEATURES):
                raise ModelError(f"{path}: features {meta['features']} differ from this hark's {list(FEATURES)}")
            presets = {name: Ranker(name, tuple(p["weights"]), p["scale"], p["bias"], p.get("margin_scale", 0.0),
                                    p.get("min_score", DEFAULT_MIN_SCORE), p.get("notes", {}))
                       for name, p in meta["presets"].items()}
            _RANKERS[key] = (presets, meta["default"], meta.get("encoder", "hashed"))
        return _RANKERS[key]


# ----------------------------------------------------------------------------------------------------- catalog


def _entries(values: Iterable[Any]) -> list[Entry]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise ValueError(f"catalog values must be an iterable of names, (id, name) or (id, name, popularity), "
                         f"got {type(values).__name__}")
    entries: list[Entry] = []
    for i, item in enumerate(values):
        popularity: Any = 1.0
        if isinstance(item, str):
            ident, name = None, item
        elif isinstance(item, Entry):
            ident, name, popularity = item.id, item.name, item.popularity
        elif isinstance(item, (tuple, list)) and len(item) in (2, 3):
            ident, name = item[0], item[1]
            if len(item) == 3:
                popularity = item[2]
        else:
            raise ValueError(f"catalog entry {i}: expected a name, (id, name) or (id, name, popularity), "
                             f"got {type(item).__name__} {item!r:.60}")
        if not isinstance(name, str):
            raise ValueError(f"catalog entry {i}: the name must be a string, got {type(name).__name__} {name!r:.60}")
        if not normalize_text(name):
            raise ValueError(f"catalog entry {i}: the name {name!r} has no letters or digits")
        if (isinstance(popularity, bool) or not isinstance(popularity, (int, float))
                or not math.isfinite(popularity) or popularity <= 0):
            raise ValueError(f"catalog entry {i} ({name!r}): popularity must be a positive number, "
                             f"got {popularity!r}")
        entries.append(Entry(name, ident, float(popularity)))
    if not entries:
        raise ValueError("catalog is empty: give at least one value")
    return entries


def _build_index(vectors: np.ndarray) -> Any:
    import faiss

    dim = vectors.shape[1]
    if len(vectors) <= FLAT_LIMIT:
        index = faiss.IndexFlatIP(dim)
    else:
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = 128
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


class _Index:
    """The per-catalog data that does not depend on ids or popularity: phone strings, texts, both faiss indexes."""

    def __init__(self, fines: list[str], texts: list[str], phon: Any, lex: Any, encoder: str):
        self.fines = fines
        self.coarses = [coarse_string(f) for f in fines]
        self.texts = texts
        self.by_text: dict[str, list[int]] = {}
        for i, t in enumerate(texts):
            self.by_text.setdefault(t, []).append(i)
        self.phon = phon
        self.lex = lex
        self.encoder = encoder

    @staticmethod
    def key(names: Sequence[str], encoder_version: str) -> str:
        digest = hashlib.sha256()
        digest.update(f"{INDEX_FORMAT}\n{encoder_version}\n{LEX_DIM}\n{len(names)}\n".encode("utf-8"))
        for name in names:
            digest.update(name.encode("utf-8", "surrogatepass") + b"\x00")
        return digest.hexdigest()[:32]

    @classmethod
    def build(cls, names: Sequence[str], encoder: Any, g2p: G2P) -> _Index:
        fines = [phone_string(g2p.phrase(n)) for n in names]
        texts = [normalize_text(n) for n in names]
        return cls(fines, texts, _build_index(encoder.encode(fines)), _build_index(lexical_vectors(names)),
                   encoder.version)

    def save(self, folder: Path) -> None:
        import faiss

        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=folder.name + ".", dir=folder.parent))
        faiss.write_index(self.phon, str(tmp / "phonetic.faiss"))
        faiss.write_index(self.lex, str(tmp / "lexical.faiss"))
        (tmp / "entries.json").write_text(json.dumps({"format": INDEX_FORMAT, "encoder": self.encoder,
                                                      "fines": self.fines, "texts": self.texts}),
                                          encoding="utf-8")
        try:
            os.replace(tmp, folder)  # atomic: a concurrent reader sees the whole folder or none
        except OSError:  # another process saved it first
            for f in tmp.iterdir():
                f.unlink()
            tmp.rmdir()

    @classmethod
    def load(cls, folder: Path, n: int) -> _Index | None:
        import faiss

        try:
            meta = json.loads((folder / "entries.json").read_text(encoding="utf-8"))
            if meta.get("format") != INDEX_FORMAT or len(meta["fines"]) != n:
                return None
            phon = faiss.read_index(str(folder / "phonetic.faiss"))
            lex = faiss.read_index(str(folder / "lexical.faiss"))
        except (OSError, ValueError, KeyError, RuntimeError):
            return None  # missing or damaged cache: rebuilt
        if phon.ntotal != n or lex.ntotal != n:
            return None
        return cls(meta["fines"], meta["texts"], phon, lex, meta["encoder"])


# ---------------------------------------------------------------------------------------------------- resolver


class Resolver:
    """A catalog made searchable by sound and spelling; build it with ``from_values``."""

    def __init__(self, entries: list[Entry], index: _Index, encoder: Any, ranker: Ranker, *, kind: str | None,
                 min_score: float, g2p: G2P, cache_path: Path | None, loaded_from_cache: bool):
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
        pops = np.array([e.popularity for e in entries], dtype=np.float64)
        self._pop_logw = np.maximum(np.log(pops / pops.max()), _LOG_FLOOR)

    def __len__(self) -> int:
        return len(self.entries)

    def __repr__(self) -> str:
        return (f"Resolver(kind={self.kind!r}, entries={len(self.entries)}, ranker={self.ranker.name!r}, "
                f"encoder={self.encoder.version!r})")

    @classmethod
    def from_values(cls, values: Iterable[Any], kind: str | None = None,
                    weights: str | Mapping[str, float] | None = None, *, min_score: float | None = None,
                    encoder: str | None = None, cache: bool = True, g2p: G2P | None = None) -> Resolver:
        """A resolver over ``values``: names (str), ``(id, name)`` or ``(id, name, popularity)`` tuples.

        - ``kind``: what the catalog holds ("movie", "artist_name"...), for messages and logs only.
        - ``weights``: the re-ranking weights: None for the shipped default preset, a preset name ("combined",
          "phonetic", "lexical"), or ``{feature: weight}`` overriding single weights of the default preset
          (names in ``phonetic.FEATURES``; e.g. ``{"pop_logw": 0.5}`` to trust popularity more).
        - ``min_score``: calibrated score under which ``resolve`` returns no match (default: the preset's).
        - ``encoder``: phonetic vectors, "hashed" (phone n-grams) or "learned" (the Siamese ONNX encoder, when
          models/phonetic/ ships); default: the one ranker.json names.
        - ``cache``: read/write the indexes under ``cache_dir("entity_resolver")``.

        Raises ValueError naming the entry for an empty catalog, a non-string name, a name without letters or
        digits, or a bad popularity.
        """
        from .phonetic_model import get_encoder

        entries = _entries(values)
        presets, default, default_encoder = load_rankers()
        if weights is None:
            ranker = presets[default]
        elif isinstance(weights, str):
            if weights not in presets:
                raise ValueError(f"unknown ranker preset {weights!r}: expected one of {', '.join(sorted(presets))}")
            ranker = presets[weights]
        elif isinstance(weights, Mapping):
            ranker = presets[default].with_weights(weights)
        else:
            raise ValueError(f"weights must be a preset name or a {{feature: weight}} mapping, got "
                             f"{type(weights).__name__}")
        if min_score is None:
            min_score = ranker.min_score
        elif isinstance(min_score, bool) or not isinstance(min_score, (int, float)) or not 0 <= min_score <= 1:
            raise ValueError(f"min_score must be a number in [0, 1], got {min_score!r}")
        enc = get_encoder(encoder or default_encoder)
        g2p = g2p or G2P.default()
        names = [e.name for e in entries]
        folder = None
        index = None
        if cache:
            from hark.config import cache_dir

            folder = cache_dir("entity_resolver") / "indexes" / _Index.key(names, enc.version)
            index = _Index.load(folder, len(names))
        loaded = index is not None
        if index is None:
            index = _Index.build(names, enc, g2p)
            if folder is not None:
                index.save(folder)
        return cls(entries, index, enc, ranker, kind=kind, min_score=float(min_score), g2p=g2p,
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
        n = len(self.entries)
        if not hyps:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0, len(FEATURES)), dtype=np.float32)
        h_fines = [phone_string(self._g2p.phrase(t)) for t, _ in hyps]
        h_texts = [normalize_text(t) for t, _ in hyps]
        h_phon = self.encoder.encode(h_fines)
        h_lex = lexical_vectors(h_texts)
        channels = self.ranker.channels or frozenset({"phonetic", "lexical"})
        if n <= depth:
            ids = np.arange(n, dtype=np.int64)
        else:
            found: set[int] = set()
            for name, index, queries in (("phonetic", self._index.phon, h_phon), ("lexical", self._index.lex, h_lex)):
                if name in channels:
                    _, nn = index.search(np.ascontiguousarray(queries, dtype=np.float32), depth)
                    found.update(int(i) for i in nn.ravel() if i >= 0)
            for t in h_texts:  # an entry named exactly as heard is always a candidate, whatever the vectors say
                found.update(self._index.by_text.get(t, ()))
            ids = np.array(sorted(found), dtype=np.int64)
        c_phon = self._index.phon.reconstruct_batch(ids) if len(ids) else np.zeros((0, h_phon.shape[1]))
        c_lex = self._index.lex.reconstruct_batch(ids) if len(ids) else np.zeros((0, LEX_DIM))
        phon_cos = h_phon @ c_phon.T
        lex_cos = h_lex @ c_lex.T
        feats = np.zeros((len(hyps), len(ids), len(FEATURES)), dtype=np.float32)
        fines, coarses, texts = self._index.fines, self._index.coarses, self._index.texts
        for h, ((_, logw), hf, ht) in enumerate(zip(hyps, h_fines, h_texts)):
            hc = coarse_string(hf)
            for c, i in enumerate(ids.tolist()):
                feats[h, c] = pair_features(hf, hc, ht, fines[i], coarses[i], texts[i], float(phon_cos[h, c]),
                                            float(lex_cos[h, c]), logw, float(self._pop_logw[i]))
        return ids, feats

    # -------------------------------------------------------------------------------------------- resolve

    def resolve(self, text: str, nbest: Sequence[tuple[str, float]] | None = None, k: int = 5) -> list[Match]:
        """Up to ``k`` entries, best first, for what was heard: ``text`` (the 1-best) and optionally the ASR's
        n-best alternatives ``[(text, score)]`` for the same span, best first. ``[]`` when nothing scores at
        least ``min_score`` (no match) or the text has no words."""
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        ids, feats = self.candidates(text, nbest, depth=max(50, 10 * k))
        if not len(ids):
            return []
        raw = feats @ np.asarray(self.ranker.weights, dtype=np.float32)  # [H, C]
        best_h = raw.argmax(axis=0)
        best = raw[best_h, np.arange(len(ids))]
        scores = self.ranker.calibrate(best.astype(np.float64))
        # a name the g2p cannot pronounce (another script) gets nothing from the phonetic channel: heard exactly
        # as spelled, it is that name (for pronounceable names the ranker decides; measured on SLURP, a floor for
        # every exact spelling costs 2 points on misrecognised rows)
        heard = normalize_text(text)
        for c, i in enumerate(ids.tolist()):
            name = self.entries[int(i)].name
            if normalize_text(name) == heard and not self._g2p.phrase(name):
                scores[c] = EXACT_SCORE + (1.0 - EXACT_SCORE) * scores[c]  # keeps the ranker's order among them
        order = np.argsort(-scores, kind="stable")[:k]
        if scores[order[0]] < self.min_score:
            return []
        fi, ci, wi = FEATURES.index("phon_fine"), FEATURES.index("phon_coarse"), FEATURES.index("lex_wratio")
        out = []
        for c in order.tolist():
            h = int(best_h[c])
            entry = self.entries[int(ids[c])]
            f = feats[h, c]
            out.append(Match(entry.name, entry.id, round(float(scores[c]), 4),
                             round(float(0.5 * (f[fi] + f[ci])), 4), round(float(f[wi]), 4), h))
        return out
