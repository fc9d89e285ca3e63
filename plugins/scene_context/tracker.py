"""One stream's scene belief: the last second of log-mel rows, the model every ``hop_s``, alerts with hysteresis.

- Scene: an exponential moving average of the windows' scene probabilities (time constant ``smoothing_s``), so
  one loud second does not move the room; the first window sets it.
- Events: the last window's probabilities at or above ``event_threshold``; a label that stays above it in
  consecutive windows is one ``HeardSound`` (start, end, best score), remembered for ``memory_s``.
- Alerts: a label fires when its probability reaches its threshold while armed, in as many windows in a row as
  the model's calibration asks of it (2 for sounds that last, such as a siren: one loud second of something else
  must not be enough); it re-arms only after falling under ``alert_release`` x threshold, and never fires again
  within ``alert_cooldown_s``. One glass breaking is one alert, however many windows hear it.
- Digital silence (a row with every band under ``SILENT_LOG_MEL``: a muted input, a file's zero padding) is no
  evidence. The model never trained on it (its quietest room is -70 dBFS) and read it as a bathroom at 0.92. Such
  rows never enter the window; a window with less than ``hop_s / 2`` of new sound is not heard at all: the belief
  stays as it was ("unknown" before any sound) and no sound is active.
"""
from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from hark.types import Event, HeardSound, SceneState

from .config import SceneSettings
from .model import SceneModel

__all__ = ["SceneTracker", "SILENT_LOG_MEL"]

#: ln of mel band power under which a row with no band above it counts as silent. Exact zeros give
#: ln(1e-10) = -23 in every band; the quietest real signal, +-1 LSB of 16-bit noise, reaches -13.4 in its loudest
#: band, and single-LSB clicks -18
SILENT_LOG_MEL = math.log(1e-9)


@dataclass
class _Alarm:
    threshold: float
    windows: int = 1
    armed: bool = True
    last: float = -math.inf
    recent: deque = field(default_factory=deque)

    def score(self, p: float) -> float:
        """The lowest of the last ``windows`` probabilities: what must reach the threshold."""
        self.recent.append(p)
        while len(self.recent) > self.windows:
            self.recent.popleft()
        return min(self.recent) if len(self.recent) == self.windows else 0.0


@dataclass
class SceneTracker:
    model: SceneModel
    settings: SceneSettings
    thresholds: dict[str, float]
    rows: np.ndarray = field(init=False)
    #: seconds the model spent, for the CPU-share benchmark
    busy_s: float = 0.0

    def __post_init__(self) -> None:
        self.rows = np.zeros((self.model.window, 64), np.float32)
        self.hop_rows = max(1, round(self.settings.hop_s / 0.01))
        self.alarms = {label: _Alarm(self.thresholds[label], self.model.alert_windows.get(label, 1))
                       for label in self.settings.alerts}
        self.belief: np.ndarray | None = None
        self.current: tuple[tuple[str, float], ...] = ()
        self.heard: deque[HeardSound] = deque(maxlen=64)
        self.open: dict[str, HeardSound] = {}
        self.time = 0.0
        self.next_update = 0.0
        self.announced = ""  # the scene the last scene event named
        self.reset()

    def reset(self) -> None:
        """Audio ended: a new stretch starts with an empty window (the belief and memory stay)."""
        self.filled = 0  # sound rows in the window (digital silence never enters it)
        self.rows_seen = 0
        self.since_hop = 0
        self.fresh = 0  # sound rows since the last window was heard
        for alarm in self.alarms.values():  # windows in a row do not span a gap in the audio
            alarm.recent.clear()

    # ------------------------------------------------------------------------------------------------ input

    def push(self, log_mel: np.ndarray, end_time: float) -> list[Event]:
        """Rows of the shared front end ending at stream time ``end_time``; the events they cause."""
        out: list[Event] = []
        n = len(log_mel)
        for i, row in enumerate(log_mel):
            if row.max() >= SILENT_LOG_MEL:
                self.rows[:-1] = self.rows[1:]
                self.rows[-1] = row
                self.filled += 1
                self.fresh += 1
            self.rows_seen += 1
            self.since_hop += 1
            if self.rows_seen >= len(self.rows) and self.since_hop >= self.hop_rows:
                self.since_hop = 0
                sound = self.filled >= len(self.rows) and 2 * self.fresh >= self.hop_rows
                self.fresh = 0
                out += self._hear(end_time - 0.01 * (n - 1 - i), sound)
        return out

    def _hear(self, now: float, sound: bool = True) -> list[Event]:
        self.time = now
        if not sound:  # no evidence: the belief stays as it was ("unknown" if nothing was heard yet)
            events = np.zeros(len(self.model.events), np.float32)
        else:
            t0 = time.perf_counter()
            events, scene = self.model.predict(self.rows)
            self.busy_s += time.perf_counter() - t0
            if self.belief is None:
                self.belief = scene.astype(np.float64)
            else:
                a = 1.0 - math.exp(-self.settings.hop_s / self.settings.smoothing_s) if self.settings.smoothing_s \
                    else 1.0
                self.belief = (1 - a) * self.belief + a * scene
        labels = self.model.events
        self.current = tuple(sorted(((labels[k], round(float(p), 3)) for k, p in enumerate(events)
                                     if p >= self.settings.event_threshold), key=lambda e: -e[1]))
        self._remember(now)
        out = self._alerts(events, now)
        if now >= self.next_update:
            self.next_update = now + self.settings.update_s - 1e-6
            name = self.scene_name()
            if self.settings.scene_events == "every" or name != self.announced:
                self.announced = name
                out.append(Event("scene", self.state().to_dict(), time=time.time()))
        return out

    def _remember(self, now: float) -> None:
        window_start = now - len(self.rows) * 0.01
        active = dict(self.current)
        for label in list(self.open):
            if label not in active:
                self.heard.append(self.open.pop(label))
        for label, score in active.items():
            sound = self.open.get(label)
            self.open[label] = HeardSound(label, max(score, sound.score), sound.start, round(now, 2)) if sound \
                else HeardSound(label, score, round(max(0.0, window_start), 2), round(now, 2))
        while self.heard and self.heard[0].end < now - self.settings.memory_s:
            self.heard.popleft()

    def _alerts(self, events: np.ndarray, now: float) -> list[Event]:
        out = []
        for label, alarm in self.alarms.items():
            p = alarm.score(float(events[self.model.events.index(label)]))
            if not alarm.armed:
                alarm.armed = p < alarm.threshold * self.settings.alert_release
                continue
            if p >= alarm.threshold and now - alarm.last >= self.settings.alert_cooldown_s:
                alarm.armed, alarm.last = False, now
                out.append(Event("alert", {"label": label, "score": round(p, 3), "time": round(now, 2),
                                           "threshold": alarm.threshold, "scene": self.scene_name()},
                                 time=time.time()))
        return out

    # ------------------------------------------------------------------------------------------------ output

    def scene_name(self) -> str:
        return "unknown" if self.belief is None else self.model.scenes[int(np.argmax(self.belief))]

    def state(self) -> SceneState:
        if self.belief is None:
            return SceneState(timestamp=round(self.time, 2))
        heard = tuple(self.heard) + tuple(sorted(self.open.values(), key=lambda s: s.start))
        name = self.scene_name()
        return SceneState(name, round(float(np.max(self.belief)), 3), self.current, round(self.time, 2), heard,
                          quiet=name in self.settings.quiet_scenes)
