"""Entity resolver at scale: index build time, memory, cache size, resolve latency and accuracy at 10k-1M entries.

    python benchmarks/entity_scale.py                               # -> benchmarks/results/entity_scale.json
    python benchmarks/entity_scale.py --sizes 10000,100000 --index auto,flat

Catalogs are synthetic title-like names: a word-bigram chain (with a unigram back-off for variety) fitted on the
words of the movie and book titles of $HARK_DATA/catalogs (movies.csv, books.csv), CMUdict words only, so that
g2p runs on dictionary lookups as it does for most real names; seeded, de-duplicated on the normalised text, and
nested (the 10k catalog is the first 10k names of the 100k one).

Queries (``--queries-per-size``, default 320, the first 20 only warm up) are mishearings of random entries, none
equal to another entry: one word swapped for a sound-alike (a CMUdict word within one phone edit, e.g. "thin" ->
"finn", "cooks" -> "cakes"; 60 %), two words swapped (15 %), a word dropped (15 %), a letter changed (10 %; such
words go through the g2p model). Right = the top-1 match is the entry the query was made from.

Each (size, index kind) runs in a fresh subprocess, so that memory is its own: RSS is read from /proc/self/status
(VmRSS now, VmHWM peak) after the engine is warm (imports, CMUdict, a 3-name resolver resolved once; the names
list is read before too) and after the build: ``rss_growth_mb`` is what the catalog costs the engine,
``peak_growth_mb`` what the build needed at most. The build is timed cold into an empty cache (``build_s``;
``cache_write_s`` of it went to writing the files, measured by saving the index once more), then a new
``from_values`` loads it (``load_s``; ``rss_after_load_growth_mb`` after the built resolver was dropped).
Latency: ``resolve(query, k=5)`` one query at a time; faiss on one thread throughout
(``faiss.omp_set_num_threads(1)``: on a shared CPU its OpenMP threads spin and a build gets 3-4 times slower).
The machine's load average is recorded: other jobs share the CPU, so latencies are pessimistic.

``--index`` runs the automatic choice ("auto") and each kind in ``COMPARE`` up to the size given there.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from itertools import accumulate
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _bench import percentile, stamp  # noqa: E402

SMALL_WORDS = {"a", "an", "and", "as", "at", "by", "for", "from", "in", "into", "of", "on", "or", "the", "to",
               "with"}
SEED = 6


def log(msg: str) -> None:
    print(f"[entity_scale {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------- catalog


def title_word_lists() -> list[list[str]]:
    """Lower-case word sequences of the real movie and book titles; a word CMUdict lacks ends a sequence."""
    import csv

    from hark.phonetics import load_cmudict
    from training.data import data_dir

    vocab = load_cmudict()
    titles: list[str] = []
    folder = data_dir() / "catalogs"
    with (folder / "movies.csv").open(encoding="utf-8") as f:
        titles += [r["title"] for r in csv.DictReader(f)]
    with (folder / "books.csv").open(encoding="utf-8") as f:
        titles += [re.sub(r"\s*\(.*?\)\s*", " ", r["title"]) for r in csv.DictReader(f)]
    out = []
    for title in titles:
        run: list[str] = []
        for word in re.findall(r"[a-z']+", title.lower()):
            if word in vocab and word.isalpha():
                run.append(word)
            elif run:
                out.append(run)
                run = []
        if run:
            out.append(run)
    return out


class TitleChain:
    """A word-bigram chain over title words, with a unigram back-off so that it makes names no title has."""

    def __init__(self, runs: list[list[str]], backoff: float = 0.3, max_words: int = 7):
        from collections import Counter, defaultdict

        self.backoff = backoff
        self.max_words = max_words
        unigrams: Counter = Counter(w for run in runs for w in run)
        self.words = sorted(unigrams)
        self.word_cum = list(accumulate(unigrams[w] for w in self.words))
        nexts: dict[str, Counter] = defaultdict(Counter)
        for run in runs:
            for a, b in zip(["<s>"] + run, run + ["</s>"]):
                nexts[a][b] += 1
        self.next = {a: (sorted(c), list(accumulate(c[b] for b in sorted(c)))) for a, c in nexts.items()}

    def name(self, rng: random.Random) -> str:
        words: list[str] = []
        current = "<s>"
        while len(words) < self.max_words:
            options, cum = self.next.get(current, ((), ()))
            if words and (not options or rng.random() < self.backoff):
                if len(words) > 1 and rng.random() < 0.4:
                    break
                current = rng.choices(self.words, cum_weights=self.word_cum)[0]
            else:
                current = rng.choices(options, cum_weights=cum)[0]
                if current == "</s>":
                    break
            if not words or current != words[-1]:
                words.append(current)
        while len(words) > 1 and words[-1] in SMALL_WORDS:  # "The Hunt in" -> "The Hunt"
            words.pop()
        return " ".join(w if i and w in SMALL_WORDS else w.capitalize() for i, w in enumerate(words))



def synthetic_catalog(size: int, seed: int = SEED) -> list[str]:
    """``size`` distinct title-like names; the first n of a larger catalog are the smaller one."""
    from hark.plugins.entity_resolver.phonetic import normalize_text

    chain = TitleChain(title_word_lists())
    rng = random.Random(seed)
    seen: set[str] = set()
    names: list[str] = []
    while len(names) < size:
        name = chain.name(rng)
        key = normalize_text(name)
        if key and key not in seen:
            seen.add(key)
            names.append(name)
    return names


# ---------------------------------------------------------------------------------------------------- queries


class SoundAlikes:
    """CMUdict words within one phone edit of a word (homophones first), for mishearings."""

    def __init__(self, common: set[str]):
        from hark.phonetics import load_cmudict
        from hark.plugins.entity_resolver.phonetic import phone_string

        self.common = common
        words = [w for w in load_cmudict() if w.isalpha() and len(w) > 1]
        self.words = words
        self.phones = [phone_string(load_cmudict()[w]) for w in words]
        self.of = dict(zip(words, self.phones))

    def pick(self, word: str, rng: random.Random) -> str | None:
        from rapidfuzz import process
        from rapidfuzz.distance import Levenshtein

        phones = self.of.get(word)
        if not phones or len(phones) < 2:
            return None
        found = process.extract(phones, self.phones, scorer=Levenshtein.distance, score_cutoff=1, limit=60)
        options = [self.words[i] for _, d, i in found if self.words[i] != word]
        common = [w for w in options if w in self.common]
        pool = common or options
        return rng.choice(pool) if pool else None


def make_queries(names: list[str], count: int, seed: int = SEED) -> list[tuple[str, int, str]]:
    """``count`` (heard text, index of the entry it was made from, kind of error), none equal to an entry."""
    from hark.plugins.entity_resolver.phonetic import normalize_text

    rng = random.Random(seed + 1)
    alikes = SoundAlikes({w for run in title_word_lists() for w in run})
    taken = {normalize_text(n) for n in names}
    out: list[tuple[str, int, str]] = []
    while len(out) < count:
        i = rng.randrange(len(names))
        kind = rng.choices(["soundalike", "two_soundalikes", "drop", "letter"], weights=[60, 15, 15, 10])[0]
        heard = mishear(names[i].lower().split(), kind, alikes, rng)
        if heard and normalize_text(heard) not in taken:
            out.append((heard, i, kind))
    return out


def mishear(words: list[str], kind: str, alikes: SoundAlikes, rng: random.Random) -> str | None:
    """One error of ``kind`` in the words of a name, or None when this name cannot have it."""
    words = list(words)
    spots = [j for j, w in enumerate(words) if len(w) > 2 and w.isalpha()]
    if kind == "drop":
        if len(words) < 3:
            return None
        del words[rng.randrange(len(words))]
    elif kind == "letter":
        if not spots:
            return None
        j = rng.choice(spots)
        k = rng.randrange(1, len(words[j]))
        words[j] = words[j][:k] + rng.choice("aeioulnrst") + words[j][k + 1:]
    else:
        rng.shuffle(spots)
        need = 2 if kind == "two_soundalikes" else 1
        done = 0
        for j in spots:
            other = alikes.pick(words[j], rng)
            if other:
                words[j] = other
                done += 1
                if done == need:
                    break
        if done < need:
            return None
    return " ".join(words)


# ------------------------------------------------------------------------------------------------ measurement


def rss_mb() -> tuple[float, float]:
    """(VmRSS, VmHWM) of this process in MB."""
    fields = {}
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value
    return int(fields["VmRSS"].split()[0]) / 1024.0, int(fields["VmHWM"].split()[0]) / 1024.0


def folder_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def measure(names: list[str], queries: list[tuple[str, int, str]], kind: str | None) -> dict:
    """Build, memory, cache and latency numbers of one catalog and index kind (run in a fresh process)."""
    from hark.plugins.entity_resolver import Resolver

    warm_engine(kind)
    values = list(enumerate(names))
    gc.collect()
    base_rss, _ = rss_mb()
    out: dict = {"entries": len(names), "rss_before_mb": round(base_rss, 1)}

    log(f"{len(names)} {kind or 'auto'}: building (empty cache)")
    t = time.perf_counter()
    resolver = Resolver.from_values(values, kind="scale", index=kind)
    out["build_s"] = round(time.perf_counter() - t, 2)
    assert not resolver.loaded_from_cache, "the cache folder was not empty"
    gc.collect()
    rss, peak = rss_mb()
    out.update(index=resolver.index_kind, rss_growth_mb=round(rss - base_rss, 1),
               peak_growth_mb=round(peak - base_rss, 1), disk_mb=round(folder_mb(resolver.cache_path), 1))
    with tempfile.TemporaryDirectory() as scratch:
        t = time.perf_counter()
        resolver._index.save(Path(scratch))  # what writing the cache took of build_s
        out["cache_write_s"] = round(time.perf_counter() - t, 2)
    log(f"{len(names)} {resolver.index_kind}: built in {out['build_s']} s, RSS +{out['rss_growth_mb']} MB "
        f"(peak +{out['peak_growth_mb']} MB), cache {out['disk_mb']} MB; resolving {len(queries)} queries")
    out.update(score(resolver, queries))
    log(f"{len(names)} {resolver.index_kind}: p50 {out['latency_ms']['p50']} ms, top-1 {out['top1']} %")
    out["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    return out


def measure_load(names: list[str], kind: str | None) -> dict:
    """Loading the cached catalog in a fresh process: time and RSS growth (what an engine restart costs)."""
    from hark.plugins.entity_resolver import Resolver

    warm_engine(kind)
    values = list(enumerate(names))
    gc.collect()
    base_rss, _ = rss_mb()
    t = time.perf_counter()
    loaded = Resolver.from_values(values, kind="scale", index=kind)
    load_s = round(time.perf_counter() - t, 2)
    assert loaded.loaded_from_cache, "nothing cached to load"
    gc.collect()
    rss, peak = rss_mb()
    log(f"{len(names)} {loaded.index_kind}: loaded from the cache in {load_s} s, RSS +{rss - base_rss:.1f} MB")
    return {"load_s": load_s, "rss_after_load_growth_mb": round(rss - base_rss, 1),
            "peak_load_growth_mb": round(peak - base_rss, 1)}


def warm_engine(kind: str | None) -> None:
    """Imports, CMUdict, faiss on one thread, a 3-name resolver resolved once."""
    import faiss

    from hark.plugins.entity_resolver import Resolver
    from hark.phonetics import G2P

    faiss.omp_set_num_threads(1)  # resolve single-threaded; build too: on a shared CPU OpenMP threads spin
    G2P.default().phrase("warm up")
    Resolver.from_values(["alpha", "beta gamma", "delta"], cache=False, index=kind).resolve("alfa")


def score(resolver, queries: list[tuple[str, int, str]]) -> dict:
    """Latency of resolve(query, k=5) and top-1/top-5 accuracy, overall and per kind of error."""
    for heard, _, _ in queries[:20]:  # warm-up (scored again below: the g2p cache holds their words then)
        resolver.resolve(heard, k=5)
    times, top1, top5 = [], [], []
    by_kind: dict[str, list[bool]] = {}
    for heard, gold, kind in queries[20:]:
        t = time.perf_counter()
        found = resolver.resolve(heard, k=5)
        times.append(1000.0 * (time.perf_counter() - t))
        ids = [m.id for m in found]
        top1.append(bool(ids) and ids[0] == gold)
        top5.append(gold in ids)
        by_kind.setdefault(kind, []).append(top1[-1])
    pct = lambda xs: round(100.0 * sum(xs) / max(1, len(xs)), 1)  # noqa: E731
    return {"latency_ms": {"p50": round(percentile(times, 0.5), 2), "p95": round(percentile(times, 0.95), 2),
                           "mean": round(sum(times) / len(times), 2)},
            "queries_timed": len(times), "top1": pct(top1), "top5": pct(top5),
            "top1_by_error": {k: pct(v) for k, v in sorted(by_kind.items())}}


# ------------------------------------------------------------------------------------------------------ main


#: index kinds compared besides the automatic choice, and the largest catalog each is tried at (flat and hnsw keep
#: 4 KB of floats per entry: 1M entries would need 4-9 GB)
COMPARE = {"flat": 100_000, "hnsw": 100_000, "pq": 1_000_000, "ivfpq": 1_000_000}


def worker(args: argparse.Namespace) -> None:
    names = args.names.read_text(encoding="utf-8").splitlines()[:args.size]
    queries = [tuple(q) for q in json.loads(args.queries.read_text(encoding="utf-8"))]
    kind = None if args.index == "auto" else args.index
    result = measure_load(names, kind) if args.load else measure(names, queries, kind)
    args.out.write_text(json.dumps(result), encoding="utf-8")


def run_one(size: int, kind: str, names_file: Path, queries_file: Path, tmp: Path) -> dict:
    """Build and score in one fresh process, load the cache it wrote in another."""
    out = tmp / f"{size}_{kind}.json"
    env = dict(os.environ, HARK_CACHE=str(tmp / f"cache_{size}_{kind}"))
    cmd = [sys.executable, __file__, "--worker", "--size", str(size), "--index", kind, "--names", str(names_file),
           "--queries", str(queries_file), "--out", str(out)]
    result = {}
    for extra in ([], ["--load"]):
        proc = subprocess.run(cmd + extra, stdout=subprocess.DEVNULL, env=env)
        if proc.returncode != 0:
            raise SystemExit(f"entity_scale: the {size} / {kind} {'load' if extra else 'build'} run failed "
                             f"(exit {proc.returncode})")
        result.update(json.loads(out.read_text(encoding="utf-8")))
    shutil.rmtree(tmp / f"cache_{size}_{kind}", ignore_errors=True)
    result["requested"] = kind
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--index", default="auto," + ",".join(COMPARE),
                    help="index kinds to run: auto (the resolver's own choice) and/or flat, pq, ivfpq, hnsw")
    ap.add_argument("--queries-per-size", type=int, default=320, dest="n_queries",
                    help="mishearings per catalog (the first 20 warm up)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "entity_scale.json")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--load", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--size", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--names", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--queries", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args)
        return
    t0 = time.time()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    kinds = args.index.split(",")
    load_start = [round(x, 2) for x in os.getloadavg()]
    runs = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        log(f"generating a {max(sizes)}-name catalog")
        all_names = synthetic_catalog(max(sizes))
        names_file = tmp / "names.txt"
        names_file.write_text("\n".join(all_names) + "\n", encoding="utf-8")
        for size in sizes:
            log(f"{size}: making {args.n_queries} mishearings")
            queries_file = tmp / f"queries_{size}.json"
            queries_file.write_text(json.dumps(make_queries(all_names[:size], args.n_queries)), encoding="utf-8")
            auto_kind = None
            for kind in kinds:
                if kind != "auto" and (size > COMPARE.get(kind, 0) or kind == auto_kind):
                    continue
                result = run_one(size, kind, names_file, queries_file, tmp)
                if kind == "auto":
                    auto_kind = result["index"]
                result["auto"] = kind == "auto"
                runs.append(result)
    report = {
        "benchmark": "entity_scale",
        "catalog": "synthetic title-like names (word-bigram chain over movies.csv + books.csv title words, CMUdict "
                   f"words only, seed {SEED}); nested: each size is the first n names of the largest",
        "queries": f"{args.n_queries - 20} mishearings per size scored (+20 warm-up): 60 % one sound-alike word, "
                   "15 % two, 15 % a dropped word, 10 % a changed letter; right = top-1 is the source entry",
        "runs": runs,
        "targets": targets(runs),
        "machine": {"python": platform.python_version(), "cpu_count": os.cpu_count(),
                    "processor": platform.processor() or platform.machine(), "faiss_threads": 1,
                    "loadavg_start": load_start, "loadavg_end": [round(x, 2) for x in os.getloadavg()],
                    "note": "CPU shared with other jobs: latencies are pessimistic"},
        "seconds": round(time.time() - t0, 1),
    }
    stamp(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    log(f"wrote {args.out}")


def targets(runs: list[dict]) -> dict:
    """Issue 6's targets against the automatic choice's numbers."""
    auto = {r["entries"]: r for r in runs if r.get("auto")}
    out = {}
    if 10_000 in auto:
        out["p50_le_2ms_at_10k"] = {"value": auto[10_000]["latency_ms"]["p50"],
                                    "met": auto[10_000]["latency_ms"]["p50"] <= 2.0}
    if 1_000_000 in auto:
        out["p50_le_10ms_at_1M"] = {"value": auto[1_000_000]["latency_ms"]["p50"],
                                    "met": auto[1_000_000]["latency_ms"]["p50"] <= 10.0}
    if 100_000 in auto:
        out["rss_growth_le_60MB_at_100k"] = {"value": auto[100_000]["rss_growth_mb"],
                                             "met": auto[100_000]["rss_growth_mb"] <= 60.0}
    return out


if __name__ == "__main__":
    main()
