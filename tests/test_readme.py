"""The README's tour works as printed: the skill a newcomer writes, and the embedding example."""
from __future__ import annotations

import re

import pytest

from hark import Engine, load_config

from conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_stays_short():
    assert len(README.splitlines()) <= 210, "README.md is for newcomers: tables and details go to docs/"


def test_the_readme_skill_parses_as_promised(tmp_path):
    block = re.search(r"<<'YAML'\n(.*?)\nYAML\n", README, re.S).group(1)
    folder = tmp_path / "myskills" / "plants"
    folder.mkdir(parents=True)
    (folder / "skill.yaml").write_text(block, encoding="utf-8")
    config = load_config(None, env={"HARK_SKILLS": str(tmp_path / "myskills")})
    with Engine(config) as engine:
        result = engine.parse("please water the fern")
        assert result.action.name == "plants.water" and result.action.params == {"plant": "fern"}
        assert result.action.response == "Watering the fern."


def test_the_embedding_example_runs(monkeypatch, capsys):
    code = next(b for b in re.findall(r"```python\n(.*?)```", README, re.S) if "open_stream" in b)
    monkeypatch.chdir(ROOT)
    exec(compile(code, "README.md", "exec"), {})  # noqa: S102 - our own documentation
    out = capsys.readouterr().out
    assert "timer.set_alarm" in out and "video.play" in out
