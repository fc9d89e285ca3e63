"""Ensemble model folders: two low-bit networks with their own tokenizers, pooled by the runtime (real ONNX sessions
of the committed SNIPS ensemble artifact, no torch)."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

import hark
from conftest import ROOT
from hark.onnx import folder_bytes
from hark.plugins.intent.model import JointModel

ARTIFACT = ROOT / "benchmarks" / "artifacts" / "snips"
ENSEMBLE = ARTIFACT / "model_ensemble"
TEXTS = ["play the latest album by beyonce on spotify", "book a table for four at a pizzeria in paris tonight",
         "what will the weather be in berlin tomorrow", "add this song to my workout playlist",
         "rate this book four out of six stars", "find the movie schedule for the nearest cinema"]


@pytest.fixture(scope="module")
def models():
    return JointModel(ENSEMBLE), JointModel(ENSEMBLE / "a"), JointModel(ENSEMBLE / "b")


def test_the_ensemble_pools_its_members(models):
    ensemble, a, b = models
    assert len(ensemble.networks) == 2 and ensemble.intents == a.intents == b.intents
    both, alone_a, alone_b = ensemble.predict(TEXTS), a.predict(TEXTS), b.predict(TEXTS)
    for e, pa, pb in zip(both, alone_a, alone_b):
        np.testing.assert_allclose(e.intent_probs, (pa.intent_probs + pb.intent_probs) / 2, atol=1e-5)
        assert e.intent_probs.sum() == pytest.approx(1.0, abs=1e-4)
        if [(s.slot, s.start, s.end) for s in pa.spans] == [(s.slot, s.start, s.end) for s in pb.spans]:
            assert [(s.slot, s.start, s.end) for s in e.spans] == [(s.slot, s.start, s.end) for s in pa.spans]
    # the members differ (other tokenizers, other weights): pooling is not one member in disguise
    assert all(not np.allclose(pa.intent_logits, pb.intent_logits, atol=0.1) for pa, pb in zip(alone_a, alone_b))


def test_the_ensemble_fits_the_budget_and_each_member_is_a_model_folder():
    assert folder_bytes(ENSEMBLE) <= 10_000_000
    meta = json.loads((ENSEMBLE / "meta.json").read_text())
    assert meta["members"] == ["a", "b"] and "python -m training.ensemble" in meta["ensemble"]["command"]
    for sub in meta["members"]:
        assert (ENSEMBLE / sub / "MODEL_CARD.md").is_file()
        assert json.loads((ENSEMBLE / sub / "meta.json").read_text())["sha256"]["model.onnx"]


def _copy(tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(ENSEMBLE, copy)
    return copy


def test_a_member_outside_the_folder_is_refused(tmp_path):
    copy = _copy(tmp_path)
    shutil.copytree(copy / "b", tmp_path / "elsewhere")
    meta = json.loads((copy / "meta.json").read_text())
    meta["members"] = ["a", "../elsewhere"]
    (copy / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(hark.ModelError, match="is not a sub-folder"):
        JointModel(copy)
    (copy / "link").symlink_to(tmp_path / "elsewhere")  # a plain name, but a link out of the folder
    meta["members"] = ["a", "link"]
    (copy / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(hark.ModelError, match="is not a sub-folder"):
        JointModel(copy)


def test_a_member_with_other_labels_is_refused(tmp_path):
    copy = _copy(tmp_path)
    meta = json.loads((copy / "b" / "meta.json").read_text())
    meta["intents"] = list(reversed(meta["intents"]))
    (copy / "b" / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(hark.ModelError, match="intents or tags differ"):
        JointModel(copy)


def test_a_damaged_member_file_fails_its_checksum(tmp_path):
    copy = _copy(tmp_path)
    data = bytearray((copy / "b" / "model.onnx").read_bytes())
    data[-10] ^= 0xFF
    (copy / "b" / "model.onnx").write_bytes(bytes(data))
    with pytest.raises(hark.ModelError, match="checksum mismatch"):
        JointModel(copy)


def test_the_ensemble_artifact_parses_through_the_cli():
    config = ARTIFACT / "config_ensemble.yaml"
    proc = subprocess.run([sys.executable, "-m", "hark.cli", "--config", str(config), "parse", "--compact",
                           "book a table for two at a sushi bar in seattle"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert (out["skill"], out["intent"], out["errors"]) == ("snips", "BookRestaurant", [])
    doctor = subprocess.run([sys.executable, "-m", "hark.cli", "--config", str(config), "doctor"],
                            capture_output=True, text=True, timeout=120)
    assert "an ensemble of 2 networks" in doctor.stdout, doctor.stdout
    assert {s["name"]: s["raw"] for s in out["slots"]}.get("city") == "seattle"


VALID = [("add beyonce to my workout playlist", "O B-artist O B-playlist_owner B-playlist O", "AddToPlaylist"),
         ("book a table for four in paris", "O O O O B-party_size_number O B-city", "BookRestaurant"),
         ("will it rain in berlin tomorrow", "O O B-condition_description O B-city B-timeRange", "GetWeather"),
         ("play some jazz on spotify", "O O B-genre O B-service", "PlayMusic"),
         ("rate this book four stars", "O B-object_select B-object_type B-rating_value B-rating_unit", "RateBook")]


def _as_builds(tmp_path):
    """The ensemble's members laid out as train_joint builds again (model.<variant>.onnx beside meta.json)."""
    builds = []
    for sub in ("a", "b"):
        build = tmp_path / f"build_{sub}"
        shutil.copytree(ENSEMBLE / sub, build)
        (name, entry), = json.loads((build / "meta.json").read_text())["metrics"]["lowbit"].items()
        (build / "model.onnx").rename(build / entry["file"])
        builds.append(build)
    return builds


def test_training_chooses_within_the_budget_and_ships_a_folder_the_runtime_loads(tmp_path):
    from training.data import Example
    from training.ensemble import METADATA_BYTES, choose, file_bytes, ship_ensemble
    from training.onnx_eval import open_model

    builds = _as_builds(tmp_path)
    examples = [Example(t.split(), g.split(), i, t.split(), g.split(), list(range(len(t.split())))) for t, g, i in VALID]
    members, valid, table = choose(builds, examples, 10_000_000)
    assert {tuple(r["members"]) for r in table} == {("build_a/squash2",), ("build_b/plain3",),
                                                  ("build_a/squash2", "build_b/plain3")}
    assert valid == max(table, key=lambda r: (r["sentence_acc"], r["slot_f1"], r["intent_acc"], -r["bytes"]))
    pair_bytes = sum(file_bytes(c) for c in [(builds[0], "squash2"), (builds[1], "plain3")])
    _, _, tight = choose(builds, examples, pair_bytes + METADATA_BYTES - 1)  # the pair no longer fits
    assert all(len(r["members"]) == 1 for r in tight)

    ship_ensemble(((builds[0], "squash2"), (builds[1], "plain3")), tmp_path / "model", valid, valid, "test")
    assert folder_bytes(tmp_path / "model") <= 10_000_000
    shipped = JointModel(tmp_path / "model")
    original = JointModel(ENSEMBLE)
    for got, want in zip(shipped.predict(TEXTS), original.predict(TEXTS)):
        np.testing.assert_allclose(got.intent_probs, want.intent_probs, atol=1e-6)
    # the benchmark reader pools exactly as the runtime does
    parsed = open_model(tmp_path / "model").parse([t.split() for t in TEXTS])
    assert [p.intent for p in parsed] == [shipped.intents[int(p.intent_probs.argmax())] for p in shipped.predict(TEXTS)]
