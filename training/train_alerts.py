"""Train the alert detector: a small CNN beside the scene model that asks, per safety sound, "is this it?"

    python -m training.train_alerts          # -> plugins/scene_context/model/alerts.onnx + meta.json (~18 min)
    python -m training.train_alerts --recalibrate   # the alert thresholds again, the detector as it is
    python -m training.train_alerts --steps 200 --beds 2 --per-label 100 --negatives 600 --out DIR   # smoke run
                                             # (DIR: a copy of plugins/scene_context/model)

Why a second model (decision 48): the scene model's 50-way event head learns the five training recordings of a
glass break as five recordings, one class among fifty, from scene crops where it is rare and quiet. Heard alone,
it ranks a held-out glass break at chance. A yes/no question per alert sound, trained on balanced batches of that
sound planted loud and quiet over household beds against everything else, generalises across recordings: with one
glass-break source left out, for 3 of 4 sources every plant at 0-15 dB scored above the highest window of 13
minutes of valid background (decision 48 has the numbers).

Data (training side only; ``scene_data``'s splits by source recording):
- positives: each alert label's training clips, varied (speed, tilt), planted into 2 s of an alert-free
  training recording at -5..20 dB over it, the window placed over the sound's onset;
- negatives: 1 s crops of alert-free training recordings (beds, voices, TV, every other event), and every
  other class's training clips planted loud the same way (the sounds an alert is confused with).
Each batch is half negatives, half positives spread evenly over the labels; binary cross-entropy per label.

The export takes raw log-mel ``(batch, 100, 64)``, normalises inside the graph and ends in a sigmoid, as the scene
model does; it is quantised to int8 when that keeps the valid detection score (else fp32). The scene model's
plugin replaces its tagger's probability of each label this model knows with this model's, so the alerts, the
sounds heard and "what was that noise?" all hear it. The alert thresholds are then recalibrated on valid
recordings through ``SceneModel`` itself, the code path the plugin runs.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from training import scene_data as sd

ROOT = Path(__file__).resolve().parents[1]
MODEL_DIR = ROOT / "plugins" / "scene_context" / "model"
WINDOW = sd.WINDOW_ROWS


def plant(bed: np.ndarray, sound: np.ndarray, at: int, snr_db: float) -> np.ndarray:
    """``bed`` with ``sound`` added from sample ``at``, its active level ``snr_db`` over the bed's."""
    s = sd.trim_silence(sound.astype(np.float64))
    s = s * 10 ** ((sd.rms_db(bed) + snr_db - sd.active_db(s)) / 20)
    y = bed.astype(np.float64).copy()
    end = min(len(y), at + len(s))
    y[at:end] += s[: end - at]
    return y


def planted_windows(draw, beds: list[np.ndarray], rng: np.random.Generator, n: int,
                    snr_db: tuple[float, float] = (-5.0, 20.0)) -> np.ndarray:
    """``n`` 1 s log-mel windows, each a sound from ``draw(rng)`` planted into 2 s of a random bed, the window
    starting 50-600 ms before the sound (an alert must come while it sounds, so its start matters most)."""
    out = np.zeros((n, WINDOW, 64), np.float32)
    for i in range(n):
        bed = beds[rng.integers(len(beds))]
        start = int(rng.integers(0, len(bed) - 2 * sd.SR))
        at = int(rng.integers(int(0.1 * sd.SR), int(0.7 * sd.SR)))
        mel = sd.mel_of(plant(bed[start: start + 2 * sd.SR], draw(rng), at, rng.uniform(*snr_db)))
        r0 = int(np.clip(at // sd.HOP - rng.integers(5, 60), 0, len(mel) - WINDOW))
        out[i] = mel[r0: r0 + WINDOW]
    return out


def drawer(label: str, recordings: list[np.ndarray], made_up: bool):
    """``draw(rng)``: a sound of ``label``. A training recording, varied; with ``made_up``, for glass 40 % of the
    draws are showers of the training recordings' own shards and 40 % physics (``procedural_sounds``), for the
    other sounds with a generator 40 % physics. Chosen leaving one glass-break source out at a time (decision 48)."""
    from training.procedural_sounds import GENERATORS, make, onset_pieces, shard_shower

    shards = [piece for x in recordings for piece in onset_pieces(x)] if label == "glass_breaking" else []

    def draw(rng: np.random.Generator) -> np.ndarray:
        u = rng.random()
        if made_up and shards and u < 0.4:
            return shard_shower(shards, rng)
        if made_up and label in GENERATORS and u >= 0.6:
            return make(label, rng)
        return sd.vary(recordings[rng.integers(len(recordings))], rng)

    return draw


def bed_windows(mels: list[np.ndarray], rng: np.random.Generator, n: int) -> np.ndarray:
    out = np.zeros((n, WINDOW, 64), np.float32)
    for i in range(n):
        m = mels[rng.integers(len(mels))]
        r0 = int(rng.integers(0, len(m) - WINDOW + 1))
        out[i] = m[r0: r0 + WINDOW]
    return out


def clips_of(split: str) -> dict[str, list[np.ndarray]]:
    """Trimmed audio of every clip of ``split``, by category."""
    out: dict[str, list[np.ndarray]] = {}
    for clip in sd.load_clips():
        if clip.split == split:
            out.setdefault(clip.category, []).append(sd.trim_silence(sd.read_audio(clip.path)))
    return out


def build_data(labels: tuple[str, ...], beds: int, per_label: int, negatives: int, seed: int, made_up: bool,
               cache: Path | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(positive windows, their label index, negative windows), training side only, cached as .npz."""
    recipe = "madeup1" if made_up else "real"  # a new recipe of drawer() needs a new name here
    name = f"alerts_{'-'.join(labels)}_{beds}_{per_label}_{negatives}_{seed}_{recipe}.npz"
    path = cache / name if cache else None
    if path and path.is_file():
        z = np.load(path)
        return z["pos"].astype(np.float32), z["label"], z["neg"].astype(np.float32)
    rng = np.random.default_rng(seed)
    bed_audio = [m.audio for m in sd.recordings("train", beds, seed=50 + seed, exclude=sd.ALERTS)]
    clips = clips_of("train")
    pos, which = [], []
    for k, label in enumerate(_progress(labels, "alert positives")):
        pos.append(planted_windows(drawer(label, clips[label], made_up), bed_audio, rng, per_label))
        which.append(np.full(per_label, k))
    others = [x for category, xs in clips.items() if category not in sd.ALERTS for x in xs]
    neg = np.concatenate([bed_windows([sd.mel_of(b) for b in bed_audio], rng, negatives - negatives // 3),
                          planted_windows(lambda r: sd.vary(others[r.integers(len(others))], r), bed_audio, rng,
                                          negatives // 3)])
    data = np.concatenate(pos), np.concatenate(which), neg
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, pos=data[0].astype(np.float16), label=data[1], neg=data[2].astype(np.float16))
    return data


def _progress(items, desc: str):
    try:
        from tqdm import tqdm

        return tqdm(items, desc=desc)
    except ImportError:
        return items


def make_model(mean: np.ndarray, std: np.ndarray, n_labels: int, width: int = 16):
    """AlertNet: four 3x3 conv blocks (width x 1, 1.5, 2, 3 channels), mean + max pooling, one logit per label."""
    import torch
    from torch import nn

    from training.train_scene import conv_body

    class AlertNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
            self.register_buffer("std", torch.tensor(std, dtype=torch.float32))
            chans = (1, width, width * 3 // 2, width * 2, width * 3)
            self.body = conv_body(chans)
            self.drop = nn.Dropout(0.2)
            self.out = nn.Linear(2 * chans[-1], n_labels)

        def forward(self, mel):  # raw log-mel (batch, rows, 64) -> logits (batch, labels)
            x = self.body(((mel - self.mean) / self.std).transpose(1, 2).unsqueeze(1))
            return self.out(self.drop(torch.cat([x.mean(dim=(2, 3)), x.amax(dim=(2, 3))], dim=1)))

    return AlertNet()


def band_mask(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Level shift (+-6 dB) and one band mask of up to 8 bands per window."""
    x = x + rng.uniform(-0.69, 0.69, (len(x), 1, 1)).astype(np.float32)
    for i in range(len(x)):
        width = int(rng.integers(0, 9))
        lo = int(rng.integers(0, 64 - width + 1))
        x[i, :, lo: lo + width] = x[i].min()
    return x


def train(pos: np.ndarray, label: np.ndarray, neg: np.ndarray, n_labels: int, *, seed: int, steps: int,
          batch: int, lr: float, width: int):
    import torch
    from torch import nn

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = make_model(neg.mean(axis=(0, 1)), neg.std(axis=(0, 1)) + 1e-3, n_labels, width)
    opt = torch.optim.Adam(model.parameters(), lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=steps)
    loss_of = nn.BCEWithLogitsLoss()
    by_label = [np.flatnonzero(label == k) for k in range(n_labels)]
    half = batch // 2
    model.train()
    for _ in _progress(range(steps), "alert steps"):
        which = rng.integers(0, n_labels, half)
        ip = np.array([by_label[k][rng.integers(len(by_label[k]))] for k in which])
        x = band_mask(np.concatenate([pos[ip], neg[rng.integers(0, len(neg), half)]]), rng)
        y = np.zeros((batch, n_labels), np.float32)
        y[np.arange(half), which] = 1.0
        loss = loss_of(model(torch.from_numpy(x)), torch.from_numpy(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    return model.eval()


# ----------------------------------------------------------------------------------------------- valid check


def valid_windows(labels: tuple[str, ...], background: int, plants: int, seed: int) -> dict:
    """Valid data for choosing and reporting: ``background`` alert-free recordings per scene (their windows at
    the plugin's 0.5 s hop), and each valid clip of each label planted ``plants`` times at 0-15 dB (the windows
    that cover its first 200 ms, any of which may catch it)."""
    pools = sd.Pools.load("valid")
    rng = np.random.default_rng(seed)
    bg = [sd.hop_windows(sd.mel_of(m.audio)) for m in sd.recordings("valid", background, seed, exclude=sd.ALERTS)]
    planted: dict[str, list[np.ndarray]] = {}
    for label in labels:
        for clip in pools.clips.get(label, []):
            one = pools.with_only(label, clip)
            for _ in range(plants):
                m = sd.mix(sd.SCENES[rng.integers(len(sd.SCENES))], one, rng, exclude=sd.ALERTS, extra=(label,),
                           extra_snr_db=(0.0, 15.0))
                _, start, end = m.placed[-1]
                windows = sd.hop_windows(sd.mel_of(m.audio))
                ends = 1.0 + 0.5 * np.arange(len(windows))  # window t covers [ends[t] - 1, ends[t]]
                planted.setdefault(label, []).append(windows[(ends >= start + 0.2) & (ends - 1.0 <= start + 0.2)])
    return {"background": np.concatenate(bg), "planted": planted}


def valid_scores(predict, labels: tuple[str, ...], data: dict) -> dict:
    """Per label: AUC of each plant's best window against every background window, and the share of plants
    over the background's highest probability (recall with no false alarm in the valid background)."""
    bg = predict(data["background"])
    out = {}
    for k, label in enumerate(labels):
        best = np.array([predict(w)[:, k].max() for w in data["planted"].get(label, [])])
        if not len(best):
            continue
        out[label] = {"auc": round(float((best[:, None] > bg[None, :, k]).mean()), 4),
                      "recall_over_background": round(float((best > bg[:, k].max()).mean()), 3),
                      "plants": len(best)}
    out["mean_auc"] = round(float(np.mean([v["auc"] for v in out.values()])), 4)
    return out


# ----------------------------------------------------------------------------------------------- export


def export(model, labels: tuple[str, ...], out: Path, neg: np.ndarray, valid: dict, tolerance: float) -> dict:
    """alerts.onnx (sigmoid inside, int8 unless it costs more than ``tolerance`` of valid mean AUC)."""
    import onnxruntime as ort
    import torch
    from torch import nn

    from hark.onnx import sha256_file
    from training.onnx_quant import quantize_int8

    fp32, int8 = out / "alerts_fp32.onnx", out / "alerts_int8.onnx"
    torch.onnx.export(nn.Sequential(model, nn.Sigmoid()), (torch.zeros(1, WINDOW, 64),), str(fp32),
                      input_names=["log_mel"], output_names=["alerts"],
                      dynamic_axes={"log_mel": {0: "batch"}, "alerts": {0: "batch"}}, opset_version=17, dynamo=False)
    rng = np.random.default_rng(7)
    quantize_int8(fp32, int8, [neg[rng.integers(0, len(neg), 32)] for _ in range(24)])
    scores = {}
    for name, path in (("fp32", fp32), ("int8", int8)):
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        scores[name] = valid_scores(lambda x, s=sess: s.run(["alerts"], {"log_mel": x})[0], labels, valid)
    chosen = "int8" if scores["fp32"]["mean_auc"] - scores["int8"]["mean_auc"] <= tolerance else "fp32"
    (out / "alerts.onnx").write_bytes((int8 if chosen == "int8" else fp32).read_bytes())
    fp32.unlink()
    int8.unlink()
    return {"file": "alerts.onnx", "sha256": sha256_file(out / "alerts.onnx"), "labels": list(labels),
            "precision": chosen, "bytes": (out / "alerts.onnx").stat().st_size, "valid": scores}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--labels", default=",".join(sd.ALERTS), help="alert sounds to detect (ESC-50 class names)")
    ap.add_argument("--beds", type=int, default=30, help="alert-free training recordings per scene (default 30)")
    ap.add_argument("--per-label", type=int, default=3000, help="planted windows per label (default 3000)")
    ap.add_argument("--negatives", type=int, default=36000, help="windows with no alert sound (default 36000)")
    ap.add_argument("--real-only", action="store_true",
                    help="train on the recordings alone, without made-up glass breaks, sirens, alarms and knocks")
    ap.add_argument("--steps", type=int, default=6000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--width", type=int, default=20, help="channels of the first conv block (default 20)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--int8-tolerance", type=float, default=0.01, help="largest loss of valid mean AUC int8 may cost")
    ap.add_argument("--out", type=Path, default=MODEL_DIR,
                    help="the scene model folder to add the detector to (its meta.json must exist)")
    ap.add_argument("--recalibrate", action="store_true",
                    help="keep the folder's alert detector; only calibrate the alert thresholds again")
    args = ap.parse_args(argv)
    labels = tuple(args.labels.split(","))
    unknown = [label for label in labels if label not in sd.CLASSES]
    if unknown:
        ap.error(f"--labels: not ESC-50 classes: {', '.join(unknown)}")
    meta_path = args.out / "meta.json"
    if not meta_path.is_file():
        ap.error(f"{meta_path} not found: train the scene model first (python -m training.train_scene --out DIR)")
    meta = json.loads(meta_path.read_text())
    if meta.get("trained_on") != sd.source_ids("train"):
        sys.exit(f"{meta_path}: the scene model was trained on other sources than this data's train split")
    import os

    import torch

    from training.train_scene import macs

    torch.set_num_threads(args.threads)
    if args.recalibrate:
        calibrate(args.out, meta)
        return
    cache = Path(os.environ.get("HARK_CACHE", Path.home() / ".cache" / "hark")) / "scene"
    t0 = time.time()
    pos, label, neg = build_data(labels, args.beds, args.per_label, args.negatives, args.seed, not args.real_only,
                                 cache)
    valid = valid_windows(labels, background=6, plants=8, seed=11)
    print(f"data: {len(pos)} planted, {len(neg)} alert-free windows; valid {len(valid['background'])} background "
          f"windows ({time.time() - t0:.0f} s)")
    model = train(pos, label, neg, len(labels), seed=args.seed, steps=args.steps, batch=args.batch, lr=args.lr,
                  width=args.width)
    spec = export(model, labels, args.out, neg, valid, args.int8_tolerance)
    spec.update(parameters=sum(p.numel() for p in model.parameters()), mmac_per_window=round(macs(model) / 1e6, 2),
                settings={k: v for k, v in vars(args).items() if k not in ("out", "threads")},
                trained_on="the scene model's train sources (trained_on)")
    meta["alert_model"] = spec
    meta_path.write_text(json.dumps(meta, indent=1) + "\n")
    calibrate(args.out, meta)
    print(f"wrote {args.out}/alerts.onnx ({spec['precision']}, {spec['bytes']} bytes, {time.time() - t0:.0f} s); "
          f"valid {json.dumps(spec['valid'][spec['precision']])}")


def calibrate(folder: Path, meta: dict) -> None:
    """Alert thresholds through ``SceneModel`` itself (the plugin's own path: tagger + detector), into meta.json
    and the model card."""
    from plugins.scene_context.model import SceneModel
    from training.scene_export import calibrate_alerts, model_card

    scene_model = SceneModel(folder)
    alerts = calibrate_alerts(lambda x: scene_model.predict_batch(x)[0])
    meta.update(alert_thresholds={k: a["threshold"] for k, a in alerts.items()},
                alert_windows={k: a["windows"] for k, a in alerts.items()}, alert_calibration=alerts)
    (folder / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    (folder / "MODEL_CARD.md").write_text(model_card(meta, (folder / "model.onnx").stat().st_size))
    print("alert thresholds (valid recall):", json.dumps({k: (a["threshold"], a["valid_recall"])
                                                         for k, a in alerts.items()}))


if __name__ == "__main__":
    main()
