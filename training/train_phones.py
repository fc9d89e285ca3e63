"""Train the tutor's phone recognizer: log-mel in, per-frame ARPAbet phone posteriors out (CTC), int8 ONNX.

    python -m training.train_phones                       # -> plugins/tutor/model (the shipped model)
    python -m training.train_phones --utterances 300 --epochs 1 --out build/phones_smoke   # smoke run

Why our own: pocketsphinx's acoustic model hears espeak-ng's S, TH and F as one sound, and its alignment cannot
weigh a substitution against the canonical phone with a prior we control (decisions.md 38). This model is trained
on speech whose phones are known exactly (``training/tutor_data.py``: espeak-ng reading ARPAbet, half of it with
made-up mispronunciations), so it reports what was said, not what the word should sound like.

Model (``PhoneNet``): hark's streaming front end (64-band log-mel, 10 ms), normalised inside the graph; a strided
conv to 20 ms frames; residual blocks of depthwise (k=11) + pointwise convs with batch norm; a linear layer to 39
phones + the CTC blank. Convolutions only, so int8 (dynamic, per channel) keeps its accuracy and it runs in a few
ms per second of audio. Dev voices (``VOICES["dev"]``) on prompts not trained on choose the epoch; the test voices
are left for benchmarks/tutor.py.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from hark.features import log_mel
from hark.phonetics import ARPABET, edit_distance
from training import tutor_data as td

ROOT = Path(__file__).resolve().parents[1]
MODEL_DIR = ROOT / "plugins" / "tutor" / "model"
BLANK = len(ARPABET)  # ids 0..38 are ARPABET, 39 the CTC blank
PHONE_ID = {p: i for i, p in enumerate(ARPABET)}


# ----------------------------------------------------------------------------------------------- data


def _render(job: tuple) -> tuple[np.ndarray, list[int]]:
    words, voice, speed, pitch = job
    audio = td.synthesize(words, voice, speed, pitch)
    return log_mel(audio).log_mel.astype(np.float16), [PHONE_ID[p] for w in words for p in w]


#: how the mispronounced half of the training speech is made (the ablation of benchmarks/tutor.py)
AUGMENTS = ("none", "random", "confusable", "l2gen")


def corrupter(augment: str, seed: int):
    """A function (words, rng) -> the words as a made-up learner says them, for ``augment``."""
    if augment == "confusable":
        return td.mispronounce
    if augment in ("random", "l2gen"):
        from training.l2gen import Paraphraser

        para = Paraphraser()
        if augment == "random":  # as many changes as L2-GEN makes, to any phone
            rate = float(para.meta["sample_change_rate"][str(para.meta["temperature"])])
            return lambda words, rng: td.random_errors(words, rng, rate)
        sampler = np.random.default_rng(seed)
        return lambda words, rng: td.regroup(words, para.sample([[p for w in words for p in w]], sampler)[0])
    raise ValueError(f"unknown augment {augment!r}: one of {', '.join(AUGMENTS)}")


def build_set(split: str, prompts: list, seed: int, cache: Path | None, workers: int = 2,
              augment: str = "confusable") -> dict:
    """Render every prompt once with a random ``split`` voice, speed and pitch; with an ``augment`` other than
    "none", half of them mispronounced that way."""
    rng = random.Random(seed)
    corrupt = corrupter(augment, seed) if augment != "none" else None
    jobs, wrong = [], []
    for words in prompts:
        bad = corrupt is not None and rng.random() < 0.5
        spoken = corrupt(words, rng) if bad else tuple(tuple(w) for w in words)
        jobs.append((spoken, rng.choice(td.VOICES[split]), rng.randint(130, 200), rng.randint(30, 70)))
        wrong.append(bad)
    key = hashlib.sha256(json.dumps([split, seed, jobs]).encode()).hexdigest()[:16]
    path = cache / f"phones-{split}-{key}.npz" if cache else None
    if path and path.exists():
        with np.load(path) as z:
            return {k: z[k] for k in z.files}
    mels, labels = [], []
    t0 = time.time()
    with ProcessPoolExecutor(workers) as pool:
        for i, (mel, lab) in enumerate(pool.map(_render, jobs, chunksize=16)):
            mels.append(mel)
            labels.append(lab)
            if (i + 1) % 500 == 0:
                print(f"  {split}: {i + 1}/{len(jobs)} rendered ({time.time() - t0:.0f} s)", file=sys.stderr)
    data = {"mel": np.concatenate(mels), "mel_len": np.array([len(m) for m in mels]),
            "label": np.array([p for lab in labels for p in lab], dtype=np.int16),
            "label_len": np.array([len(lab) for lab in labels]), "wrong": np.array(wrong)}
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, **data)
    return data


class Utterances:
    """Random access to a built set: ``mel(i)`` (frames, 64) float32 and ``label(i)`` phone ids."""

    def __init__(self, data: dict):
        self.data = data
        self.mel_at = np.concatenate([[0], np.cumsum(data["mel_len"])])
        self.label_at = np.concatenate([[0], np.cumsum(data["label_len"])])

    def __len__(self) -> int:
        return len(self.data["mel_len"])

    def mel(self, i: int) -> np.ndarray:
        return self.data["mel"][self.mel_at[i]:self.mel_at[i + 1]].astype(np.float32)

    def label(self, i: int) -> np.ndarray:
        return self.data["label"][self.label_at[i]:self.label_at[i + 1]].astype(np.int64)


# ----------------------------------------------------------------------------------------------- model


def make_model(mean: np.ndarray, std: np.ndarray, channels: int = 256, blocks: int = 6, kernel: int = 11):
    import torch
    from torch import nn

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.depth = nn.Conv1d(channels, channels, kernel, padding=kernel // 2, groups=channels, bias=False)
            self.point = nn.Conv1d(channels, channels, 1, bias=False)
            self.norm = nn.BatchNorm1d(channels)
            self.drop = nn.Dropout(0.1)

        def forward(self, x):
            return x + self.drop(torch.relu(self.norm(self.point(self.depth(x)))))

    class PhoneNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
            self.register_buffer("std", torch.tensor(std, dtype=torch.float32))
            self.stem = nn.Sequential(nn.Conv1d(64, channels, 5, stride=2, padding=2, bias=False),
                                      nn.BatchNorm1d(channels), nn.ReLU())
            self.body = nn.Sequential(*[Block() for _ in range(blocks)])
            self.out = nn.Conv1d(channels, len(ARPABET) + 1, 1)

        def forward(self, mel):  # (batch, frames, 64) raw log-mel -> (batch, ceil(frames / 2), 40) log-probs
            x = ((mel - self.mean) / self.std).transpose(1, 2)
            return torch.log_softmax(self.out(self.body(self.stem(x))), dim=1).transpose(1, 2)

    return PhoneNet()


def out_frames(frames):
    """Output frames of PhoneNet for ``frames`` input rows (stride 2, padding 2, kernel 5)."""
    return (frames - 1) // 2 + 1


def augment(mel: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Level (+-10 dB); a microphone's colour (a tilt of +-1 nat across the bands) and, half the time, a channel's
    low-pass (from a band between 3.3 and 7 kHz, 0.3-2 nats more per band: resamplers, phones, cheap microphones);
    a noise floor (white to brown, 5-40 dB under the speech's mean band power) mixed as power; SpecAugment (two
    band masks up to 8 bands, time masks up to 5 % of the frames)."""
    mel = mel + rng.uniform(-1.15, 1.15) + rng.uniform(-1.0, 1.0) * np.linspace(-1, 1, mel.shape[1])
    if rng.random() < 0.5:
        cut = rng.integers(44, 61)
        mel[:, cut:] -= rng.uniform(0.3, 2.0) * np.arange(1, mel.shape[1] - cut + 1)
    if rng.random() < 0.7:
        tilt = rng.uniform(-1.0, 0.2) * np.linspace(0, 4, mel.shape[1])
        level = np.log(np.mean(np.exp(mel))) - rng.uniform(5, 40) / 4.343
        noise = level + tilt + rng.normal(0, 0.5, mel.shape)
        mel = np.logaddexp(mel, noise)
    for _ in range(2):
        w = rng.integers(0, 9)
        s = rng.integers(0, 64 - w)
        mel[:, s:s + w] = mel.min()
    for _ in range(max(1, len(mel) // 200)):
        w = rng.integers(0, max(2, len(mel) // 20))
        s = rng.integers(0, max(1, len(mel) - w))
        mel[s:s + w] = mel.min()
    return mel.astype(np.float32)


def batches(data: Utterances, batch_frames: int, rng: np.random.Generator, train: bool):
    """Length-sorted buckets of about ``batch_frames`` frames, shuffled (padded with the utterance's floor)."""
    order = np.argsort(data.data["mel_len"] + (rng.integers(0, 40, len(data)) if train else 0))
    groups, cur, longest = [], [], 0
    for i in order:
        longest = max(longest, data.data["mel_len"][i])
        if cur and longest * (len(cur) + 1) > batch_frames:
            groups.append(cur)
            cur, longest = [], data.data["mel_len"][i]
        cur.append(i)
    if cur:
        groups.append(cur)
    if train:
        rng.shuffle(groups)
    for g in groups:
        mels = [data.mel(i) for i in g]
        if train:
            mels = [augment(m, rng) for m in mels]
        width = max(len(m) for m in mels)
        x = np.stack([np.pad(m, ((0, width - len(m)), (0, 0)), constant_values=float(m.min())) for m in mels])
        yield g, x, np.array([len(m) for m in mels])


def greedy(log_probs: np.ndarray) -> list[int]:
    """Best path: collapse repeats, drop blanks."""
    best = log_probs.argmax(-1)
    return [int(p) for i, p in enumerate(best) if p != BLANK and (i == 0 or p != best[i - 1])]


def phone_error_rate(model, data: Utterances, batch_frames: int = 20000) -> float:
    import torch

    model.eval()
    errors = total = 0
    with torch.no_grad():
        for idx, x, lens in batches(data, batch_frames, np.random.default_rng(0), train=False):
            out = model(torch.from_numpy(x)).numpy()
            for j, i in enumerate(idx):
                ref = data.label(i).tolist()
                errors += edit_distance(greedy(out[j, :out_frames(lens[j])]), ref)
                total += len(ref)
    return errors / max(total, 1)


# ----------------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--utterances", type=int, default=9000, help="training recordings (one per prompt)")
    ap.add_argument("--valid", type=int, default=600, help="validation recordings (dev voices, prompts not trained on)")
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--batch-frames", type=int, default=12000, help="log-mel rows per batch")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--augment", choices=AUGMENTS, default="confusable",
                    help="how the mispronounced half of the training speech is made (default confusable: "
                         "tutor_data.CONFUSABLE; l2gen: samples of training/l2gen; random: any phone, at L2-GEN's "
                         "rate; none: no mispronunciations)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=MODEL_DIR)
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    cache = Path(os.environ.get("HARK_CACHE", Path.home() / ".cache" / "hark")) / "tutor"
    prompts = td.prompts(args.utterances + args.valid, seed=args.seed)
    train_prompts, valid_prompts = prompts[args.valid:], prompts[:args.valid]
    t0 = time.time()
    train = Utterances(build_set("train", train_prompts, args.seed, cache, augment=args.augment))
    valid = Utterances(build_set("dev", valid_prompts, args.seed + 1, cache))
    print(f"data: {len(train)} train / {len(valid)} valid recordings ({time.time() - t0:.0f} s)", file=sys.stderr)

    sample = train.data["mel"][:: max(1, len(train.data["mel"]) // 200000)].astype(np.float32)
    model = make_model(sample.mean(0), sample.std(0) + 1e-3)
    steps = sum(1 for _ in batches(train, args.batch_frames, np.random.default_rng(0), train=False))
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-2)
    total_steps = args.epochs * (steps + 8)  # training batches vary a little with the length jitter
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=total_steps,
                                                pct_start=max(0.1, 2 / total_steps))
    ctc = torch.nn.CTCLoss(blank=BLANK, zero_infinity=True)
    best, best_per, history = None, 2.0, []
    for epoch in range(args.epochs):
        model.train()
        t0, total, n = time.time(), 0.0, 0
        for idx, x, lens in batches(train, args.batch_frames, rng, train=True):
            labels = [train.label(i) for i in idx]
            out = model(torch.from_numpy(x)).transpose(0, 1)  # (T, B, C)
            loss = ctc(out, torch.from_numpy(np.concatenate(labels)), torch.from_numpy(out_frames(lens)),
                       torch.tensor([len(lab) for lab in labels]))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            if sched.last_epoch + 1 < total_steps:
                sched.step()
            total, n = total + float(loss.detach()), n + 1
        per = phone_error_rate(model, valid)
        history.append({"epoch": epoch + 1, "loss": round(total / max(n, 1), 4), "valid_per": round(per, 4),
                        "seconds": round(time.time() - t0, 1)})
        print(json.dumps(history[-1]), file=sys.stderr)
        if per < best_per:
            best_per, best = per, {k: v.clone() for k, v in model.state_dict().items()}
            torch.save(best, cache / f"phones-best-{args.augment}-{args.seed}.pt")  # a crash keeps the best epoch
    model.load_state_dict(best)
    model.eval()
    from training.phones_export import export

    export(model, valid, args.out, {"history": history, "valid_per": round(best_per, 4), "args": {
        k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "train_voices": list(td.VOICES["train"]), "valid_voices": list(td.VOICES["dev"])})


if __name__ == "__main__":
    main()
