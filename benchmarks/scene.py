"""Scene context on held-out sounds: event tagging, scene accuracy, alerts, CPU share; through hark streams.

    python benchmarks/scene.py                       # -> results/scene.json and results/scene.svg
    python benchmarks/scene.py --background-min 10 --scenes-per 10 --out /tmp/scene.json   # a quick look

Everything is synthesised by ``training/scene_data.py`` from the *test* side of its splits (ESC-50 clips by
source recording, speechocean762 speakers, the last 30 % of the kitchen noise), and the script checks against the
shipped model's meta.json that no test source was trained or calibrated on. Every number comes from the shipped
model and settings running in ``Engine.open_stream`` (the scene_context plugin; ASR, VAD and the intent tiers
are disabled, as they do not change what the plugin hears), reading its ``scene`` and ``alert`` events:

- ``tagging``: each held-out clip alone over a faint hiss; a clip's score for a label is the highest probability
  any of its windows gave (``event_threshold`` lowered so every label is reported); per-class AP, mAP, top-1;
- ``scenes``: ``--scenes-per`` 10 s recordings of each scene, each in a new stream; the scene is the plugin's
  smoothed belief at the end of the recording;
- ``alerts``: recall: every held-out clip of each alert label planted ``--plants`` times into background
  recordings of random scenes at 0-15 dB over the bed, a hit when an alert of that label comes out between the
  clip's start and 1.5 s after its end; false alerts per hour: ``--background-min`` minutes of recordings with no
  alert sound in them (speech, TV, kitchen noise, every other event class), streamed as one stream;
- ``cpu``: process CPU seconds per second of audio of a stream with the plugin minus one without it (one thread);
- the ablation of the training recipe (scene-only vs multitask vs AET-then-ASC) is scene_ablation.json,
  written by ``python -m training.train_scene --ablation`` (report.py reads both).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

from _bench import stamp  # noqa: E402
from _svg import bar_chart  # noqa: E402

from hark import Engine, load_config  # noqa: E402
from hark.plugins.scene_context import DEFAULT_ALERTS  # noqa: E402
from hark.plugins.scene_context.model import DEFAULT_MODEL_DIR  # noqa: E402
from training import scene_data as sd  # noqa: E402
from training.train_scene import average_precision  # noqa: E402 (numpy only; torch stays unimported)

SR = 16000
CHUNK = 4800


def engine(**scene_settings) -> Engine:
    overrides = {"skills.paths": [], "plugins.disabled": ["asr_pocketsphinx", "vad", "intent", "entity_resolver"]}
    if scene_settings:
        overrides["plugins.settings.scene_context"] = scene_settings
    return Engine(load_config(None, env={}, **overrides))


def stream_events(eng: Engine, audio: np.ndarray) -> list:
    pcm = np.round(np.clip(audio, -1, 1) * 32767).astype(np.int16)
    with eng.open_stream() as stream:
        events = [e for i in range(0, len(pcm), CHUNK) for e in stream.feed(pcm[i:i + CHUNK])]
        events += stream.close()
    return events


def check_held_out(meta: dict) -> dict:
    """No test source in what the model was trained or calibrated on (meta.json's hashed ids)."""
    seen = set(meta["trained_on"]["esc_sources"]) | set(meta["validated_on"]["esc_sources"])
    speakers = set(meta["trained_on"]["speakers"]) | set(meta["validated_on"]["speakers"])
    test = sd.source_ids("test")
    overlap = (set(test["esc_sources"]) & seen, set(test["speakers"]) & speakers)
    if any(overlap):
        raise SystemExit(f"held-out check failed: {len(overlap[0])} ESC sources, {len(overlap[1])} speakers of the "
                         f"test split were used in training or calibration")
    a, b = test["kitchen_fraction"]
    for split in ("trained_on", "validated_on"):
        lo, hi = meta[split]["kitchen_fraction"]
        if lo < b and a < hi:
            raise SystemExit("held-out check failed: the test stretch of the kitchen noise overlaps training")
    return {"test_esc_sources": len(test["esc_sources"]), "test_speakers": len(test["speakers"]),
            "overlap": 0}


def tagging(labels: tuple[str, ...]) -> dict:
    eng = engine(event_threshold=0.001, hop_s=0.5, update_s=0.5, scene_events="every", alerts=[])
    rng = np.random.default_rng(1)
    clips = [c for c in sd.load_clips() if c.split == "test"]
    scores = np.zeros((len(clips), len(labels)))
    for i, clip in enumerate(clips):
        x = sd.read_audio(clip.path).astype(np.float64)
        x = np.concatenate([np.zeros(SR // 2), x, np.zeros(SR // 2)])
        hiss = rng.standard_normal(len(x)) * 10 ** (-65 / 20)
        for e in stream_events(eng, x + hiss):
            if e.kind == "scene":
                for label, p in e.data.get("events") or []:
                    k = labels.index(label)
                    scores[i, k] = max(scores[i, k], p)
    eng.close()
    truth = np.array([[c.category == label for label in labels] for c in clips])
    aps = {label: average_precision(truth[:, k], scores[:, k]) for k, label in enumerate(labels) if truth[:, k].any()}
    top1 = float(np.mean(scores.argmax(1) == truth.argmax(1)))
    return {"clips": len(clips), "map": round(float(np.mean(list(aps.values()))), 4), "top1_accuracy": round(top1, 4),
            "per_class_ap": {k: round(v, 4) for k, v in sorted(aps.items(), key=lambda kv: -kv[1])}}


def scenes(per_scene: int, names: tuple[str, ...]) -> dict:
    eng = engine(alerts=[], scene_events="every")
    confusion = np.zeros((len(sd.SCENES), len(names)), int)
    for m in sd.recordings("test", per_scene, seed=0):
        last = [e for e in stream_events(eng, m.audio) if e.kind == "scene"][-1].data
        confusion[m.scene, names.index(last["scene"])] += 1
    eng.close()
    acc = np.trace(confusion[:, [names.index(s) for s in sd.SCENE_NAMES]]) / confusion.sum()
    return {"recordings": int(confusion.sum()), "accuracy": round(float(acc), 4),
            "per_scene": {s: round(float(confusion[i, names.index(s)] / confusion[i].sum()), 3)
                          for i, s in enumerate(sd.SCENE_NAMES)},
            "confusion": {"rows": list(sd.SCENE_NAMES), "columns": list(names), "counts": confusion.tolist()}}


def _alert_scores(events: list, labels: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(times, probabilities (updates, labels)) of the alert labels from a stream's every-hop scene events."""
    rows = [(e.data["timestamp"], dict(e.data.get("events") or [])) for e in events if e.kind == "scene"]
    return (np.array([t for t, _ in rows]),
            np.array([[p.get(label, 0.0) for label in labels] for _, p in rows]).reshape(len(rows), len(labels)))


def alerts(plants: int, background_min: float) -> dict:
    """Alerts turned on (they are off by default): recall on held-out clips planted in held-out scenes, false
    alerts on alert-free background. Also the best any per-label threshold could do on these very recordings
    (each label's threshold just above its highest background probability): an upper bound that tells a weak
    tagger from a poor calibration, never a setting."""
    alert_labels = tuple(DEFAULT_ALERTS)
    # every hop reports every probability, so the same streams give both the alerts and the raw scores
    eng = engine(alerts=list(alert_labels), scene_events="every", update_s=0.5, event_threshold=0.001)
    pools = sd.Pools.load("test")
    rng = np.random.default_rng(3)
    recall: dict[str, list[int]] = {}
    planted_best: dict[str, list[float]] = {}
    misfires = 0
    for k, label in enumerate(alert_labels):
        for clip in pools.clips[label]:
            for _ in range(plants):
                one = pools.with_only(label, clip)
                m = sd.mix(sd.SCENES[rng.integers(len(sd.SCENES))], one, rng, exclude=sd.ALERTS, extra=(label,),
                           extra_snr_db=(0.0, 15.0))
                _, start, end = m.placed[-1]
                events = stream_events(eng, m.audio)
                fired = [e.data for e in events if e.kind == "alert"]
                hit = any(a["label"] == label and start <= a["time"] <= end + 1.5 for a in fired)
                recall.setdefault(label, []).append(int(hit))
                misfires += sum(a["label"] != label for a in fired)
                times, probs = _alert_scores(events, alert_labels)
                near = (times >= start) & (times <= end + 1.5)
                planted_best.setdefault(label, []).append(float(probs[near, k].max(initial=0.0)))
    per_scene = max(1, round(background_min * 6 / len(sd.SCENES)))
    audio = np.concatenate([m.audio for m in sd.recordings("test", per_scene, seed=9, exclude=sd.ALERTS)])
    events = stream_events(eng, audio)
    false = [e.data for e in events if e.kind == "alert"]
    background_max = _alert_scores(events, alert_labels)[1].max(axis=0, initial=0.0)
    eng.close()
    hours = len(audio) / SR / 3600
    total = [h for hits in recall.values() for h in hits]
    above = {label: np.array(planted_best[label]) > background_max[k] for k, label in enumerate(alert_labels)}
    return {"labels": list(alert_labels), "planted": len(total), "recall": round(float(np.mean(total)), 4),
            "recall_per_label": {k: round(float(np.mean(v)), 3) for k, v in recall.items()},
            "other_label_alerts_on_planted": misfires,
            "background_hours": round(hours, 3), "false_alerts": len(false),
            "false_alerts_per_hour": round(len(false) / hours, 2),
            "false_alert_labels": sorted({a["label"] for a in false}),
            "upper_bound_recall_at_zero_false_alerts": round(float(np.mean(np.concatenate(list(above.values())))), 4),
            "upper_bound_recall_per_label": {k: round(float(v.mean()), 3) for k, v in above.items()},
            "planted_median_probability": {k: round(float(np.median(v)), 3) for k, v in planted_best.items()},
            "background_max_probability": {k: round(float(background_max[i]), 3) for i, k in enumerate(alert_labels)}}


def cpu_share(seconds: float = 60.0) -> dict:
    audio = np.concatenate([m.audio for m in sd.recordings("test", 1, seed=21)])[: int(seconds * SR)]
    used = {}
    for name, disabled in (("with", []), ("without", ["scene_context"])):
        eng = Engine(load_config(None, env={}, **{
            "skills.paths": [], "plugins.disabled": ["asr_pocketsphinx", "vad", "intent", "entity_resolver",
                                                     *disabled]}))
        stream_events(eng, audio[: SR * 2])  # warm
        t0 = time.process_time()
        stream_events(eng, audio)
        used[name] = time.process_time() - t0
        eng.close()
    share = (used["with"] - used["without"]) / (len(audio) / SR)
    return {"audio_s": round(len(audio) / SR, 1), "cpu_s_with_plugin": round(used["with"], 3),
            "cpu_s_without": round(used["without"], 3), "share_of_one_core": round(share, 4)}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scenes-per", type=int, default=50, help="test recordings per scene (default 50)")
    ap.add_argument("--plants", type=int, default=3, help="recordings per held-out alert clip (default 3)")
    ap.add_argument("--background-min", type=float, default=60.0,
                    help="minutes of alert-free background for false alerts (default 60)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "scene.json")
    args = ap.parse_args(argv)
    meta = json.loads((DEFAULT_MODEL_DIR / "meta.json").read_text())
    model = {"file_bytes": (DEFAULT_MODEL_DIR / "model.onnx").stat().st_size, "precision": meta["precision"],
             "parameters": meta.get("parameters"), "mmac_per_window": meta.get("mmac_per_window"),
             "windows_per_second": 2}
    detector = meta.get("alert_model")
    if detector:  # decision 48: the alert sounds' probabilities come from a detector of their own
        model["alert_model"] = {"file_bytes": (DEFAULT_MODEL_DIR / detector["file"]).stat().st_size,
                                **{k: detector.get(k) for k in ("precision", "parameters", "mmac_per_window", "labels")}}
    model["total_bytes"] = model["file_bytes"] + model.get("alert_model", {}).get("file_bytes", 0)
    result = {"model": model, "held_out_check": check_held_out(meta)}
    t0 = time.time()
    result["tagging"] = tagging(tuple(meta["events"]))
    print(f"tagging: mAP {result['tagging']['map']}, top-1 {result['tagging']['top1_accuracy']} "
          f"({time.time() - t0:.0f} s)", flush=True)
    result["scenes"] = scenes(args.scenes_per, tuple(meta["scenes"]))
    print(f"scenes: accuracy {result['scenes']['accuracy']} ({time.time() - t0:.0f} s)", flush=True)
    result["alerts"] = alerts(args.plants, args.background_min)
    a = result["alerts"]
    print(f"alerts: recall {a['recall']} of {a['planted']}, {a['false_alerts']} false in "
          f"{a['background_hours']} h ({time.time() - t0:.0f} s)", flush=True)
    result["cpu"] = cpu_share()
    print(f"cpu: {result['cpu']['share_of_one_core']:.2%} of one core", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(stamp(result), indent=1) + "\n")
    aps = result["tagging"]["per_class_ap"]
    args.out.with_suffix(".svg").write_text(bar_chart(
        list(aps), list(aps.values()), title=f"Held-out ESC-50 clips: AP per class (mAP {result['tagging']['map']:.3f})",
        xlabel="average precision"))
    print(f"wrote {args.out} and {args.out.with_suffix('.svg')}")


if __name__ == "__main__":
    main()
