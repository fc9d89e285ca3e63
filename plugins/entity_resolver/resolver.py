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
   Index type (``index=`` to force one), measured by ``benchmarks/entity_scale.py`` (synthetic title catalogs,
   resolve p50 on one thread of a shared 2-core machine; ``benchmarks/results/entity_scale.json``):

   - up to ``FLAT_LIMIT`` (2,000) entries ``IndexFlatIP`` ("flat"): exact, but a query reads 4 KB per entry and
     channel (p50 5 ms at 10k entries, 36 ms at 100k; 4 KB of RAM per entry);
   - up to ``IVF_LIMIT`` (200,000) ``IndexPQFastScan`` ("pq"): product quantisation, ``PQ_SUBQUANTIZERS`` (64)
     codes of 4 bits = 32 bytes per entry and channel, trained on ``PQ_TRAIN_ROWS`` sampled entries; a query
     scans every code with SIMD look-ups (~0.5 ms per 100k entries). Its top-1 equals the exact index's at 10k
     and 100k (p50 1.5 ms at 10k with the kept vectors, see 3., 4.4 ms at 100k; a 100k catalog adds 45 MB of RSS
     built, 26 MB loaded). Asking it for 2-4
     times the neighbours and re-scoring them exactly did not change top-1 and cost 1-3 ms: not done;
   - above, ``IndexIVFPQFastScan`` ("ivfpq"): the same codes in ~sqrt(n) inverted lists (k-means on a sample),
     a query reads ``IVF_NPROBE`` (128) of them: at 1M entries p50 4.7 ms against 8.6 for "pq", 1.3 points of
     top-1 less (hashed n-gram vectors cluster poorly), twice the build time (2.5 min);
   - ``"hnsw"``: ``IndexHNSWFlat`` over the full vectors (the choice above 50,000 entries before index format 2:
     exact top-1 and fast, but 4.5 KB per entry and channel and a 2-minute build at 100k): kept for comparison.

   Everything is cached on disk under ``hark.config.cache_dir("entity_resolver")``, keyed by a hash of the names,
   the index type, the phonetic encoder's version and ``INDEX_FORMAT``: building the same catalog again only reads
   the files (a channel first needed later is added to the same folder, and so are the kept vectors of a cache
   written before they were kept).
2. **Candidates** (``resolve``): the heard text and every n-best alternative are encoded the same way; each
   hypothesis contributes its ``depth`` nearest entries (as the index sees them) in each searched channel
   (``depth = max(50, 10 k)``), unioned, plus every entry whose normalised name is exactly what was heard.
3. **Re-ranking**: for every (hypothesis, candidate) pair ``phonetic.pair_feature_matrix`` computes phone-string
   similarities (Levenshtein on fine and coarse phone strings, best-substring alignment), the exact vector cosines
   (read back from a "flat"/"hnsw" index; for "pq"/"ivfpq" from the entries' vectors kept as their non-zeros up to
   ``SPARSE_LIMIT`` (50,000) entries, made again from the packed strings above: cosines of the decoded codes cost
   2-4 points of top-1), rapidfuzz WRatio and exact match, the hypothesis' n-best log-weight
   and the entry's popularity log-weight; ``resolve`` computes only the features its ranker weighs. A linear
   ranker (``models/ranker/ranker.json``, tuned on the SLURP dev part by ``training/tune_resolver.py``) scores
   each pair; a candidate keeps its best pair. ``Match.score`` is a logistic calibration of that score and of its
   margin over the best other candidate (fitted on the same dev part, with the gold entry removed from the catalog
   half of the time so that "not in the catalog" is learnt too): roughly the probability that the match is right.
4. **No match**: when the best score is under ``min_score`` (default from ranker.json, see
   ``DEFAULT_MIN_SCORE``), ``resolve`` returns ``[]``: the heard text sounds like nothing in the catalog.

Only numpy, faiss, rapidfuzz and onnxruntime run here (no torch).
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import threading
import zipfile
from collections.abc import Sequence as SequenceABC
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from hark.phonetics import G2P, text_words
from .phonetic import (FEATURES, LEX_DIM, TEXT_FEATURES, coarse_string, lex_wratio, lexical_vectors,
                       normalize_text, pair_feature_matrix, pair_features, phone_string)

__all__ = ["Resolver", "Match", "Entry", "Ranker", "margins", "FLAT_LIMIT", "INDEX_FORMAT", "INDEX_KINDS",
           "RANKER_PATH"]

INDEX_FORMAT = "hark-entity-index/2"
RANKER_FORMAT = "hark-entity-ranker/1"
RANKER_PATH = Path(__file__).resolve().parent / "models" / "ranker" / "ranker.json"
#: up to this many entries the indexes are exact (IndexFlatIP); above, product-quantised ("pq")
FLAT_LIMIT = 2_000
#: above this many entries "ivfpq" instead of "pq" (a "pq" search reads every code: ~1 ms per 100k entries)
IVF_LIMIT = 200_000
#: the faiss index types ``from_values(index=...)`` takes (see the module docstring)
INDEX_KINDS = ("flat", "pq", "ivfpq", "hnsw")
#: "pq": sub-quantisers of 4 bits each, so PQ_SUBQUANTIZERS / 2 bytes per entry and channel
PQ_SUBQUANTIZERS = 64
#: "pq": entries sampled to train the quantiser (faiss' 4-bit k-means uses at most 4,096 per sub-space)
PQ_TRAIN_ROWS = 4096
#: "ivfpq": inverted lists per entry count (about sqrt(n)), and how many of them a query reads
IVF_LISTS_PER_SQRT = 1.0
IVF_NPROBE = 128
#: entries encoded at a time while an index is built (8k x 1024 floats = 32 MB)
BUILD_CHUNK = 8192
#: "pq" and "ivfpq" catalogs up to this many entries also keep every entry's exact vector of a hashed channel as
#: its non-zeros (``_SparseRows``: ~61 of 1,024 for a phone string, ~370 bytes an entry, 3.7 MB at 10k), so that a
#: query's ~50 candidates are not encoded again (that was half of a 10k resolve); above, the rows would cost more
#: memory than the compressed index itself (100k: +37 MB), and the candidates are encoded again
SPARSE_LIMIT = 50_000
#: used when ranker.json gives none: the calibrated score under which resolve() answers "no match"
DEFAULT_MIN_SCORE = 0.3
MARGIN_CAP = 3.0
_LOG_FLOOR = math.log(1e-4)
#: score floor of an entry whose normalised name is exactly what was heard
EXACT_SCORE = 0.9
#: the features a Match shows: phon_fine and phon_coarse (their mean is Match.phonetic), lex_wratio (Match.lexical)
_SHOWN_COLUMNS = [FEATURES.index(f) for f in ("phon_fine", "phon_coarse", "lex_wratio")]


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
    top = int(raw.argmax())
    other = np.full(len(raw), raw[top])
    other[top] = np.partition(raw, -2)[-2]  # the runner-up (equal to the best when they tie)
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


def _columns(values: Iterable[Any]) -> tuple[list[str], list[Any] | None, np.ndarray | None]:
    """(names, ids or None when no entry has one, popularity or None when every entry has 1.0), validated."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise ValueError(f"catalog values must be an iterable of names, (id, name) or (id, name, popularity), "
                         f"got {type(values).__name__}")
    names: list[str] = []
    ids: list[Any] = []
    pops: list[float] = []
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
        if (isinstance(popularity, bool) or not isinstance(popularity, (int, float))
                or not math.isfinite(popularity) or popularity <= 0):
            raise ValueError(f"catalog entry {i} ({name!r}): popularity must be a positive number, "
                             f"got {popularity!r}")
        names.append(name)
        ids.append(ident)
        pops.append(float(popularity))
    if not names:
        raise ValueError("catalog is empty: give at least one value")
    has_ids = any(ident is not None for ident in ids)
    has_pops = any(p != 1.0 for p in pops)
    return names, ids if has_ids else None, np.array(pops, dtype=np.float64) if has_pops else None


class _PackedStrings:
    """Many strings as one UTF-8 buffer and an offsets array: a byte or so a character, where a list of str costs
    ~50 bytes of object header per string (100k names: 2-3 MB instead of 8)."""

    def __init__(self, data: bytes, offsets: np.ndarray):
        self.data = data
        self.offsets = offsets

    @classmethod
    def pack(cls, strings: Sequence[str]) -> _PackedStrings:
        encoded = [s.encode("utf-8", "surrogatepass") for s in strings]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(b) for b in encoded], out=offsets[1:])
        return cls(b"".join(encoded), offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> str:
        return self.data[self.offsets[i]:self.offsets[i + 1]].decode("utf-8", "surrogatepass")

    def take(self, ids: np.ndarray) -> list[str]:
        data = self.data
        return [data[a:b].decode("utf-8", "surrogatepass")
                for a, b in zip(self.offsets[ids].tolist(), self.offsets[ids + 1].tolist())]

    def empty(self) -> np.ndarray:
        """Indices of the empty strings."""
        return np.flatnonzero(np.diff(self.offsets) == 0)


class _Entries(SequenceABC):
    """The catalog's entries, column by column: names packed, ids and popularity kept only when given. Reads like
    a list of ``Entry``; a 1M-entry catalog costs tens of MB instead of an object per entry."""

    def __init__(self, names: _PackedStrings, ids: list[Any] | None, popularity: np.ndarray | None):
        self.names = names
        self.ids = ids
        self.popularity = popularity

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = int(i)
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"entry {i} of a catalog of {len(self)}")
        return Entry(self.names[i], None if self.ids is None else self.ids[i],
                     1.0 if self.popularity is None else float(self.popularity[i]))


def _phone_strings(names: Sequence[str], g2p: G2P) -> list[str]:
    """``phone_string(g2p.phrase(name))`` of every name, remembering each word's phones: a name whose words were
    all seen costs no g2p call (its locks and LRU updates make ``phrase`` three times slower). A name with a new
    word goes to g2p whole, as ``phrase`` sends it: the model's output can depend on the words batched with it."""
    known: dict[str, str] = {}
    out: list[str] = []
    for name in names:
        words = text_words(name)
        if any(w not in known for w in words):
            known.update((w, phone_string(p)) for w, p in zip(words, g2p.phonemes_many(words)))
        out.append("".join(known[w] for w in words))
    return out


def _text_hash(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")


class _SparseRows:
    """A channel's exact vectors for every entry, kept as their non-zeros: a column (uint16) and a float32 value per
    non-zero, and each entry's offset. Hashed n-gram vectors are ~95 % zeros, so this is ~6 % of the dense floats;
    ``dense`` gives back the rows bit for bit (the cosines are then the same matrix product as before)."""

    def __init__(self, dim: int, columns: np.ndarray, values: np.ndarray, offsets: np.ndarray):
        self.dim = dim
        self.columns = columns
        self.values = values
        self.offsets = offsets

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @classmethod
    def of(cls, dense: np.ndarray) -> _SparseRows:
        """The non-zeros of dense [rows, dim] float32 vectors."""
        rows, cols = np.nonzero(dense)  # row-major: each row's non-zeros by column
        offsets = np.zeros(len(dense) + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=len(dense)), out=offsets[1:])
        return cls(dense.shape[1], cols.astype(np.uint16), dense[rows, cols], offsets)

    @classmethod
    def join(cls, parts: Sequence[_SparseRows], dim: int) -> _SparseRows:
        """The rows of ``parts``, one after the other."""
        offsets = [np.zeros(1, dtype=np.int64)]
        base = 0
        for part in parts:
            offsets.append(part.offsets[1:] + base)
            base += int(part.offsets[-1])
        return cls(dim, np.concatenate([p.columns for p in parts] or [np.zeros(0, np.uint16)]),
                   np.concatenate([p.values for p in parts] or [np.zeros(0, np.float32)]), np.concatenate(offsets))

    def dense(self, ids: np.ndarray) -> np.ndarray:
        """[len(ids), dim] float32: the rows of entries ``ids``."""
        ids = np.asarray(ids, dtype=np.int64)
        starts = self.offsets[ids]
        lengths = self.offsets[ids + 1] - starts
        ends = np.cumsum(lengths)
        out = np.zeros((len(ids), self.dim), dtype=np.float32)
        if len(ids) and ends[-1]:
            pos = np.arange(int(ends[-1])) + np.repeat(starts - ends + lengths, lengths)  # each row's non-zeros
            flat = np.repeat(np.arange(0, len(ids) * self.dim, self.dim), lengths) + self.columns[pos]
            out.reshape(-1)[flat] = self.values[pos]
        return out

    def arrays(self) -> dict[str, np.ndarray]:
        return {"dim": np.array(self.dim), "columns": self.columns, "values": self.values, "offsets": self.offsets}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], n: int) -> _SparseRows | None:
        """The rows saved by ``arrays``, or None when they do not fit a catalog of ``n`` entries."""
        rows = cls(int(arrays["dim"]), arrays["columns"], arrays["values"], arrays["offsets"])
        if (len(rows) != n or rows.columns.dtype != np.uint16 or rows.values.dtype != np.float32
                or len(rows.columns) != len(rows.values) or int(rows.offsets[-1]) != len(rows.values)
                or int(rows.columns.max(initial=0)) >= rows.dim):
            return None
        return rows


# ------------------------------------------------------------------------------------------------------- index


def _new_faiss(kind: str, dim: int, n: int) -> Any:
    import faiss

    if kind == "flat":
        return faiss.IndexFlatIP(dim)
    if kind == "pq":
        index = faiss.IndexPQFastScan(dim, math.gcd(dim, PQ_SUBQUANTIZERS), 4, faiss.METRIC_INNER_PRODUCT)
        index.pq.cp.niter = 10  # 16 centroids per sub-space settle fast; 25 iterations cost 2.5 times as much
        return index
    if kind == "ivfpq":
        lists = _ivf_lists(n)
        index = faiss.IndexIVFPQFastScan(faiss.IndexFlatIP(dim), dim, lists, math.gcd(dim, PQ_SUBQUANTIZERS), 4,
                                         faiss.METRIC_INNER_PRODUCT)
        index.nprobe = min(IVF_NPROBE, lists)
        index.cp.niter = 10
        index.pq.cp.niter = 10
        index.cp.min_points_per_centroid = 1  # trained on 16 per list (faiss asks 39): a sample, not the catalog
        return index
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = 128
        return index
    raise ValueError(f"unknown index kind {kind!r}: expected one of {', '.join(INDEX_KINDS)}")


def _ivf_lists(n: int) -> int:
    return max(16, 1 << round(math.log2(IVF_LISTS_PER_SQRT * math.sqrt(n))))


def _training_rows(kind: str, n: int) -> np.ndarray:
    """Rows to train the quantisers on: a seeded sample (16 per inverted list for "ivfpq"), or every row repeated
    up to 624 (39 per 4-bit centroid, what faiss' k-means asks for) when the catalog is tiny."""
    want = max(PQ_TRAIN_ROWS, 16 * _ivf_lists(n)) if kind == "ivfpq" else PQ_TRAIN_ROWS
    if n >= want:
        return np.sort(np.random.default_rng(0).choice(n, want, replace=False))
    return np.resize(np.arange(n), max(n, 624))


class _Index:
    """The per-catalog data that does not depend on ids or popularity: phone strings and normalised texts (packed),
    a sorted hash of the texts (for names heard exactly), a faiss index per channel some ranker searched and, for a
    compressed index of at most ``SPARSE_LIMIT`` entries, the exact vectors of its hashed channels (``rows``)."""

    FILES = {"phonetic": "phonetic.faiss", "lexical": "lexical.faiss"}
    ROW_FILES = {"phonetic": "phonetic.rows.npz", "lexical": "lexical.rows.npz"}

    def __init__(self, kind: str, encoder: str, fines: _PackedStrings, texts: _PackedStrings,
                 sorted_hashes: np.ndarray, hash_order: np.ndarray, channels: dict[str, Any] | None = None,
                 rows: dict[str, _SparseRows] | None = None):
        self.kind = kind
        self.encoder = encoder
        self.fines = fines
        self.texts = texts
        #: the texts' 64-bit hashes, sorted, and the entry each belongs to (``named``)
        self.sorted_hashes = sorted_hashes
        self.hash_order = hash_order
        self.channels: dict[str, Any] = dict(channels or {})
        self.rows: dict[str, _SparseRows] = dict(rows or {})

    def __len__(self) -> int:
        return len(self.fines)

    @property
    def phon(self) -> Any:
        return self.channels.get("phonetic")

    @property
    def lex(self) -> Any:
        return self.channels.get("lexical")

    @staticmethod
    def key(names: Sequence[str], encoder_version: str, kind: str) -> str:
        digest = hashlib.sha256()
        digest.update(f"{INDEX_FORMAT}\n{encoder_version}\n{LEX_DIM}\n{kind}\n{len(names)}\n".encode("utf-8"))
        for name in names:
            digest.update(name.encode("utf-8", "surrogatepass") + b"\x00")
        return digest.hexdigest()[:32]

    @classmethod
    def build(cls, names: Sequence[str], kind: str, encoder_version: str, g2p: G2P) -> _Index:
        """Strings only; ``add_channels`` makes the faiss indexes."""
        texts = [normalize_text(n) for n in names]
        hashes = np.array([_text_hash(t) for t in texts], dtype=np.uint64)
        order = np.argsort(hashes, kind="stable")
        return cls(kind, encoder_version, _PackedStrings.pack(_phone_strings(names, g2p)),
                   _PackedStrings.pack(texts), hashes[order], order)

    def add_channels(self, channels: Iterable[str], encoder: Any) -> list[str]:
        """Builds the faiss index of each channel not there yet, and the exact rows ``keeps_rows`` asks for where
        they are missing (a cache written before they existed); returns the names of the channels changed."""
        built = []
        for channel in sorted(channels):
            if channel not in self.channels:
                self.channels[channel] = self._build_channel(channel, encoder)
                built.append(channel)
            elif self.keeps_rows(channel, encoder) and channel not in self.rows:
                self.rows[channel] = _SparseRows.join(
                    [_SparseRows.of(self.vectors(channel, chunk, encoder)) for chunk in self._chunks()],
                    self._dim(channel, encoder))
                built.append(channel)
        return built

    def keeps_rows(self, channel: str, encoder: Any) -> bool:
        """Whether the exact vectors of ``channel`` are kept as ``_SparseRows``: a compressed index (a "flat" or
        "hnsw" one reads them back itself) of at most ``SPARSE_LIMIT`` entries, over hashed (sparse) vectors."""
        sparse = channel == "lexical" or getattr(encoder, "sparse", False)
        return self.kind in ("pq", "ivfpq") and len(self) <= SPARSE_LIMIT and sparse

    def vectors(self, channel: str, ids: np.ndarray, encoder: Any, strings: list[str] | None = None) -> np.ndarray:
        """Exact vectors of entries ``ids``: read back from a "flat" or "hnsw" index or from the kept rows, made
        again from the strings for a compressed one without rows (it keeps only codes; ``strings``: the channel's
        strings of ``ids`` when the caller has them). The same numbers every way (the encoders are deterministic,
        and a vector does not depend on the batch it was made in)."""
        if self.kind in ("flat", "hnsw") and channel in self.channels:
            return self.channels[channel].reconstruct_batch(ids)
        if channel in self.rows:
            return self.rows[channel].dense(ids)
        if channel == "phonetic":
            return encoder.encode(strings if strings is not None else self.fines.take(ids))
        return lexical_vectors(strings if strings is not None else self.texts.take(ids), normalized=True)

    def _build_channel(self, channel: str, encoder: Any) -> Any:
        n = len(self)
        index = _new_faiss(self.kind, self._dim(channel, encoder), n)
        if not index.is_trained:
            index.train(self.vectors(channel, _training_rows(self.kind, n), encoder))
        keep = self.keeps_rows(channel, encoder)
        kept = []
        for chunk in self._chunks():  # chunks: a 1M catalog's float vectors would take 4 GB at once
            vectors = self.vectors(channel, chunk, encoder)
            index.add(vectors)
            if keep:
                kept.append(_SparseRows.of(vectors))
        if keep:
            self.rows[channel] = _SparseRows.join(kept, self._dim(channel, encoder))
        return index

    def _chunks(self) -> Iterable[np.ndarray]:
        return (np.arange(start, min(len(self), start + BUILD_CHUNK)) for start in range(0, len(self), BUILD_CHUNK))

    @staticmethod
    def _dim(channel: str, encoder: Any) -> int:
        return encoder.dim if channel == "phonetic" else LEX_DIM

    def search(self, channel: str, queries: np.ndarray, k: int) -> np.ndarray:
        """[H, k] entry ids (-1 where there are fewer)."""
        return self.channels[channel].search(np.ascontiguousarray(queries, dtype=np.float32), k)[1]

    def named(self, text: str) -> list[int]:
        """Entries whose normalised name is ``text``."""
        h = np.uint64(_text_hash(text))
        lo = int(np.searchsorted(self.sorted_hashes, h, side="left"))
        hi = int(np.searchsorted(self.sorted_hashes, h, side="right"))
        return [i for i in self.hash_order[lo:hi].tolist() if self.texts[i] == text]

    # ----------------------------------------------------------------------------------------------- disk

    def save(self, folder: Path, channels: Iterable[str] | None = None) -> None:
        """Writes the strings and ``channels`` (default: all), one file at a time through a temporary name, so a
        reader never sees half a file; ``meta.json`` last. Files for one key have the same content whoever writes
        them, so concurrent writers need no lock."""
        import faiss

        folder.mkdir(parents=True, exist_ok=True)
        write_strings = channels is None or not (folder / "meta.json").is_file()
        for channel in self.channels if channels is None else channels:
            if channel in self.rows:  # before the index: a reader that finds the index finds its rows
                _atomic_write(folder / self.ROW_FILES[channel],
                              lambda tmp, c=channel: _save_npz(tmp, self.rows[c].arrays()))
            _atomic_write(folder / self.FILES[channel],
                          lambda tmp, c=channel: faiss.write_index(self.channels[c], str(tmp)))
        if write_strings:
            _atomic_write(folder / "strings.npz", lambda tmp: _save_npz(tmp, self._arrays()))
            meta = {"format": INDEX_FORMAT, "encoder": self.encoder, "kind": self.kind, "entries": len(self)}
            _atomic_write(folder / "meta.json", lambda tmp: tmp.write_text(json.dumps(meta), encoding="utf-8"))

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"fines_data": np.frombuffer(self.fines.data, dtype=np.uint8), "fines_offsets": self.fines.offsets,
                "texts_data": np.frombuffer(self.texts.data, dtype=np.uint8), "texts_offsets": self.texts.offsets,
                "sorted_hashes": self.sorted_hashes, "hash_order": self.hash_order}

    @classmethod
    def load(cls, folder: Path, n: int, kind: str, encoder: str) -> _Index | None:
        """The cached index, or None when missing, damaged or of another format; a damaged or missing channel
        file is left out (built again by ``add_channels``)."""
        try:
            meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
            if (meta.get("format"), meta.get("entries"), meta.get("kind"), meta.get("encoder")) != (
                    INDEX_FORMAT, n, kind, encoder):
                return None
            with np.load(folder / "strings.npz") as z:
                fines = _PackedStrings(z["fines_data"].tobytes(), z["fines_offsets"])
                texts = _PackedStrings(z["texts_data"].tobytes(), z["texts_offsets"])
                hashes, order = z["sorted_hashes"], z["hash_order"]
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            return None
        if not len(fines) == len(texts) == len(hashes) == len(order) == n:
            return None
        return cls(kind, encoder, fines, texts, hashes, order, cls._load_channels(folder, n),
                   cls._load_rows(folder, n))

    @classmethod
    def _load_channels(cls, folder: Path, n: int) -> dict[str, Any]:
        import faiss

        channels = {}
        for channel, name in cls.FILES.items():
            if (folder / name).is_file():
                try:
                    index = faiss.read_index(str(folder / name))
                except RuntimeError:
                    continue
                if index.ntotal == n:
                    channels[channel] = index
        return channels

    @classmethod
    def _load_rows(cls, folder: Path, n: int) -> dict[str, _SparseRows]:
        """The kept rows found in ``folder`` (a missing or damaged file: ``add_channels`` makes them again)."""
        rows = {}
        for channel, name in cls.ROW_FILES.items():
            if n <= SPARSE_LIMIT and (folder / name).is_file():
                try:
                    with np.load(folder / name) as z:
                        found = _SparseRows.from_arrays(z, n)
                except (OSError, ValueError, KeyError, zipfile.BadZipFile):
                    continue
                if found is not None:
                    rows[channel] = found
        return rows


def _save_npz(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    with open(path, "wb") as f:  # a file object: np.savez would add ".npz" to a path
        np.savez(f, **arrays)


def _atomic_write(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------------- resolver


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

    def __init__(self, entries: Sequence[Entry], index: _Index, encoder: Any, ranker: Ranker, *, kind: str | None,
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
        pops = entries.popularity if isinstance(entries, _Entries) else np.array([e.popularity for e in entries])
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
        """"flat", "pq", "ivfpq" or "hnsw": the faiss index type of this catalog (see the module docstring)."""
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
        - ``index``: the faiss index type, one of ``INDEX_KINDS``; default "flat" up to ``FLAT_LIMIT`` entries,
          "pq" up to ``IVF_LIMIT``, "ivfpq" above (see the module docstring).

        Raises ValueError naming the entry for an empty catalog, a non-string name, a name without letters or
        digits, or a bad popularity.
        """
        from .phonetic_model import get_encoder

        names, ids, pops = _columns(values)
        ranker = _pick_ranker(weights)
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
        data, folder, loaded = _index_for(names, index or _auto_kind(len(names)), enc, g2p,
                                          ranker.channels or frozenset({"phonetic", "lexical"}), folder)
        entries = _Entries(_PackedStrings.pack(names), ids, pops)
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
        return entries.names[i] if isinstance(entries, _Entries) else entries[i].name

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


def _index_for(names: list[str], kind: str, encoder: Any, g2p: G2P, channels: frozenset[str],
               cache: Path | None) -> tuple[_Index, Path | None, bool]:
    """(the catalog's index with ``channels``, its cache folder, whether it was all read from there): read from
    ``cache`` (a folder of cached indexes, or None for no cache) what is there, build the rest and save it."""
    folder = cache / _Index.key(names, encoder.version, kind) if cache is not None else None
    data = _Index.load(folder, len(names), kind, encoder.version) if folder is not None else None
    fresh = data is None
    if data is None:
        data = _Index.build(names, kind, encoder.version, g2p)
    empty = data.texts.empty()
    if len(empty):
        i = int(empty[0])
        raise ValueError(f"catalog entry {i}: the name {names[i]!r} has no letters or digits")
    built = data.add_channels(channels, encoder)
    if folder is not None and (fresh or built):
        data.save(folder, None if fresh else built)
    if fresh or built:
        _release_free_memory()
    return data, folder, not fresh and not built


def _release_free_memory() -> None:
    """Hands the heap's free pages back to the OS after a build. glibc keeps freed temporaries (vector chunks,
    string lists) resident: a 100k-entry build left RSS 66 MB up where the index itself takes 20."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass


def _auto_kind(n: int) -> str:
    return "flat" if n <= FLAT_LIMIT else "pq" if n <= IVF_LIMIT else "ivfpq"


def _pick_ranker(weights: str | Mapping[str, float] | None) -> Ranker:
    presets, default, _ = load_rankers()
    if weights is None:
        return presets[default]
    if isinstance(weights, str):
        if weights not in presets:
            raise ValueError(f"unknown ranker preset {weights!r}: expected one of {', '.join(sorted(presets))}")
        return presets[weights]
    if isinstance(weights, Mapping):
        return presets[default].with_weights(weights)
    raise ValueError(f"weights must be a preset name or a {{feature: weight}} mapping, got "
                     f"{type(weights).__name__}")
