"""What every connection of one ``hark serve`` process shares: the Engine, the conversations of clients that
name one, the connection budget and the counters behind ``GET /metrics``. Thread-safe: engine work runs in a
thread pool while the event loop keeps reading sockets."""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from contextlib import contextmanager
from typing import Any, Iterator

from ..edges import Result, coerce_nbest
from ..types import AudioChunk, NBest

__all__ = ["Hub", "Conversations", "Metrics", "ConnectionBudget"]

#: upper bounds (seconds) of the request-latency histogram
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Conversations:
    """Conversations by the client's id (Home Assistant's ``conversation_id``), so "unlock the front door" →
    "yes" works across two requests. Bounded in count (least recently used go first) and in age."""

    def __init__(self, engine: Any, max_items: int, ttl_s: float):
        self.engine, self.max_items, self.ttl_s = engine, max_items, ttl_s
        self._items: OrderedDict[str, tuple[Any, threading.Lock, float]] = OrderedDict()
        self._lock = threading.Lock()

    @contextmanager
    def use(self, key: str | None) -> Iterator[Any]:
        """The conversation ``key`` (a new one for None or an unknown or expired key), held by this caller alone
        until the ``with`` block ends: two requests of one conversation run one after the other."""
        if not key:
            yield self.engine.conversation()
            return
        now = time.monotonic()
        with self._lock:
            item = self._items.pop(key, None)
            if item is None or now - item[2] > self.ttl_s:
                item = (self.engine.conversation(), threading.Lock(), now)
            self._items[key] = (item[0], item[1], now)
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)
        with item[1]:
            yield item[0]

    def rebind(self, engine: Any) -> None:
        """New and kept conversations run on ``engine`` from now on (a skill reload)."""
        with self._lock:
            self.engine = engine
            for conversation, _, _ in self._items.values():
                conversation.engine = engine

    def __len__(self) -> int:
        return len(self._items)


class ConnectionBudget:
    """At most ``limit`` long-lived connections (WebSocket streams, Wyoming clients) at once."""

    def __init__(self, limit: int):
        self.limit, self.open = limit, 0
        self._lock = threading.Lock()

    def acquire(self) -> bool:
        with self._lock:
            if self.open >= self.limit:
                return False
            self.open += 1
            return True

    def release(self) -> None:
        with self._lock:
            self.open = max(0, self.open - 1)


class Metrics:
    """Counters and one latency histogram, written in Prometheus' text format."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        self._hist: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def count(self, name: str, value: float = 1, **labels: Any) -> None:
        key = (name, tuple(sorted((k, str(v)) for k, v in labels.items())))
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + value

    def observe(self, route: str, seconds: float) -> None:
        with self._lock:
            row = self._hist.setdefault(route, [0.0] * (len(BUCKETS) + 2))  # buckets, +Inf, sum
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    row[i] += 1
            row[len(BUCKETS)] += 1
            row[-1] += seconds

    def render(self, gauges: dict[str, float]) -> str:
        lines: list[str] = []
        with self._lock:
            names = sorted({name for name, _ in self._counts})
            for name in names:
                lines.append(f"# TYPE hark_{name} counter")
                for (n, labels), value in sorted(self._counts.items()):
                    if n == name:
                        lines.append(f"hark_{name}{_labels(labels)} {value:g}")
            if self._hist:
                lines.append("# HELP hark_request_seconds time from request to response")
                lines.append("# TYPE hark_request_seconds histogram")
            for route, row in sorted(self._hist.items()):
                for bound, n in zip([*map(str, BUCKETS), "+Inf"], row):
                    lines.append(f"hark_request_seconds_bucket{_labels((('route', route), ('le', bound)))} {n:g}")
                lines.append(f"hark_request_seconds_sum{_labels((('route', route),))} {row[-1]:.6f}")
                lines.append(f"hark_request_seconds_count{_labels((('route', route),))} {row[len(BUCKETS)]:g}")
        for name, value in sorted(gauges.items()):
            lines += [f"# TYPE hark_{name} gauge", f"hark_{name} {value:g}"]
        return "\n".join(lines) + "\n"


def _labels(labels: tuple[tuple[str, str], ...]) -> str:
    if not labels:
        return ""
    quoted = (v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") for _, v in labels)
    return "{" + ",".join(f'{k}="{v}"' for (k, _), v in zip(labels, quoted)) + "}"


class Hub:
    """The serving state around one Engine (one per process; every connection and request shares it)."""

    def __init__(self, engine: Any, version: str = "0"):
        settings = engine.config.serve
        self.engine, self.version = engine, version
        self.started = time.time()
        self.conversations = Conversations(engine, settings.max_conversations, settings.conversation_ttl_s)
        self.connections = ConnectionBudget(settings.max_connections)
        self.metrics = Metrics()
        #: engines replaced by a skill reload, closed once no connection can still be using them
        self.retired: list[Any] = []
        #: engines this hub built (reloads), closed by ``close``; the first one belongs to the caller
        self.owned: list[Any] = []

    def swap(self, engine: Any) -> None:
        """Serve with ``engine`` from the next request on (a skill reload). Open streams finish on the old one;
        conversations carry over (a pending confirmation is plain data)."""
        old, self.engine = self.engine, engine
        self.owned.append(engine)
        self.conversations.rebind(engine)
        self.retired.append(old)
        self.metrics.count("skill_reloads_total")
        self.release_retired()

    def release_retired(self) -> None:
        """Close replaced engines once no long-lived connection is open (one could hold a stream on them)."""
        if self.connections.open:
            return
        for old in self.retired:
            if old in self.owned:
                old.close()
        self.retired = []

    def close(self) -> None:
        for engine in self.owned:
            engine.close()

    @property
    def has_asr(self) -> bool:
        return bool(self.engine.implements("hark_transcribe"))

    def parse(self, text_or_nbest: Any, conversation_id: str | None = None, device_id: str | None = None,
              now: str | None = None) -> Result:
        """One request in the conversation ``conversation_id`` (none: a fresh one, nothing remembered)."""
        nbest = coerce_nbest(text_or_nbest, self.engine.config.limits)  # bad input fails before a conversation
        with self.conversations.use(conversation_id) as conversation:
            fields = {**conversation.context_fields(), **({"device_id": device_id} if device_id else {})}
            context = self.engine.context(now=now, **fields) if now else self.engine.context(**fields)
            return conversation.parse(nbest, context)

    def transcribe(self, audio: AudioChunk) -> tuple[NBest | None, dict[str, Any] | None, list[str]]:
        """What the ASR plugin heard in one utterance, what hark understood of it (the parse result), and the
        messages of ASR plugins that failed (a failure is not silence: the client is told)."""
        errors: list = []
        nbest = self.engine.transcribe(audio, sink=errors)  # a failing plugin is also logged by the engine
        failures = [f"{e.data.get('plugin')}: {e.data.get('message')}" for e in errors if e.kind == "error"]
        if nbest is None or not nbest.best.text.strip():
            return nbest, None, failures
        return nbest, self.engine.parse(nbest).to_dict(), failures

    def gauges(self) -> dict[str, float]:
        return {"uptime_seconds": round(time.time() - self.started, 1), "open_connections": self.connections.open,
                "conversations": len(self.conversations)}
