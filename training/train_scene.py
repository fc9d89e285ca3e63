"""Train the scene-context model: a small log-mel CNN with two heads, sound-event tagging and scene classification.

    python -m training.train_scene                          # -> plugins/scene_context/model (the shipped model)
    python -m training.train_scene --ablation --seeds 0,1,2 # scene-only vs multitask vs AET-then-ASC
    python -m training.train_scene --mixtures 80 --epochs 1 --out build/scene_smoke   # smoke run

Data: ``training/scene_data.py`` synthesises 10 s household scenes from ESC-50 events, speech and ambient beds,
split by source recording, speaker and stretch of noise. Features are hark's own streaming front end
(``hark.features``: 64-band log-mel, 10 ms hop), so training sees exactly what the plugin sees. Each step draws
a random 1 s crop of a training recording (its labels re-cut from the per-row activity), shifts its level and
masks bands and frames (SpecAugment).

Model (``SceneNet``): four 3x3 conv blocks (16-24-48-64 channels, batch norm, ReLU, 2x2 max-pool after the first
three), mean + max pooling over time and frequency, dropout, and two linear heads: 50 ESC-50 event logits
(multi-label, binary cross-entropy) and 8 scene logits (softmax cross-entropy). About 50 k parameters and 13 M
multiply-accumulates per 1 s window; the plugin runs one window every 0.5 s, 26 MMAC per second of audio, inside
the DCASE low-complexity limits (128 kB of parameters, 30 MMAC/s).

Tasks (the ablation of the research this follows: multitask training cut scene error by > 10 % relative):
- ``scene``: the scene head only;
- ``multitask``: ``event_weight * BCE + (1 - event_weight) * CE``;
- ``pretrain``: the event head for the first half of the epochs, then the scene head for the second half.
Every arm keeps the epoch with the best valid scene accuracy (per recording). The ONNX export takes raw log-mel
``(batch, 100, 64)`` and normalises inside the graph, then is quantised to int8 (static, QDQ, calibrated on valid
recordings) and ships when int8 costs at most ``--int8-tolerance`` points of valid scene accuracy.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training import scene_data as sd
from training.scene_clips import build_bank
from training.scene_export import export

ROOT = Path(__file__).resolve().parents[1]
MODEL_DIR = ROOT / "plugins" / "scene_context" / "model"


# ----------------------------------------------------------------------------------------------- data sets


@dataclass
class SceneSet:
    """Recordings of one split as features: ``mel`` (n, rows, 64) float16, ``active`` (n, rows, 50) bool,
    ``scene`` (n,) int."""

    mel: np.ndarray
    active: np.ndarray
    scene: np.ndarray

    def crops(self, rng: np.random.Generator, n: int, on_events: float = 0.0) -> tuple[np.ndarray, np.ndarray,
                                                                                     np.ndarray]:
        """``n`` random 1 s crops: (mel, event labels, scene); a share ``on_events`` of them placed over a row
        where some event sounds (events are sparse in a scene: without this most crops teach only silence)."""
        rec = rng.integers(0, len(self.mel), n)
        last = self.mel.shape[1] - sd.WINDOW_ROWS
        start = rng.integers(0, last + 1, n)
        if on_events:
            if not hasattr(self, "_sounding"):
                self._sounding = [np.flatnonzero(a.any(axis=1)) for a in self.active]
            for k in np.flatnonzero(rng.random(n) < on_events):
                rows = self._sounding[rec[k]]
                if len(rows):
                    start[k] = np.clip(rows[rng.integers(len(rows))] - rng.integers(10, 90), 0, last)
        idx = start[:, None] + np.arange(sd.WINDOW_ROWS)
        mel = self.mel[rec[:, None], idx].astype(np.float32)
        labels = sd.window_labels(self.active[rec[:, None], idx])
        return mel, labels.astype(np.float32), self.scene[rec]


def build_set(split: str, per_scene: int, seed: int, cache: Path | None = None) -> SceneSet:
    """``per_scene`` 10 s recordings of each scene from ``split``'s pools (cached as .npz)."""
    from hark.features import log_mel

    path = cache / f"scene_{split}_{per_scene}_{seed}.npz" if cache else None
    if path and path.is_file():
        z = np.load(path)
        return SceneSet(z["mel"], z["active"], z["scene"])
    mels, actives, scenes = [], [], []
    total = per_scene * len(sd.SCENES)
    for m in _progress(sd.recordings(split, per_scene, seed), f"synthesising {split} scenes", total):
        f = log_mel(np.round(m.audio * 32767).astype(np.int16))
        rows = min(len(f), len(m.active))
        mels.append(f.log_mel[:rows].astype(np.float16))
        actives.append(m.active[:rows])
        scenes.append(m.scene)
    rows = min(len(x) for x in mels)
    out = SceneSet(np.stack([x[:rows] for x in mels]), np.stack([a[:rows] for a in actives]),
                   np.asarray(scenes, np.int64))
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, mel=out.mel, active=out.active, scene=out.scene)
    return out


def _progress(it, desc: str, total: int | None = None):
    try:
        from tqdm import tqdm

        return tqdm(it, desc=desc, total=total, unit="rec", leave=False, mininterval=2)
    except ImportError:  # pragma: no cover
        return it


# ----------------------------------------------------------------------------------------------- the model


def conv_body(chans: tuple[int, ...]):
    """3x3 conv blocks from ``chans[0]`` to ``chans[-1]`` channels (batch norm, ReLU), a 2x2 max-pool after each
    but the last: the trunk the scene model and the alert detector share in shape."""
    from torch import nn

    blocks: list = []
    for i in range(len(chans) - 1):
        blocks += [nn.Conv2d(chans[i], chans[i + 1], 3, padding=1, bias=False), nn.BatchNorm2d(chans[i + 1]), nn.ReLU()]
        if i < len(chans) - 2:
            blocks.append(nn.MaxPool2d(2))
    return nn.Sequential(*blocks)


def make_model(mean: np.ndarray, std: np.ndarray, n_events: int = len(sd.CLASSES),
               n_scenes: int = len(sd.SCENES), floor_channel: bool = False):
    """SceneNet; ``floor_channel`` adds a second input channel, the log-mel over each band's quietest row of the
    window (a steady bed such as a fan or a kitchen hum drops out of it, a sound that comes and goes stands out:
    spectral subtraction inside the graph)."""
    import torch
    from torch import nn

    class SceneNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
            self.register_buffer("std", torch.tensor(std, dtype=torch.float32))
            chans = (2 if floor_channel else 1, 16, 24, 48, 64)
            self.body = conv_body(chans)
            self.drop = nn.Dropout(0.2)
            self.events = nn.Linear(2 * chans[-1], n_events)
            self.scene = nn.Linear(2 * chans[-1], n_scenes)

        def embed(self, mel):  # mel: (batch, rows, 64) raw log-mel
            x = ((mel - self.mean) / self.std).transpose(1, 2).unsqueeze(1)  # (batch, 1, 64, rows)
            if floor_channel:
                above = (mel - mel.amin(dim=1, keepdim=True)) / 5.0  # nats over the band's floor
                x = torch.cat([x, above.transpose(1, 2).unsqueeze(1)], dim=1)
            x = self.body(x)
            return self.drop(torch.cat([x.mean(dim=(2, 3)), x.amax(dim=(2, 3))], dim=1))

        def forward(self, mel):
            h = self.embed(mel)
            return self.events(h), self.scene(h)

    return SceneNet()


def spec_augment(mel: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Level shift (+-6 dB), two band masks (up to 8 bands) and two time masks (up to 15 rows) per crop."""
    mel = mel + rng.uniform(-0.69, 0.69, (len(mel), 1, 1)).astype(np.float32)
    floor = mel.min(axis=(1, 2), keepdims=True)
    for _ in range(2):
        for axis, width, size in ((2, 8, mel.shape[2]), (1, 15, mel.shape[1])):
            w = rng.integers(0, width + 1, len(mel))
            s = rng.integers(0, size - w + 1)
            ar = np.arange(size)
            mask = (ar >= s[:, None]) & (ar < (s + w)[:, None])
            mel = np.where(mask[:, None, :] if axis == 2 else mask[:, :, None], floor, mel)
    return mel


# ----------------------------------------------------------------------------------------------- training


def evaluate(model, data: SceneSet, batch: int = 256, clips=None) -> dict[str, float]:
    """Scene accuracy per recording (mean of its 0.5 s-hop windows' probabilities) and window-level event mAP;
    with ``clips`` (a ClipBank) also the mAP of those clips heard alone."""
    import torch

    model.eval()
    starts = list(range(0, data.mel.shape[1] - sd.WINDOW_ROWS + 1, 50))
    scene_p, event_p, labels = [], [], []
    with torch.no_grad():
        for r in range(0, len(data.mel), max(1, batch // len(starts))):
            recs = range(r, min(len(data.mel), r + max(1, batch // len(starts))))
            mel = np.stack([data.mel[i, s: s + sd.WINDOW_ROWS] for i in recs for s in starts]).astype(np.float32)
            ev, sc = model(torch.from_numpy(mel))
            scene_p.append(torch.softmax(sc, -1).numpy().reshape(len(recs), len(starts), -1).mean(axis=1))
            event_p.append(torch.sigmoid(ev).numpy())
            labels.append(np.stack([sd.window_labels(data.active[i, s: s + sd.WINDOW_ROWS]) for i in recs
                                    for s in starts]))
    scene_acc = float(np.mean(np.concatenate(scene_p).argmax(1) == data.scene))
    out = {"scene_accuracy": scene_acc, "event_map": mean_ap(np.concatenate(labels), np.concatenate(event_p))}
    if clips is not None:
        from training.scene_clips import clip_scores

        with torch.no_grad():
            scores = clip_scores(clips, lambda x: torch.sigmoid(model(torch.from_numpy(x))[0]).numpy())
        out["clip_map"] = mean_ap(np.eye(len(sd.CLASSES), dtype=bool)[clips.label], scores)
    return out


def average_precision(y: np.ndarray, score: np.ndarray) -> float:
    order = np.argsort(-score, kind="stable")
    y = y[order].astype(bool)
    if not y.any():
        return float("nan")
    hits = np.cumsum(y)
    return float(np.mean((hits / np.arange(1, len(y) + 1))[y]))


def mean_ap(labels: np.ndarray, scores: np.ndarray) -> float:
    aps = [average_precision(labels[:, k], scores[:, k]) for k in range(labels.shape[1]) if labels[:, k].any()]
    return float(np.mean(aps)) if aps else float("nan")


def train(task: str, train_set: SceneSet, valid_set: SceneSet, *, seed: int, epochs: int, steps: int,
          batch: int, lr: float, event_weight: float, clips=None, clip_share: float = 0.5, valid_clips=None,
          floor_channel: bool = False, log=print):
    """One arm of the ablation; returns (the model at its best valid epoch, history). ``clips`` (a ClipBank of
    training clips) adds ``clip_share * batch`` clip crops with event labels only to every batch that trains the
    event head."""
    import copy

    import torch
    import torch.nn.functional as F

    from training.scene_clips import clip_crops

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    flat = train_set.mel.reshape(-1, train_set.mel.shape[-1]).astype(np.float32)
    model = make_model(flat.mean(0), flat.std(0) + 1e-3, floor_channel=floor_channel)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps, pct_start=0.15)
    pos_weight = torch.full((len(sd.CLASSES),), 3.0)  # positives are rare: ~1 label in 50 per window
    best, best_acc, history = None, -1.0, []
    for epoch in range(epochs):
        stage = task
        if task == "pretrain":
            stage = "events" if epoch < epochs // 2 else "scene"
            if epoch == epochs // 2:  # fine-tuning starts from the best tagger, not the last
                best_acc = -1.0
        model.train()
        t0, total = time.time(), 0.0
        for _ in range(steps):
            mel, labels, scene = train_set.crops(rng, batch, on_events=0.5)
            if clips is not None and stage != "scene":
                extra_mel, extra_labels = clip_crops(clips, train_set, rng, int(batch * clip_share))
                mel, labels = np.concatenate([mel, extra_mel]), np.concatenate([labels, extra_labels])
            ev, sc = model(torch.from_numpy(spec_augment(mel, rng)))
            le = F.binary_cross_entropy_with_logits(ev, torch.from_numpy(labels), pos_weight=pos_weight)
            ls = F.cross_entropy(sc[: len(scene)], torch.from_numpy(scene), label_smoothing=0.05)
            loss = {"scene": ls, "events": le, "multitask": event_weight * le + (1 - event_weight) * ls}[stage]
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach())
        scores = evaluate(model, valid_set, clips=valid_clips)
        history.append({"epoch": epoch + 1, "stage": stage, "loss": round(total / steps, 4),
                        **{k: round(v, 4) for k, v in scores.items()}, "seconds": round(time.time() - t0, 1)})
        log(json.dumps(history[-1]))
        if stage != "events" and scores["scene_accuracy"] > best_acc:
            best_acc, best = scores["scene_accuracy"], copy.deepcopy(model.state_dict())
    if best is not None:
        model.load_state_dict(best)
    model.eval()
    return model, history


# ----------------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--task", choices=("multitask", "scene", "pretrain"), default="multitask")
    ap.add_argument("--ablation", action="store_true", help="train every task for each seed; write --results")
    ap.add_argument("--tasks", default="scene,multitask,pretrain", help="--ablation: the arms to train")
    ap.add_argument("--seeds", default="0", help="comma-separated seeds (default 0)")
    ap.add_argument("--mixtures", type=int, default=200, help="training recordings per scene (default 200)")
    ap.add_argument("--valid-mixtures", type=int, default=25, help="valid recordings per scene (default 25)")
    ap.add_argument("--test-mixtures", type=int, default=50, help="test recordings per scene, ablation only")
    ap.add_argument("--epochs", type=int, default=24)
    ap.add_argument("--steps", type=int, default=150, help="batches per epoch (default 150)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--event-weight", type=float, default=0.5, help="multitask: weight of the event loss")
    ap.add_argument("--clip-share", type=float, default=0.5,
                    help="clip crops (event labels only) added to each event batch, as a share of --batch; 0: none")
    ap.add_argument("--clip-variants", type=int, default=6, help="log-mel variants kept per training clip")
    ap.add_argument("--procedural", type=int, default=0, metavar="N",
                    help="N made-up clips of each alert sound with a generator join the training clips "
                         "(training/procedural_sounds.py)")
    ap.add_argument("--floor-channel", action="store_true",
                    help="a second input channel: the log-mel over each band's floor in the window")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--int8-tolerance", type=float, default=0.02,
                    help="largest loss of valid scene accuracy int8 may cost (default 0.02: 4 of 200 recordings)")
    ap.add_argument("--out", type=Path, default=MODEL_DIR)
    ap.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results" / "scene_ablation.json")
    args = ap.parse_args(argv)
    tasks = args.tasks.split(",")
    if not set(tasks) <= {"scene", "multitask", "pretrain"}:
        ap.error(f"--tasks: unknown arm in {args.tasks!r} (scene, multitask, pretrain)")
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from _bench import stamp  # imported first: its clock and load average are the run's start

    import torch

    torch.set_num_threads(args.threads)
    cache = Path(os.environ.get("HARK_CACHE", Path.home() / ".cache" / "hark")) / "scene"
    t0 = time.time()
    train_set = build_set("train", args.mixtures, 0, cache)
    valid_set = build_set("valid", args.valid_mixtures, 0, cache)
    print(f"data: {len(train_set.mel)} train / {len(valid_set.mel)} valid recordings ({time.time() - t0:.0f} s)")
    clips = build_bank("train", args.clip_variants, 0, cache, args.procedural) if args.clip_share > 0 else None
    valid_clips = build_bank("valid", 1, 0, cache)
    seeds = [int(s) for s in args.seeds.split(",")]
    common = dict(epochs=args.epochs, steps=args.steps, batch=args.batch, lr=args.lr, event_weight=args.event_weight,
                  clip_share=args.clip_share, floor_channel=args.floor_channel)
    recipe = {**common, "procedural": args.procedural, "mixtures": args.mixtures}
    if args.ablation:
        test_set = build_set("test", args.test_mixtures, 0, cache)
        runs = []
        for seed in seeds:
            for task in tasks:
                model, history = train(task, train_set, valid_set, seed=seed, clips=clips, valid_clips=valid_clips,
                                       **common)
                runs.append({"task": task, "seed": seed, **evaluate(model, test_set), "history": history})
                print(json.dumps({k: v for k, v in runs[-1].items() if k != "history"}))
        summary = _summarise(runs)
        args.results.parent.mkdir(parents=True, exist_ok=True)
        settings = {**recipe, "test_mixtures": args.test_mixtures, "seeds": seeds, "tasks": tasks}
        args.results.write_text(json.dumps(stamp({"settings": settings, "summary": summary, "runs": runs}),
                                           indent=1) + "\n")
        print(json.dumps(summary, indent=1))
        return
    model, history = train(args.task, train_set, valid_set, seed=seeds[0], clips=clips, valid_clips=valid_clips,
                           **common)
    info = {"task": args.task, "seed": seeds[0], "settings": recipe,
            "history": history, "trained_on": sd.source_ids("train"), "validated_on": sd.source_ids("valid"),
            "parameters": sum(p.numel() for p in model.parameters()), "mmac_per_window": round(macs(model) / 1e6, 2)}
    meta = export(model, valid_set, args.out, args.int8_tolerance, info)
    print(f"wrote {args.out}/model.onnx ({meta['precision']}, {(args.out / 'model.onnx').stat().st_size} bytes); "
          f"valid scene accuracy {meta['valid_scene_accuracy']}")


def macs(model) -> int:
    """Multiply-accumulates of one window through the convolutions and the heads."""
    import torch
    from torch import nn

    total = 0

    def count(module, inputs, output):
        nonlocal total
        if isinstance(module, nn.Conv2d):
            total += output.numel() * module.in_channels * module.kernel_size[0] * module.kernel_size[1]
        elif isinstance(module, nn.Linear):
            total += module.in_features * module.out_features

    hooks = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        model(torch.zeros(1, sd.WINDOW_ROWS, 64))
    for h in hooks:
        h.remove()
    return total


def _summarise(runs: list[dict]) -> dict:
    out = {}
    for task in dict.fromkeys(r["task"] for r in runs):
        acc = np.array([r["scene_accuracy"] for r in runs if r["task"] == task])
        out[task] = {"scene_error_mean": round(float(1 - acc.mean()), 4), "scene_error_std": round(float(acc.std()), 4),
                     "event_map_mean": round(float(np.mean([r["event_map"] for r in runs if r["task"] == task])), 4)}
    base = out.get("scene", {}).get("scene_error_mean")
    for task in set(out) - {"scene"}:
        out[task]["relative_error_change_vs_scene_only"] = round((out[task]["scene_error_mean"] - base) / base, 4) \
            if base else None
    return out


if __name__ == "__main__":
    main()
