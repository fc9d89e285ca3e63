"""Settings of the ``scene_context`` plugin (``plugins.settings.scene_context`` in config.yaml)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from hark.config import ranged

__all__ = ["SceneSettings", "DEFAULT_ALERTS"]

#: ESC-50 labels that raise an alert unless configured otherwise
DEFAULT_ALERTS = ("glass_breaking", "siren", "dog", "crying_baby", "door_wood_knock", "clock_alarm")


@dataclass(frozen=True)
class SceneSettings:
    #: model folder (relative to the config file); empty = the bundled model
    model_dir: str = ""
    #: the model hears the last second of audio this often
    hop_s: float = field(default=0.5, metadata=ranged(0.1, 5.0))
    #: the SceneState is updated this often ...
    update_s: float = field(default=1.0, metadata=ranged(0.1, 60.0))
    #: ... and a ``scene`` event goes out at every update ("every") or when the scene changes ("changes")
    scene_events: str = "changes"
    #: time constant of the scene belief: a new room takes about this long to win over the old one
    smoothing_s: float = field(default=6.0, metadata=ranged(0.0, 600.0))
    #: an event counts as heard (SceneState.events, .heard) from this probability
    event_threshold: float = field(default=0.4, metadata=ranged(0, 1, low_open=True, high_open=True))
    #: how long heard sounds are remembered ("what was that noise?")
    memory_s: float = field(default=120.0, metadata=ranged(0.0, 3600.0))
    #: labels that raise an ``alert`` event (ESC-50 class names). None by default: the shipped model raises 26
    #: false alerts an hour of background (benchmarks/scene.py; target <= 1), and in a home a false alarm acts;
    #: ``DEFAULT_ALERTS`` is the list to turn on (``hark scene`` uses it unless this is set)
    alerts: tuple[str, ...] = ()
    #: per-label probability that raises an alert; labels not named use the model's calibrated threshold (the
    #: model's windows-in-a-row rule for the label still applies: 2 for sustained sounds such as a siren)
    alert_thresholds: Mapping[str, float] = field(default_factory=dict)
    #: an alert re-arms only after its probability fell under this fraction of its threshold
    alert_release: float = field(default=0.5, metadata=ranged(0, 1))
    #: no second alert of one label within this many seconds
    alert_cooldown_s: float = field(default=30.0, metadata=ranged(0.0, 86400.0))
    #: scenes where the assistant should speak softly (SkillAction params get ``"volume": "soft"``)
    quiet_scenes: tuple[str, ...] = ("bedroom",)
    #: onnxruntime threads
    threads: int = field(default=1, metadata=ranged(1, 64))

    def problems(self, labels: tuple[str, ...] = (), scenes: tuple[str, ...] = ()) -> list[tuple[str, str]]:
        out = []
        if self.scene_events not in ("every", "changes"):
            out.append(("scene_events", f"expected every or changes, got {self.scene_events!r}"))
        for key, names in (("alerts", self.alerts), ("alert_thresholds", tuple(self.alert_thresholds))):
            unknown = [n for n in names if labels and n not in labels]
            if unknown:
                out.append((key, f"unknown sound label(s) {', '.join(map(repr, unknown))} (the model knows: "
                                 f"{', '.join(labels)})"))
        for label, value in self.alert_thresholds.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
                out.append(("alert_thresholds", f"{label}: expected a probability between 0 and 1, got {value!r}"))
        unknown = [n for n in self.quiet_scenes if scenes and n not in scenes]
        if unknown:
            out.append(("quiet_scenes", f"unknown scene(s) {', '.join(map(repr, unknown))} (known: "
                                        f"{', '.join(scenes)})"))
        return out
