"""Event crops from isolated clips: the tagger's own data, beside the scene recordings.

The scene recordings hold few events (a handful per 10 s, most of them 0-20 dB over a bed), so a tagger trained
on them alone never sees most classes often enough: the first models scored held-out *and training* clips heard
alone at a window mAP under 0.5. A ClipBank keeps every training clip's log-mel in a few ``vary`` variants; a
clip crop places one class-balanced clip (sometimes two, mixup-style) over a 1 s crop of a training scene at
-5..35 dB, mixed where the features live: mel power adds, so ``logaddexp`` of the two log-mels is the mixture's
log-mel (up to the cross terms of two unrelated sounds, which average out). Clip crops carry event labels only;
the scene loss never sees them, so the scene-only arm of the ablation trains on exactly what the others do.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training import scene_data as sd

FLOOR = float(np.log(1e-10))  # hark.features' log floor: what digital silence looks like
LN10_OVER_10 = float(np.log(10) / 10)


@dataclass
class ClipBank:
    """Log-mel variants of one split's clips: ``mel[i]`` (rows, 64) float16, ``active[i]`` (rows,) bool,
    ``label[i]`` the class index; ``by_class[k]`` the variants of class k."""

    mel: list[np.ndarray]
    active: list[np.ndarray]
    label: np.ndarray

    def __post_init__(self) -> None:
        self.by_class = [np.flatnonzero(self.label == k) for k in range(len(sd.CLASSES))]
        self.classes = np.flatnonzero([len(v) > 0 for v in self.by_class])


def build_bank(split: str, variants: int, seed: int = 0, cache: Path | None = None, procedural: int = 0) -> ClipBank:
    """``variants`` log-mels of each clip of ``split`` (the first as recorded, the rest through ``sd.vary``), and
    ``procedural`` made-up clips of each alert sound that has a generator (training only: ``procedural_sounds``)."""
    from hark.features import log_mel

    if procedural and split != "train":
        raise ValueError("procedural sounds are for training only")
    path = cache / f"clips_{split}_{variants}_{seed}_{procedural}.npz" if cache else None
    if path and path.is_file():
        z = np.load(path)
        bounds = np.cumsum(z["lengths"])[:-1]
        return ClipBank(np.split(z["mel"], bounds), np.split(z["active"], bounds), z["label"])
    rng = np.random.default_rng([seed, sd.SPLITS.index(split)])
    mels, actives, labels = [], [], []

    def add(x: np.ndarray, label: int) -> None:
        x = x / (np.max(np.abs(x)) + 1e-9) * 0.5
        mel = log_mel(np.round(x * 32767).astype(np.int16)).log_mel
        db = sd.frame_db(x)
        on = db > db.max() - 25
        act = np.zeros(len(mel), bool)
        act[: min(len(mel), len(on))] = on[: len(mel)]
        mels.append(mel.astype(np.float16))
        actives.append(act)
        labels.append(label)

    for clip in sd.load_clips():
        if clip.split != split:
            continue
        sound = sd.trim_silence(sd.read_audio(clip.path))
        for v in range(variants):
            add(sd.vary(sound, rng) if v else sound, clip.label)
    if procedural:
        from training.procedural_sounds import GENERATORS, make

        for category in GENERATORS:
            for _ in range(procedural):
                add(make(category, rng), sd.CLASSES.index(category))
    bank = ClipBank(mels, actives, np.asarray(labels, np.int64))
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, mel=np.concatenate(mels), active=np.concatenate(actives), label=bank.label,
                 lengths=np.asarray([len(m) for m in mels]))
    return bank


def _window(bank: ClipBank, i: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A 1 s window of variant ``i`` over some of its sounding rows: (log-mel (100, 64), activity (100,))."""
    mel, act = bank.mel[i].astype(np.float32), bank.active[i]
    w = sd.WINDOW_ROWS
    if len(mel) < w:  # a short sound lands anywhere in the window, silence around it
        at = int(rng.integers(0, w - len(mel) + 1))
        out = np.full((w, mel.shape[1]), FLOOR, np.float32)
        out[at: at + len(mel)] = mel
        a = np.zeros(w, bool)
        a[at: at + len(mel)] = act
        return out, a
    rows = np.flatnonzero(act)
    anchor = int(rows[rng.integers(len(rows))]) if len(rows) else 0
    start = int(np.clip(anchor - rng.integers(10, 90), 0, len(mel) - w))
    return mel[start: start + w], act[start: start + w]


def clip_scores(bank: ClipBank, predict, hop_rows: int = 50) -> np.ndarray:
    """Each variant's highest event probabilities over its 1 s windows (variants, 50), as a clip heard alone."""
    out = []
    for mel in bank.mel:
        mel = mel.astype(np.float32)
        if len(mel) < sd.WINDOW_ROWS:
            mel = np.concatenate([mel, np.full((sd.WINDOW_ROWS - len(mel), mel.shape[1]), FLOOR, np.float32)])
        out.append(predict(sd.hop_windows(mel, hop_rows)).max(axis=0))
    return np.stack(out)


def _power(mel: np.ndarray, rows: np.ndarray | None = None) -> float:
    p = np.exp(mel.astype(np.float64)).sum(axis=1)
    return float(p[rows].mean() if rows is not None and rows.any() else p.mean())


def clip_crops(bank: ClipBank, beds, rng: np.random.Generator, n: int, snr_db: tuple[float, float] = (-5.0, 35.0),
               mixup: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """``n`` crops of a class-balanced clip over a training scene crop: (log-mel (n, 100, 64), labels (n, 50)).

    The labels are the clip's class (when it sounds in ``MIN_EVENT_ROWS`` rows of the window), a second clip's
    with probability ``mixup``, and whatever events the scene crop already held."""
    bed_mel, labels, _scene = beds.crops(rng, n)
    out = np.empty_like(bed_mel)
    for k in range(n):
        mel = bed_mel[k]
        bed_power = _power(mel)
        first = int(rng.choice(bank.classes))
        classes = [first]
        if rng.random() < mixup:
            classes.append(int(rng.choice(bank.classes[bank.classes != first])))
        snr = rng.uniform(*snr_db)
        bed_rows = np.exp(bed_mel[k].astype(np.float64)).sum(axis=1)
        for j, cls in enumerate(classes):
            cm, ca = _window(bank, int(rng.choice(bank.by_class[cls])), rng)
            level = snr + (rng.uniform(-10, 10) if j else 0.0)
            gain = np.log(bed_power / max(_power(cm, ca), 1e-30)) + level * LN10_OVER_10
            mel = np.logaddexp(mel, cm + gain)
            # as in the scene recordings: a row counts where the clip is not 3 dB under the bed
            heard = ca & (np.exp(cm.astype(np.float64) + gain).sum(axis=1) > bed_rows * 0.5)
            if heard.sum() >= sd.MIN_EVENT_ROWS:
                labels[k, cls] = 1.0
        out[k] = mel
    return out, labels
