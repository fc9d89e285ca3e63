"""Export of a trained scene model: ONNX (fp32, then static int8 when it keeps valid scene accuracy), the alert
thresholds calibrated on valid recordings, meta.json and MODEL_CARD.md. Used by ``training.train_scene``."""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from training import scene_data as sd
from training.procedural_sounds import GENERATORS
from training.onnx_quant import quantize_int8

if TYPE_CHECKING:
    from training.train_scene import SceneSet

FORMAT = "hark-scene-1"


def export(model, valid_set: SceneSet, out: Path, tolerance: float, info: dict) -> dict:
    """ONNX fp32 and static int8 (QDQ); writes model.onnx (int8 unless it loses > tolerance) and meta.json."""
    import torch

    out.mkdir(parents=True, exist_ok=True)
    fp32 = out / "model_fp32.onnx"
    dummy = torch.zeros(1, sd.WINDOW_ROWS, 64)
    torch.onnx.export(model, (dummy,), str(fp32), input_names=["log_mel"], output_names=["events", "scene"],
                      dynamic_axes={"log_mel": {0: "batch"}, "events": {0: "batch"}, "scene": {0: "batch"}},
                      opset_version=17, dynamo=False)
    _append_activations(fp32)
    rng = np.random.default_rng(7)
    calib = [valid_set.crops(rng, 16)[0] for _ in range(24)]

    int8 = out / "model_int8.onnx"
    quantize_int8(fp32, int8, calib)
    acc = {name: onnx_scene_accuracy(path, valid_set) for name, path in (("fp32", fp32), ("int8", int8))}
    chosen = "int8" if acc["fp32"] - acc["int8"] <= tolerance else "fp32"
    (out / "model.onnx").write_bytes((int8 if chosen == "int8" else fp32).read_bytes())
    fp32.unlink()
    int8.unlink()
    from hark.onnx import sha256_file

    alerts = calibrate_alerts(session_events(out / "model.onnx"))
    meta = {"format": FORMAT, "sha256": sha256_file(out / "model.onnx"), "precision": chosen,
            "alert_thresholds": {label: a["threshold"] for label, a in alerts.items()},
            "alert_windows": {label: a["windows"] for label, a in alerts.items()}, "alert_calibration": alerts,
            "window_rows": sd.WINDOW_ROWS, "n_mels": 64, "events": list(sd.CLASSES), "scenes": list(sd.SCENE_NAMES),
            "valid_scene_accuracy": {k: round(v, 4) for k, v in acc.items()}, **info}
    (out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    (out / "MODEL_CARD.md").write_text(model_card(meta, (out / "model.onnx").stat().st_size))
    return meta


def model_card(meta: dict, size: int) -> str:
    """MODEL_CARD.md of a scene model folder, from its meta.json."""
    cal = meta["alert_calibration"]
    rows = "\n".join(f"| {k} | {v['threshold']} | {v.get('windows', 1)} | {v['background_max']} | {v['valid_recall']} |"
                     for k, v in cal.items())
    n_proc = meta["settings"].get("procedural", 0)
    procedural_note = (f"; {n_proc} procedural clips of each of {', '.join(GENERATORS)} "
                       "(training/procedural_sounds.py, made here from their physics)") if n_proc else ""
    scored = [h for h in meta["history"] if h["stage"] != "events"]
    kept = max(scored, key=lambda h: h["scene_accuracy"])  # the first of equals, as training keeps it
    return f"""# scene_context: sound-event tagging + household scene classification

A log-mel CNN with two heads (decision 37): 50 sound events (ESC-50's classes, multi-label) and 8 household scenes
({", ".join(meta["scenes"])}), from 1 s of hark's shared front end (64-band log-mel, 10 ms hop). The plugin runs it
every 0.5 s. Rebuild: `python -m training.train_scene` (about 25 min on 2 cores; `make scene-model`).

| | |
|---|---|
| file | model.onnx, {size:,} bytes, {meta["precision"]} (static QDQ, calibrated on valid recordings) |
| parameters | {meta["parameters"]:,} |
| compute | {meta["mmac_per_window"]} M multiply-accumulates per window, 2 windows per second of audio |
| task | {meta["task"]} (event weight {meta["settings"]["event_weight"]}), seed {meta["seed"]}, {meta["settings"]["epochs"]} epochs x {meta["settings"]["steps"]} batches of {meta["settings"]["batch"]} scene crops + {meta["settings"].get("clip_share", 0)} x as many clip crops (training/scene_clips.py) |
| valid (kept epoch {kept["epoch"]}, fp32) | scene accuracy {kept["scene_accuracy"]}, window event mAP {kept["event_map"]}, clips heard alone mAP {kept.get("clip_map", "-")} |

## Training data and licences

Synthesised household scenes (training/scene_data.py): {meta["settings"]["mixtures"]} recordings of 10 s per scene,
built from
- ESC-50 (K. J. Piczak; CC BY-NC 3.0, the ESC-10 part CC BY 3.0; per-clip Freesound attributions in the data
  set's LICENSE file): fold 4, 14 stray clips and 217 ESC-10 clips of other folds, split by source recording
  (washing_machine, one source recording, by take). **Because of ESC-50's licence this model is for
  non-commercial use**; a product needs a model retrained on sounds it may use.
- speechocean762 (CC BY 4.0): 750 read utterances, split by speaker, as the voice layer, TV and party babble;
- the picovoice speech-to-intent benchmark's kitchen noise (Apache-2.0), its first 60 % (valid: the next 10 %);
- synthetic hiss, hum and fan noise{procedural_note}.
The test side of every split (about 25 % of each class's sources, 20 % of the speakers, the last 30 % of the
kitchen noise) was never used for training or calibration: meta.json lists the hashed sources of the train and
valid sides, and benchmarks/scene.py and tests/test_scene.py check the test side against them.

## Alerts

Per alert label, how many 0.5 s-hop windows in a row must reach the threshold (1, or 2 when that keeps more
valid plants), and the threshold: the lowest probability that no valid background recording (40 min, no alert
sound in it) reached under that rule, plus 0.02, and at least 0.3 (above 1: the label cannot alert, since the valid
background alone reaches its top); valid recall with one valid clip planted at
0-15 dB over the bed:

| label | threshold | windows in a row | highest background probability | valid recall |
|---|---|---|---|---|
{rows}

{alert_model_section(meta)}
Held-out numbers (tagging mAP, scene accuracy, alert recall and false alerts per hour, CPU share) are in
benchmarks/results/scene.json and docs/benchmarks.md.
"""


def alert_model_section(meta: dict) -> str:
    """The model card's words on the alert detector, when the folder has one (``training.train_alerts``)."""
    spec = meta.get("alert_model")
    if not spec:
        return ""
    s = spec["settings"]
    valid = spec["valid"][spec["precision"]]
    made_up = "" if s.get("real_only") else (
        " (of glass, 40 % of them made-up breaks from the training recordings' own shards and 40 % from physics; "
        "of sirens, alarm clocks and knocks 40 % from physics: training/procedural_sounds.py)")
    rows = "\n".join(f"| {k} | {v['auc']} | {v['recall_over_background']} | {v['plants']} |"
                      for k, v in valid.items() if isinstance(v, dict))
    return f"""
The probabilities of {", ".join(spec["labels"])} come from the alert detector, `{spec["file"]}` ({spec["bytes"]:,}
bytes, {spec["precision"]}, {spec["parameters"]:,} parameters, {spec["mmac_per_window"]} MMAC per window; decision 48),
not from the tagger's event head. Rebuild: `python -m training.train_alerts` after the scene model (about
{max(1, round(s["steps"] / 300))} min on 2 cores). It trained on the same training sources as the scene model:
{s["per_label"]} windows per label of its training clips planted at -5..20 dB into alert-free training recordings{made_up},
and {s["negatives"]} windows without an alert sound, {s["steps"]} batches of {s["batch"]}. Valid (each valid clip
planted at 0-15 dB; background: {len(meta["scenes"]) * 6} alert-free valid recordings):

| label | AUC, best window of a plant against background windows | share of plants over the background's highest | plants |
|---|---|---|---|
{rows}
"""


def _append_activations(path: Path) -> None:
    """Sigmoid on the event logits and softmax on the scene logits, inside the graph (the runtime reads
    probabilities)."""
    import onnx
    from onnx import helper

    m = onnx.load(str(path))
    g = m.graph
    for out, op, attrs in (("events", "Sigmoid", {}), ("scene", "Softmax", {"axis": -1})):
        for node in g.node:
            node.output[:] = [f"{out}_logits" if o == out else o for o in node.output]
        g.node.append(helper.make_node(op, [f"{out}_logits"], [out], **attrs))
    onnx.checker.check_model(m)
    onnx.save(m, str(path))


def session_events(path: Path):
    """A predictor of event probabilities (batch, 50) from windows (batch, 100, 64): the scene ONNX at ``path``
    alone (a model folder with an alert model is calibrated through ``SceneModel.predict_batch`` instead)."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return lambda windows: sess.run(["events"], {"log_mel": windows})[0]


def window_probs(predict, audio: np.ndarray, hop_rows: int = 50) -> np.ndarray:
    """Event probabilities (windows, 50) of a recording, every ``hop_rows`` rows, as the plugin hears it."""
    return predict(sd.hop_windows(sd.mel_of(audio), hop_rows))


def run_min(probs: np.ndarray, n: int) -> np.ndarray:
    """The lowest of each ``n`` consecutive windows' probabilities (windows - n + 1, ...), aligned to the last."""
    out = probs[n - 1:]
    for k in range(1, n):
        out = np.minimum(out, probs[n - 1 - k: len(probs) - k])
    return out


def calibrate_alerts(predict, background: int = 30, planted: int = 12, seed: int = 5,
                     max_windows: int = 2) -> dict:
    """Per alert label, how many windows in a row (1..``max_windows``) must reach a threshold, and the threshold:
    the lowest no valid background recording reaches with that rule (+0.02, at least 0.3; never capped under the
    background: a label whose valid background reaches 0.98 gets a threshold over 1 and never alerts, rather than
    one the valid background is known to cross). The rule kept
    is the one with the higher valid recall (ties: fewer windows, a faster alert). ``background`` recordings
    per scene hold no alert sound (30 x 8 x 10 s: 40 min); ``planted`` recordings per label hold one of its
    valid clips at 0-15 dB over the bed. ``predict``: windows (batch, 100, 64) -> event probabilities (batch, 50)."""
    index = [sd.CLASSES.index(c) for c in sd.ALERTS]
    bg = np.zeros((max_windows, len(sd.ALERTS)))
    for m in sd.recordings("valid", background, seed, exclude=sd.ALERTS):
        probs = window_probs(predict, m.audio)[:, index]
        for n in range(1, max_windows + 1):
            bg[n - 1] = np.maximum(bg[n - 1], run_min(probs, n).max(axis=0, initial=0.0))
    pools = sd.Pools.load("valid")
    rng = np.random.default_rng(seed)
    out = {}
    for k, label in enumerate(sd.ALERTS):
        thresholds = np.maximum(bg[:, k] + 0.02, 0.3)
        hits = np.zeros(max_windows)
        for _ in range(planted):
            m = sd.mix(sd.SCENES[rng.integers(len(sd.SCENES))], pools, rng, exclude=sd.ALERTS, extra=(label,),
                       extra_snr_db=(0.0, 15.0))
            _, start, end = m.placed[-1]
            probs = window_probs(predict, m.audio)[:, index[k]]
            ends = 1.0 + 0.5 * np.arange(len(probs))  # window t covers [ends[t] - 1, ends[t]]
            for n in range(1, max_windows + 1):
                score = run_min(probs, n)
                near = (ends[n - 1:] >= start) & (ends[n - 1:] <= end + 1.5)
                hits[n - 1] += float(score[near].max(initial=0.0) >= thresholds[n - 1])
        n = int(np.argmax(hits)) + 1  # argmax takes the first of equals: the fewest windows
        out[label] = {"threshold": round(float(thresholds[n - 1]), 3), "windows": n,
                      "background_max": round(float(bg[n - 1, k]), 3),
                      "valid_recall": round(float(hits[n - 1] / planted), 3),
                      "valid_recall_by_windows": [round(float(h / planted), 3) for h in hits]}
    return out


def onnx_scene_accuracy(path: Path, data: SceneSet) -> float:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    hits = 0
    for i in range(len(data.mel)):
        windows = sd.hop_windows(data.mel[i])
        hits += int(sess.run(["scene"], {"log_mel": windows})[0].mean(0).argmax() == data.scene[i])
    return hits / len(data.mel)
