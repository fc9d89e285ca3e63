"""config.yaml: frozen, validated settings. Unknown keys and wrong types fail with file:line: dotted.key.

Precedence, lowest to highest: built-in defaults < config.yaml < HARK_* environment variables < keyword
overrides given to ``Engine.from_config`` / ``load_config``.
"""
from __future__ import annotations

import collections.abc
import dataclasses
import math
import os
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, TypeVar

from .errors import ConfigError
from .yamlfile import load_located

__all__ = ["Config", "EngineSettings", "SkillSettings", "PluginSettings", "LimitSettings", "ServeSettings", "Range",
           "ranged", "load_config", "project_root", "default_config_path", "data_dir", "cache_dir",
           "check_plugin_names", "installed_plugin_names"]

T = TypeVar("T")


def project_root() -> Path:
    """Where the bundled skills, the default config.yaml and the demo inputs are: the source checkout (engine/
    lives there), or for an installed wheel the copy it carries as ``hark/bundled``."""
    here = Path(__file__).resolve().parent
    checkout = here.parent
    if (checkout / "config.yaml").is_file() and (checkout / "skills").is_dir():
        return checkout
    bundled = here / "bundled"
    return bundled if (bundled / "config.yaml").is_file() else checkout


def default_config_path() -> Path:
    return project_root() / "config.yaml"


def data_dir() -> Path:
    """Public data sets for training and benchmarks: $HARK_DATA or ../shared/data beside the checkout."""
    env = os.environ.get("HARK_DATA")
    return Path(env) if env else project_root().parent / "shared" / "data"


def cache_dir(*parts: str) -> Path:
    """Where plugins keep what they derive from skills and catalogs (language models, indexes), created on use:
    $HARK_CACHE, else $XDG_CACHE_HOME/hark, else ~/.cache/hark. Safe to delete; it is rebuilt."""
    env = os.environ.get("HARK_CACHE")
    if env:
        root = Path(env).expanduser()
    else:
        root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hark"
    folder = root.joinpath(*parts)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass(frozen=True)
class Range:
    """Allowed values of a numeric setting, declared as field metadata (``field(default=..., metadata=ranged(0,
    1))``) so that every section, plugins' included, is range-checked in one place (``_build``) with one message
    format: ``dotted.key: expected a number in [0, 1], got 1.5``."""

    low: float | None = None
    high: float | None = None
    #: the bound itself is not allowed: (0, 1] rather than [0, 1]
    low_open: bool = False
    high_open: bool = False

    def describe(self) -> str:
        if self.high is None:
            return f"{'>' if self.low_open else '>='} {self.low:g}"
        if self.low is None:
            return f"{'<' if self.high_open else '<='} {self.high:g}"
        return f"{'(' if self.low_open else '['}{self.low:g}, {self.high:g}{')' if self.high_open else ']'}"

    def problem(self, value: Any) -> str | None:
        """None when ``value`` is allowed (None is, for optional settings), else the message."""
        if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        too_low = self.low is not None and (value < self.low or (self.low_open and value == self.low))
        too_high = self.high is not None and (value > self.high or (self.high_open and value == self.high))
        if not math.isfinite(value) or too_low or too_high:
            within = self.describe()
            return f"expected a number {'in ' if within[0] in '[(' else ''}{within}, got {value!r}"
        return None


def ranged(low: float | None = None, high: float | None = None, *, low_open: bool = False,
           high_open: bool = False) -> dict[str, Range]:
    """Field metadata for a numeric setting's allowed range: ``field(default=3, metadata=ranged(1, 50))``."""
    return {"range": Range(low, high, low_open, high_open)}


@dataclass(frozen=True)
class EngineSettings:
    #: interpretations below this confidence are out of scope: no action
    min_confidence: float = field(default=0.5, metadata=ranged(0, 1))
    #: how many ranked alternatives a result keeps
    max_alternatives: int = field(default=5, metadata=ranged(1, 1000))
    #: how many top interpretations go through hark_resolve
    resolve_top: int = field(default=3, metadata=ranged(1, 1000))
    locale: str = "en-US"
    #: IANA time zone for relative times ("tomorrow at 7"); empty = the machine's
    timezone: str = ""
    #: spoken audio is acted on only after this phrase ("hey hark ..."); empty = every utterance is a command
    wake_phrase: str = ""
    #: after the wake phrase alone, the next utterance within this many seconds needs no phrase
    wake_window_s: float = field(default=8.0, metadata=ranged(0, 3600))
    #: drop readings that are not requests: negated commands, questions about state, statements, reported
    #: speech, commands buried in other talk (engine/speech_acts.py; docs/decisions.md 23)
    request_gate: bool = True
    #: an intent marked ``confirm: true`` waits this long for a yes in the same conversation
    confirm_timeout_s: float = field(default=20.0, metadata=ranged(1, 3600))


@dataclass(frozen=True)
class LimitSettings:
    """Bounds on what one input may cost (docs/configuration.md#limits). Input past a bound is refused with an
    InputError naming the ``limits.<key>``, except an over-long n-best list, which keeps its best hypotheses
    (with a warning): a recognizer's tail carries almost no probability, whereas cutting a sentence could turn
    "unlock the front door ... (anything)" into a command nobody gave."""

    #: characters in one hypothesis (typed text or one n-best entry)
    max_text_chars: int = field(default=1000, metadata=ranged(1, 1_000_000))
    #: words in one hypothesis
    max_text_words: int = field(default=100, metadata=ranged(1, 100_000))
    #: hypotheses of one n-best list kept (the best by score); the rest are dropped with a warning
    max_nbest: int = field(default=10, metadata=ranged(1, 1000))
    #: nesting of JSON input ({"nbest": [{...}]} is 3), checked before decoding
    max_json_depth: int = field(default=20, metadata=ranged(2, 200))
    #: characters of one JSON/text line of `hark stream` and of a `hark parse --nbest` document
    max_line_chars: int = field(default=1_000_000, metadata=ranged(100, 1_000_000_000))
    #: seconds of audio transcribed as one utterance (the ASR plugin, `hark transcribe`)
    max_utterance_s: float = field(default=30.0, metadata=ranged(1, 3600))
    #: seconds of audio in one file (`hark listen --wav`, `hark transcribe`)
    max_file_s: float = field(default=3600.0, metadata=ranged(1, 7 * 24 * 3600))
    #: sample rates a WAV header may declare (Hz)
    min_sample_rate: int = field(default=8000, metadata=ranged(1000, 192000))
    max_sample_rate: int = field(default=192000, metadata=ranged(8000, 768000))
    #: channels a WAV header may declare
    max_channels: int = field(default=8, metadata=ranged(1, 64))


@dataclass(frozen=True)
class ServeSettings:
    """`hark serve` (docs/serving.md): where it listens and what one client may cost. The token is never read
    from this file: give it with --token or HARK_TOKEN."""

    #: address of the HTTP/WebSocket API; anything but loopback needs a token
    host: str = "127.0.0.1"
    port: int = field(default=8700, metadata=ranged(0, 65535))
    #: Wyoming server (Home Assistant) as tcp://HOST:PORT; empty: none
    wyoming: str = ""
    #: bytes of one HTTP request body, WebSocket message or Wyoming event (413 / an error event past it)
    max_body_bytes: int = field(default=262_144, metadata=ranged(1024, 64 * 1024 * 1024))
    #: open WebSocket and Wyoming connections at once (more are turned away)
    max_connections: int = field(default=32, metadata=ranged(1, 10_000))
    #: seconds a WebSocket or Wyoming connection may stay silent before it is closed
    idle_timeout_s: float = field(default=300.0, metadata=ranged(1, 86_400))
    #: conversations (pending confirmations, practice mode) kept for clients that send a conversation_id
    max_conversations: int = field(default=1000, metadata=ranged(1, 1_000_000))
    #: seconds a conversation is kept after its last request
    conversation_ttl_s: float = field(default=600.0, metadata=ranged(1, 86_400))
    #: seconds SIGTERM waits for requests in flight
    shutdown_timeout_s: float = field(default=10.0, metadata=ranged(0, 600))


@dataclass(frozen=True)
class SkillSettings:
    #: folders holding skill folders (relative paths are relative to the config file)
    paths: tuple[str, ...] = ("skills",)
    #: skill names to leave out
    disabled: tuple[str, ...] = ()


@dataclass(frozen=True)
class PluginSettings:
    #: if set, only these plugins load (entry-point names)
    enabled: tuple[str, ...] | None = None
    #: plugins never loaded
    disabled: tuple[str, ...] = ()
    #: per-plugin settings, validated by each plugin against its own defaults
    settings: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Config:
    engine: EngineSettings = field(default_factory=EngineSettings)
    skills: SkillSettings = field(default_factory=SkillSettings)
    plugins: PluginSettings = field(default_factory=PluginSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)
    serve: ServeSettings = field(default_factory=ServeSettings)
    #: file the config came from (None: built-in defaults)
    path: Path | None = field(default=None, metadata={"internal": True})
    #: folder relative paths are resolved against
    base_dir: Path = field(default_factory=project_root, metadata={"internal": True})
    #: line of every dotted key in the file, so plugin settings errors can point at it
    lines: Mapping[str, int] = field(default_factory=dict, metadata={"internal": True}, repr=False, compare=False)

    def skill_paths(self) -> list[Path]:
        return [p if p.is_absolute() else self.base_dir / p for p in map(Path, self.skills.paths)]

    def plugin_settings(self, plugin: str, defaults: type[T]) -> T:
        """Settings of ``plugin`` as an instance of the frozen dataclass ``defaults`` (unknown keys rejected).

        A dataclass with a ``problems()`` method (``[(key, message), ...]`` for values out of range) is checked
        too, and the first problem becomes a ConfigError naming ``plugins.settings.<plugin>.<key>``."""
        raw = self.plugins.settings.get(plugin) or {}
        settings = _build(defaults, raw, f"plugins.settings.{plugin}", self.path, self.lines)
        problems = settings.problems() if hasattr(settings, "problems") else []
        if problems:
            key, message = problems[0]
            raise self.error_at(f"plugins.settings.{plugin}.{key}", message)
        return settings

    def error_at(self, key: str, message: str) -> ConfigError:
        """A ConfigError located like every other: ``file:line: dotted.key: message`` (for plugins' own checks)."""
        where = f"{self.path}:{_line(self.lines, key)}" if self.path else ""
        return ConfigError(f"{where} {key}: {message}".strip())

    def resolve_path(self, value: str | Path) -> Path:
        p = Path(value).expanduser()
        return p if p.is_absolute() else self.base_dir / p


def _build(cls: type[T], data: Any, key: str, path: Path | None, lines: Mapping[str, int] | None = None) -> T:
    where = f"{path}:" if path else ""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}{_line(lines, key)} {key}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if not f.metadata.get("internal")}  # type: ignore[arg-type]
    kwargs = {}
    for k, v in data.items():
        child = f"{key}.{k}" if key else str(k)
        if k not in names:
            raise ConfigError(f"{where}{_line(lines, child)} {child}: unknown setting "
                              f"(known: {', '.join(sorted(names))})")
        kwargs[k] = _coerce(hints[k], v, child, path, lines)
        problem = _range_problem(cls, k, kwargs[k])
        if problem:
            raise ConfigError(f"{where}{_line(lines, child)} {child}: {problem}".strip())
    return cls(**kwargs)


def _range_problem(cls: type, name: str, value: Any) -> str | None:
    """The message when ``value`` is outside the ``ranged(...)`` metadata of field ``name`` of ``cls``."""
    spec = next((f.metadata.get("range") for f in dataclasses.fields(cls) if f.name == name), None)
    return spec.problem(value) if spec is not None else None


def _line(lines: Mapping[str, int] | None, key: str) -> str:
    n = (lines or {}).get(key)
    return f"{n}:" if n else ""


def _coerce(hint: Any, value: Any, key: str, path: Path | None, lines: Mapping[str, int] | None) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    where = f"{path}:{_line(lines, key)}" if path else ""

    def bad(expected: str) -> ConfigError:
        return ConfigError(f"{where} {key}: expected {expected}, got {value!r}".strip())

    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        if value is None and type(None) in args:
            return None
        hint = next(a for a in args if a is not type(None))
        origin, args = typing.get_origin(hint), typing.get_args(hint)
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, key, path, lines)
    if origin is tuple:
        if isinstance(value, str):
            value = [v for v in value.split(",") if v.strip()]
        if not isinstance(value, (list, tuple)):
            raise bad("a list")
        return tuple(_coerce(args[0], v, f"{key}[{i}]", path, lines) for i, v in enumerate(value))
    if origin in (Mapping, dict, collections.abc.Mapping) or hint is Mapping:
        if not isinstance(value, Mapping):
            raise bad("a mapping")
        return dict(value)
    if hint is bool:
        if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            return value.lower() in ("1", "true", "yes", "on")
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if hint in (int, float):
        if isinstance(value, str):
            try:
                value = hint(value)
            except ValueError:
                raise bad("a number") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad("a number")
        if not math.isfinite(value):  # .nan / .inf in YAML, "nan" in a variable: never a meaningful setting
            raise bad("a finite number")
        if hint is int and float(value) != int(value):
            raise bad("a whole number")
        return hint(value)
    if hint is str:
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise bad("text")
        return str(value)
    if hint is Path:
        return Path(str(value))
    return value


_ENV = {
    # variable: (section, key) ; lists are comma-separated
    "HARK_SKILLS": ("skills", "paths"),
    "HARK_MIN_CONFIDENCE": ("engine", "min_confidence"),
    "HARK_TIMEZONE": ("engine", "timezone"),
    "HARK_LOCALE": ("engine", "locale"),
    "HARK_WAKE_PHRASE": ("engine", "wake_phrase"),
    "HARK_HOST": ("serve", "host"),
    "HARK_PORT": ("serve", "port"),
}


_SECTIONS = {"engine": EngineSettings, "skills": SkillSettings, "plugins": PluginSettings, "limits": LimitSettings,
             "serve": ServeSettings}


def _env_overrides(env: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Settings from HARK_* variables, each validated here so an error names the variable, not the file."""
    out: dict[str, dict[str, Any]] = {}
    for var, (section, key) in _ENV.items():
        if env.get(var):
            value: Any = env[var]
            if var == "HARK_SKILLS":  # relative to where the user typed the command, like any path argument
                value = [str(Path(p).expanduser().resolve()) for p in value.split(os.pathsep) if p]
            hint = typing.get_type_hints(_SECTIONS[section])[key]
            try:
                value = _coerce(hint, value, key, None, None)
            except ConfigError as exc:
                raise ConfigError(f"environment variable {var} ({section}.{key}): "
                                  f"{str(exc).split(': ', 1)[-1]}") from None
            problem = _range_problem(_SECTIONS[section], key, value)
            if problem:
                raise ConfigError(f"environment variable {var} ({section}.{key}): {problem}")
            out.setdefault(section, {})[key] = value
    spec = env.get("HARK_PLUGINS", "").strip()
    if spec:  # "a,b" = only these; "-c" = also disable c; both may be combined
        items = [s.strip() for s in spec.split(",") if s.strip()]
        enabled = [s for s in items if not s.startswith("-")]
        disabled = [s[1:] for s in items if s.startswith("-")]
        plugins = out.setdefault("plugins", {})
        if enabled:
            plugins["enabled"] = enabled
        if disabled:
            plugins["disabled"] = disabled
    return out


def load_config(path: str | Path | None = None, env: Mapping[str, str] | None = None, **overrides: Any) -> Config:
    """Load ``path`` (default: $HARK_CONFIG, else the project's config.yaml, else built-in defaults).

    ``overrides`` are sections or dotted keys: ``load_config(engine={"min_confidence": 0.3})`` or
    ``load_config(**{"engine.min_confidence": 0.3})``.
    """
    env = os.environ if env is None else env
    if path is None and env.get("HARK_CONFIG"):
        path = env["HARK_CONFIG"]
    explicit = path is not None
    if path is None and default_config_path().is_file():
        path = default_config_path()
    data: dict[str, Any] = {}
    lines: dict[str, int] = {}
    base = project_root()
    if path is not None:
        path = Path(path).expanduser().resolve()
        if explicit and not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        doc = load_located(path, ConfigError)
        if doc.data is not None and not isinstance(doc.data, dict):
            raise ConfigError(f"{path}: expected a mapping at the top level")
        data, lines, base = doc.data or {}, doc.lines, path.parent
    merged = _merge(data, _env_overrides(env))
    for key, value in overrides.items():  # "plugins.settings.vad" = {"silence_ms": 300} reaches that far down
        for part in reversed(key.split(".")):
            value = {part: value}
        merged = _merge(merged, value)
    env_disabled = _env_overrides(env).get("plugins", {}).get("disabled")
    if env_disabled:  # "-name" in HARK_PLUGINS adds to the file's deny list rather than replacing it
        file_disabled = ((data.get("plugins") or {}).get("disabled") or []) if isinstance(data, dict) else []
        if isinstance(file_disabled, list):
            merged = _merge(merged, {"plugins": {"disabled": [*file_disabled, *env_disabled]}})
    cfg = _build(Config, {k: v for k, v in merged.items()}, "", path, lines)
    return dataclasses.replace(cfg, path=path, base_dir=base, lines=lines)


def installed_plugin_names() -> list[str]:
    """Names of the plugins installed in this Python (entry-point group ``hark``), the names that
    ``plugins.enabled`` / ``plugins.disabled`` can refer to."""
    import importlib.metadata as md

    return sorted({ep.name for ep in md.entry_points(group="hark")})


def check_plugin_names(config: Config, known: list[str] | None = None) -> None:
    """Raise a ConfigError for a name in ``plugins.enabled`` / ``plugins.disabled`` that no installed plugin has:
    such a name does nothing, so a typo ("asr_pocketspinx") would silently leave a plugin on or off."""
    known = installed_plugin_names() if known is None else known
    for key in ("enabled", "disabled"):
        for i, name in enumerate(getattr(config.plugins, key) or ()):
            if name not in known:
                raise config.error_at(f"plugins.{key}[{i}]", f"unknown plugin {name!r} (installed: "
                                                              f"{', '.join(known) or 'none'}; see `hark plugins`)")


def _merge(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for k, v in b.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out
