"""Times people mean: the hand-written table tests/data/time_expressions.tsv run through the whole engine.

Each row is a full utterance to a bundled skill, a context clock and the datetime slot value the product policy
(docs/time-expressions.md) expects. A row is right when the chosen action has that slot with exactly that ISO
time and grain. Writes benchmarks/results/time_expressions.json: rows tried, right, accuracy, every wrong row
with what came out.

Optionally (``--duckling PATH``) also runs the English examples of Duckling's time corpus
(Duckling/Time/EN/Corpus.hs, reference time Tuesday 2013-02-12 04:30 -02:00) through the datetime slot parser
alone and reports how many of the instant (non-interval) examples it reads to the same minute; Duckling covers
far more than an assistant's time slot (intervals, holidays, "last year"), so this is a coverage figure, not a
target.

    .venv/bin/python benchmarks/time_expressions.py [--table tests/data/time_expressions.tsv] [--duckling Corpus.hs]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "tests" / "data" / "time_expressions.tsv"
RESULTS = ROOT / "benchmarks" / "results" / "time_expressions.json"
sys.path.insert(0, str(ROOT / "benchmarks"))

from _bench import stamp  # noqa: E402  (benchmarks/ is this script's folder: first on sys.path)


@dataclass(frozen=True)
class Row:
    utterance: str
    now: str
    slot: str
    iso: str
    grain: str
    note: str = ""


def load_rows(path: Path = TABLE) -> list[Row]:
    """The table's rows; lines starting with '#' are its README."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        rows.append(Row(*cols[:5], note=cols[5] if len(cols) > 5 else ""))
    return rows


def got_value(engine, row: Row) -> object:
    """The row's slot value on the action the engine chooses (None when there is no action or no such slot)."""
    result = engine.parse(row.utterance, engine.context(now=row.now))
    if result.action is None:
        return None
    slot = next((s for s in result.action.slots if s.name == row.slot), None)
    return None if slot is None else slot.value


def run_table(engine, rows: list[Row]) -> dict:
    wrong = []
    for row in rows:
        got = got_value(engine, row)
        if got != {"iso": row.iso, "grain": row.grain}:
            wrong.append({"utterance": row.utterance, "now": row.now, "expected": {"iso": row.iso, "grain": row.grain},
                          "got": got, "note": row.note})
    right = len(rows) - len(wrong)
    return {"rows": len(rows), "right": right, "accuracy": round(right / len(rows), 4) if rows else 0.0,
            "wrong": wrong}


# --------------------------------------------------------------------------------------------------- Duckling

_DUCKLING_NOW = dt.datetime(2013, 2, 12, 4, 30, tzinfo=dt.timezone(dt.timedelta(hours=-2)))
_EXAMPLE = re.compile(r"examples\s*\(\s*datetime\s*\((\d+),\s*(\d+),\s*(\d+),\s*(\d+),\s*(\d+),\s*(\d+)\)\s*"
                      r"(\w+)\s*\)\s*\[(.*?)\]", re.S)
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')


def duckling_examples(path: Path) -> list[tuple[str, str, str]]:
    """(phrase, expected minute "YYYY-MM-DDTHH:MM", Duckling grain) of the corpus's instant examples."""
    out = []
    for m in _EXAMPLE.finditer(path.read_text(encoding="utf-8")):
        y, mo, d, h, mi, _s = (int(x) for x in m.group(1, 2, 3, 4, 5, 6))
        expected = f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}"
        for phrase in _STRING.findall(m.group(8)):
            out.append((phrase, expected, m.group(7).lower()))
    return out


def run_duckling(path: Path) -> dict:
    from hark.plugins.slot_parsers import parse_datetime

    examples = duckling_examples(path)
    read = same = 0
    for phrase, expected, _grain in examples:
        value = parse_datetime(phrase, _DUCKLING_NOW)
        if value is None:
            continue
        read += 1
        same += value["iso"][:16] == expected
    return {"corpus": str(path), "instant_examples": len(examples), "parsed": read, "same_minute": same,
            "same_minute_share": round(same / len(examples), 4) if examples else 0.0,
            "note": "Duckling reads far more than a time slot needs (intervals are left out; holidays, "
                    "'last year' are not in hark's scope); a coverage figure, not a target"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--table", type=Path, default=TABLE)
    parser.add_argument("--duckling", type=Path, help="Duckling/Time/EN/Corpus.hs, if you have it")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    import hark

    started = time.perf_counter()
    with hark.Engine.from_config() as engine:
        report = {"table": str(args.table.relative_to(ROOT) if args.table.is_relative_to(ROOT) else args.table),
                  **run_table(engine, load_rows(args.table))}
    report["seconds"] = round(time.perf_counter() - started, 1)
    if args.duckling:
        report["duckling"] = run_duckling(args.duckling)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(stamp(report), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{report['right']}/{report['rows']} right ({report['accuracy']:.1%}); wrong rows:")
    for w in report["wrong"]:
        print(f"  {w['utterance']!r} @ {w['now']}: expected {w['expected']}, got {w['got']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
