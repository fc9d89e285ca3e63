"""The train / valid / test sentences a joint intent+slot build learns from, without torch: train_joint,
train_lowbit and training.ensemble read them here, so every run on a build sees the build's own splits."""
from __future__ import annotations

import hashlib

from .data import Example, load_bio

DATA_SEED = 13  # draws SLURP's valid part and the skills' generated sentences, whatever --seed a run has


def load_splits(args) -> tuple[list[Example], list[Example], list[Example]]:
    """(train, valid, test) of ``args.dataset``. ``--dataset skills`` generates data from the skills of
    ``--config`` (see training/skill_data.py); its valid split doubles as test, since the skills' held-out
    ``tests:`` sentences carry slot values, not spans, and are scored through the engine by
    benchmarks/templates.py instead.

    The splits never follow ``--seed`` (``DATA_SEED``): a QAT run with another seed must fine-tune on the build's
    own training sentences and keep its epoch by the build's own valid split, never by sentences the build
    trained on."""
    if args.dataset == "skills":
        from hark import Engine, load_config

        from .skill_data import skill_dataset, template_acceptor

        with Engine(load_config(args.config, **{"plugins.disabled": ["intent"]}), entry_points=True) as engine:
            train_ex, valid_ex = skill_dataset(engine.skills, per_intent=args.per_intent, seed=DATA_SEED,
                                               oos=args.oos, negatives=args.negatives,
                                               is_request=template_acceptor(engine), variants=args.variants)
        return train_ex, valid_ex, valid_ex
    if args.dataset == "slurp":
        from .slurp_data import slurp_splits

        return slurp_splits(seed=DATA_SEED, pseudo=getattr(args, "pseudo", None),
                            min_prob=getattr(args, "pseudo_min_prob", 0.8), asr_hyps=getattr(args, "asr_hyps", None) or ())
    return load_bio(args.dataset, "train"), load_bio(args.dataset, "valid"), load_bio(args.dataset, "test")


def valid_fingerprint(examples: list[Example]) -> dict:
    """Size and sha256 of a valid split, so a later run on the build (train_lowbit) can check it reads the same."""
    text = "\n".join(f"{e.intent}\t{' '.join(e.words)}\t{' '.join(e.tags)}" for e in examples)
    return {"n": len(examples), "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest()}
