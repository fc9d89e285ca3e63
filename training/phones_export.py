"""Export of a trained phone recognizer: ONNX fp32, static int8 (QDQ, calibrated on dev-voice recordings) when it
keeps the dev phone error rate, meta.json and MODEL_CARD.md. Used by ``training.train_phones``."""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from hark.phonetics import ARPABET, edit_distance
from training.onnx_quant import quantize_int8

if TYPE_CHECKING:
    from training.train_phones import Utterances

FORMAT = "hark-phones-1"
#: int8 ships when it adds at most this much dev phone error rate
INT8_TOLERANCE = 0.01


def onnx_per(path: Path, data: Utterances, limit: int = 300) -> float:
    """Phone error rate of an exported graph, greedy CTC, one utterance at a time (as the plugin runs it)."""
    from hark.onnx import load_session
    from training.train_phones import greedy

    session = load_session(path, threads=2)
    errors = total = 0
    for i in range(min(limit, len(data))):
        out = session.run(None, {"log_mel": data.mel(i)[None]})[0][0]
        ref = data.label(i).tolist()
        errors += edit_distance(greedy(out), ref)
        total += len(ref)
    return errors / max(total, 1)


def export(model, valid: Utterances, out: Path, info: dict) -> dict:
    import torch

    from hark.onnx import sha256_file

    out.mkdir(parents=True, exist_ok=True)
    fp32, int8 = out / "model_fp32.onnx", out / "model_int8.onnx"
    torch.onnx.export(model, (torch.zeros(1, 200, 64),), str(fp32), input_names=["log_mel"],
                      output_names=["log_probs"], dynamic_axes={"log_mel": {0: "batch", 1: "frames"},
                                                                "log_probs": {0: "batch", 1: "steps"}},
                      opset_version=17, dynamo=False)
    calib = [valid.mel(i)[None] for i in range(0, min(len(valid), 96), 2)]

    quantize_int8(fp32, int8, calib)
    per = {name: round(onnx_per(path, valid), 4) for name, path in (("fp32", fp32), ("int8", int8))}
    chosen = "int8" if per["int8"] - per["fp32"] <= INT8_TOLERANCE else "fp32"
    (out / "model.onnx").write_bytes((int8 if chosen == "int8" else fp32).read_bytes())
    fp32.unlink()
    int8.unlink()
    meta = {"format": FORMAT, "sha256": sha256_file(out / "model.onnx"), "precision": chosen,
            "phones": list(ARPABET), "blank": len(ARPABET), "stride": 2, "n_mels": 64,
            "dev_per_onnx": per, **info}
    (out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    (out / "MODEL_CARD.md").write_text(model_card(meta, (out / "model.onnx").stat().st_size))
    return meta


def model_card(meta: dict, size: int) -> str:
    args = meta["args"]
    return f"""# tutor phone recognizer

Per-frame posteriors over the 39 ARPAbet phones of CMUdict and a CTC blank, every 20 ms, from hark's shared
front end (64-band log-mel, 10 ms hop). The tutor plugin aligns the expected phones to them and scores each one
(goodness of pronunciation) and what was said instead. Rebuild: `python -m training.train_phones` (about
40 min on 2 cores, most of it rendering speech; `make tutor-model`).

| | |
|---|---|
| architecture | strided conv + {len([k for k in meta.get('layers', [])]) or 6} residual depthwise-separable conv blocks (k=11), CTC |
| file | model.onnx, {size / 1e6:.2f} MB, {meta["precision"]} |
| dev phone error rate (greedy) | fp32 {meta["dev_per_onnx"]["fp32"]:.1%}, int8 {meta["dev_per_onnx"]["int8"]:.1%} |
| training recordings | {args["utterances"]} (one per prompt), {args["epochs"]} epochs, seed {args["seed"]} |

## Data and licences
- **Speech**: espeak-ng (GPL-3.0 program; its output is not covered by the GPL) reading ARPAbet phoneme input, so
  every label is exactly what was said. Training voices: {", ".join(meta["train_voices"])}. Dev voices (epoch
  choice, int8 calibration): {", ".join(meta["valid_voices"])}. The benchmark's test voices share no voice
  variant with either (training/tutor_data.py checks at import).
- **Prompts**: everyday sentences from HWU64's training split (CC BY 4.0, Liu et al. 2019), pronounced with
  CMUdict (BSD-style licence) and hark's g2p. speechocean762's prompts and L2-ARCTIC's canonical sequences (the
  tutor benchmark's) are removed in code before training.
- **Mispronunciations**: half the recordings change about 12 % of their phones (confusable substitutions,
  some deletions; training/tutor_data.py ``CONFUSABLE``), so the model reports what it hears.
- **Channel augmentation** (each batch, on the log-mel): level +-10 dB, a microphone tilt, half the time a
  low-pass from 3.3-7 kHz (resamplers, phones, cheap microphones), a noise floor 5-40 dB under the speech, and
  SpecAugment masks. It costs about a point of dev phone error rate on clean espeak speech and keeps S/TH apart
  after a round trip through 44.1 kHz, which the model trained without it did not.

## Limits
Trained on synthetic speech only: on real voices it is much less accurate, so the tutor combines it with
pocketsphinx's forced alignment, and the benchmark reports real speech separately.
"""
