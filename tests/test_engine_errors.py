"""Mistakes a user or plugin author makes are caught early and named precisely."""
from __future__ import annotations

import subprocess
import sys

import pytest

import hark
from hark import hookimpl, load_config

from conftest import HOME_SKILL


def test_invalid_plugin_settings_stop_startup_with_file_and_line(write_skill, tmp_path):
    write_skill("home", HOME_SKILL)
    cfg = tmp_path / "config.yaml"
    cfg.write_text("skills: {paths: [skills]}\nplugins:\n  settings:\n    intent_templates:\n      filler_cots: 0.9\n")
    with pytest.raises(hark.ConfigError) as info:
        hark.Engine(load_config(cfg, env={}))
    assert f"{cfg}:5:" in str(info.value) and "plugins.settings.intent_templates.filler_cots" in str(info.value)


def test_response_with_unknown_slot_field_is_a_load_error(write_skill, make_engine):
    write_skill("home", HOME_SKILL.replace('"Turning off the {room} lights."', '"Turning off the {room.colour} lights."'))
    with pytest.raises(hark.SkillError, match=r"intents.LightsOff.response: unknown slot field \{room.colour\}"):
        make_engine()


def test_handler_with_misspelled_hook_is_a_startup_error(write_skill, make_engine):
    write_skill("home", HOME_SKILL, files={"handler.py": """
        from hark import hookimpl
        @hookimpl
        def hark_acts(interpretation):
            return None
    """})
    with pytest.raises(hark.PluginError, match=r"handler.py: implements unknown hook hark_acts \(did you mean hark_act\?\)"):
        make_engine()


def test_yaml_boolean_intent_name_is_explained(write_skill, make_engine):
    write_skill("home", HOME_SKILL.replace("  LightsOn:", "  On:"))
    with pytest.raises(hark.SkillError, match=r"intent name True is not text: .*quote it"):
        make_engine()


def test_wall_clock_now_uses_configured_time_zone(write_skill, make_engine):
    write_skill("home", HOME_SKILL)
    engine = make_engine(**{"engine.timezone": "Asia/Tokyo"})
    assert engine.context(now="2026-11-24T21:00:00").now == "2026-11-24T21:00:00+09:00"
    with pytest.raises(hark.InputError, match="now: not an ISO 8601 datetime"):
        engine.context(now="tomorrow-ish")


def test_hark_plugins_deny_adds_to_config_deny_list(tmp_path):
    cfg = tmp_path / "config.yaml"
    cfg.write_text("plugins: {disabled: [a]}\n")
    assert load_config(cfg, env={"HARK_PLUGINS": "-b"}).plugins.disabled == ("a", "b")


def test_hark_plugins_command_works_when_skills_do_not_load(write_skill, tmp_path):
    folder = write_skill("home", HOME_SKILL.replace("type: list", "type: colour"))
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"skills: {{paths: [{folder.parent}]}}\n")
    proc = subprocess.run([sys.executable, "-m", "hark.cli", "--config", str(cfg), "plugins"], capture_output=True,
                          text=True)
    assert proc.returncode == 0 and "intent_templates" in proc.stdout
    assert "unknown slot type 'colour'" in proc.stderr and "Traceback" not in proc.stderr
