"""config.yaml loading: defaults, validation with file:line: dotted.key messages, HARK_* variables, overrides."""
from __future__ import annotations

import os
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from hark.config import (Config, EngineSettings, PluginSettings, SkillSettings, default_config_path, load_config,
                         project_root)
from hark.errors import ConfigError


def write_config(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path.resolve()


# ------------------------------------------------------------------------------------------------ defaults / files


def test_builtin_defaults():
    cfg = Config()
    assert cfg.engine == EngineSettings()
    assert cfg.engine.min_confidence == 0.5
    assert cfg.engine.max_alternatives == 5
    assert cfg.skills.paths == ("skills",)
    assert cfg.skills.disabled == ()
    assert cfg.plugins.enabled is None and cfg.plugins.disabled == () and dict(cfg.plugins.settings) == {}
    assert cfg.path is None
    assert cfg.skill_paths() == [project_root() / "skills"]


@pytest.mark.parametrize("text", ["", "# only a comment\n", "engine: {}\n"])
def test_empty_file_gives_defaults(tmp_path, text):
    path = write_config(tmp_path, text)
    cfg = load_config(path, env={})
    assert cfg.engine == EngineSettings()
    assert cfg.skills == SkillSettings()
    assert cfg.plugins == PluginSettings()
    assert cfg.path == path
    assert cfg.base_dir == path.parent


def test_no_path_uses_the_project_config():
    cfg = load_config(None, env={})
    assert default_config_path().is_file()
    assert cfg.path == default_config_path().resolve()


def test_hark_config_variable_names_the_file(tmp_path):
    path = write_config(tmp_path, "engine: {min_confidence: 0.25}\n")
    cfg = load_config(None, env={"HARK_CONFIG": str(path)})
    assert cfg.path == path
    assert cfg.engine.min_confidence == 0.25


def test_loading_a_file(tmp_path):
    path = write_config(tmp_path, """
        engine:
          min_confidence: 0.7
          max_alternatives: 2
          locale: en-GB
          timezone: Europe/Paris
        skills:
          paths: [mine, /opt/hark/skills]
          disabled: [music]
        plugins:
          enabled: [intent_templates, skill_actions]
          disabled: [asr_whisper]
          settings:
            intent_templates: {filler_cost: 0.9}
    """)
    cfg = load_config(path, env={})
    assert cfg.engine == EngineSettings(min_confidence=0.7, max_alternatives=2, resolve_top=3, locale="en-GB",
                                        timezone="Europe/Paris")
    assert cfg.skills.paths == ("mine", "/opt/hark/skills")
    assert cfg.skills.disabled == ("music",)
    assert cfg.plugins.enabled == ("intent_templates", "skill_actions")
    assert cfg.plugins.disabled == ("asr_whisper",)
    assert cfg.plugins.settings["intent_templates"] == {"filler_cost": 0.9}


def test_the_bundled_config_is_valid():
    cfg = load_config(default_config_path(), env={})
    assert 0.0 <= cfg.engine.min_confidence <= 1.0


def test_missing_explicit_file_is_config_error(tmp_path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match="nope.yaml"):
        load_config(missing, env={})
    with pytest.raises(ConfigError, match="nope.yaml"):
        load_config(None, env={"HARK_CONFIG": str(missing)})


def test_invalid_yaml_is_config_error_with_line(tmp_path):
    path = write_config(tmp_path, """
        engine:
          min_confidence: 0.5
          max_alternatives: [3
        skills: {}
    """)
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    message = str(info.value)
    assert str(path) in message
    assert "invalid YAML" in message
    assert f"{path}:" in message
    line = int(message.split(f"{path}:", 1)[1].split(":", 1)[0])
    assert 3 <= line <= 5  # where the unclosed list starts or where the parser gave up


def test_top_level_must_be_a_mapping(tmp_path):
    path = write_config(tmp_path, "- engine\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(path, env={})


# ------------------------------------------------------------------------------------------------ validation


def test_unknown_key_names_file_line_and_dotted_key(tmp_path):
    path = write_config(tmp_path, """
        # comment
        engine:
          locale: en-US
          min_confidenc: 0.3
    """)
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    message = str(info.value)
    assert str(path) in message
    assert f"{path}:4:" in message
    assert "engine.min_confidenc" in message
    assert "min_confidence" in message  # the known keys are listed


def test_unknown_section_names_key(tmp_path):
    path = write_config(tmp_path, "engine: {}\nskils:\n  paths: [x]\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert f"{path}:2:" in str(info.value)
    assert "skils" in str(info.value)


def test_wrong_type_names_key_and_expected_type(tmp_path):
    path = write_config(tmp_path, """
        engine:
          min_confidence: "high"
    """)
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    message = str(info.value)
    assert f"{path}:2:" in message
    assert "engine.min_confidence" in message
    assert "number" in message
    assert "high" in message


@pytest.mark.parametrize("text, key, expected", [
    ("engine:\n  max_alternatives: 2.5\n", "engine.max_alternatives", "whole number"),
    ("engine:\n  max_alternatives: true\n", "engine.max_alternatives", "number"),
    ("engine:\n  locale: [en]\n", "engine.locale", "text"),
    ("skills:\n  paths: 5\n", "skills.paths", "list"),
    ("engine: [1, 2]\n", "engine", "mapping"),
    ("plugins:\n  settings: [a]\n", "plugins.settings", "mapping"),
])
def test_other_wrong_types(tmp_path, text, key, expected):
    path = write_config(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    message = str(info.value)
    assert str(path) in message
    assert key in message
    assert expected in message


# ------------------------------------------------------------------------------------------------ environment


def test_env_min_confidence(tmp_path):
    path = write_config(tmp_path, "engine: {min_confidence: 0.2}\n")
    cfg = load_config(path, env={"HARK_MIN_CONFIDENCE": "0.65"})
    assert cfg.engine.min_confidence == pytest.approx(0.65)


def test_env_bad_min_confidence_names_the_variable(tmp_path):
    """A bad value from the environment must be reported as such, not blamed on the config file."""
    path = write_config(tmp_path, "engine: {}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={"HARK_MIN_CONFIDENCE": "high"})
    message = str(info.value)
    assert "engine.min_confidence" in message
    assert "HARK_MIN_CONFIDENCE" in message


def test_env_skills_is_pathsep_separated(tmp_path):
    path = write_config(tmp_path, "skills: {paths: [from_file]}\n")
    cfg = load_config(path, env={"HARK_SKILLS": os.pathsep.join(["/a/skills", "rel", ""])})
    # relative paths in an environment variable are relative to the current directory, like a path argument
    assert cfg.skills.paths == ("/a/skills", str(Path("rel").resolve()))
    assert cfg.skill_paths()[0] == Path("/a/skills")


def test_env_plugins_allow_list():
    cfg = load_config(None, env={"HARK_PLUGINS": "a, b"})
    assert cfg.plugins.enabled == ("a", "b")
    assert cfg.plugins.disabled == ()


def test_env_plugins_deny():
    cfg = load_config(None, env={"HARK_PLUGINS": "-c"})
    assert cfg.plugins.enabled is None
    assert cfg.plugins.disabled == ("c",)


def test_env_plugins_both():
    cfg = load_config(None, env={"HARK_PLUGINS": "a,-c,b"})
    assert cfg.plugins.enabled == ("a", "b")
    assert cfg.plugins.disabled == ("c",)


def test_env_locale_and_timezone():
    cfg = load_config(None, env={"HARK_LOCALE": "en-GB", "HARK_TIMEZONE": "Europe/London"})
    assert cfg.engine.locale == "en-GB"
    assert cfg.engine.timezone == "Europe/London"


def test_empty_env_values_are_ignored(tmp_path):
    path = write_config(tmp_path, "engine: {min_confidence: 0.2}\n")
    cfg = load_config(path, env={"HARK_MIN_CONFIDENCE": "", "HARK_PLUGINS": " ", "HARK_SKILLS": ""})
    assert cfg.engine.min_confidence == 0.2
    assert cfg.plugins == PluginSettings()
    assert cfg.skills.paths == ("skills",)


def test_os_environ_is_not_read_when_env_is_given(tmp_path, monkeypatch):
    monkeypatch.setenv("HARK_MIN_CONFIDENCE", "0.9")
    path = write_config(tmp_path, "engine: {min_confidence: 0.2}\n")
    assert load_config(path, env={}).engine.min_confidence == 0.2


# ------------------------------------------------------------------------------------------------ overrides


def test_dotted_keyword_override(tmp_path):
    path = write_config(tmp_path, "engine: {min_confidence: 0.2, max_alternatives: 4}\n")
    cfg = load_config(path, env={}, **{"engine.min_confidence": 0.3})
    assert cfg.engine.min_confidence == 0.3
    assert cfg.engine.max_alternatives == 4  # the rest of the section is kept


def test_section_keyword_override(tmp_path):
    path = write_config(tmp_path, "engine: {min_confidence: 0.2, max_alternatives: 4}\n")
    cfg = load_config(path, env={}, engine={"max_alternatives": 1})
    assert cfg.engine.max_alternatives == 1
    assert cfg.engine.min_confidence == 0.2


def test_dotted_override_of_nested_plugin_settings(tmp_path):
    path = write_config(tmp_path, "plugins: {settings: {intent_templates: {filler_cost: 0.9}}}\n")
    cfg = load_config(path, env={}, **{"plugins.disabled": ["x"]})
    assert cfg.plugins.disabled == ("x",)
    assert cfg.plugins.settings["intent_templates"] == {"filler_cost": 0.9}


def test_unknown_override_key_is_config_error():
    with pytest.raises(ConfigError, match=r"engine\.min_confidenc\b"):
        load_config(None, env={}, **{"engine.min_confidenc": 0.3})


def test_bad_override_value_is_config_error():
    with pytest.raises(ConfigError, match="engine.min_confidence"):
        load_config(None, env={}, **{"engine.min_confidence": "lots"})


@pytest.mark.parametrize("env, overrides, expected", [
    ({}, {}, 0.2),
    ({"HARK_MIN_CONFIDENCE": "0.4"}, {}, 0.4),
    ({"HARK_MIN_CONFIDENCE": "0.4"}, {"engine.min_confidence": 0.3}, 0.3),
    ({}, {"engine.min_confidence": 0.3}, 0.3),
])
def test_precedence_file_env_overrides(tmp_path, env, overrides, expected):
    path = write_config(tmp_path, "engine: {min_confidence: 0.2}\n")
    assert load_config(path, env=env, **overrides).engine.min_confidence == pytest.approx(expected)


def test_precedence_for_lists(tmp_path):
    path = write_config(tmp_path, "skills: {paths: [file]}\n")
    assert load_config(path, env={"HARK_SKILLS": "env"}).skills.paths == (str(Path("env").resolve()),)
    assert load_config(path, env={"HARK_SKILLS": "env"}, **{"skills.paths": ["kw"]}).skills.paths == ("kw",)


# ------------------------------------------------------------------------------------------------ plugin settings


@dataclass(frozen=True)
class _DemoSettings:
    threshold: float = 0.5
    words: tuple[str, ...] = ("a",)
    enabled: bool = True


def test_plugin_settings_builds_the_dataclass(tmp_path):
    path = write_config(tmp_path, """
        plugins:
          settings:
            demo:
              threshold: 0.8
              words: [x, y]
              enabled: false
    """)
    settings = load_config(path, env={}).plugin_settings("demo", _DemoSettings)
    assert settings == _DemoSettings(threshold=0.8, words=("x", "y"), enabled=False)


def test_plugin_settings_defaults_when_absent(tmp_path):
    path = write_config(tmp_path, "plugins: {settings: {other: {x: 1}}}\n")
    assert load_config(path, env={}).plugin_settings("demo", _DemoSettings) == _DemoSettings()


def test_plugin_settings_rejects_unknown_keys(tmp_path):
    path = write_config(tmp_path, "plugins:\n  settings:\n    demo:\n      threshhold: 0.8\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={}).plugin_settings("demo", _DemoSettings)
    message = str(info.value)
    assert "plugins.settings.demo.threshhold" in message
    assert str(path) in message
    assert "threshold" in message  # known keys listed


def test_plugin_settings_wrong_type(tmp_path):
    path = write_config(tmp_path, "plugins: {settings: {demo: {threshold: high}}}\n")
    with pytest.raises(ConfigError, match=r"plugins\.settings\.demo\.threshold"):
        load_config(path, env={}).plugin_settings("demo", _DemoSettings)


# ------------------------------------------------------------------------------------------------ paths


def test_relative_skill_paths_resolve_against_the_config_folder(tmp_path, monkeypatch):
    path = write_config(tmp_path, "skills: {paths: [myskills, ../shared, /abs/skills]}\n", name="conf/hark.yaml")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    cfg = load_config(path, env={})
    assert cfg.skill_paths() == [path.parent / "myskills", path.parent / "../shared", Path("/abs/skills")]
    assert cfg.resolve_path("data/x.bin") == path.parent / "data/x.bin"


def test_relative_config_path_is_resolved(tmp_path, monkeypatch):
    write_config(tmp_path, "skills: {paths: [s]}\n", name="sub/config.yaml")
    monkeypatch.chdir(tmp_path)
    cfg = load_config("sub/config.yaml", env={})
    assert cfg.path is not None and cfg.path.is_absolute()
    assert cfg.skill_paths() == [(tmp_path / "sub").resolve() / "s"]


# ------------------------------------------------------------------------------------------------ strictness (issue 14)


def test_a_duplicate_key_is_an_error_with_both_lines(tmp_path):
    path = write_config(tmp_path, """
        engine:
          min_confidence: 0.3
          locale: en-GB
          min_confidence: 0.9
    """)
    with pytest.raises(ConfigError, match=rf"{path}:4: key 'min_confidence' appears twice in the same mapping "
                                          r"\(first on line 2\)"):
        load_config(path, env={})


@pytest.mark.parametrize("key,value,fragment", [
    ("engine.min_confidence", "1.5", "expected a number in [0, 1], got 1.5"),
    ("engine.min_confidence", "-0.1", "expected a number in [0, 1], got -0.1"),
    ("engine.min_confidence", ".nan", "expected a finite number"),
    ("engine.min_confidence", ".inf", "expected a finite number"),
    ("engine.max_alternatives", "0", "expected a number in [1, 1000], got 0"),
    ("engine.resolve_top", "0", "expected a number in [1, 1000], got 0"),
    ("engine.wake_window_s", "-1", "expected a number in [0, 3600], got -1.0"),
    ("limits.max_nbest", "0", "expected a number in [1, 1000], got 0"),
    ("limits.max_json_depth", "100000", "expected a number in [2, 200], got 100000"),
    ("limits.max_utterance_s", "-.inf", "expected a finite number"),
])
def test_numeric_settings_are_range_checked(tmp_path, key, value, fragment):
    section, name = key.split(".")
    path = write_config(tmp_path, f"{section}:\n  {name}: {value}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    message = str(info.value)
    assert message.startswith(f"{path}:2: {key}: "), message
    assert fragment in message, message


def test_an_environment_variable_out_of_range_names_the_variable():
    with pytest.raises(ConfigError, match=r"environment variable HARK_MIN_CONFIDENCE \(engine\.min_confidence\): "
                                          r"expected a number in \[0, 1\], got 7\.0"):
        load_config(None, env={"HARK_MIN_CONFIDENCE": "7"})
    with pytest.raises(ConfigError, match="a finite number"):
        load_config(None, env={"HARK_MIN_CONFIDENCE": "nan"})


@dataclass(frozen=True)
class _RangedSettings:
    from dataclasses import field as _field

    from hark.config import ranged as _ranged

    top: int = _field(default=3, metadata=_ranged(1, 50))
    weight: float = _field(default=0.5, metadata=_ranged(0, 1, low_open=True))
    free: float = 2.0


@pytest.mark.parametrize("settings,fragment", [
    ("{top: 0}", "plugins.settings.demo.top: expected a number in [1, 50], got 0"),
    ("{weight: 0}", "plugins.settings.demo.weight: expected a number in (0, 1], got 0.0"),
    ("{free: .nan}", "plugins.settings.demo.free: expected a finite number"),
])
def test_plugin_settings_ranges_come_from_field_metadata(tmp_path, settings, fragment):
    path = write_config(tmp_path, f"plugins:\n  settings:\n    demo: {settings}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={}).plugin_settings("demo", _RangedSettings)
    assert fragment in str(info.value)
    assert str(info.value).startswith(f"{path}:3: ")


@pytest.mark.parametrize("plugin,settings,key", [
    ("intent_templates", {"filler_cost": 0}, "filler_cost"),
    ("intent_templates", {"max_slot_words": 0}, "max_slot_words"),
    ("intent_templates", {"ambiguity_power": -1}, "ambiguity_power"),
    ("vad", {"max_utterance_s": 0}, "max_utterance_s"),
    ("vad", {"pre_roll_ms": -5}, "pre_roll_ms"),
    ("asr_pocketsphinx", {"score_scale": 0}, "score_scale"),
])
def test_bundled_plugins_declare_ranges(plugin, settings, key):
    from hark.plugins.asr_pocketsphinx import AsrSettings
    from hark.plugins.intent_templates import TemplateSettings
    from hark.plugins.vad.config import VadSettings

    cls = {"intent_templates": TemplateSettings, "vad": VadSettings, "asr_pocketsphinx": AsrSettings}[plugin]
    cfg = load_config(None, env={}, **{f"plugins.settings.{plugin}": settings})
    with pytest.raises(ConfigError, match=rf"plugins\.settings\.{plugin}\.{key}: expected"):
        cfg.plugin_settings(plugin, cls)


def test_unknown_plugin_names_are_errors_naming_the_installed_ones(tmp_path):
    from hark.config import check_plugin_names, installed_plugin_names

    known = installed_plugin_names()
    assert {"vad", "intent_templates", "slot_parsers"} <= set(known)
    path = write_config(tmp_path, "plugins:\n  disabled:\n    - vad\n    - asr_pocketspinx\n")
    with pytest.raises(ConfigError) as info:
        check_plugin_names(load_config(path, env={}))
    message = str(info.value)
    assert message.startswith(f"{path}:4: plugins.disabled[1]: unknown plugin 'asr_pocketspinx'"), message
    assert "vad" in message and "intent_templates" in message
    check_plugin_names(load_config(write_config(tmp_path, "plugins: {enabled: [vad, slot_parsers]}\n", "ok.yaml"),
                                   env={}))
    with pytest.raises(ConfigError, match=r"plugins\.enabled\[0\]: unknown plugin 'nope'"):
        check_plugin_names(load_config(None, env={"HARK_PLUGINS": "nope"}))


def test_the_cli_refuses_an_unknown_plugin_name(tmp_path):
    import subprocess
    import sys

    from hark.config import installed_plugin_names

    path = write_config(tmp_path, "skills: {paths: []}\nplugins:\n  enabled: [intent_templtes]\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARK_")}
    proc = subprocess.run([sys.executable, "-m", "hark.cli", "-c", str(path), "parse", "hello"], capture_output=True,
                          text=True, timeout=120, env=env)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        f"Error: {path}:3: plugins.enabled[0]: unknown plugin 'intent_templtes' (installed: "
        + ", ".join(installed_plugin_names())
        + "; see `hark plugins`)"]


@pytest.mark.parametrize("text,hint", [
    ("engine:\n\tmin_confidence: 0.3\n", "indent with spaces"),
    ("engine:\n  min_confidence:0.3\n  locale: en-GB\n", "put a space after the colon: min_confidence: 0.3"),
])
def test_yaml_syntax_errors_carry_a_hint(tmp_path, text, hint):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match="invalid YAML") as info:
        load_config(path, env={})
    assert hint in str(info.value)
