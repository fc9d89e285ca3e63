"""The built wheel works outside the checkout: it carries the bundled skills, config.yaml, the models and the demo
inputs, and `hark demo` / `hark listen --wav` run from any folder."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The wheel built from this checkout, unpacked by pip into a folder of its own (dependencies come from the
    test environment); returns (site folder, wheel path)."""
    out = tmp_path_factory.mktemp("wheel")
    # pip builds a local folder in place (build/, *.egg-info): build a copy, so the test writes nothing into the checkout
    source = tmp_path_factory.mktemp("source") / "hark"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".hypothesis", ".pytest_cache", "benchmarks",
        "tests"))
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                            str(out), str(source)], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr[-2000:]
    wheel = next(out.glob("hark_nlu-*.whl"))
    site = tmp_path_factory.mktemp("site")
    install = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site),
                              str(wheel)], capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr[-2000:]
    return site, wheel


def _run(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARK_")}
    env.update(PYTHONPATH=str(site), HARK_CACHE=str(cwd / "cache"))
    return subprocess.run([sys.executable, "-m", "hark.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


def test_the_wheel_carries_skills_config_models_and_demo_inputs(installed):
    names = set(zipfile.ZipFile(installed[1]).namelist())
    for needed in ("hark/bundled/config.yaml", "hark/bundled/skills/home/skill.yaml",
                   "hark/bundled/skills/video/catalogs/titles.csv", "hark/bundled/examples/demo/01_typed.jsonl",
                   "hark/bundled/examples/demo/audio/turn_off_the_kitchen_lights.wav",
                   "hark/plugins/intent/model/model.onnx", "hark/phonetics/g2p/meta.json",
                   "hark/plugins/asr_pocketsphinx/models/en-us-synthetic/mdef"):
        assert needed in names, needed


def test_demo_and_listen_run_outside_the_checkout(installed, tmp_path):
    site, _ = installed
    where = _run(site, tmp_path, "doctor")
    assert str(site) in where.stdout + where.stderr, where.stdout  # the installed copy, not the checkout
    demo = _run(site, tmp_path, "demo", "--now", "2026-11-24T18:30:00+00:00")
    assert demo.returncode == 0, demo.stderr[-2000:]
    assert "home.lights_off" in demo.stdout and "asks: Unlock the front door?" in demo.stdout
    wav = site / "hark" / "bundled" / "examples" / "demo" / "audio" / "turn_off_the_kitchen_lights.wav"
    listen = _run(site, tmp_path, "listen", "--wav", str(wav))
    assert listen.returncode == 0, listen.stderr[-2000:]
    assert 'action: home.lights_off {"room": "kitchen"}' in listen.stdout


@pytest.mark.slow
def test_a_fresh_venv_installs_the_wheel_with_its_dependencies(installed, tmp_path):
    """What a device maker does: a new venv, `pip install <wheel>` (dependencies from the package index), then
    `hark demo` and `hark listen --wav` from another folder. Slow: pip resolves every dependency."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    pip = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(installed[1])], capture_output=True,
                         text=True, timeout=1800)
    assert pip.returncode == 0, pip.stderr[-2000:]
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARK_")}
    env["HARK_CACHE"] = str(tmp_path / "cache")
    hark = str(venv / "bin" / "hark")
    demo = subprocess.run([hark, "demo"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert demo.returncode == 0 and "home.lights_off" in demo.stdout, demo.stderr[-2000:]
    wav = next((venv / "lib").glob("python*/site-packages/hark/bundled/examples/demo/audio/play_the_matrix.wav"))
    listen = subprocess.run([hark, "listen", "--wav", str(wav)], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=600)
    assert 'action: video.play {"title": "The Matrix"' in listen.stdout, listen.stdout + listen.stderr[-2000:]
