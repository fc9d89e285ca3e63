"""Hot reload of skills for long-running commands (`hark serve`, `hark listen`): a skill author saves skill.yaml
and the next request already uses it.

``SkillWatcher`` notices changed files in the skill folders by polling their sizes and modification times (no
inotify dependency; a few hundred stats a second is nothing). ``Reloader`` then builds a fresh Engine in a
background thread. The caller swaps it in between requests or utterances, so nothing in flight changes engine
mid-way. A skill file with an error keeps the old engine running and says what is wrong. The template tier takes
new sentences at once; the trained intent model only knows the intents it was trained on, and the message names
the ones that need `hark train`.
"""
from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable

__all__ = ["SkillWatcher", "Reloader", "untrained_intents"]

log = logging.getLogger("hark")

#: files that make up a skill
_PATTERNS = ("skill.yaml", "*.csv", "*.txt", "*.py", "*.yaml")


class SkillWatcher:
    """Says when any skill file under ``folders`` was added, removed or changed since the last look."""

    def __init__(self, folders: Iterable[Path], interval_s: float = 1.0):
        self.folders = [Path(f) for f in folders]
        self.interval_s = interval_s
        self._seen = self._snapshot()
        self._checked = time.monotonic()

    def _snapshot(self) -> dict[str, tuple[int, int]]:
        out: dict[str, tuple[int, int]] = {}
        for folder in self.folders:
            if not folder.is_dir():
                continue
            for pattern in _PATTERNS:
                for path in folder.rglob(pattern):
                    if "__pycache__" in path.parts:
                        continue
                    try:
                        st = path.stat()
                    except OSError:
                        continue
                    out[str(path)] = (st.st_mtime_ns, st.st_size)
        return out

    def changed(self) -> bool:
        """True once per change (checked at most every ``interval_s``)."""
        now = time.monotonic()
        if now - self._checked < self.interval_s:
            return False
        self._checked = now
        seen = self._snapshot()
        if seen == self._seen:
            return False
        self._seen = seen
        return True


def untrained_intents(engine: Any) -> list[str]:
    """Intents of the installed skills that the trained intent model has no label for (``hark train`` adds
    them); empty without a trained model."""
    plugin = engine.pm.get_plugin("intent")
    model = getattr(plugin, "model", None)
    labels = set(getattr(model, "intents", ()) or ())
    if not labels:
        return []
    return [i.qualified for i in engine.skills.intents() if i.qualified not in labels]


class Reloader:
    """Watches the skills of ``engine`` and builds a replacement with ``make_engine`` when they change."""

    def __init__(self, engine: Any, make_engine: Callable[[], Any], say: Callable[[str], None] | None = None,
                 interval_s: float = 1.0):
        self.watcher = SkillWatcher(engine.config.skill_paths(), interval_s)
        self.make_engine = make_engine
        self.say = say or (lambda message: log.warning("%s", message))
        self._ready: Any = None
        self._building = False
        self._lock = threading.Lock()

    def poll(self) -> Any:
        """A new Engine once, after the skills changed and it was built; else None. Cheap: call it often."""
        with self._lock:
            ready, self._ready = self._ready, None
        if ready is not None:
            return ready
        if not self._building and self.watcher.changed():
            self._building = True
            threading.Thread(target=self._build, name="hark-skill-reload", daemon=True).start()
        return None

    def _build(self) -> None:
        t0 = time.monotonic()
        try:
            engine = self.make_engine()
        except Exception as exc:  # noqa: BLE001 - a half-edited skill file must not stop the service
            self.say(f"skills changed, but they do not load: {exc} (still using the previous skills)")
            self._building = False
            return
        missing = untrained_intents(engine)
        note = (f"; the trained intent model does not know {', '.join(missing[:5])}"
                f"{' and more' if len(missing) > 5 else ''}: the templates tier answers them until `hark train`"
                if missing else "")
        self.say(f"skills reloaded in {time.monotonic() - t0:.1f} s: {len(engine.skills)} skills{note}")
        with self._lock:
            self._ready = engine
        self._building = False
