"""The `hark` command against a small skill folder and config written to tmp_path.

Most tests run the console script's entry point (``hark.cli.main``, not only the click group, so errors are
formatted as users see them) in this process through click's CliRunner: the same arguments, stdin, stdout, stderr
and exit status as the installed script, without a Python start-up and engine import per test. The tests at the end
run a real process, for what only a process shows: the installed console script and `python -m hark.cli`, the exit
status a shell sees, and input piped through a real stdin.

A handful of tests run against the bundled skills (the contract behaviours of the shipped timer and home skills);
they are skipped only while those skill files do not exist yet.
"""
from __future__ import annotations

import inspect
import json
import logging
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from hark.cli import main as console_main

ROOT = Path(__file__).resolve().parent.parent

#: the installed console script, when it sits next to this Python (the venv), and the module's __main__
_SCRIPT = Path(sys.executable).with_name("hark")
_PYTHON_M = [sys.executable, "-m", "hark.cli"]

HOME = """
name: home
description: lights
slots:
  room:
    type: list
    values: [kitchen, bedroom, {value: living room, synonyms: [lounge], id: living}]
intents:
  LightsOff:
    examples:
      - (turn|switch) off the {room} (lights|light)
      - (turn|switch) off (the)? lights
    action: {name: home.lights_off, params: {room: $room}}
    response: ["Turning off the {room} lights.", "Turning off the lights."]
  LightsOn:
    examples: ["(turn|switch) on the {room} (lights|light)"]
    action: {name: home.lights_on, params: {room: $room}}
"""

MEDIA = """
name: media
description: films
slots:
  title: {type: catalog, file: titles.csv, column: name, id: id, aliases: aliases}
intents:
  Play:
    examples: ["(play|watch) [the matrix](title)"]
    action: {name: media.play, params: {title: $title.entity_id}}
    response: Playing {title}.
"""

TITLES = "id,name,aliases\nm1,The Matrix,matrix one\nm2,Alien,\n"

NBEST = [{"text": "turn of the kitchen lights", "score": 0.6}, {"text": "turn off the kitchen lights", "score": 0.4}]

PARSE_KEYS = {"text", "out_of_scope", "skill", "intent", "confidence", "action", "slots", "alternatives", "errors"}
SLOT_KEYS = {"name", "raw", "value", "entity_id", "start", "end"}


@dataclass
class Run:
    """What one `hark` run left: the fields of a finished subprocess that the tests read."""

    returncode: int
    stdout: str
    stderr: str


class _ConsoleScript(click.Command):
    """A command whose ``main`` is the console script's, for CliRunner.invoke (which calls ``main``)."""

    def main(self, args=None, prog_name=None, **extra):  # type: ignore[override]
        return console_main(list(args or ()))


def _runner() -> CliRunner:
    params = inspect.signature(CliRunner).parameters
    options: dict = {}
    if "mix_stderr" in params:  # click < 8.2 mixes stderr into stdout unless told not to; 8.2 keeps them apart
        options["mix_stderr"] = False
    if "capture" in params:  # click >= 8.4: what C libraries write to fd 1 and 2 is output too, as in a process
        options["capture"] = "fd"
    return CliRunner(**options)


_RUNNER = _runner()
_HARK = _ConsoleScript("hark")


def hark(*args: str, stdin: str | None = None, cwd: Path | None = None) -> Run:
    """`hark ARGS` in this process. The environment is the one conftest's autouse fixture leaves (no HARK_*
    but HARK_DATA, HARK_CACHE in the session's temporary folder), as a subprocess of ``_env()`` would get it."""
    logger = logging.getLogger("hark")
    handlers, level, propagate = logger.handlers[:], logger.level, logger.propagate
    logger.handlers.clear()  # so that the CLI binds its stderr handler to this run's stderr, as a new process does
    before = os.getcwd()
    os.chdir(cwd or ROOT)
    try:
        result = _RUNNER.invoke(_HARK, list(args), input=stdin, catch_exceptions=False)
    finally:
        os.chdir(before)
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate
    return Run(result.exit_code, result.stdout, result.stderr)


def _env() -> dict[str, str]:
    """The caller's environment without HARK_* settings (so a developer's variables cannot change outcomes), except
    the data folder and the session's temporary cache (never the user's ~/.cache/hark)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARK_") or k in ("HARK_DATA", "HARK_CACHE")}
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def hark_process(command: list[str], *args: str, stdin: str | None = None) -> Run:
    """``command ARGS`` as a real process in the project folder, stdin a pipe."""
    proc = subprocess.run([*command, *args], input=stdin, capture_output=True, text=True, timeout=120, env=_env(),
                          cwd=ROOT)
    return Run(proc.returncode, proc.stdout, proc.stderr)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


@pytest.fixture
def config(tmp_path) -> Path:
    """A config.yaml whose only skills are tmp_path/skills/{home,media}."""
    write(tmp_path / "skills" / "home" / "skill.yaml", HOME)
    write(tmp_path / "skills" / "media" / "skill.yaml", MEDIA)
    write(tmp_path / "skills" / "media" / "titles.csv", TITLES)
    return write(tmp_path / "config.yaml", "skills:\n  paths: [skills]\n")


def parse_json(proc: Run):
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return json.loads(proc.stdout)


def assert_user_error(proc: Run, *fragments: str) -> str:
    """Non-zero exit, exactly one line on stderr naming the problem, nothing on stdout, no traceback."""
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got:\n{proc.stderr}"
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert proc.stdout.strip() == ""
    return lines[0]


# ------------------------------------------------------------------------------------------------ parse


def test_parse_prints_one_json_object(config):
    result = parse_json(hark("--config", str(config), "parse", "turn off the lounge lights"))
    assert isinstance(result, dict)
    assert PARSE_KEYS <= set(result)
    assert result["text"] == "turn off the lounge lights"
    assert result["out_of_scope"] is False
    assert (result["skill"], result["intent"]) == ("home", "LightsOff")
    assert 0.5 <= result["confidence"] <= 1.0
    assert result["action"] == {"name": "home.lights_off", "params": {"room": "living room"},
                                "response": "Turning off the living room lights."}
    assert isinstance(result["alternatives"], list) and result["errors"] == []
    (slot,) = result["slots"]
    assert SLOT_KEYS <= set(slot)
    assert (slot["name"], slot["raw"], slot["value"], slot["entity_id"]) == ("room", "lounge", "living room",
                                                                            "living")
    assert result["text"][slot["start"]:slot["end"]] == "lounge"


def test_parse_compact_is_one_line(config):
    proc = hark("--config", str(config), "parse", "--compact", "play matrix one")
    assert len(proc.stdout.strip().splitlines()) == 1
    result = parse_json(proc)
    assert (result["skill"], result["intent"]) == ("media", "Play")
    assert result["action"]["params"] == {"title": "m1"}
    assert result["action"]["response"] == "Playing The Matrix."
    (slot,) = result["slots"]
    assert (slot["raw"], slot["value"], slot["entity_id"]) == ("matrix one", "The Matrix", "m1")


def test_parse_out_of_scope_is_not_an_error(config):
    result = parse_json(hark("--config", str(config), "parse", "what is the capital of peru"))
    assert PARSE_KEYS <= set(result)
    assert result["out_of_scope"] is True
    assert result["action"] is None
    assert result["skill"] is None and result["intent"] is None
    assert result["slots"] == []


def test_parse_nbest_from_stdin_uses_the_parseable_hypothesis(config):
    result = parse_json(hark("--config", str(config), "parse", "--nbest", "-", stdin=json.dumps(NBEST)))
    assert result["out_of_scope"] is False
    assert result["skill"] == "home"
    assert result["hypothesis_index"] == 1
    assert result["text"] == "turn off the kitchen lights"
    assert result["slots"][0]["value"] == "kitchen"


def test_parse_nbest_from_file_wrapped_object(config, tmp_path):
    path = tmp_path / "nbest.json"
    path.write_text(json.dumps({"nbest": NBEST}), encoding="utf-8")
    result = parse_json(hark("--config", str(config), "parse", "--nbest", str(path)))
    assert result["skill"] == "home" and result["hypothesis_index"] == 1


# ------------------------------------------------------------------------------------------------ help


@pytest.mark.parametrize("command", [[], ["parse"], ["stream"], ["skills"], ["plugins"], ["doctor"], ["demo"]],
                         ids=lambda c: " ".join(c) or "hark")
def test_help(command):
    proc = hark(*command, "--help")
    assert proc.returncode == 0, proc.stderr
    assert "Usage:" in proc.stdout
    assert "Traceback" not in proc.stderr
    if not command:
        for sub in ("parse", "stream", "skills", "plugins", "doctor", "demo"):
            assert sub in proc.stdout


# ------------------------------------------------------------------------------------------------ user errors


def test_parse_without_arguments(config):
    assert_user_error(hark("--config", str(config), "parse"), "TEXT")


@pytest.mark.parametrize("stdin, fragment", [
    ("{not json", "not valid JSON"),
    ('{"text": "turn off the lights"}', "list"),
    ('[{"score": 0.5}]', "text"),
    ('[{"text": "turn off the lights", "score": "high"}]', "score"),
], ids=["invalid-json", "object-not-list", "missing-text", "non-numeric-score"])
def test_parse_bad_nbest(config, stdin, fragment):
    assert_user_error(hark("--config", str(config), "parse", "--nbest", "-", stdin=stdin), fragment)


def test_missing_config_file(tmp_path):
    missing = tmp_path / "nope.yaml"
    assert_user_error(hark("--config", str(missing), "parse", "hello"), "nope.yaml")


def test_config_with_unknown_key(tmp_path):
    path = write(tmp_path / "config.yaml", "engine:\n  min_confidenc: 0.3\n")
    line = assert_user_error(hark("--config", str(path), "parse", "hello"), "engine.min_confidenc")
    assert f"{path.resolve()}:2:" in line


def test_broken_skill_file(tmp_path):
    write(tmp_path / "skills" / "timer" / "skill.yaml", """
        name: timer
        intents:
          SetTimer:
            examples: [set a timer]
            acton: timer.start
    """)
    config = write(tmp_path / "config.yaml", "skills:\n  paths: [skills]\n")
    line = assert_user_error(hark("--config", str(config), "parse", "set a timer"), "skill.yaml",
                             "intents.SetTimer.acton")
    assert ":5:" in line
    assert_user_error(hark("--config", str(config), "skills"), "intents.SetTimer.acton")


def test_missing_skill_folder(tmp_path):
    config = write(tmp_path / "config.yaml", "skills:\n  paths: [does_not_exist]\n")
    assert_user_error(hark("--config", str(config), "parse", "hi"), "does_not_exist")


# ------------------------------------------------------------------------------------------------ stream


def test_stream_events_per_line_and_goes_on_after_a_bad_line(config):
    lines = [
        "turn off the kitchen lights",
        json.dumps({"text": "play alien"}),
        "{this is not json",
        json.dumps({"nbest": NBEST}),
    ]
    proc = hark("--config", str(config), "stream", stdin="\n".join(lines) + "\n")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]  # every line is JSON
    assert all({"kind", "data"} <= set(e) for e in events)

    by_utterance: dict[int, list[dict]] = {}
    for e in events:
        by_utterance.setdefault(e["utterance"], []).append(e)
    assert sorted(by_utterance) == [0, 1, 2, 3]

    def action(u: int) -> dict:
        (found,) = [e for e in by_utterance[u] if e["kind"] == "action"]
        return found["data"]

    assert action(0)["name"] == "home.lights_off" and action(0)["params"] == {"room": "kitchen"}
    assert action(1)["name"] == "media.play" and action(1)["params"] == {"title": "m2"}
    (error,) = [e for e in by_utterance[2]]
    assert error["kind"] == "error"
    assert "line 3" in error["data"]["message"]
    assert action(3)["skill"] == "home"  # the line after the bad one is still processed
    assert action(3)["text"] == "turn off the kitchen lights"


def test_stream_out_of_scope_and_bad_items(config):
    lines = ["what is the capital of peru", json.dumps({"nbest": []}), json.dumps({"txt": "hi"}), "switch on the bedroom light"]
    proc = hark("--config", str(config), "stream", stdin="\n".join(lines))
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    kinds = {(e["utterance"], e["kind"]) for e in events}
    assert (0, "out_of_scope") in kinds and (0, "action") not in kinds
    assert (1, "error") in kinds and (2, "error") in kinds
    assert (3, "action") in kinds


# ------------------------------------------------------------------------------------------------ listings


def test_skills_json(config):
    rows = parse_json(hark("--config", str(config), "skills", "--json"))
    assert [r["name"] for r in rows] == ["home", "media", "sounds"]  # sounds: the scene_context plugin's skill
    home = rows[0]
    assert [i["name"] for i in home["intents"]] == ["LightsOff", "LightsOn"]
    assert home["intents"][0]["action"] == "home.lights_off"
    assert home["slots"] == {"room": {"type": "list", "size": 3}}
    assert rows[1]["slots"]["title"] == {"type": "catalog", "size": 2}
    assert Path(home["path"]) == config.parent / "skills" / "home" / "skill.yaml"


def test_skills_text(config):
    proc = hark("--config", str(config), "skills")
    assert proc.returncode == 0, proc.stderr
    assert "home" in proc.stdout and "LightsOff" in proc.stdout and "media.play" in proc.stdout


def test_plugins_json(config):
    infos = parse_json(hark("--config", str(config), "plugins", "--json"))
    status = {i["name"]: i["status"] for i in infos}
    for name in ("intent_templates", "skill_actions", "slot_parsers"):
        assert status.get(name) == "loaded", (name, infos)
        (info,) = [i for i in infos if i["name"] == name]
        assert info["builtin"] is True and info["hooks"] and info["error"] == ""


def test_plugins_disabled_by_config(tmp_path, config):
    path = write(tmp_path / "config2.yaml", "skills:\n  paths: [skills]\nplugins:\n  disabled: [slot_parsers]\n")
    infos = parse_json(hark("--config", str(path), "plugins", "--json"))
    assert {i["name"]: i["status"] for i in infos}["slot_parsers"] == "disabled"


# ------------------------------------------------------------------------------------------------ bundled skills

_BUNDLED = ROOT / "skills"
bundled = pytest.mark.skipif(
    not ((_BUNDLED / "timer" / "skill.yaml").is_file() and (_BUNDLED / "home" / "skill.yaml").is_file()),
    reason="bundled skills/timer and skills/home are not written yet",
)


@bundled
def test_bundled_timer_duration():
    result = parse_json(hark("parse", "set a timer for ten minutes"))
    assert result["skill"] == "timer"
    durations = [s for s in result["slots"] if s.get("type") == "duration"]
    assert durations and durations[0]["value"] == 600


@bundled
def test_bundled_home_room():
    result = parse_json(hark("parse", "turn off the kitchen lights"))
    assert result["skill"] == "home"
    assert any(s["name"] == "room" and s["value"] == "kitchen" for s in result["slots"])


@bundled
def test_bundled_out_of_scope():
    proc = hark("parse", "what is the capital of peru")
    result = parse_json(proc)
    assert proc.returncode == 0
    assert result["out_of_scope"] is True
    assert result["action"] is None


@bundled
def test_bundled_nbest_recovers_from_asr_error():
    result = parse_json(hark("parse", "--nbest", "-", stdin=json.dumps(NBEST)))
    assert result["hypothesis_index"] == 1
    assert result["skill"] == "home"


# ------------------------------------------------------------------------------------------------ real processes

ENTRY_POINTS = {
    "console-script": pytest.param([str(_SCRIPT)], marks=pytest.mark.skipif(
        not _SCRIPT.is_file(), reason="no `hark` console script next to this Python (not installed in a venv)")),
    "python-m": _PYTHON_M,
}


@pytest.mark.parametrize("command", ENTRY_POINTS.values(), ids=ENTRY_POINTS.keys())
def test_entry_point_runs(command):
    proc = hark_process(command, "--help")
    assert proc.returncode == 0, proc.stderr
    assert "Usage:" in proc.stdout
    assert "Traceback" not in proc.stderr
    for sub in ("parse", "stream", "skills", "plugins", "doctor", "demo"):
        assert sub in proc.stdout


def test_user_error_exit_status_seen_by_a_shell(tmp_path):
    missing = tmp_path / "nope.yaml"
    proc = hark_process(_PYTHON_M, "--config", str(missing), "parse", "hello")
    assert_user_error(proc, "nope.yaml")
    assert proc.returncode == 1


def test_nbest_piped_to_a_process(config):
    proc = hark_process(_PYTHON_M, "--config", str(config), "parse", "--nbest", "-",
                        stdin=json.dumps(NBEST))
    result = parse_json(proc)
    assert result["hypothesis_index"] == 1 and result["skill"] == "home"
    assert result["slots"][0]["value"] == "kitchen"
