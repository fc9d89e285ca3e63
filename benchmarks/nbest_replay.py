"""Replay saved n-best lists through the NLU with other settings, without decoding audio again.

    python benchmarks/audio.py --voices en-us+m4,en-us+f1 --save-rows /tmp/dev.json --out /tmp/dev_audio.json
    python benchmarks/nbest_replay.py /tmp/dev.json                        # the settings in config.yaml
    python benchmarks/nbest_replay.py /tmp/dev.json --set plugins.settings.intent_templates.unmatched_weight=0.3
    python benchmarks/nbest_replay.py /tmp/dev.json --nbest 5 --errors 20  # the first 5 hypotheses; print misses

Each row of ``--save-rows`` holds the utterance's n-best list with its posteriors, the expected intent (null for an
out-of-scope sentence) and slots. The replay parses the list with ``Engine.parse`` exactly as the audio path does
and reports, per condition: intent accuracy with the n-best list and with the 1-best alone, the n-best oracle (some
hypothesis of the list, parsed alone, gives the right intent), slot value accuracy and out-of-scope false accepts.
``--nbest K`` keeps the first K hypotheses (renormalised, as the recogniser does with ``nbest: K``).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from _bench import stamp  # noqa: E402  (benchmarks/ is this script's folder: first on sys.path)
from templates import NOW, values_match  # noqa: E402

from hark import Engine, load_config  # noqa: E402
from hark.plugins.asr_pocketsphinx import AsrSettings, nbest_posteriors  # noqa: E402


def make_engine(overrides: dict[str, Any] | None = None) -> Engine:
    """A text-only engine (no VAD, no recogniser) with config.yaml plus dotted-key ``overrides``."""
    overrides = dict(overrides or {})
    disabled = list(overrides.pop("plugins.disabled", [])) + ["vad", "asr_pocketsphinx"]
    return Engine(load_config(ROOT / "config.yaml", env={}, **{"plugins.disabled": disabled}, **overrides))


def asr_settings(changes: dict[str, Any] | None = None) -> AsrSettings:
    """The recogniser settings of config.yaml, with ``changes``."""
    config = load_config(ROOT / "config.yaml", env={})
    return dataclasses.replace(config.plugin_settings("asr_pocketsphinx", AsrSettings), **(changes or {}))


def nbest_of(row: dict, k: int | None = None, asr: AsrSettings | None = None) -> list[tuple[str, float]]:
    """The row's n-best list: as saved, or (``asr`` given and the row has the recogniser's raw decode) rebuilt
    with those recogniser settings (score_scale, generic_weight, fallback, fallback_confidence, nbest). Replaying
    the fallback exactly needs rows decoded with ``--fallback always`` (else a generic transcription exists only
    where the decode's own threshold asked for one)."""
    raw = row.get("asr_raw")
    if asr is not None and raw is not None:
        generic = [tuple(g) for g in raw["generic"]]
        if asr.fallback == "never" or (asr.fallback == "auto" and raw["confidence"] >= asr.fallback_confidence):
            generic = []
        hyps = nbest_posteriors([tuple(r) for r in raw["skill"]], raw["confidence"], generic, asr)
    else:
        hyps = [(h["text"], float(h["score"])) for h in (row.get("nbest") or []) if h.get("text")]
    if k:
        hyps = hyps[:k]
    total = sum(s for _, s in hyps)
    return [(t, s / total) for t, s in hyps] if total > 0 else hyps


def _intent(result: Any) -> tuple[str | None, dict]:
    if result.action is None:
        return None, {}
    return f"{result.action.skill}.{result.action.intent}", {s.name: s.value for s in result.action.slots}


def replay(engine: Engine, rows: Iterable[dict], k: int | None = None, oracle: bool = True,
           asr: AsrSettings | None = None) -> list[dict]:
    """Every row parsed again: what the engine chose from the list, from the 1-best, and the oracle."""
    ctx = engine.context(now=NOW)
    alone: dict[str, str | None] = {}

    def parse_alone(text: str) -> str | None:
        if text not in alone:
            alone[text] = _intent(engine.parse(text, ctx))[0]
        return alone[text]

    out = []
    for row in rows:
        hyps = nbest_of(row, k, asr)
        expected = row["expected"]
        intent, slots = _intent(engine.parse(hyps, ctx)) if hyps else (None, {})
        exp_slots = row.get("expected_slots") or {}
        ok = intent == expected
        s_ok = sum(1 for name, v in exp_slots.items() if name in slots and values_match(v, slots[name])) if ok else 0
        out.append({
            "condition": row["condition"], "voice": row["voice"], "text": row["text"], "expected": expected,
            "heard": [t for t, _ in hyps], "scores": [round(s, 4) for _, s in hyps], "intent": intent,
            "intent_ok": ok, "slots_ok": s_ok, "slots_n": len(exp_slots),
            "one_best_intent": parse_alone(hyps[0][0]) if hyps else None,
            "oracle_ok": (expected is None or any(parse_alone(t) == expected for t, _ in hyps)) if oracle else None,
        })
    return out


def summarise(replayed: list[dict]) -> dict[str, dict]:
    by: dict[str, list[dict]] = defaultdict(list)
    for r in replayed:
        by[r["condition"]].append(r)
    report = {}
    for condition, sel in by.items():
        pos = [r for r in sel if r["expected"] is not None]
        neg = [r for r in sel if r["expected"] is None]
        n = max(1, len(pos))
        report[condition] = {
            "utterances": len(pos),
            "intent_accuracy": round(sum(r["intent_ok"] for r in pos) / n, 4),
            "intent_accuracy_1best": round(sum(r["one_best_intent"] == r["expected"] for r in pos) / n, 4),
            "nbest_oracle_accuracy": round(sum(bool(r["oracle_ok"]) for r in pos) / n, 4),
            "slot_value_accuracy": round(sum(r["slots_ok"] for r in pos) / max(1, sum(r["slots_n"] for r in pos)), 4),
            "rejected_in_scope": sum(r["intent"] is None for r in pos),
            "out_of_scope_utterances": len(neg),
            "out_of_scope_false_accepts": sum(r["intent"] is not None for r in neg),
        }
    return report


def parse_sets(items: list[str]) -> dict[str, Any]:
    """``a.b.c=value`` pairs (values read as YAML) as dotted config overrides for ``load_config``."""
    overrides: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise SystemExit(f"--set expects KEY=VALUE, got {item!r}")
        overrides[key.strip()] = yaml.safe_load(value)
    return overrides


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("rows", type=Path, help="a --save-rows file of benchmarks/audio.py")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="config override, e.g. engine.min_confidence=0.4 (repeatable)")
    ap.add_argument("--nbest", type=int, help="keep only the first K hypotheses of each list")
    ap.add_argument("--asr", action="append", default=[], metavar="KEY=VALUE",
                    help="rebuild each list from the recogniser's raw decode with this asr_pocketsphinx setting "
                         "(score_scale, generic_weight, fallback, fallback_confidence, nbest; repeatable); the "
                         "other settings come from config.yaml")
    ap.add_argument("--condition", help="only rows of this condition (clean, noisy)")
    ap.add_argument("--errors", type=int, default=0, metavar="N", help="print the first N misses")
    ap.add_argument("--out", type=Path, help="also write the summary and every replayed row as JSON")
    args = ap.parse_args()
    rows = json.loads(args.rows.read_text())
    if args.condition:
        rows = [r for r in rows if r["condition"] == args.condition]
    overrides = parse_sets(args.set)
    asr = None
    if args.asr:
        asr = asr_settings({k.split(".")[-1]: v for k, v in parse_sets(args.asr).items()})
    with make_engine(overrides) as engine:
        replayed = replay(engine, rows, args.nbest, asr=asr)
    report = summarise(replayed)
    for condition, s in report.items():
        print(condition, json.dumps(s))
    for r in [r for r in replayed if not r["intent_ok"]][: args.errors]:
        print(f"- {r['voice']:10} expected {r['expected']} got {r['intent']} (1-best {r['one_best_intent']}, "
              f"oracle {r['oracle_ok']}): {r['text']!r}")
        for t, s in zip(r["heard"], r["scores"]):
            print(f"      {s:.3f} {t}")
    if args.out:
        args.out.write_text(json.dumps(stamp({"settings": overrides, "asr": args.asr, "nbest": args.nbest,
                                              "summary": report, "rows": replayed}), indent=1) + "\n")


if __name__ == "__main__":
    main()
