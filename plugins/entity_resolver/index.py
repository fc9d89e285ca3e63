"""The per-catalog search structures of the entity resolver and their on-disk cache: phone strings and normalised
texts of the names, a hash of the texts for names heard exactly, and a faiss inner-product index per channel
("phonetic", "lexical") some ranker searches; ``load_or_build_index`` reads what the cache has and builds the rest.

Index type (``Resolver.from_values(index=...)`` to force one), measured by ``benchmarks/entity_scale.py``
(synthetic title catalogs, resolve p50 on one thread of a shared 2-core machine;
``benchmarks/results/entity_scale.json``):

- up to ``FLAT_LIMIT`` (2,000) entries ``IndexFlatIP`` ("flat"): exact, but a query reads 4 KB per entry and
  channel (p50 5 ms at 10k entries, 36 ms at 100k; 4 KB of RAM per entry);
- up to ``IVF_LIMIT`` (200,000) ``IndexPQFastScan`` ("pq"): product quantisation, ``PQ_SUBQUANTIZERS`` (64)
  codes of 4 bits = 32 bytes per entry and channel, trained on ``PQ_TRAIN_ROWS`` sampled entries; a query
  scans every code with SIMD look-ups (~0.5 ms per 100k entries). Its top-1 equals the exact index's at 10k
  and 100k (p50 1.5 ms at 10k with the kept vectors, see ``SPARSE_LIMIT``, 4.4 ms at 100k; a 100k catalog adds
  45 MB of RSS built, 26 MB loaded). Asking it for 2-4 times the neighbours and re-scoring them exactly did not
  change top-1 and cost 1-3 ms: not done;
- above, ``IndexIVFPQFastScan`` ("ivfpq"): the same codes in ~sqrt(n) inverted lists (k-means on a sample),
  a query reads ``IVF_NPROBE`` (128) of them: at 1M entries p50 4.7 ms against 8.6 for "pq", 1.3 points of
  top-1 less (hashed n-gram vectors cluster poorly), twice the build time (2.5 min);
- ``"hnsw"``: ``IndexHNSWFlat`` over the full vectors (the choice above 50,000 entries before index format 2:
  exact top-1 and fast, but 4.5 KB per entry and channel and a 2-minute build at 100k): kept for comparison.

Everything is cached on disk under ``hark.config.cache_dir("entity_resolver")``, keyed by a hash of the names,
the index type, the phonetic encoder's version and ``INDEX_FORMAT``: building the same catalog again only reads
the files (a channel first needed later is added to the same folder, and so are the kept vectors of a cache
written before they were kept).

Its own module because building, saving and loading the indexes depends on names only, not on ids, popularity or
the ranker's weights (``resolver`` adds those per query).
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import threading
import zipfile
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from hark.phonetics import G2P, text_words
from .packed import PackedStrings, SparseRows
from .phonetic import LEX_DIM, lexical_vectors, normalize_text, phone_string

__all__ = ["CatalogIndex", "load_or_build_index", "default_index_kind", "FLAT_LIMIT", "IVF_LIMIT", "INDEX_FORMAT",
           "INDEX_KINDS", "SPARSE_LIMIT"]

INDEX_FORMAT = "hark-entity-index/2"
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
#: its non-zeros (``SparseRows``: ~61 of 1,024 for a phone string, ~370 bytes an entry, 3.7 MB at 10k), so that a
#: query's ~50 candidates are not encoded again (that was half of a 10k resolve); above, the rows would cost more
#: memory than the compressed index itself (100k: +37 MB), and the candidates are encoded again
SPARSE_LIMIT = 50_000


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


class CatalogIndex:
    """The per-catalog data that does not depend on ids or popularity: phone strings and normalised texts (packed),
    a sorted hash of the texts (for names heard exactly), a faiss index per channel some ranker searched and, for a
    compressed index of at most ``SPARSE_LIMIT`` entries, the exact vectors of its hashed channels (``rows``)."""

    FILES = {"phonetic": "phonetic.faiss", "lexical": "lexical.faiss"}
    ROW_FILES = {"phonetic": "phonetic.rows.npz", "lexical": "lexical.rows.npz"}

    def __init__(self, kind: str, encoder: str, fines: PackedStrings, texts: PackedStrings,
                 sorted_hashes: np.ndarray, hash_order: np.ndarray, channels: dict[str, Any] | None = None,
                 rows: dict[str, SparseRows] | None = None):
        self.kind = kind
        self.encoder = encoder
        self.fines = fines
        self.texts = texts
        #: the texts' 64-bit hashes, sorted, and the entry each belongs to (``named``)
        self.sorted_hashes = sorted_hashes
        self.hash_order = hash_order
        self.channels: dict[str, Any] = dict(channels or {})
        self.rows: dict[str, SparseRows] = dict(rows or {})

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
    def build(cls, names: Sequence[str], kind: str, encoder_version: str, g2p: G2P) -> CatalogIndex:
        """Strings only; ``add_channels`` makes the faiss indexes."""
        texts = [normalize_text(n) for n in names]
        hashes = np.array([_text_hash(t) for t in texts], dtype=np.uint64)
        order = np.argsort(hashes, kind="stable")
        return cls(kind, encoder_version, PackedStrings.pack(_phone_strings(names, g2p)),
                   PackedStrings.pack(texts), hashes[order], order)

    def add_channels(self, channels: Iterable[str], encoder: Any) -> list[str]:
        """Builds the faiss index of each channel not there yet, and the exact rows ``keeps_rows`` asks for where
        they are missing (a cache written before they existed); returns the names of the channels changed."""
        built = []
        for channel in sorted(channels):
            if channel not in self.channels:
                self.channels[channel] = self._build_channel(channel, encoder)
                built.append(channel)
            elif self.keeps_rows(channel, encoder) and channel not in self.rows:
                self.rows[channel] = SparseRows.join(
                    [SparseRows.of(self.vectors(channel, chunk, encoder)) for chunk in self._chunks()],
                    self._dim(channel, encoder))
                built.append(channel)
        return built

    def keeps_rows(self, channel: str, encoder: Any) -> bool:
        """Whether the exact vectors of ``channel`` are kept as ``SparseRows``: a compressed index (a "flat" or
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
                kept.append(SparseRows.of(vectors))
        if keep:
            self.rows[channel] = SparseRows.join(kept, self._dim(channel, encoder))
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
    def load(cls, folder: Path, n: int, kind: str, encoder: str) -> CatalogIndex | None:
        """The cached index, or None when missing, damaged or of another format; a damaged or missing channel
        file is left out (built again by ``add_channels``)."""
        try:
            meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
            if (meta.get("format"), meta.get("entries"), meta.get("kind"), meta.get("encoder")) != (
                    INDEX_FORMAT, n, kind, encoder):
                return None
            with np.load(folder / "strings.npz") as z:
                fines = PackedStrings(z["fines_data"].tobytes(), z["fines_offsets"])
                texts = PackedStrings(z["texts_data"].tobytes(), z["texts_offsets"])
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
    def _load_rows(cls, folder: Path, n: int) -> dict[str, SparseRows]:
        """The kept rows found in ``folder`` (a missing or damaged file: ``add_channels`` makes them again)."""
        rows = {}
        for channel, name in cls.ROW_FILES.items():
            if n <= SPARSE_LIMIT and (folder / name).is_file():
                try:
                    with np.load(folder / name) as z:
                        found = SparseRows.from_arrays(z, n)
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


def load_or_build_index(names: list[str], kind: str, encoder: Any, g2p: G2P, channels: frozenset[str],
                        cache: Path | None) -> tuple[CatalogIndex, Path | None, bool]:
    """(the catalog's index with ``channels``, its cache folder, whether it was all read from there): read from
    ``cache`` (a folder of cached indexes, or None for no cache) what is there, build the rest and save it."""
    folder = cache / CatalogIndex.key(names, encoder.version, kind) if cache is not None else None
    data = CatalogIndex.load(folder, len(names), kind, encoder.version) if folder is not None else None
    fresh = data is None
    if data is None:
        data = CatalogIndex.build(names, kind, encoder.version, g2p)
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


def default_index_kind(n: int) -> str:
    """The index type ``from_values`` picks for ``n`` entries when given none."""
    return "flat" if n <= FLAT_LIMIT else "pq" if n <= IVF_LIMIT else "ivfpq"
