"""benchmarks/report.py renders docs/benchmarks.md from result files: a tiny synthetic results folder (fast)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import report  # noqa: E402

MAIN, OTHER = "a" * 40, "b" * 40


def prov(commit: str, **extra) -> dict:
    return {"commit": commit, "dirty": False, "dirty_files": [], "command": "python benchmarks/x.py",
            "started_utc": "2026-12-04T10:00:00+00:00", "ended_utc": "2026-12-04T10:01:00+00:00", "seconds": 60.0,
            "load_average_start": [1.2, 1, 1], "load_average_end": [1.6, 1, 1], "cpus": 2, **extra}


def write(folder: Path, name: str, data: dict) -> None:
    (folder / name).write_text(json.dumps(data), encoding="utf-8")


def test_report_renders_flags_other_commits_and_judges_targets_through_the_engine(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    write(results, "time_expressions.json", {"table": "tests/data/time_expressions.tsv", "rows": 10, "right": 10,
                                             "accuracy": 1.0, "wrong": [], "provenance": prov(MAIN)})
    # the bare model meets ATIS's slot target, Engine.parse does not: the target follows Engine.parse
    write(results, "intent_atis.json", {
        "metrics": {"intent_acc": 97.8, "slot_f1": 95.9, "sentence_acc": 87.7}, "size_bytes": {"int8": 9_800_000},
        "latency_ms": {"nbest5": {"p50_ms": 16.0, "p95_ms": 25.0}},
        "targets": {"intent_acc": {"target": 97.5, "value": 97.8, "met": True},
                    "slot_f1": {"target": 95.5, "value": 95.9, "met": True}}, "provenance": prov(MAIN)})
    write(results, "intent_engine_atis.json", {"intent_acc": 97.76, "slot_f1": 95.1, "sentence_acc": 85.8,
                                               "provenance": prov(OTHER)})
    write(results, "g2p.json", {"test_words": 5, "variants": {"int8": {"per": 8.0, "wer": 30.0,
                                                                       "latency_ms": {"p50": 4.0}}}})
    out = tmp_path / "benchmarks.md"
    assert report.main(["--results-dir", str(results), "--out", str(out), "--commit", MAIN,
                        "--root", str(tmp_path)]) == 0
    doc = out.read_text(encoding="utf-8")
    assert "**10/10 right**" in doc and "`benchmarks/results/time_expressions.json` (commit aaaaaaa" in doc
    assert "load 1.2-1.6" in doc
    # the section from another commit says so, the one from the report's commit does not
    assert "**Measured at another commit:** `intent_engine_atis.json` at bbbbbbb, not at aaaaaaa." in doc
    assert "`time_expressions.json` at" not in doc
    assert "| SNIPS/ATIS | ATIS slot F1 >= 95.5 (Engine.parse) | 95.10 % | **missed** |" in doc
    assert "| ATIS, bare model | 97.80 % | 95.90 % |" in doc
    # no provenance: flagged as not re-measured; absent files: named as missing
    assert "**Not re-measured:** `g2p.json` has no provenance" in doc
    assert "*Not measured: `benchmarks/results/requests.json` is missing" in doc


def test_lowbit_section_averages_seeds_and_judges_targets_on_the_mean(tmp_path):
    results = tmp_path / "results"
    results.mkdir()

    def row(intent, loss, size=0.08):
        return {"bytes": 3_000_000, "size_vs_fp32": size, "intent_acc": intent, "intent_rel_loss_pct": loss,
                "slot_f1": 94.0, "sentence_acc": 86.0, "rss_mb": 155.0, "nbest5_ms": {"p50": 4.5}}
    variants = {"fp32": row(99.14, 0.0, 1.0), "squash2": row(98.43, 0.72), "squash2_s1": row(97.8, 1.35),
                "squash4": row(99.14, 0.0)}
    arms = {"fp32": {"seeds": 1}, "squash4": {"seeds": 1},
            "squash2": {"seeds": 2, "intent_acc": {"mean": 98.12, "std": 0.45},
                        "intent_rel_loss_pct": {"mean": 1.04, "std": 0.45}}}
    write(results, "lowbit.json", {"models": {"snips/snips4": {"dataset": "snips", "config": {"n_layers": 4,
                                              "d_model": 384}, "parameters": 9_475_286, "variants": variants,
                                              "arms": arms}}, "provenance": prov(MAIN)})
    out = tmp_path / "benchmarks.md"
    assert report.main(["--results-dir", str(results), "--out", str(out), "--commit", MAIN,
                        "--root", str(tmp_path)]) == 0
    doc = out.read_text(encoding="utf-8")
    assert "| 2-bit squashed QAT | 2 | 3.00 | 0.080 | 98.12 ± 0.45 | +1.04 ± 0.45 |" in doc
    assert "squashed 2-bit ≤ 1.0 % relative intent loss vs fp32 (mean of 2 seeds) | +1.04 % | **missed** |" in doc
    assert "squashed 4-bit ≤ 0.3 % relative intent loss vs fp32 (one seed) | +0.00 % | **met** |" in doc
