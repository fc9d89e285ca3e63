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
    # another seed fine-tunes on the build's own sentences; other sentences than the build's are refused
    proc = subprocess.run(cmd[:cmd.index("--ship")] + ["--seed", "5"], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "build" / "model.squash2_s5.onnx").is_file()
    other = [("19" if a == "20" else a) for a in cmd[:cmd.index("--ship")]]  # --per-intent 19: other sentences
    proc = subprocess.run(other, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0 and "valid split is not the one the build was trained beside" in proc.stderr
