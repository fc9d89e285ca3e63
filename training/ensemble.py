"""Ship two low-bit models as one ensemble folder when, together, they fit the budget and read valid better.

    python -m training.ensemble --dataset snips --build build/snips4 --build build/snips4kd \\
        --ship benchmarks/artifacts/snips/model

At 2-4 bits one model leaves room for a second. Models trained with other tokenizers err differently (the
6,000-piece SNIPS model is better at intents, the WordPiece one at slots; docs/decisions.md 44), so the runtime can
pool two of them (``hark.plugins.intent.model.pool``: mean intent probabilities, log-linear mean of the tag
scores, one Viterbi decode). This script reads every trained plain/squash variant of the given builds (the default
seed of each arm; other seeds only measure spread) on the valid split, scores each variant alone and every pair
whose files (ONNX + tokenizer) fit ``--max-mb`` together, and ships the best by valid sentence accuracy, then slot
F1, then intent accuracy, then the smaller size. A single variant wins when no pair beats it. Test sentences are
read only after the choice, to write the shipped folder's card.
"""
from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import re
import shutil
import sys
from pathlib import Path

import numpy as np

from hark.onnx import folder_bytes
from hark.plugins.intent.model import pool

from .metrics import BioDecoder, evaluate
from .onnx_eval import OnnxJoint
from .shipping import ship, valid_rank
from .splits import load_splits

Candidate = tuple[Path, str]  # (build, variant name in meta.json metrics.lowbit)
MEMBER_NAMES = ("a", "b")
#: what a shipped folder holds besides model and tokenizer files: meta.json files (labels, the tag prior) and
#: cards; counted against the budget, which is the whole folder on disk
METADATA_BYTES = 100_000


def candidates(builds: list[Path]) -> list[Candidate]:
    """Every trained plain/squash variant of ``builds`` at the default seed, in a stable order."""
    out = []
    for build in builds:
        lowbit = json.loads((build / "meta.json").read_text(encoding="utf-8")).get("metrics", {}).get("lowbit", {})
        out += [(build, name) for name, e in sorted(lowbit.items())
                if e.get("mode") in ("plain", "squash") and not re.search(r"_s\d+$", name)
                and (build / e["file"]).is_file()]
    return out


def file_bytes(c: Candidate) -> int:
    """What the variant adds to a model folder: its ONNX file and its tokenizer."""
    build, name = c
    entry = json.loads((build / "meta.json").read_text(encoding="utf-8"))["metrics"]["lowbit"][name]
    return (build / entry["file"]).stat().st_size + (build / "tokenizer.model").stat().st_size


class Reading:
    """One model file's calibrated intent probabilities and per-word tag log-probabilities on a list of sentences."""

    def __init__(self, folder: Path, onnx_file: str, examples, bs: int = 32):
        self.model = OnnxJoint(folder, onnx_file, threads=2)
        width = max(len(e.words) for e in examples)
        self.probs = np.zeros((len(examples), len(self.model.intents)), dtype=np.float32)
        self.log_probs = np.zeros((len(examples), width, len(self.model.meta["tags"])), dtype=np.float32)
        self.lengths = np.zeros(len(examples), dtype=np.int64)
        for s in range(0, len(examples), bs):
            probs, log_probs, lengths = self.model.read([list(e.words) for e in examples[s:s + bs]])
            self.probs[s:s + len(probs)] = probs
            self.log_probs[s:s + len(probs), : log_probs.shape[1]] = log_probs
            self.lengths[s:s + len(probs)] = lengths


def reading(c: Candidate, examples) -> Reading:
    build, name = c
    meta = json.loads((build / "meta.json").read_text(encoding="utf-8"))
    return Reading(build, meta["metrics"]["lowbit"][name]["file"], examples)


def score(readings: list[Reading], examples) -> dict:
    """Scores of the pooled readings, decoded with the first member's prior (as the shipped folder will be)."""
    first = readings[0].model
    if len(readings) == 1:
        probs, log_probs = readings[0].probs, readings[0].log_probs
    else:
        probs, log_probs = pool([r.probs for r in readings], [r.log_probs for r in readings])
    lengths = np.min([r.lengths for r in readings], axis=0).tolist()
    decoder = BioDecoder(first.meta["tags"], first.meta.get("slot_transition_prior"))
    tags = decoder.decode_batch(log_probs, lengths)
    pred_tags = [t + ["O"] * (len(e.words) - len(t)) for t, e in zip(tags, examples)]
    return evaluate(examples, [first.intents[int(k)] for k in probs.argmax(-1)], pred_tags)


def choose(builds: list[Path], examples, max_bytes: int) -> tuple[tuple[Candidate, ...], dict, list[dict]]:
    """The variant or pair to ship (best valid rank within ``max_bytes``), its valid scores, and every option's."""
    pool_ = candidates(builds)
    if not pool_:
        raise SystemExit(f"{', '.join(map(str, builds))}: no trained plain/squash variant (train_lowbit first)")
    labels = {json.dumps([json.loads((b / "meta.json").read_text(encoding="utf-8"))[k] for k in ("intents", "tags")])
              for b, _ in pool_}
    if len(labels) > 1:
        raise SystemExit("the builds do not share intents and tags: they are not models of one data set")
    size = {c: file_bytes(c) for c in pool_}
    room = max_bytes - METADATA_BYTES
    options = [(c,) for c in pool_ if size[c] <= room]
    options += [pair for pair in itertools.combinations(pool_, 2) if size[pair[0]] + size[pair[1]] <= room]
    if not options:
        raise SystemExit(f"no variant fits {max_bytes / 1e6:.1f} MB")
    readings = {c: reading(c, examples) for c in {c for option in options for c in option}}
    table = []
    for option in options:
        s = score([readings[c] for c in option], examples)
        table.append({"members": [f"{b.name}/{n}" for b, n in option], "bytes": sum(size[c] for c in option),
                      **{k: s[k] for k in ("intent_acc", "slot_f1", "sentence_acc")}})
    best = max(range(len(options)), key=lambda i: valid_rank(table[i]) + (-table[i]["bytes"],))
    return options[best], table[best], table


def ship_ensemble(members: tuple[Candidate, ...], dest: Path, valid: dict, test: dict, command: str) -> None:
    """``dest`` as an ensemble folder: each member a model folder of its own (shipping.ship, its meta.json keeping
    only its own low-bit entry), the labels on top (the runtime decodes with member a's tag prior), checksums and
    sizes of every member file, and a card naming the members."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for sub, (build, name) in zip(MEMBER_NAMES, members):
        ship(build, name, dest / sub)
        member = json.loads((dest / sub / "meta.json").read_text(encoding="utf-8"))
        lowbit = member.get("metrics", {}).get("lowbit", {})
        member.get("metrics", {})["lowbit"] = {name: lowbit[name]} if name in lowbit else {}  # its own entry only
        (dest / sub / "meta.json").write_text(json.dumps(member, separators=(",", ":")), encoding="utf-8")
    first = json.loads((dest / MEMBER_NAMES[0] / "meta.json").read_text(encoding="utf-8"))
    files = [f"{sub}/{fn}" for sub in MEMBER_NAMES[: len(members)] for fn in ("model.onnx", "tokenizer.model")]
    meta = {k: first[k] for k in ("format", "intents", "tags", "lowercase", "tokenization", "slot_decoding",
                                  "trained_on") if k in first}  # the tag prior stays member a's (the runtime's rule)
    meta.update({"members": list(MEMBER_NAMES[: len(members)]), "temperature": 1.0,
                 "sha256": {fn: hashlib.sha256((dest / fn).read_bytes()).hexdigest() for fn in files},
                 "sizes_bytes": {fn: (dest / fn).stat().st_size for fn in files},
                 "ensemble": {"members": [f"{b}/{n}" for b, n in members], "pooling":
                              "mean calibrated intent probabilities; per word, log-softmax of the mean tag "
                              "log-probabilities; Viterbi with member a's tag prior",
                              "valid": valid, "test": test, "command": command}})
    (dest / "meta.json").write_text(json.dumps(meta, separators=(",", ":")), encoding="utf-8")
    total = sum(meta["sizes_bytes"].values())
    lines = ["# Ensemble intent + slot model", "",
             f"Two low-bit models in one folder, {total / 1e6:.2f} MB of model and tokenizer files. The runtime runs "
             "both on every n-best list and pools their readings (mean intent probabilities; log-linear mean of the "
             "tag scores; one BIO Viterbi with member a's tag prior). Each member's own card (`a/MODEL_CARD.md`, "
             "`b/MODEL_CARD.md`) says what it was trained on, under which licence, and how to rebuild it.", ""]
    for sub, (build, name) in zip(MEMBER_NAMES, members):
        lines.append(f"- `{sub}/`: `{build}/model.{name}.onnx` ({meta['sizes_bytes'][sub + '/model.onnx'] / 1e6:.2f} MB)")
    lines += ["", f"Chosen on the valid split among every variant and pair within the budget: {json.dumps(valid)}.",
              f"Test scores of the pooled pair (read after the choice): {json.dumps(test)}.", "",
              f"Rebuild: `{command}` (after the members' `training.train_lowbit` runs).", ""]
    (dest / "MODEL_CARD.md").write_text("\n".join(lines), encoding="utf-8")
    print(f"shipped the ensemble {', '.join(meta['ensemble']['members'])} -> {dest}", file=sys.stderr)



def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", required=True, choices=["snips", "atis", "slurp"])
    ap.add_argument("--build", type=Path, action="append", required=True, help="a train_joint build (repeat)")
    ap.add_argument("--max-mb", type=float, default=10.0, help="budget for the shipped files (MB, 10^6 bytes)")
    ap.add_argument("--ship", type=Path, required=True, help="model folder to write")
    args = ap.parse_args()
    _, valid_ex, test_ex = load_splits(argparse.Namespace(dataset=args.dataset))
    members, valid, table = choose(args.build, valid_ex, int(args.max_mb * 1e6))
    for row in sorted(table, key=valid_rank, reverse=True)[:10]:
        print(json.dumps(row), file=sys.stderr)
    command = "python -m training.ensemble " + " ".join(sys.argv[1:])
    if len(members) == 1:
        shutil.rmtree(args.ship, ignore_errors=True)  # no member folders of an earlier ensemble may stay
        ship(*members[0], args.ship)
        return
    test = score([reading(c, test_ex) for c in members], test_ex)
    ship_ensemble(members, args.ship, valid, {k: test[k] for k in ("intent_acc", "slot_f1", "sentence_acc")},
                  command)
    if folder_bytes(args.ship) > args.max_mb * 1e6:
        raise SystemExit(f"{args.ship} holds {folder_bytes(args.ship) / 1e6:.3f} MB with its metadata, over "
                         f"--max-mb {args.max_mb}: lower --max-mb so the chosen files leave room")


if __name__ == "__main__":
    main()
