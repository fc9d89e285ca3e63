"""Constrained BIO decoding and the scores of the benchmarks (numpy only: the benchmark needs no torch).

Decoding is Viterbi over log-softmax scores of each word's first piece, restricted to well-formed BIO: a sentence
starts with O or B-x; I-x may only follow B-x or I-x of the same type x, plus the model's tag-bigram prior. The
decoder is the runtime plugin's own code, so the scores here are what the engine gets.

Slot F1 is conlleval-style: exact spans (type, start, end), micro-averaged over all spans of the test set; an I-x
that does not continue an x span starts a new span (conlleval's rule; only gold tags can be malformed).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from hark.plugins.intent.model import allowed_transitions, viterbi_bio_batch, with_transition_prior


class BioDecoder:
    """The runtime's decoder (hark.plugins.intent.model): constrained Viterbi plus, when ``prior`` has a weight,
    weight * log P(tag | previous tag) from the training tags (meta.json ``slot_transition_prior``)."""

    def __init__(self, tags: list[str], prior: dict | None = None):
        self.tags = tags
        self.start, self.trans = with_transition_prior(*allowed_transitions(tags), prior, Path("meta.json"))

    def decode(self, logits: np.ndarray) -> list[str]:
        """logits: [n_words, n_tags] at each word's first piece -> tag names."""
        return self.decode_batch(logits[None], [len(logits)])[0]

    def decode_batch(self, logits: np.ndarray, lengths: list[int]) -> list[list[str]]:
        """logits: [batch, n_words_max, n_tags] (first pieces, left-aligned) -> tag names per row."""
        x = logits - logits.max(-1, keepdims=True)
        lp = x - np.log(np.exp(x).sum(-1, keepdims=True))
        return [[self.tags[j] for j in path] for path in viterbi_bio_batch(lp, lengths, self.start, self.trans)]


def transition_prior(tags: list[str], tag_lists: list[list[str]], smoothing: float = 0.1) -> dict:
    """log P(cur | prev) and log P(first tag) from training tag sequences (add-``smoothing``), rounded to 3 places."""
    idx = {t: i for i, t in enumerate(tags)}
    n = len(tags)
    counts = np.full((n + 1, n), smoothing)
    for seq in tag_lists:
        prev = n
        for t in seq:
            j = idx.get(t, 0)
            counts[prev, j] += 1
            prev = j
    lp = np.log(counts / counts.sum(1, keepdims=True))
    return {"start": np.round(lp[n], 3).tolist(), "log_probs": np.round(lp[:n], 3).tolist(), "weight": 0.0}


def spans(tags: list[str]) -> set[tuple[str, int, int]]:
    out = set()
    cur = None  # (type, start)
    for i, t in enumerate(list(tags) + ["O"]):
        if t == "O" or t.startswith("B-") or (t.startswith("I-") and (cur is None or cur[0] != t[2:])):
            if cur is not None:
                out.add((cur[0], cur[1], i))
                cur = None
            if t != "O":
                cur = (t[2:], i)
    return out


def score(gold_intents: list[str], pred_intents: list[str], gold_tags: list[list[str]],
          pred_tags: list[list[str]]) -> dict:
    n = len(gold_intents)
    tp = n_pred = n_gold = 0
    sent_ok = 0
    intent_ok = 0
    for gi, pi, gt, pt in zip(gold_intents, pred_intents, gold_tags, pred_tags):
        g, p = spans(gt), spans(pt)
        tp += len(g & p)
        n_pred += len(p)
        n_gold += len(g)
        intent_ok += gi == pi
        sent_ok += gi == pi and g == p
    prec = tp / n_pred if n_pred else 0.0
    rec = tp / n_gold if n_gold else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return {
        "n": n,
        "intent_acc": round(100 * intent_ok / n, 2),
        "slot_f1": round(100 * f1, 2),
        "slot_precision": round(100 * prec, 2),
        "slot_recall": round(100 * rec, 2),
        "sentence_acc": round(100 * sent_ok / n, 2),
    }


def decode_logits(logits, intents: list[str], decoder: BioDecoder) -> tuple[list[str], list[list[str]]]:
    """Intent argmax and decoded tags from [(intent_logits, first-piece slot logits, words cut)] per example."""
    pred_int = [intents[int(il.argmax())] for il, _, _ in logits]
    pred_tags = [decoder.decode(sl) + ["O"] * cut for _, sl, cut in logits]
    return pred_int, pred_tags


def evaluate(examples, pred_int: list[str], pred_tags: list[list[str]]) -> dict:
    """Scores on the data set's own tokens (comparable with published numbers) and on hark tokens."""
    from .data import to_original_tags

    orig = score([e.intent for e in examples], pred_int, [e.orig_tags for e in examples],
                 [to_original_tags(e, p) for e, p in zip(examples, pred_tags)])
    hark = score([e.intent for e in examples], pred_int, [e.tags for e in examples], pred_tags)
    orig["hark_tokens"] = {k: hark[k] for k in ("slot_f1", "sentence_acc")}
    return orig


def choose_prior_weight(prior: dict, tags: list[str], intents: list[str], valid, valid_logits) -> tuple[dict, dict]:
    """The tag-bigram prior weight (0 to 1) that maximises valid slot F1 + sentence accuracy, and what was tried;
    a prior that does not help is replaced by a small note (keeps meta.json small)."""
    tried = {}
    for w in (0.0, 0.25, 0.5, 0.75, 1.0):
        m = evaluate(valid, *decode_logits(valid_logits, intents, BioDecoder(tags, {**prior, "weight": w})))
        tried[w] = m["slot_f1"] + m["sentence_acc"]
    weight = max(tried, key=lambda w: (tried[w], -w))
    chosen = {**prior, "weight": weight} if weight else {"weight": 0.0, "note": "a tag-bigram prior did not help on valid"}
    return chosen, tried
