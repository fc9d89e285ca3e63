"""Data loaders for the joint intent + slot model (training side only).

Every loader returns text exactly as the runtime will see it: lower-cased words from ``hark.text.tokenize``.

* :func:`load_bio` reads the SlotGated-SLU BIO format (``seq.in``, ``seq.out``, ``label``) used by SNIPS and ATIS and
  re-tokenises each line with ``hark.text.tokenize``. The data sets were tokenised by whitespace, so a few tokens
  split differently (``top-rated`` -> ``top rated``, ``2/7/2021`` -> ``2 7 2021``, ``st.`` -> ``st``) or vanish
  (``&``, ``/``, ``-``). Tags are carried over as follows: a token that splits into k pieces keeps its tag on the
  first piece and the others continue its span (``B-x`` -> ``B-x I-x ...``, ``I-x`` -> ``I-x I-x ...``, ``O`` ->
  ``O O ...``); a token that vanishes is dropped, and if it opened a span (``B-x``) the next token's ``I-x`` becomes
  ``B-x``. Each example keeps ``src`` (for every hark token, the index of the original token it came from), so
  predictions can be mapped back to the original tokens and scored like the literature does (see
  :func:`to_original_tags`).
* :func:`hwu64_texts`, :func:`slurp_texts`, :func:`top_texts`, :func:`skill_texts` give plain normalised sentences
  for the tokenizer corpus (and, later, out-of-scope negatives with their intent labels).

Data lives in ``$HARK_DATA`` (default ``../shared/data`` next to the repository); nothing is copied into the project.
"""
from __future__ import annotations

import csv
import json
import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from hark.text import tokenize

ROOT = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    env = os.environ.get("HARK_DATA")
    return Path(env) if env else (ROOT.parent / "shared" / "data")


@dataclass
class Example:
    words: list[str]  # hark tokens (lower-cased)
    tags: list[str]  # one BIO tag per hark token
    intent: str
    orig_words: list[str] = field(default_factory=list)  # the data set's own tokens
    orig_tags: list[str] = field(default_factory=list)
    src: list[int] = field(default_factory=list)  # hark token i comes from orig token src[i]


def _retag(words: list[str], tags: list[str]) -> tuple[list[str], list[str], list[int]]:
    out_w: list[str] = []
    out_t: list[str] = []
    src: list[int] = []
    pending_b: str | None = None  # a B-x whose token vanished: the next I-x of the same type opens the span
    for i, (w, t) in enumerate(zip(words, tags)):
        pieces = [tok.text for tok in tokenize(w)]
        if not pieces:
            if t.startswith("B-"):
                pending_b = t[2:]
            continue
        if pending_b is not None:
            if t == "I-" + pending_b:
                t = "B-" + pending_b
            pending_b = None
        for k, p in enumerate(pieces):
            out_w.append(p)
            src.append(i)
            if k == 0 or t == "O":
                out_t.append(t)
            else:
                out_t.append("I-" + t[2:])
    return out_w, out_t, src


def repair_bio(tags: list[str]) -> list[str]:
    """An ``I-x`` that does not continue an ``x`` span starts one (the repair rule; conlleval does the same)."""
    out = []
    prev = "O"
    for t in tags:
        if t.startswith("I-") and (prev == "O" or prev[2:] != t[2:]):
            t = "B-" + t[2:]
        out.append(t)
        prev = t
    return out


def load_bio(dataset: str, split: str) -> list[Example]:
    d = data_dir() / dataset / split
    seqs = (d / "seq.in").read_text(encoding="utf-8").splitlines()
    outs = (d / "seq.out").read_text(encoding="utf-8").splitlines()
    labels = (d / "label").read_text(encoding="utf-8").splitlines()
    assert len(seqs) == len(outs) == len(labels), d
    examples = []
    for s, o, lab in zip(seqs, outs, labels):
        ow, ot = s.split(), o.split()
        assert len(ow) == len(ot), (s, o)
        w, t, src = _retag(ow, ot)
        # sanity: the runtime path (tokenize the joined sentence) gives the same tokens
        assert w == [tok.text for tok in tokenize(" ".join(ow))], s
        examples.append(Example(w, repair_bio(t), lab.strip(), ow, ot, src))
    return examples


def to_original_tags(ex: Example, pred: list[str]) -> list[str]:
    """Map per-hark-token predictions back onto the data set's tokens (for scoring against ``orig_tags``).

    An original token takes the tag of its first hark token. A token that vanished (``&``) continues the span around
    it when the previous token is inside a span of type x and the next one predicts ``I-x``; otherwise it is ``O``.
    """
    n = len(ex.orig_words)
    first: dict[int, int] = {}
    for j, s in enumerate(ex.src):
        first.setdefault(s, j)
    out: list[str | None] = [pred[first[i]] if i in first else None for i in range(n)]
    for i in range(n):
        if out[i] is None:
            prev = next((out[k] for k in range(i - 1, -1, -1) if out[k] is not None), "O")
            nxt = next((out[k] for k in range(i + 1, n) if out[k] is not None), "O")
            if prev != "O" and nxt.startswith("I-") and prev[2:] == nxt[2:]:
                out[i] = "I-" + prev[2:]
            else:
                out[i] = "O"
    return out  # type: ignore[return-value]


# ------------------------------------------------------------------------------------------ plain-text corpora


def _norm(text: str) -> str:
    return " ".join(t.text for t in tokenize(text))


def hwu64_rows(split: str = "train") -> Iterator[tuple[str, str]]:
    """(normalised sentence, scenario_intent) from HWU64 (CC BY 4.0)."""
    path = data_dir() / "nlu_evaluation_data_hwu64" / f"{split}.csv"
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter=";"):
            text = _norm(row.get("answer_from_anno") or row.get("answer_from_user") or "")
            if text:
                yield text, f"{row['scenario']}_{row['intent']}"


def slurp_rows(name: str = "devel.jsonl") -> Iterator[tuple[str, str]]:
    """(normalised sentence, intent) from a SLURP jsonl file (text CC BY 4.0)."""
    with (data_dir() / "slurp" / name).open(encoding="utf-8") as f:
        for line in f:
            obj = json.loads(line)
            text = _norm(obj["sentence"])
            if text:
                yield text, obj["intent"]


def slurp_lm_texts() -> Iterator[str]:
    with (data_dir() / "slurp" / "lm_train_sentences.txt").open(encoding="utf-8") as f:
        for line in f:
            text = _norm(line)
            if text:
                yield text


def top_texts() -> Iterator[str]:
    """Utterances of TOP's (reconstructed) train split (CC BY-SA)."""
    path = data_dir() / "top" / "train_reconstructed.tsv"
    with path.open(encoding="utf-8") as f:
        for line in f:
            text = _norm(line.split("\t", 1)[0])
            if text:
                yield text


def skill_texts(skills_dir: Path | None = None, per_example: int = 50, seed: int = 0) -> Iterator[str]:
    """Sentences expanded from the bundled skills' example templates (slot examples filled in where given)."""
    import yaml

    from hark.skills import SlotRef, Word, expand_template, parse_template

    rng = random.Random(seed)
    for path in sorted((skills_dir or ROOT / "skills").glob("*/skill.yaml")):
        spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for intent in (spec.get("intents") or {}).values():
            for ex in intent.get("examples") or []:
                try:
                    sents = list(expand_template(parse_template(str(ex)), limit=5000))
                except ValueError:
                    continue
                rng.shuffle(sents)
                for seq in sents[:per_example]:
                    words = []
                    for item in seq:
                        if isinstance(item, Word):
                            words.append(item.text)
                        elif isinstance(item, SlotRef) and item.example:
                            words.append(_norm(item.example))
                    text = " ".join(w for w in words if w)
                    if text:
                        yield text


def tokenizer_corpus(include_skills: bool = True) -> list[str]:
    """Training-side text only: SNIPS/ATIS train, HWU64 train, SLURP devel + LM sentences, TOP train, skills."""
    texts: list[str] = []
    for ds in ("snips", "atis"):
        texts += [" ".join(ex.words) for ex in load_bio(ds, "train")]
    texts += [t for t, _ in hwu64_rows("train")]
    texts += [t for t, _ in slurp_rows("devel.jsonl")]
    texts += list(slurp_lm_texts())
    texts += list(top_texts())
    if include_skills:
        texts += list(skill_texts())
    return texts


if __name__ == "__main__":
    for ds in ("snips", "atis"):
        for sp in ("train", "valid", "test"):
            exs = load_bio(ds, sp)
            changed = sum(ex.words != ex.orig_words for ex in exs)
            print(f"{ds}/{sp}: {len(exs)} examples, {changed} re-tokenised")
    print("tokenizer corpus:", len(tokenizer_corpus()), "sentences")
