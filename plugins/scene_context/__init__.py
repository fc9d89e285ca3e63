"""Scene context: the ``scene_context`` plugin hears what goes on around the microphone.

A ``hark_audio_chunk`` observer on the same stream as the VAD, reading the shared front end's log-mel rows (no
FFT of its own). Every ``hop_s`` (0.5 s) a small CNN (``model/``, int8 ONNX; ``python -m training.train_scene``)
hears the last second and gives 50 sound-event probabilities (ESC-50's classes) and 8 household scene
probabilities; an alert detector beside it (``python -m training.train_alerts``) gives the six safety sounds'
(decision 48). Per stream (``SceneTracker``) the plugin

- keeps a smoothed scene belief and the sounds heard recently, handed to every later hook as ``context.scene``
  (``hark_scene``), updated every ``update_s`` (1 s) and emitted as a ``scene`` event when the scene changes
  (``scene_events: every``: at every update, as ``hark scene`` prints it);
- raises ``alert`` events ``{"label", "score", "time", "threshold", "scene"}`` for the safety sounds named in
  ``alerts`` (``DEFAULT_ALERTS``: glass_breaking, siren, dog, crying_baby, door_wood_knock, clock_alarm; off by
  default until the model's false-alert rate is low enough), once per sound (hysteresis and a cooldown); the
  runtime turns each into the ``sounds.alert`` action of the skill this plugin ships;
- answers that skill's "what was that noise?" from its memory; in a quiet room (``quiet_scenes``: bedroom) the
  scene says ``quiet`` and every action gets ``params.volume = "soft"`` (built-in ``skill_actions``).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from hark.errors import ModelError
from hark.hookspecs import hookimpl
from hark.types import Context, Event, Interpretation, SkillAction

from .config import DEFAULT_ALERTS, SceneSettings
from .model import DEFAULT_MODEL_DIR, SceneModel
from .sounds import describe, phrase
from .tracker import SceneTracker

__all__ = ["SceneContextPlugin", "SceneSettings", "SceneTracker", "SceneModel", "DEFAULT_ALERTS"]

NAME = "scene_context"
SKILL_DIR = Path(__file__).resolve().parent / "skill"
#: an alert threshold for a label the model's meta.json does not calibrate
FALLBACK_THRESHOLD = 0.5


class SceneContextPlugin:
    """Registered through the ``hark`` entry point ``scene_context``; settings under
    ``plugins.settings.scene_context``. Holds the model and settings; each stream's belief lives in its
    ``SceneTracker``."""

    name = NAME

    def __init__(self) -> None:
        self.settings = SceneSettings()
        self.model: SceneModel | None = None
        self.thresholds: dict[str, float] = {}
        self.status = "not started"

    @hookimpl
    def hark_startup(self, engine: Any) -> None:
        self.settings = engine.config.plugin_settings(NAME, SceneSettings)
        directory = engine.config.resolve_path(self.settings.model_dir) if self.settings.model_dir \
            else DEFAULT_MODEL_DIR
        try:
            self.model = SceneModel(directory, threads=self.settings.threads)
        except ModelError as exc:
            if self.settings.model_dir:  # a model the user named must load
                raise
            self.status = f"idle: {exc}"
            return
        problems = self.settings.problems(self.model.events, self.model.scenes)
        if problems:
            key, message = problems[0]
            raise engine.config.error_at(f"plugins.settings.{NAME}.{key}", message)
        self.thresholds = {label: float(self.settings.alert_thresholds.get(
            label, self.model.alert_thresholds.get(label, FALLBACK_THRESHOLD))) for label in self.settings.alerts}
        detector = " + alert detector" if self.model.alert_session is not None else ""
        self.status = (f"{directory.name} ({self.model.precision}, {len(self.model.events)} sounds, "
                       f"{len(self.model.scenes)} scenes{detector}), alerts: {', '.join(self.settings.alerts) or 'none'}")

    @hookimpl
    def hark_register_skills(self, registry: Any) -> None:
        registry.add_path(SKILL_DIR)

    @hookimpl
    def hark_stream_start(self) -> SceneTracker | None:
        return SceneTracker(self.model, self.settings, self.thresholds) if self.model is not None else None

    @hookimpl
    def hark_audio_chunk(self, features: Any, state: SceneTracker | None) -> list[Event]:
        if state is None or features is None or not len(features):
            return []
        return state.push(features.log_mel, float(features.times[-1]))

    @hookimpl
    def hark_audio_end(self, state: SceneTracker | None) -> None:
        if state is not None:
            state.reset()

    @hookimpl
    def hark_scene(self, state: SceneTracker | None) -> Any:
        return state.state() if state is not None else None

    @hookimpl(tryfirst=True)
    def hark_act(self, interpretation: Interpretation, skills: Any, context: Context) -> SkillAction | None:
        """The sounds skill's answers: what was heard (from ``context.scene``), what an alert was."""
        if interpretation.skill != "sounds":
            return None
        from hark.plugins.skill_actions import build_action

        action = build_action(interpretation, skills, context)
        if action is None:
            return None
        if interpretation.intent == "WhatWasThatNoise":
            heard = context.scene.heard if context.scene is not None else ()
            now = context.scene.timestamp if context.scene is not None else 0.0
            action = dataclasses.replace(action, response=describe(heard, now), params={
                **action.params, "heard": [s.to_dict() for s in heard]})
        elif interpretation.intent == "SoundAlert":
            slot = interpretation.slot("sound")
            if slot is not None:
                action = dataclasses.replace(action, response=f"I heard {phrase(str(slot.value))}.")
        return action
