"""Constrained BIO decoding and the scores of the benchmarks (numpy only: the benchmark needs no torch).

Decoding is Viterbi over log-softmax scores of each word's first piece, restricted to well-formed BIO: a sentence
starts with O or B-x; I-x may only follow B-x or I-x of the same type x. This is the same constraint the runtime
plugin applies, so the scores here are what the engine gets.

Slot F1 is conlleval-style: exact spans (type, start, end), micro-averaged over all spans of the test set; an I-x
that does not continue an x span starts a new span (conlleval's rule; only gold tags can be malformed).
"""
from __future__ import annotations

import numpy as np


def allowed_transitions(tags: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(start[n] bool, trans[n, n] bool: trans[i, j] = tag j may follow tag i)."""
    n = len(tags)
    start = np.array([not t.startswith("I-") for t in tags])
    trans = np.ones((n, n), dtype=bool)
    for j, tj in enumerate(tags):
        if tj.startswith("I-"):
            for i, ti in enumerate(tags):
                trans[i, j] = ti != "O" and ti[2:] == tj[2:]
    return start, trans


class BioDecoder:
    """Constrained Viterbi; ``prior`` (optional) adds weight * log P(tag | previous tag) from the training tags.

    The prior is an optional extension of the contract (meta.json ``slot_transition_prior``): start row
    ``start[n_tags]``, matrix ``log_probs[prev][cur]`` and ``weight``; without it decoding is the plain constraint.
    """

    def __init__(self, tags: list[str], prior: dict | None = None):
        self.tags = tags
        start, trans = allowed_transitions(tags)
        self.start_pen = np.where(start, 0.0, -1e9).astype(np.float32)
        self.trans_pen = np.where(trans, 0.0, -1e9).astype(np.float32)
        if prior and prior.get("weight"):
            w = float(prior["weight"])
            self.start_pen = self.start_pen + w * np.asarray(prior["start"], dtype=np.float32)
            self.trans_pen = self.trans_pen + w * np.asarray(prior["log_probs"], dtype=np.float32)

    def decode(self, logits: np.ndarray) -> list[str]:
        """logits: [n_words, n_tags] at each word's first piece -> tag names (Viterbi, constrained)."""
        if len(logits) == 0:
            return []
        x = logits - logits.max(-1, keepdims=True)
        lp = x - np.log(np.exp(x).sum(-1, keepdims=True))
        score = lp[0] + self.start_pen
        back = []
        for t in range(1, len(lp)):
            cand = score[:, None] + self.trans_pen  # [prev, cur]
            arg = cand.argmax(0)
            back.append(arg)
            score = cand[arg, np.arange(cand.shape[1])] + lp[t]
        best = [int(score.argmax())]
        for arg in reversed(back):
            best.append(int(arg[best[-1]]))
        return [self.tags[i] for i in reversed(best)]


    def decode_batch(self, logits: np.ndarray, lengths: list[int]) -> list[list[str]]:
        """Viterbi for a whole batch at once. logits: [batch, n_words_max, n_tags] (first pieces, left-aligned)."""
        b, t, n = logits.shape
        if t == 0:
            return [[] for _ in range(b)]
        x = logits - logits.max(-1, keepdims=True)
        lp = x - np.log(np.exp(x).sum(-1, keepdims=True))
        lengths_a = np.asarray(lengths)
        score = lp[:, 0] + self.start_pen  # [b, n]
        back = np.zeros((b, t, n), dtype=np.int64)
        cols = np.arange(n)
        for k in range(1, t):
            cand = score[:, :, None] + self.trans_pen[None]  # [b, prev, cur]
            arg = cand.argmax(1)  # [b, cur]
            new = np.take_along_axis(cand, arg[:, None, :], 1)[:, 0] + lp[:, k]
            live = (k < lengths_a)[:, None]
            score = np.where(live, new, score)
            back[:, k] = np.where(live, arg, cols[None])
        out = []
        for i in range(b):
            if lengths[i] == 0:
                out.append([])
                continue
            best = [int(score[i].argmax())]
            for k in range(lengths[i] - 1, 0, -1):
                best.append(int(back[i, k, best[-1]]))
            out.append([self.tags[j] for j in reversed(best)])
        return out


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
