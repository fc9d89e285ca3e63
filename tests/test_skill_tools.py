"""Skill developers' loop: `hark new-skill` writes a skill that works, `hark test-skill` checks one, and a running
`hark serve` picks up an edited skill without a restart."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from serving import Server


def hark(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hark.cli", *args], capture_output=True, text=True, timeout=300,
                          cwd=cwd)


def test_a_new_skill_passes_its_own_checks(tmp_path):
    made = hark("new-skill", "shopping", "--dir", str(tmp_path))
    assert made.returncode == 0, made.stderr
    folder = tmp_path / "shopping"
    assert {p.name for p in folder.iterdir()} == {"skill.yaml", "catalogs", "test_shopping.py"}
    checked = hark("test-skill", str(folder))
    assert checked.returncode == 0 and "tests: 3/3 passed" in checked.stdout, checked.stdout + checked.stderr
    pytest_run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder)],
                                capture_output=True, text=True, timeout=300, cwd=folder)
    assert pytest_run.returncode == 0, pytest_run.stdout[-2000:]
    again = hark("new-skill", "shopping", "--dir", str(tmp_path))
    assert again.returncode == 1 and "already exists" in again.stderr
    bad = hark("new-skill", "My Skill", "--dir", str(tmp_path))
    assert bad.returncode == 1 and "lowercase" in bad.stderr


def test_test_skill_reports_failures_and_confusions(tmp_path):
    hark("new-skill", "shopping", "--dir", str(tmp_path))
    yaml = tmp_path / "shopping" / "skill.yaml"
    # a test sentence another skill owns, and a wrong expected value
    yaml.write_text(yaml.read_text().replace(
        '      - "clear my shopping list"',
        '      - "clear my shopping list"\n      - "set a timer for ten minutes"').replace(
        "slots: {item: apples, amount: 3}", "slots: {item: apples, amount: 4}"))
    out = hark("test-skill", str(tmp_path / "shopping"))
    assert out.returncode == 1, out.stdout
    assert "'set a timer for ten minutes': parsed as timer.SetTimer" in out.stdout
    assert "amount=3 (expected 4)" in out.stdout
    assert "confused with other skills: timer.SetTimer (1)" in out.stdout
    missing = hark("test-skill", str(tmp_path))
    assert missing.returncode == 1 and "has no skill.yaml" in missing.stderr


def test_serve_reloads_an_edited_skill(tmp_path):
    skills = tmp_path / "skills"
    hark("new-skill", "shopping", "--dir", str(skills))
    config = tmp_path / "config.yaml"
    config.write_text(f"skills:\n  paths: [{skills}]\n")
    srv = Server(config=config)
    try:
        assert srv.request("POST", "/parse", {"text": "get me milk"})[1]["intent"] is None
        yaml = skills / "shopping" / "skill.yaml"
        yaml.write_text(yaml.read_text().replace("(i need|we need) [bread](item)",
                                                 "(i need|we need|get me) [bread](item)"))
        deadline = time.time() + 60
        while srv.request("POST", "/parse", {"text": "get me milk"})[1]["intent"] != "AddShopping":
            assert time.time() < deadline, "the edited skill was not picked up"
            time.sleep(0.5)
        yaml.write_text(yaml.read_text() + "\n  broken: [\n")  # half-saved file: keep serving what worked
        time.sleep(3)
        assert srv.request("POST", "/parse", {"text": "get me milk"})[1]["intent"] == "AddShopping"
    finally:
        code, err = srv.stop()
    assert code == 0 and "skills reloaded" in err and "do not load" in err, err[-2000:]
    assert "the trained intent model does not know shopping.AddShopping" in err
