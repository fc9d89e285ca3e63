"""Builds the PluginManager: one path for built-in and third-party plugins (entry-point group ``hark``).

Nothing happens at import. ``build_plugin_manager`` reads the ``hark`` entry points of every installed
distribution (hark-nlu's own built-ins included), applies the allow/deny lists from config and HARK_PLUGINS, and
registers what is left. A plugin that fails to import, or implements a hook that does not exist, is reported and
skipped; two plugins with one name stop start-up.
"""
from __future__ import annotations

import difflib
import importlib.metadata as md
import importlib.util
import inspect
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import pluggy

from . import hookspecs
from .config import Config, check_plugin_names
from .errors import PluginError

__all__ = ["PluginInfo", "build_plugin_manager", "ENTRY_POINT_GROUP", "DISTRIBUTION", "load_module_plugin"]

ENTRY_POINT_GROUP = "hark"
DISTRIBUTION = "hark-nlu"


@dataclass(frozen=True)
class PluginInfo:
    """What ``hark plugins`` shows for one plugin."""

    name: str
    #: "loaded", "disabled" or "failed"
    status: str
    distribution: str = ""
    version: str = ""
    target: str = ""
    hooks: tuple[str, ...] = ()
    error: str = ""
    builtin: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "distribution": self.distribution,
                "version": self.version, "target": self.target, "hooks": list(self.hooks), "error": self.error,
                "builtin": self.builtin}


@dataclass
class _Candidate:
    name: str
    target: str
    distribution: str
    version: str
    load: Any = field(repr=False)


def _entry_points() -> list[_Candidate]:
    out = []
    for ep in md.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        out.append(_Candidate(ep.name, ep.value, dist.metadata["Name"] if dist else "", dist.version if dist else "",
                              ep.load))
    return out


def _instantiate(obj: Any) -> Any:
    """Entry points may name a module, a class (instantiated with no arguments) or an object."""
    return obj() if inspect.isclass(obj) else obj


def build_plugin_manager(config: Config, *, extra: Iterable[Any] = (),
                         entry_points: bool = True) -> tuple[pluggy.PluginManager, list[PluginInfo]]:
    """Return the manager and a report line per plugin (loaded, disabled or failed).

    ``extra`` are plugin objects given by an embedding program (callbacks, test doubles); they are registered
    after the entry points under ``obj.name`` or their class name.
    """
    pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
    pm.add_hookspecs(hookspecs)
    enabled = set(config.plugins.enabled) if config.plugins.enabled is not None else None
    disabled = set(config.plugins.disabled)
    infos: list[PluginInfo] = []
    seen: dict[str, str] = {}
    candidates = _entry_points() if entry_points else []
    if entry_points and not any(c.distribution == DISTRIBUTION for c in candidates):
        raise PluginError(f"no built-in plugins found: the {DISTRIBUTION} distribution is not installed in this "
                          f"Python ({sys.executable}); run `make install` or `pip install -e .`")
    if entry_points:  # a misspelt name in plugins.enabled/disabled would silently leave a plugin on or off
        extra = list(extra)
        check_plugin_names(config, sorted({c.name for c in candidates}
                                          | {getattr(o, "name", type(o).__name__) for o in extra}))
    for cand in candidates:
        if cand.name in seen:
            raise PluginError(f"two plugins are named {cand.name!r}: {seen[cand.name]} and "
                              f"{cand.distribution or '?'} ({cand.target}); uninstall one")
        seen[cand.name] = f"{cand.distribution or '?'} ({cand.target})"
        base = dict(name=cand.name, distribution=cand.distribution, version=cand.version, target=cand.target,
                    builtin=cand.distribution == DISTRIBUTION)
        if cand.name in disabled or (enabled is not None and cand.name not in enabled):
            infos.append(PluginInfo(status="disabled", **base))
            continue
        try:
            plugin = _instantiate(cand.load())
        except Exception as exc:  # a broken third-party package must not take the engine down
            infos.append(PluginInfo(status="failed", error=_describe(exc), **base))
            continue
        infos.append(_register(pm, plugin, cand.name, base))
    for obj in extra:
        name = getattr(obj, "name", None) or type(obj).__name__
        if not isinstance(name, str):
            name = type(obj).__name__
        if name in seen:
            raise PluginError(f"two plugins are named {name!r}: {seen[name]} and an object given to the Engine")
        seen[name] = "an object given to the Engine"
        info = _register(pm, obj, name, dict(name=name, target=type(obj).__qualname__))
        if info.status == "failed":
            raise PluginError(f"plugin {name!r}: {info.error}")
        infos.append(info)
    return pm, infos


def _register(pm: pluggy.PluginManager, plugin: Any, name: str, base: dict[str, Any]) -> PluginInfo:
    """Register one plugin; reject unknown hook names (typos) and hook wrappers instead of failing later."""
    try:
        pm.register(plugin, name=name)
    except Exception as exc:  # pluggy validates signatures against the specs
        return PluginInfo(status="failed", error=_describe(exc), **base)
    hooks = []
    for caller in pm.get_hookcallers(plugin) or []:
        if caller.spec is None:
            pm.unregister(plugin)
            close = difflib.get_close_matches(caller.name, hookspecs.hook_names(), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            return PluginInfo(status="failed", error=f"implements unknown hook {caller.name}{hint}", **base)
        for impl in caller.get_hookimpls():
            if impl.plugin is plugin and (impl.hookwrapper or getattr(impl, "wrapper", False)):
                pm.unregister(plugin)
                return PluginInfo(status="failed", error=f"{caller.name}: hook wrappers are not supported", **base)
        hooks.append(caller.name)
    return PluginInfo(status="loaded", hooks=tuple(sorted(hooks)), **base)


def load_module_plugin(path: Path, module_name: str) -> Any:
    """Import a plugin from a file (a skill's handler.py) without putting its folder on sys.path."""
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise PluginError(f"{path}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise PluginError(f"{path}: {_describe(exc)}") from None
    return module


def _describe(exc: BaseException) -> str:
    """One line: exception type, message, and the innermost frame that raised it."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if "importlib" not in f.filename and not f.filename.startswith("<frozen")]
    where = f" ({Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"
