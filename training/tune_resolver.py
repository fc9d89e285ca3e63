"""Tune the entity resolver's re-ranking weights and score calibration on the SLURP dev (train) part and write
plugins/entity_resolver/models/ranker/ranker.json.

    python -m training.tune_resolver                     # both encoders compared, the better one becomes default
    python -m training.tune_resolver --encoders hashed   # only the non-learned phonetic channel

Data: the rows of slurp/entity_resolution_dev.tsv in the train part (``entity_data.split_rows``: "fit" + "tune");
the held-out "test" part is never read. Catalog = entity_catalogs_dev/<entity_type>.txt, query = heard_span.

For each preset (feature subset) a linear ranker is fitted by listwise softmax cross-entropy (each query's gold
entry against every entry of its catalog; Adam, L2 1e-3, numpy only). Presets: "phonetic" (phone-string
similarities + phonetic vector cosine), "lexical" (character n-gram cosine, WRatio, exact match) and "combined"
(all). The n-best and popularity weights cannot be tuned on SLURP (1-best only, no popularity): they are set by hand
(``HYP_WEIGHT``, ``POP_WEIGHT``) and written with that note.

Choices, all made on the train part:
- encoder ("hashed" vs "learned"): the learned encoder trained on the "fit" rows' (gold, heard) pairs, so only "tune"
  rows are fair to it: both encoders are compared by 2-fold cross-fitting inside "tune" (halves by value bucket
  parity; fit the "phonetic" preset on one half, score the other), by top-1 on the changed rows, then on all rows.
  The learned encoder is kept only if it is better; its final ranker is then fitted on "tune" rows only;
- default preset: the best mean of (top-1 all rows, top-1 changed rows) on the whole train part;
- calibration: logistic regression of "this candidate is the gold entry" on its ranker score and its margin over the
  best other candidate, over each query's top 5 candidates, with and without the gold entry in the catalog;
- ``min_score``: the highest threshold (in 0.01 steps) that still accepts ``KEEP_RIGHT`` (95 %) of the right top-1
  answers; reported with it: how many queries are rejected once their gold entry is removed from the catalog
  (what "no match" is for). Recall first: a caller can always ask for confirmation under a higher threshold.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from hark.plugins.entity_resolver.phonetic import FEATURES
from hark.plugins.entity_resolver.ranker import RANKER_FORMAT, RANKER_PATH, Ranker, margins
from hark.plugins.entity_resolver.resolver import Resolver

from .entity_data import ErRow, load_catalog, load_rows, value_bucket

HYP_WEIGHT = 0.5  # log n-best weight: an alternative half as probable as the 1-best loses 0.35 score points
KEEP_RIGHT = 0.95  # min_score keeps this share of the right top-1 answers of the tuning rows
POP_WEIGHT = 0.1  # log popularity: an entry 10x less popular than the top one loses 0.23 score points
PRESETS = {
    "phonetic": ("phon_fine", "phon_coarse", "phon_partial", "phon_cover", "phon_embed"),
    "lexical": ("lex_cosine", "lex_wratio", "lex_exact"),
    "combined": ("phon_fine", "phon_coarse", "phon_partial", "phon_cover", "phon_embed", "lex_cosine", "lex_wratio",
                 "lex_exact"),
}


def query_features(rows: list[ErRow], encoder: str) -> list[tuple[np.ndarray, int]]:
    """(features [C, F] over the whole catalog, gold position) per row, 1-best only."""
    resolvers: dict[str, Resolver] = {}
    out = []
    for r in rows:
        if r.entity_type not in resolvers:
            resolvers[r.entity_type] = Resolver.from_values(load_catalog(r.entity_type), kind=r.entity_type,
                                                            encoder=encoder, weights="combined")
        res = resolvers[r.entity_type]
        ids, feats = res.candidates(r.heard_span, depth=len(res))
        names = [res.entries[i].name for i in ids]
        out.append((feats[0], names.index(r.gold_value)))
    return out


def fit_listwise(data: list[tuple[np.ndarray, int]], cols: list[int], epochs: int = 300, l2: float = 1e-3,
                 lr: float = 0.05) -> np.ndarray:
    """Weights over ``cols`` maximising the softmax likelihood of the gold entry per query (Adam, full batch)."""
    xs = [x[:, cols].astype(np.float64) for x, _ in data]
    ys = [y for _, y in data]
    w = np.zeros(len(cols))
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    for step in range(1, epochs + 1):
        grad = np.zeros_like(w)
        for x, y in zip(xs, ys):
            s = x @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            grad += x.T @ p - x[y]
        grad = grad / len(xs) + l2 * w
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad * grad
        w -= lr * (m / (1 - 0.9 ** step)) / (np.sqrt(v / (1 - 0.999 ** step)) + 1e-8)
    return w


def full_weights(cols: list[int], w: np.ndarray) -> np.ndarray:
    out = np.zeros(len(FEATURES))
    out[cols] = w
    out[FEATURES.index("hyp_logw")] = HYP_WEIGHT
    out[FEATURES.index("pop_logw")] = POP_WEIGHT
    return out


def accuracy(data: list[tuple[np.ndarray, int]], changed: list[bool], weights: np.ndarray) -> dict[str, float]:
    hits = [int(np.argmax(x @ weights) == y) for x, y in data]
    ch = [h for h, c in zip(hits, changed) if c]
    return {"all": round(100.0 * sum(hits) / len(hits), 2), "changed": round(100.0 * sum(ch) / max(1, len(ch)), 2),
            "rows": len(hits), "changed_rows": len(ch)}


def fit_calibration(data: list[tuple[np.ndarray, int]], weights: np.ndarray, top: int = 5,
                    ) -> tuple[float, float, float]:
    """(scale, margin_scale, bias) of P(right) = sigmoid(scale * raw + margin_scale * margin + bias), fitted by
    logistic regression over each query's top candidates (label: is the gold entry) and over the same query's top
    candidates once the gold entry is removed from the catalog (all labelled wrong)."""
    x_all, y_all = [], []
    for x, y in data:
        s = x @ weights
        for drop in (False, True):
            keep = np.array([i for i in range(len(s)) if not (drop and i == y)])
            if len(keep) == 0:
                continue
            raw = s[keep]
            marg = margins(raw)
            for c in np.argsort(-raw)[:top]:
                x_all.append((raw[c], marg[c]))
                y_all.append(float(keep[c] == y))
    feats, labels = np.array(x_all), np.array(y_all)
    w = np.zeros(3)
    design = np.column_stack([feats, np.ones(len(feats))])
    for _ in range(50):  # Newton steps on the log loss (3 parameters), a little L2 for stability
        p = 1.0 / (1.0 + np.exp(-(design @ w)))
        grad = design.T @ (p - labels) / len(labels) + 1e-4 * w
        hess = (design * (p * (1 - p))[:, None]).T @ design / len(labels) + 1e-4 * np.eye(3)
        w -= np.linalg.solve(hess, grad)
    return float(w[0]), float(w[1]), float(w[2])


def pick_min_score(data: list[tuple[np.ndarray, int]], ranker: Ranker) -> tuple[float, dict]:
    inside, outside = [], []
    for x, y in data:
        s = x @ np.asarray(ranker.weights)
        cal = ranker.calibrate(s)
        top = int(np.argmax(s))
        inside.append((cal[top], top == y))
        rest = np.delete(s, y)
        outside.append(float(ranker.calibrate(rest).max()) if len(rest) else 0.0)
    right = sorted(sc for sc, ok in inside if ok)
    threshold = float(np.floor(100 * right[int(len(right) * (1 - KEEP_RIGHT))]) / 100) if right else 0.0
    ok_in = sum(sc >= threshold and ok for sc, ok in inside) / len(inside)
    ok_out = sum(sc < threshold for sc in outside) / len(outside)
    return threshold, {"right_top1_kept": round(100.0 * sum(sc >= threshold for sc in right) / max(1, len(right)), 2),
                       "in_catalog_right_and_accepted": round(100 * ok_in, 2),
                       "gold_removed_rejected": round(100 * ok_out, 2)}


def two_fold_accuracy(data: list, changed: list[bool], halves: list[list[int]]) -> dict:
    """{preset: {all, changed, rows, changed_rows}}: top-1 of the "phonetic" and "combined" presets, each half of
    ``halves`` (row indices into ``data``) scored with weights fitted on the other half. How an encoder is judged
    on "tune" here and in training/train_phonetic.py."""
    n = sum(len(h) for h in halves)
    n_ch = sum(changed[i] for h in halves for i in h)
    entry = {}
    for preset in ("phonetic", "combined"):
        cols = [FEATURES.index(f) for f in PRESETS[preset]]
        hits = {"all": 0.0, "changed": 0.0}
        for a, b in ((0, 1), (1, 0)):
            w = full_weights(cols, fit_listwise([data[i] for i in halves[a]], cols))
            acc = accuracy([data[i] for i in halves[b]], [changed[i] for i in halves[b]], w)
            hits["all"] += acc["all"] * acc["rows"] / 100.0
            hits["changed"] += acc["changed"] * acc["changed_rows"] / 100.0
        entry[preset] = {"all": round(100.0 * hits["all"] / n, 2),
                         "changed": round(100.0 * hits["changed"] / n_ch, 2), "rows": n, "changed_rows": n_ch}
    return entry


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--encoders", nargs="+", default=["hashed", "learned"], choices=["hashed", "learned"],
                    help="phonetic encoders to compare (learned: needs models/phonetic/)")
    ap.add_argument("--out", type=Path, default=RANKER_PATH)
    args = ap.parse_args()
    t0 = time.time()
    rows = [r for r in load_rows() if r.split in ("fit", "tune")]
    report: dict = {"encoders": {}}
    feats = {}
    for enc in args.encoders:
        if enc == "learned" and not (RANKER_PATH.parent.parent / "phonetic" / "meta.json").is_file():
            print("learned encoder: models/phonetic/ missing, skipped")
            continue
        feats[enc] = query_features(rows, enc)
    # the learned encoder trained on the "fit" rows' pairs: only "tune" rows are fair to it. Decision by 2-fold
    # cross-fitting inside "tune" (halves by value bucket), the same folds for both encoders.
    halves = [[i for i, r in enumerate(rows) if r.split == "tune" and value_bucket(r.gold_value) % 2 == h]
              for h in (0, 1)]
    changed = [r.changed for r in rows]
    for enc, data in feats.items():
        entry = two_fold_accuracy(data, changed, halves)
        report["encoders"][enc] = {"two_fold_on_tune": entry}
        print(f"{enc}: 2-fold cross-fitted top-1 on 'tune': {entry}", flush=True)
    key = lambda e: (report["encoders"][e]["two_fold_on_tune"]["phonetic"]["changed"],  # noqa: E731
                     report["encoders"][e]["two_fold_on_tune"]["phonetic"]["all"])
    encoder = "learned" if "learned" in feats and key("learned") > key("hashed") else "hashed"
    # final fit: every train row for the hashed channel; only "tune" rows for the learned one (see above)
    use = [i for i, r in enumerate(rows) if encoder == "hashed" or r.split == "tune"]
    data = [feats[encoder][i] for i in use]
    changed = [changed[i] for i in use]
    presets = {}
    for preset, names in PRESETS.items():
        cols = [FEATURES.index(f) for f in names]
        w = full_weights(cols, fit_listwise(data, cols))
        scale, margin_scale, bias = fit_calibration(data, w)
        min_score, no_match = pick_min_score(data, Ranker(preset, tuple(w), scale, bias, margin_scale))
        acc = accuracy(data, changed, w)
        presets[preset] = {"weights": [round(float(x), 4) for x in w], "scale": round(scale, 4),
                           "margin_scale": round(margin_scale, 4), "bias": round(bias, 4), "min_score": min_score,
                           "notes": {"top1_on_training_rows": acc, "no_match_check": no_match}}
        print(f"{preset}: top-1 on its training rows {acc}, min_score {min_score} {no_match}", flush=True)
    default = max(presets, key=lambda p: sum(presets[p]["notes"]["top1_on_training_rows"][k]
                                             for k in ("all", "changed")))
    meta = {
        "format": RANKER_FORMAT,
        "features": list(FEATURES),
        "default": default,
        "encoder": encoder,
        "presets": presets,
        "provenance": {
            "command": "python -m training.tune_resolver --encoders " + " ".join(args.encoders),
            "data": "slurp/entity_resolution_dev.tsv train part (training.entity_data.split_rows: fit + tune; only "
                    "tune when the encoder is the learned one), "
                    "catalogs entity_catalogs_dev/<type>.txt; the held-out test part is not read",
            "hand_set": {"hyp_logw": HYP_WEIGHT, "pop_logw": POP_WEIGHT,
                         "why": "SLURP has 1-best transcripts and no popularity: these two cannot be tuned on it"},
            "encoder_choice": report["encoders"],
            "training_rows": len(use), "training_changed_rows": sum(changed),
            "seconds": round(time.time() - t0, 1),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    print(f"default preset {default}, encoder {encoder}; wrote {args.out}")


if __name__ == "__main__":
    main()
