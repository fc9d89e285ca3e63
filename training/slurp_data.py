"""SLURP / HWU64 in BIO form for the joint model (issue 4, item 7).

Both corpora annotate entities inline as ``[type : words]``; intents are ``scenario_action`` (HWU64:
``scenario_intent``, the same label space). Training data = HWU64 train + SLURP devel, with every HWU64 sentence
that also occurs in the SLURP test_dev half removed (the two share sentences, see slurp/README.md), so the test
numbers are not inflated by memorised sentences.
"""
from __future__ import annotations

import csv
import json
import random
import re
import sys
from pathlib import Path
from typing import Sequence

from hark.text import tokenize

from .data import Example, data_dir

__all__ = ["parse_annotation", "slurp_splits", "normalise", "pseudo_labelled", "heard_examples", "test_dev_sentences"]

_ENTITY = re.compile(r"\[\s*([A-Za-z_]+)\s*:\s*([^\]]*?)\s*\]")


def normalise(text: str) -> str:
    return " ".join(t.text for t in tokenize(text))


def parse_annotation(annotated: str, intent: str) -> Example:
    """``wake me up at [time : nine am]`` -> words + BIO tags (hark tokens)."""
    words: list[str] = []
    tags: list[str] = []
    pos = 0
    for m in _ENTITY.finditer(annotated):
        for t in tokenize(annotated[pos:m.start()]):
            words.append(t.text)
            tags.append("O")
        inner = [t.text for t in tokenize(m.group(2))]
        words.extend(inner)
        tags.extend([f"B-{m.group(1)}"] + [f"I-{m.group(1)}"] * (len(inner) - 1) if inner else [])
        pos = m.end()
    for t in tokenize(annotated[pos:]):
        words.append(t.text)
        tags.append("O")
    return Example(words, tags, intent, list(words), list(tags), list(range(len(words))))


def _slurp(name: str) -> list[dict]:
    with (data_dir() / "slurp" / name).open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def test_dev_sentences() -> set[str]:
    """SLURP test_dev's sentences, normalised: text that must never enter training or a recogniser's LM. Both
    forms of each: its ``sentence`` and the words of its ``sentence_annotation``, which is sometimes spelled
    otherwise ("rihana" for "rihanna", "tesco" for "this pasta") and is what a test example's words are."""
    rows = _slurp("test_dev.jsonl")
    return ({normalise(r["sentence"]) for r in rows}
            | {" ".join(parse_annotation(r["sentence_annotation"], r["intent"]).words) for r in rows})


def slurp_splits(valid_fraction: float = 0.05, seed: int = 13, pseudo: Path | None = None,
                 min_prob: float = 0.8, asr_hyps: Sequence[Path] = ()
                 ) -> tuple[list[Example], list[Example], list[Example]]:
    """(train, valid, test): HWU64 train + SLURP devel (deduplicated against test_dev) / a random valid part /
    SLURP test_dev gold sentences. With ``pseudo`` (a trained build), train also gets SLURP's unannotated LM
    sentences as that model reads them (:func:`pseudo_labelled`). With ``asr_hyps`` (TSVs of
    ``training.asr_hypotheses``), train also gets what our recogniser heard for its sentences
    (:func:`heard_examples`)."""
    test_rows = _slurp("test_dev.jsonl")
    test_norm = test_dev_sentences()
    pool: dict[str, Example] = {}
    for r in _slurp("devel.jsonl"):
        ex = parse_annotation(r["sentence_annotation"], r["intent"])
        if " ".join(ex.words) not in test_norm and normalise(r["sentence"]) not in test_norm:
            pool.setdefault(" ".join(ex.words), ex)
    with (data_dir() / "nlu_evaluation_data_hwu64" / "train.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh, delimiter=";"):
            ex = parse_annotation(row["answer_annotation"], f"{row['scenario']}_{row['intent']}")
            key = " ".join(ex.words)
            if key and key not in test_norm:
                pool.setdefault(key, ex)
    data = [e for k, e in sorted(pool.items()) if e.words]
    random.Random(seed).shuffle(data)
    n_valid = int(len(data) * valid_fraction)
    test = [parse_annotation(r["sentence_annotation"], r["intent"]) for r in test_rows]
    train, valid = data[n_valid:], data[:n_valid]
    if pseudo is not None:  # never a test_dev sentence, nor one already labelled (train or valid: the pool)
        train += pseudo_labelled(pseudo, test_norm | set(pool), min_prob)
    typed = list(train)
    for path in asr_hyps:
        train += heard_examples(path, typed)
    return train, valid, test


def heard_examples(path: Path, train: list[Example]) -> list[Example]:
    """A recogniser's hypotheses of training sentences, with the sentence's intent and its tags carried over by a
    word alignment (``training.asr_hypotheses.transfer_tags``). Only hypotheses that differ from their sentence;
    a reference that is not a training sentence (valid, test) is refused, not skipped."""
    from .asr_hypotheses import read_hypotheses, transfer_tags

    by_words = {" ".join(e.words): e for e in train}
    out = []
    for ref, hyps in read_hypotheses(path).items():
        ex = by_words.get(ref)
        if ex is None:
            raise ValueError(f"{path}: {ref!r} is not a training sentence; only training sentences may be heard")
        for hyp in hyps:
            words = normalise(hyp).split()
            if words and words != ex.words:
                tags = transfer_tags(ex.words, ex.tags, words)
                out.append(Example(words, tags, ex.intent, list(words), list(tags), list(range(len(words)))))
    print(f"heard: {len(out)} hypotheses that differ from their training sentence ({path})", file=sys.stderr)
    return out


def pseudo_labelled(build: Path, exclude: set[str], min_prob: float = 0.8) -> list[Example]:
    """Self-training data: SLURP's unannotated LM sentences (the same kind of Alexa requests, training-side text),
    labelled by the fp32 model of ``build`` (intent and Viterbi slot tags), keeping those it reads with intent
    probability >= ``min_prob``. Sentences in ``exclude`` (test_dev, valid, already labelled) are never used."""
    from .data import slurp_lm_texts
    from .onnx_eval import OnnxJoint

    texts = sorted({normalise(t) for t in slurp_lm_texts()} - exclude - {""})
    model = OnnxJoint(build, "model.fp32.onnx", threads=1)
    out = []
    for s in range(0, len(texts), 64):
        batch = [t.split() for t in texts[s:s + 64]]
        for words, parsed in zip(batch, model.parse(batch)):
            if parsed.intent_prob >= min_prob:
                out.append(Example(words, parsed.tags, parsed.intent, list(words), list(parsed.tags),
                                   list(range(len(words)))))
    print(f"pseudo-labelled: {len(out)} of {len(texts)} LM sentences at intent probability >= {min_prob} "
          f"({build})", file=sys.stderr)
    return out
