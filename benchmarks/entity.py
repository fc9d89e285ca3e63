"""Entity resolution benchmark: top-1 accuracy of resolving what ASR heard to a catalog entry.

    python benchmarks/entity.py --bench slurp          # -> benchmarks/results/entity_slurp.json

``slurp``: the held-out "test" part of slurp/entity_resolution_dev.tsv (``training.entity_data.split_rows``: split by
a hash of the gold value, no slurp_id on both sides; the ranker was tuned and the phonetic encoder trained on the
other part only). Query = heard_span, catalog = entity_catalogs_dev/<entity_type>.txt, right when the top-1 entry
equals gold_value. Scored on all rows and on the rows whose entity the ASR changed (asr_changed_entity = 1).

Methods:
- ``exact``: the entry equal to the heard span (lower case, whitespace), else nothing;
- ``wratio``: the entry with the best rapidfuzz ``fuzz.WRatio``;
- ``metaphone``: jellyfish.metaphone codes of span and entry, best rapidfuzz ``fuzz.ratio`` of the codes (ties
  broken by WRatio);
- ``double_metaphone``: the ``metaphone`` PyPI package's ``doublemetaphone`` (primary and alternate codes), best
  ``fuzz.ratio`` over the code pairs (ties by WRatio); ``dm_wratio``: 0.5 * that + 0.5 * WRatio;
- ``ours_phonetic`` / ``ours_lexical`` / ``ours_combined``: ``Resolver`` with the "phonetic", "lexical", "combined"
  ranker presets (``min_score`` 0: always answer, so this is pure top-1); ``ours_default`` the shipped default
  (preset and phonetic encoder from ranker.json); with the learned encoder present, ``ours_learned_*`` too.

Error analysis (changed rows): ``heard_is_other_entry`` = the heard span, normalised, is itself a catalog entry other
than the gold one, or has exactly the phones of one (no context-free resolver can pick the gold entry);
``no_phonetic_overlap`` = the heard span's phone string and the gold's share no phone bigram (after g2p; e.g.
"meeting" heard as "can you"): unrecoverable from the span. Latency: ``resolve(span, k=5)`` per query on one thread,
after a warm-up; index build times cold (cache off) and from the on-disk cache.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _bench import percentile, stamp  # noqa: E402
from training.entity_data import ErRow, catalog_types, load_catalog, load_rows  # noqa: E402

REFERENCE = {  # slurp/README.md, issue author, all dev rows (not only the held-out part): (all rows, changed rows)
    "exact": (78.7, 0.0), "wratio": (86.0, 35.4), "metaphone": (88.3, 46.2), "double_metaphone": (87.8, 44.2),
    "dm_wratio": (88.5, 47.1),
}


def _norm(s: str) -> str:
    return " ".join(s.lower().split())


def baselines() -> dict:
    """name -> function(span, catalog) -> predicted entry or None."""
    import jellyfish
    from rapidfuzz import fuzz

    def argmax(scores: list[float], catalog: list[str], span: str) -> str:
        return max(range(len(catalog)), key=lambda i: (scores[i], fuzz.WRatio(span, catalog[i])))

    codes: dict[tuple[str, str], object] = {}

    def code(kind: str, s: str):
        if (kind, s) not in codes:
            if kind == "mp":
                codes[kind, s] = jellyfish.metaphone(s)
            else:
                from metaphone import doublemetaphone

                codes[kind, s] = tuple(c for c in doublemetaphone(s) if c)
        return codes[kind, s]

    def dm_sim(a: str, b: str) -> float:
        ca, cb = code("dm", a), code("dm", b)
        return max((fuzz.ratio(x, y) for x in ca for y in cb), default=0.0)

    out = {
        "exact": lambda span, cat: next((c for c in cat if _norm(c) == _norm(span)), None),
        "wratio": lambda span, cat: cat[max(range(len(cat)), key=lambda i: fuzz.WRatio(span, cat[i]))],
        "metaphone": lambda span, cat: cat[argmax([fuzz.ratio(code("mp", span), code("mp", c)) for c in cat],
                                                  cat, span)],
    }
    if importlib.util.find_spec("metaphone") is None:
        print("double metaphone skipped: pip install metaphone", flush=True)
        return out
    out["double_metaphone"] = lambda span, cat: cat[argmax([dm_sim(span, c) for c in cat], cat, span)]
    out["dm_wratio"] = lambda span, cat: cat[max(range(len(cat)), key=lambda i: 0.5 * dm_sim(span, cat[i])
                                                 + 0.5 * fuzz.WRatio(span, cat[i]))]
    return out


def score(rows: list[ErRow], predict) -> dict:
    hits = [predict(r) == r.gold_value for r in rows]
    ch = [h for h, r in zip(hits, rows) if r.changed]
    return {"all": round(100.0 * sum(hits) / len(hits), 1), "changed": round(100.0 * sum(ch) / len(ch), 1)}


def error_analysis(rows: list[ErRow], predictions: dict[str, list[str | None]]) -> dict:
    from hark.phonetics import G2P
    from hark.plugins.entity_resolver.phonetic import normalize_text, phone_string

    g2p = G2P.default()
    phones = lambda s: phone_string(g2p.phrase(s))  # noqa: E731
    cat_cache: dict[str, dict[str, str]] = {}
    counts: Counter = Counter()
    recoverable = []
    examples: dict[str, list] = {"heard_is_other_entry": [], "no_phonetic_overlap": []}
    for i, r in enumerate(rows):
        if not r.changed:
            continue
        if r.entity_type not in cat_cache:
            cat_cache[r.entity_type] = {c: phones(c) for c in load_catalog(r.entity_type)}
        cat_phones = cat_cache[r.entity_type]
        others = {normalize_text(c) for c in cat_phones if c != r.gold_value}
        hp, gp = phones(r.heard_span), cat_phones[r.gold_value]
        counts["changed"] += 1
        if normalize_text(r.heard_span) in others or any(p == hp for c, p in cat_phones.items()
                                                         if c != r.gold_value and p != gp):
            counts["heard_is_other_entry"] += 1
            examples["heard_is_other_entry"].append(f"{r.gold_value} <- {r.heard_span}")
        elif not ({hp[j:j + 2] for j in range(len(hp) - 1)} & {gp[j:j + 2] for j in range(len(gp) - 1)}):
            counts["no_phonetic_overlap"] += 1
            examples["no_phonetic_overlap"].append(f"{r.gold_value} <- {r.heard_span}")
        else:
            recoverable.append(i)
    counts["recoverable"] = len(recoverable)
    out = {"rule": {"heard_is_other_entry": "normalised heard span equals another catalog entry, or its g2p phones "
                                            "equal another entry's phones (and not the gold's)",
                    "no_phonetic_overlap": "no phone bigram in common between the g2p phone strings of heard span "
                                           "and gold value (checked after the first rule)"},
           "counts": dict(counts),
           "share_unrecoverable": round(100.0 * (counts["heard_is_other_entry"] + counts["no_phonetic_overlap"])
                                        / counts["changed"], 1),
           "top1_on_recoverable_changed": {name: round(100.0 * sum(preds[i] == rows[i].gold_value
                                                                   for i in recoverable) / len(recoverable), 1)
                                           for name, preds in predictions.items()},
           "examples": {k: sorted(set(v))[:15] for k, v in examples.items()}}
    return out


def pseudo_nbest(rows: list[ErRow], catalogs: dict[str, list[str]], preset: str) -> dict:
    """SLURP has no n-best lists. As a stand-in, a row's "2nd hypothesis" is the heard span of another recording of
    the same utterance and entity that differs from this row's (a second, independent ASR guess at the same words):
    n-best = [(own span, 0.6), (other span, 0.4)]. Scored on the rows that have such another span."""
    from hark.plugins.entity_resolver import Resolver

    spans: dict[tuple[str, str, str], list[str]] = {}
    for r in rows:
        spans.setdefault((r.slurp_id, r.entity_type, r.gold_value), []).append(r.heard_span)
    resolvers = {t: Resolver.from_values(c, kind=t, weights=preset, min_score=0.0) for t, c in catalogs.items()}
    one = two = n = ch_one = ch_two = n_ch = 0
    for r in rows:
        others = [s for s in spans[(r.slurp_id, r.entity_type, r.gold_value)] if s != r.heard_span]
        if not others:
            continue
        res = resolvers[r.entity_type]
        a = res.resolve(r.heard_span, k=1)
        b = res.resolve(r.heard_span, nbest=[(r.heard_span, 0.6), (others[0], 0.4)], k=1)
        ok_a, ok_b = bool(a) and a[0].value == r.gold_value, bool(b) and b[0].value == r.gold_value
        one, two, n = one + ok_a, two + ok_b, n + 1
        if r.changed:
            ch_one, ch_two, n_ch = ch_one + ok_a, ch_two + ok_b, n_ch + 1
    return {"rule": " ".join(pseudo_nbest.__doc__.split()), "preset": preset,
            "rows": n, "top1_1best": round(100.0 * one / max(1, n), 1), "top1_nbest": round(100.0 * two / max(1, n), 1),
            "changed_rows": n_ch, "changed_top1_1best": round(100.0 * ch_one / max(1, n_ch), 1),
            "changed_top1_nbest": round(100.0 * ch_two / max(1, n_ch), 1)}


def bench_slurp(args: argparse.Namespace) -> dict:
    from hark.plugins.entity_resolver import Resolver
    from hark.plugins.entity_resolver.phonetic_model import MODEL_DIR
    from hark.plugins.entity_resolver.ranker import load_rankers

    rows_all = load_rows()
    rows = [r for r in rows_all if r.split == "test"]
    catalogs = {t: load_catalog(t) for t in catalog_types()}
    presets, default, default_encoder = load_rankers()
    results: dict[str, dict] = {}
    predictions: dict[str, list] = {}

    for name, fn in baselines().items():
        t = time.perf_counter()
        preds = [fn(r.heard_span, catalogs[r.entity_type]) for r in rows]
        predictions[name] = preds
        results[name] = score(rows, lambda r, it=iter(preds): next(it))
        results[name]["ms_per_query"] = round(1000.0 * (time.perf_counter() - t) / len(rows), 3)
        print(f"{name:20} {results[name]}", flush=True)

    encoders = ["hashed"] + (["learned"] if (MODEL_DIR / "meta.json").is_file() else [])
    variants = [(f"ours_{p}" if enc == "hashed" else f"ours_learned_{p}", p, enc)
                for enc in encoders for p in ("phonetic", "lexical", "combined")
                if not (enc == "learned" and p == "lexical")]
    build_ms: dict[str, dict] = {}
    latency: dict[str, dict] = {}
    for name, preset, enc in variants:
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["HARK_CACHE"] = tmp
            t = time.perf_counter()
            resolvers = {t_: Resolver.from_values(c, kind=t_, weights=preset, min_score=0.0, encoder=enc)
                         for t_, c in catalogs.items()}
            cold = 1000.0 * (time.perf_counter() - t)
            t = time.perf_counter()
            for t_, c in catalogs.items():
                assert Resolver.from_values(c, kind=t_, weights=preset, min_score=0.0, encoder=enc).loaded_from_cache
            warm = 1000.0 * (time.perf_counter() - t)
        build_ms[name] = {"cold_all_catalogs": round(cold, 1), "from_cache_all_catalogs": round(warm, 1)}
        for r in rows[:20]:  # warm-up
            resolvers[r.entity_type].resolve(r.heard_span)
        preds, times = [], []
        for r in rows:
            t = time.perf_counter()
            top = resolvers[r.entity_type].resolve(r.heard_span, k=5)
            times.append(1000.0 * (time.perf_counter() - t))
            preds.append(top[0].value if top else None)
        predictions[name] = preds
        results[name] = score(rows, lambda r, it=iter(preds): next(it))
        latency[name] = {"p50": round(percentile(times, 0.5), 2), "p95": round(percentile(times, 0.95), 2),
                         "mean": round(sum(times) / len(times), 2)}
        results[name]["ms_per_query"] = latency[name]["mean"]
        print(f"{name:20} {results[name]} latency {latency[name]} build {build_ms[name]}", flush=True)

    # the shipped default, with its own min_score: how often it answers, and how often that answer is right
    os.environ["HARK_CACHE"] = tempfile.mkdtemp()
    defaults = {t_: Resolver.from_values(c, kind=t_) for t_, c in catalogs.items()}
    answered = [defaults[r.entity_type].resolve(r.heard_span, k=1) for r in rows]
    right = sum(bool(a) and a[0].value == r.gold_value for a, r in zip(answered, rows))
    n_ans = sum(bool(a) for a in answered)
    default_name = f"ours_{default}" if default_encoder == "hashed" else f"ours_learned_{default}"
    with_threshold = {"preset": default, "encoder": default_encoder, "min_score": defaults["person"].min_score,
                      "answered": round(100.0 * n_ans / len(rows), 1),
                      "right_when_answered": round(100.0 * right / max(1, n_ans), 1),
                      "answered_changed": round(100.0 * sum(bool(a) for a, r in zip(answered, rows) if r.changed)
                                                / sum(r.changed for r in rows), 1)}
    print(f"default with min_score: {with_threshold}", flush=True)

    nbest = pseudo_nbest(rows, catalogs, default)
    print(f"pseudo n-best: {nbest}", flush=True)

    sizes = {t_: len(c) for t_, c in catalogs.items()}
    return {
        "benchmark": "entity_slurp",
        "data": "slurp/entity_resolution_dev.tsv, held-out 'test' part (training.entity_data.split_rows); catalogs "
                "entity_catalogs_dev/<type>.txt",
        "rows": len(rows), "changed_rows": sum(r.changed for r in rows),
        "split_sizes": dict(Counter(r.split for r in rows_all)),
        "catalogs": {"types": len(sizes), "entries": sum(sizes.values()), "largest": max(sizes.values())},
        "top1": results,
        "default": default_name,
        "default_with_min_score": with_threshold,
        "reference_all_dev_rows": {k: {"all": a, "changed": c} for k, (a, c) in REFERENCE.items()},
        "error_analysis": error_analysis(rows, predictions),
        "error_analysis_all_dev_rows": error_analysis(rows_all, {}),
        "pseudo_nbest": nbest,
        "latency_ms": latency,
        "build_ms": build_ms,
        "packages": {"double_metaphone": "metaphone (PyPI) doublemetaphone()", "metaphone": "jellyfish.metaphone"},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bench", choices=["slurp"], default="slurp")
    ap.add_argument("--out", type=Path, default=None, help="default: benchmarks/results/entity_<bench>.json")
    args = ap.parse_args()
    t0 = time.time()
    report = bench_slurp(args)
    import onnxruntime

    report["machine"] = {"python": platform.python_version(), "cpu_count": os.cpu_count(),
                         "processor": platform.processor() or platform.machine(),
                         "onnxruntime": onnxruntime.__version__, "threads": 1}
    report["seconds"] = round(time.time() - t0, 1)
    stamp(report)
    out = args.out or ROOT / "benchmarks" / "results" / f"entity_{args.bench}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
