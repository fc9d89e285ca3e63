"""Seconds-long smoke run of the full training tier; skipped when torch is not installed (the default test venv).

It trains a tiny model on a tiny skill, then loads the result through the real `intent` plugin and engine.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import HOME_SKILL, ROOT

torch = pytest.importorskip("torch", reason="training needs the [train] extra (torch); the runtime never does")
spm = pytest.importorskip("sentencepiece")


def test_full_tier_trains_a_model_the_engine_loads(write_skill, tmp_path):
    write_skill("home", HOME_SKILL)
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"skills: {{paths: [{tmp_path / 'skills'}]}}\n"
                   f"plugins: {{settings: {{intent: {{model_dir: {tmp_path / 'model'}}}}}}}\n")
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(["turn on the lights", "switch off the kitchen light", "turn off the lights in the "
                                 "bedroom", "switch on the living room lights", "lounge"] * 20))
    spm.SentencePieceTrainer.train(input=str(corpus), model_prefix=str(tmp_path / "sp"), vocab_size=60,
                                   model_type="unigram", bos_id=1, eos_id=2, pad_id=3, unk_id=0,
                                   hard_vocab_limit=False, minloglevel=2)
    cmd = [sys.executable, "-m", "training.train_joint", "--dataset", "skills", "--config", str(cfg),
           "--out", str(tmp_path / "build"), "--ship", str(tmp_path / "model"), "--tokenizer", str(tmp_path / "sp.model"),
           "--scratch", "32,1,2,64", "--epochs", "1", "--per-intent", "20", "--oos", "0", "--threads", "1", "--quiet"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    meta = json.loads((tmp_path / "model" / "meta.json").read_text())
    assert meta["format"] == "hark-joint-intent-slot/1"
    # out of scope comes from the hard negatives rewritten from the skill (--oos 0: no data-set negatives)
    # every installed skill: the scene_context plugin's own skill too (its alert intent hears no speech)
    assert set(meta["intents"]) == {"home.LightsOff", "home.LightsOn", "sounds.WhatWasThatNoise", "oos"}
    assert (tmp_path / "model" / "MODEL_CARD.md").is_file()

    import hark

    with hark.Engine(hark.load_config(cfg, env={})) as engine:
        plugin = engine.pm.get_plugin("intent")
        assert plugin.status.startswith("loaded"), plugin.status
        result = engine.parse("turn on the lights")  # the template tier answers too; the model must not break it
        assert result.action.name == "home.lights_on"
        found = plugin.hark_interpret(hark.NBest.from_text("switch the lights on"), engine.skills, engine.context())
        assert all(i.source == "intent" and i.skill in ("home", "sounds") for i in found)  # the installed skills
    # 4-bit quantisation-aware fine-tuning of that build: the 4-bit file it writes is scored and loads
    cmd = [sys.executable, "-m", "training.qat4", "--dataset", "skills", "--config", str(cfg),
           "--build", str(tmp_path / "build"), "--per-intent", "20", "--oos", "0", "--limit", "40",
           "--threads", "1", "--quiet"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    qat = json.loads((tmp_path / "build" / "meta.json").read_text())["metrics"]["onnx_int4_qat"]
    assert qat["file"] == "model.int4_qat.onnx" and qat["bytes"] == (tmp_path / "build" / qat["file"]).stat().st_size
    assert 0 <= qat["test"]["intent_acc"] <= 100
    # 2-bit squashed fine-tuning of the same build, shipped: the runtime loads it (checksum checked) and parses
    cmd = [sys.executable, "-m", "training.train_lowbit", "--dataset", "skills", "--config", str(cfg),
           "--build", str(tmp_path / "build"), "--per-intent", "20", "--oos", "0", "--limit", "40", "--epochs", "1",
           "--bits", "2", "--mode", "squash", "--threads", "1", "--quiet", "--ship", str(tmp_path / "model2")]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    shipped = json.loads((tmp_path / "model2" / "meta.json").read_text())
    assert shipped["quantisation"]["bits"] == 2
    assert (tmp_path / "model2" / "model.onnx").read_bytes() == (tmp_path / "build" / "model.squash2.onnx").read_bytes()
    cfg2 = tmp_path / "config2.yaml"
    cfg2.write_text(cfg.read_text().replace(str(tmp_path / "model"), str(tmp_path / "model2")))
    with hark.Engine(hark.load_config(cfg2, env={})) as engine:
        plugin = engine.pm.get_plugin("intent")
        assert plugin.status.startswith("loaded"), plugin.status
        assert engine.parse("turn on the lights").action.name == "home.lights_on"


def test_fake_quantisation_rounds_as_the_4bit_quantiser_stores(tmp_path):
    """QAT trains against the weights MatMulNBits will hold: our rounding and onnxruntime's must be the same."""
    onnx = pytest.importorskip("onnx")
    import numpy as np
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    from training.qat4 import fake_quant_4bit
    from training.train_joint import quantize_4bit

    torch.manual_seed(0)
    w = torch.randn(48, 96) * torch.rand(48, 1)  # [out, in] as torch.nn.Linear holds it; rows of varied scale
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 96])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 48])
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g", [x], [y],
                              [numpy_helper.from_array(w.numpy().T.copy(), "w")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), tmp_path / "m.onnx")
    quantize_4bit(tmp_path / "m.onnx", tmp_path / "m4.onnx")
    stored = ort.InferenceSession(str(tmp_path / "m4.onnx"), providers=["CPUExecutionProvider"]).run(
        None, {"x": np.eye(96, dtype=np.float32)})[0]  # one-hot rows read the dequantised weights back
    ours = fake_quant_4bit(w).detach().numpy().T
    assert np.abs(stored - ours).max() < 1e-5
    assert np.abs(stored - w.numpy().T).max() > 1e-2  # and rounding did happen
    assert len(np.unique(ours[:32, 0])) <= 16
