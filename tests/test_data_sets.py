"""Checks on the public data sets (`make test-data`; they need ../shared/data or $HARK_DATA and skip without it):
the committed benchmark artifacts still answer the data sets' own test sentences through `hark.Engine.parse`.

Sanity floors, not the benchmark numbers (benchmarks/intent_engine.py measures those on every sentence)."""
from __future__ import annotations

import random

import pytest

from conftest import ROOT
from hark import Engine, load_config
from hark.config import data_dir
from hark.plugins.intent import intent_name_for_label

pytestmark = pytest.mark.data


def _rows(dataset: str, n: int = 300) -> list[tuple[str, str]]:
    folder = data_dir() / dataset / "test"
    if not (folder / "seq.in").is_file():
        pytest.skip(f"{dataset} test split not found in HARK_DATA ({folder})")
    texts = (folder / "seq.in").read_text(encoding="utf-8").splitlines()
    labels = (folder / "label").read_text(encoding="utf-8").splitlines()
    rows = list(zip(texts, labels))
    random.Random(0).shuffle(rows)
    return rows[:n]


@pytest.mark.parametrize("dataset, floor", [("snips", 0.95), ("atis", 0.93)])
def test_benchmark_artifact_answers_its_test_set(dataset, floor):
    rows = _rows(dataset)
    config = ROOT / "benchmarks" / "artifacts" / dataset / "config.yaml"
    with Engine(load_config(config, env={})) as engine:
        right = 0
        for text, label in rows:
            best = engine.parse(text).best
            right += best is not None and best.intent == intent_name_for_label(label)
    assert right / len(rows) >= floor, (dataset, right, len(rows))


def test_a_run_with_another_seed_reads_the_builds_own_slurp_splits():
    """SLURP has no valid split of its own: a fixed draw of its training pool is one. A QAT run with another
    --seed once drew another, so it chose its epoch partly on sentences the build had trained on."""
    from argparse import Namespace

    from training.splits import load_splits

    if not (data_dir() / "slurp" / "devel.jsonl").is_file():
        pytest.skip(f"SLURP not found in HARK_DATA ({data_dir() / 'slurp'})")
    train, valid, test = load_splits(Namespace(dataset="slurp", seed=13))
    _, valid_other_seed, _ = load_splits(Namespace(dataset="slurp", seed=1))
    assert [e.words for e in valid_other_seed] == [e.words for e in valid]
    trained = {" ".join(e.words) for e in train}
    assert valid and not any(" ".join(e.words) in trained for e in valid)
    assert not any(" ".join(e.words) in trained for e in test)
