"""Plugin loading through the ``hark`` entry-point group, allow/deny lists, and isolation of failing plugins."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import hark
from hark import hookimpl

from conftest import HOME_SKILL, ROOT


def _fake_distribution(root: Path, dist: str, entry_points: dict[str, str], modules: dict[str, str]) -> None:
    """A real installed distribution on disk (dist-info + modules) that importlib.metadata discovers."""
    info = root / f"{dist.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[hark]\n" + "".join(f"{k} = {v}\n" for k, v in entry_points.items()))
    for name, code in modules.items():
        (root / f"{name}.py").write_text(textwrap.dedent(code))


@pytest.fixture
def site(tmp_path, monkeypatch):
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    yield root
    for mod in [m for m in sys.modules if m.startswith("thirdparty_")]:
        del sys.modules[mod]


def test_builtins_load_through_entry_points(write_skill, make_engine):
    write_skill("home", HOME_SKILL)
    engine = make_engine(**{"plugins.disabled": []})
    builtins = {i.name: i for i in engine.plugin_info if i.builtin}
    assert {"slot_parsers", "intent_templates", "skill_actions"} <= set(builtins)
    assert all(i.status == "loaded" and i.distribution == "hark-nlu" for i in builtins.values())
    assert "hark_interpret" in builtins["intent_templates"].hooks


def test_third_party_plugin_loaded_via_entry_point(site, write_skill, make_engine):
    _fake_distribution(site, "hark-shout", {"shout": "thirdparty_shout:Shout"}, {"thirdparty_shout": """
        from hark import hookimpl
        class Shout:
            @hookimpl
            def hark_act(self, interpretation, skills, context):
                return None
            @hookimpl
            def hark_event(self, event):
                if event.kind == "action":
                    self.last = event.data["name"].upper()
    """})
    write_skill("home", HOME_SKILL)
    engine = make_engine()
    info = next(i for i in engine.plugin_info if i.name == "shout")
    assert (info.status, info.distribution, info.version, info.builtin) == ("loaded", "hark-shout", "1.0", False)
    engine.parse("turn on the lights")
    assert engine.pm.get_plugin("shout").last == "HOME.LIGHTS_ON"


def test_broken_third_party_plugin_is_reported_and_the_rest_loads(site, write_skill, make_engine):
    _fake_distribution(site, "hark-broken", {"broken": "thirdparty_broken:Plugin", "typo": "thirdparty_typo"},
                       {"thirdparty_broken": "import not_a_module_anywhere\n",
                        "thirdparty_typo": """
        from hark import hookimpl
        @hookimpl
        def hark_interpet(nbest):
            return []
    """})
    write_skill("home", HOME_SKILL)
    engine = make_engine()
    status = {i.name: i for i in engine.plugin_info}
    assert status["broken"].status == "failed" and "not_a_module_anywhere" in status["broken"].error
    assert status["typo"].status == "failed" and "did you mean hark_interpret" in status["typo"].error
    assert [e.data["plugin"] for e in engine.startup_events if e.kind == "error"] == ["broken", "typo"]
    assert engine.parse("turn on the lights").action.name == "home.lights_on"


def test_duplicate_plugin_names_stop_startup(site, write_skill, make_engine):
    _fake_distribution(site, "hark-clash", {"intent_templates": "thirdparty_clash"}, {"thirdparty_clash": ""})
    write_skill("home", HOME_SKILL)
    with pytest.raises(hark.PluginError, match="two plugins are named 'intent_templates'"):
        make_engine()


def test_disable_and_allow_lists(write_skill, make_engine):
    write_skill("home", HOME_SKILL)
    engine = make_engine(**{"plugins.disabled": ["skill_actions"]})
    assert next(i for i in engine.plugin_info if i.name == "skill_actions").status == "disabled"
    result = engine.parse("turn on the lights")
    assert result.best.intent == "LightsOn" and result.action is None  # nobody left to act


def test_hark_plugins_env_var(write_skill, tmp_path):
    write_skill("home", HOME_SKILL)
    cfg = hark.load_config(None, env={"HARK_PLUGINS": "intent_templates,slot_parsers,-skill_actions",
                                      "HARK_SKILLS": str(tmp_path / "skills")})
    with hark.Engine(cfg) as engine:
        status = {i.name: i.status for i in engine.plugin_info if i.builtin}
    assert status == {"intent_templates": "loaded", "slot_parsers": "loaded", "skill_actions": "disabled",
                      "intent": "disabled", "vad": "disabled", "asr_pocketsphinx": "disabled",
                      "asr_wyoming": "disabled", "entity_resolver": "disabled", "scene_context": "disabled",
                      "tutor": "disabled"}


class Exploding:
    name = "exploding"

    @hookimpl
    def hark_interpret(self, nbest, skills, context):
        raise ZeroDivisionError("model weights are NaN")

    @hookimpl(tryfirst=True)
    def hark_act(self, interpretation):
        raise KeyError("no such device")


def test_plugin_exception_is_isolated(write_skill, make_engine, event_log):
    write_skill("home", HOME_SKILL)
    events = event_log.events
    engine = make_engine(plugins=[Exploding(), event_log])
    result = engine.parse("turn off the kitchen lights")
    # the other plugins still produced the action
    assert result.action.name == "home.lights_off" and result.action.params == {"room": "kitchen"}
    errors = [(e.data["plugin"], e.data["hook"]) for e in result.errors]
    assert errors == [("exploding", "hark_interpret"), ("exploding", "hark_act")]
    assert "ZeroDivisionError: model weights are NaN" in result.errors[0].data["message"]
    assert [e.kind for e in events].count("error") == 2
    assert result.to_dict()["errors"][0]["plugin"] == "exploding"


def test_wrong_return_type_is_reported(write_skill, make_engine):
    write_skill("home", HOME_SKILL)

    class Sloppy:
        name = "sloppy"

        @hookimpl
        def hark_interpret(self):
            return ["home.LightsOn"]

        @hookimpl
        def hark_scene(self):
            return "kitchen"

    engine = make_engine(plugins=[Sloppy()])
    result = engine.parse("turn on the lights")
    messages = [e.data["message"] for e in result.errors]
    assert any("holding str, expected Interpretation" in m for m in messages)
    assert result.action.name == "home.lights_on"
    assert result.context.scene is None


def test_hook_wrappers_are_rejected(write_skill, make_engine):
    write_skill("home", HOME_SKILL)

    class Wrapper:
        name = "wrapper"

        @hookimpl(wrapper=True)
        def hark_interpret(self, nbest):
            return (yield)

    with pytest.raises(hark.PluginError, match="hook wrappers are not supported"):
        make_engine(plugins=[Wrapper()])


def test_example_plugin_package_installs_and_loads(tmp_path, write_skill):
    """The documented third-party example, pip-installed for real, found through its entry point."""
    pkg = ROOT / "examples" / "hark-example-plugin"
    if not pkg.is_dir():
        pytest.fail("examples/hark-example-plugin is missing")
    target = tmp_path / "site"
    source = tmp_path / "example-plugin"  # pip builds a local folder in place: build a copy, not the checkout
    shutil.copytree(pkg, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                           "--no-index", "--target", str(target), str(source)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    write_skill("home", HOME_SKILL)
    env = {**os.environ, "PYTHONPATH": str(target), "HARK_SKILLS": str(tmp_path / "skills")}
    env.pop("HARK_CONFIG", None)
    hark_cmd = [sys.executable, "-m", "hark.cli"]
    listed = subprocess.run(hark_cmd + ["plugins", "--json"], capture_output=True, text=True, env=env)
    assert listed.returncode == 0, listed.stderr
    info = {p["name"]: p for p in json.loads(listed.stdout)}
    assert info["shopping_list"]["status"] == "loaded"
    assert info["shopping_list"]["distribution"] == "hark-example-plugin"
    parsed = subprocess.run(hark_cmd + ["parse", "add milk to my shopping list"], capture_output=True, text=True,
                            env=env)
    assert parsed.returncode == 0, parsed.stderr
    out = json.loads(parsed.stdout)
    assert out["skill"] == "shopping_list" and "milk" in json.dumps(out["action"])
