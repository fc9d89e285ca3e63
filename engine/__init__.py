"""hark: an offline, plugin-based voice-assistant NLU engine.

    >>> import hark
    >>> with hark.Engine.from_config() as engine:
    ...     result = engine.parse("set a timer for ten minutes")
    ...     result.action.name, result.action.params["duration"]
    ('timer.start', 600)
"""
from __future__ import annotations

import os as _os

# onnxruntime's Linux builds keep a telemetry device id and an event cache in ~/.cache/Microsoft and upload them when
# they can. hark runs offline in people's homes: opt out, unless the user set the variable themselves (onnxruntime
# reads it once, when it starts, so it must be set before any model loads)
_os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

from .config import Config, load_config  # noqa: E402
from .errors import ConfigError, HarkError, InputError, ModelError, PluginError, SkillError
from .hookspecs import hookimpl
from .runtime import Engine, Result
from .skills import Skill, SkillSet
from .types import (
    AudioChunk,
    Context,
    EntityCandidate,
    Event,
    HeardSound,
    Hypothesis,
    Interpretation,
    NBest,
    PronunciationReport,
    SceneState,
    SkillAction,
    Slot,
)

__version__ = "0.1.0"

__all__ = [
    "Engine", "Result", "Config", "load_config", "hookimpl",
    "Skill", "SkillSet",
    "AudioChunk", "Context", "EntityCandidate", "Event", "HeardSound", "Hypothesis", "Interpretation", "NBest",
    "PronunciationReport", "SceneState", "SkillAction", "Slot",
    "HarkError", "ConfigError", "SkillError", "PluginError", "ModelError", "InputError",
    "__version__",
]
