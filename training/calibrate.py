"""Calibrate a trained intent model's confidence and measure out-of-scope rejection.

    python -m training.calibrate plugins/intent/model --config config.yaml

Fits the temperature on the dev split of the generated skills data (the split train_joint used for early stopping,
regenerated with the same seed), writes it into the model's meta.json (the runtime divides the logits by it), and
records in meta.json["calibration"]:
- ECE before and after, on that dev split;
- the false-accept rate at 95% in-scope recall, where an utterance's in-scope confidence is the highest probability
  of any in-scope intent: (a) dev in-scope vs dev out-of-scope negatives (HWU64/SLURP), and (b) the skills'
  hand-written held-out sentences vs benchmarks/data/out_of_scope.txt (real phrasings, small).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from hark import Engine, load_config
from hark.plugins.intent.model import JointModel

from .calibration import expected_calibration_error, false_accept_at_recall, fit_temperature, softmax
from .model_card import write_card
from .skill_data import OOS_LABEL, out_of_scope_lines, skill_dataset, template_acceptor

ROOT = Path(__file__).resolve().parent.parent


def _logits(model: JointModel, texts: list[str], bs: int = 64) -> np.ndarray:
    out = []
    for i in range(0, len(texts), bs):
        out.extend(p.intent_logits for p in model.predict(texts[i:i + bs]))
    return np.stack(out)


def _in_scope_conf(probs: np.ndarray, oos_index: int) -> np.ndarray:
    masked = probs.copy()
    masked[:, oos_index] = 0.0
    return masked.max(axis=1)


def calibrate(model_dir: Path, config: Path | None, seed: int = 13, per_intent: int = 300, oos: int = 3000,
              negatives: int = 40, variants: int = 20) -> dict:
    with Engine(load_config(config, **{"plugins.disabled": ["intent"]})) as engine:
        _, valid = skill_dataset(engine.skills, per_intent=per_intent, seed=seed, oos=oos, negatives=negatives,
                                 is_request=template_acceptor(engine), variants=variants)
        tests = [t.text for t in engine.skills.tests()]
    model = JointModel(model_dir)
    index = {label: i for i, label in enumerate(model.intents)}
    valid = [e for e in valid if e.intent in index]
    logits = _logits(model, [" ".join(e.words) for e in valid])
    labels = np.array([index[e.intent] for e in valid])
    temperature = fit_temperature(logits, labels)
    oos_i = index[OOS_LABEL]
    is_oos = labels == oos_i
    probs = softmax(logits, temperature)
    result = {
        "temperature": temperature,
        "dev_examples": int(len(labels)), "dev_oos_examples": int(is_oos.sum()),
        "ece_before": round(expected_calibration_error(softmax(logits), labels), 4),
        "ece_after": round(expected_calibration_error(probs, labels), 4),
        "far_at_95_recall_dev": false_accept_at_recall(_in_scope_conf(probs[~is_oos], oos_i),
                                                       _in_scope_conf(probs[is_oos], oos_i)),
    }
    real_oos = out_of_scope_lines("test")
    if tests and real_oos:
        p_in = softmax(_logits(model, tests), temperature)
        p_out = softmax(_logits(model, real_oos), temperature)
        result["far_at_95_recall_heldout"] = false_accept_at_recall(_in_scope_conf(p_in, oos_i),
                                                                    _in_scope_conf(p_out, oos_i))
        result["far_at_95_recall_heldout"]["n_in_scope"], result["far_at_95_recall_heldout"]["n_oos"] = \
            len(tests), len(real_oos)
    meta_path = model_dir / "meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["temperature"] = temperature
    meta["calibration"] = result
    meta_path.write_text(json.dumps(meta, indent=1), encoding="utf-8")
    card = model_dir / "MODEL_CARD.md"
    if card.is_file() and meta.get("training", {}).get("command"):  # a card write_card made: refresh it
        write_card(model_dir, meta, "skills")
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir", type=Path)
    ap.add_argument("--config", type=Path, help="config.yaml whose skills the model was trained on")
    ap.add_argument("--seed", type=int, default=13, help="the seed train_joint used (its default is 13)")
    ap.add_argument("--per-intent", type=int, default=300)
    ap.add_argument("--oos", type=int, default=3000)
    ap.add_argument("--negatives", type=int, default=40, help="the --negatives train_joint used")
    ap.add_argument("--variants", type=int, default=20, help="the --variants train_joint used")
    args = ap.parse_args()
    print(json.dumps(calibrate(args.model_dir, args.config, args.seed, args.per_intent, args.oos, args.negatives,
                               args.variants), indent=1))


if __name__ == "__main__":
    main()
