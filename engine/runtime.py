"""The engine: loads plugins and skills, runs an utterance through the hooks, emits events.

Data flows one way: NBest -> hark_interpret (all plugins, merged and ranked) -> hark_resolve (top few, in turn)
-> threshold -> hark_act (first answer) -> events. Every hook call goes through ``Engine.call``, which runs the
implementations one at a time so that a plugin that raises is reported as an ``error`` event and the rest go on.
Audio and per-input state live in streams (``Engine.open_stream``, engine/streams.py); the Engine itself holds
nothing that belongs to one input, so any number of streams can share it.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

from .config import Config, load_config
from .conversation import Confirmation, Conversation, confirmation_prompt
from .edges import Result, coerce_nbest, read_jsonl
from .errors import ConfigError, InputError, PluginError, SkillError
from .plugin_manager import _describe, _register, build_plugin_manager, load_module_plugin
from .skills import SkillRegistry, SkillSet
from .slots import SlotTypeRegistry
from .speech_acts import FormLicences, summarise, veto_reason
from .streams import Stream, run as run_stream
from .types import (AudioChunk, Context, Event, Interpretation, NBest, PronunciationReport, SceneState,
                    SkillAction, Slot)

__all__ = ["Engine", "Result", "coerce_nbest", "read_jsonl"]

log = logging.getLogger("hark")

# What each hook must return (None is always allowed); checked so a buggy plugin is named, not trusted.
_RESULT_TYPES: dict[str, Any] = {
    "hark_interpret": list,
    "hark_resolve": Interpretation,
    "hark_act": SkillAction,
    "hark_scene": SceneState,
    "hark_transcribe": NBest,
    "hark_audio_chunk": (Event, list),
    "hark_audio_end": (Event, list),
    "hark_turn_judged": (Event, list),
    "hark_end_of_turn": (float, int, NBest),
    "hark_assess_pronunciation": PronunciationReport,
}


class Engine:
    """Embed hark: ``with Engine.from_config() as engine: engine.parse("turn on the lights")``."""

    def __init__(self, config: Config, *, plugins: Iterable[Any] = (), entry_points: bool = True):
        self.config = config
        self.startup_events: list[Event] = []
        self.trace = os.environ.get("HARK_TRACE_PLUGINS", "") not in ("", "0")
        self.pm, self.plugin_info = build_plugin_manager(config, extra=plugins, entry_points=entry_points)
        for info in self.plugin_info:
            if info.status == "failed":
                self._error(self.startup_events, info.name, "load", info.error)
        self.slot_types = SlotTypeRegistry()
        self._call_registering("hark_register_slot_types", self.slot_types)
        registry = SkillRegistry(self.slot_types, disabled=config.skills.disabled)
        for path in config.skill_paths():
            registry.add_path(path)
        self._call_registering("hark_register_skills", registry)
        self.skills: SkillSet = registry.build()
        for skill in self.skills:
            if skill.handler is not None:
                self._register_handler(skill.name, skill.handler)
        self._closed = False
        #: what each intent's templates allow (negations, questions, ...), computed per intent on first use
        self._licences = FormLicences(self.skills)
        self.call("hark_startup", sink=self.startup_events, reraise=(ConfigError,), engine=self)

    # ----------------------------------------------------------------------------------------- construction

    @classmethod
    def from_config(cls, path: str | Path | None = None, *, plugins: Iterable[Any] = (), **overrides: Any) -> "Engine":
        """Build an engine from config.yaml (``path``, $HARK_CONFIG or the project's) plus dotted overrides."""
        return cls(load_config(path, **overrides), plugins=plugins)

    def _register_handler(self, skill: str, path: Path) -> None:
        name = f"skill:{skill}"
        module = load_module_plugin(path, f"hark_skill_{skill}_handler")
        info = _register(self.pm, module, name, dict(name=name, target=str(path)))
        if info.status == "failed":  # the skill author's own code: stop with the reason rather than run without it
            raise PluginError(f"{path}: {info.error}")
        self.plugin_info.append(info)

    def _call_registering(self, hook: str, registry: Any) -> None:
        """Registration hooks: a duplicate or invalid name stops start-up; other exceptions are isolated."""
        for impl in self._impls(hook):
            registry.current_source = impl.plugin_name
            self._invoke(impl, hook, self.startup_events, (PluginError, SkillError), registry=registry)
        registry.current_source = "config"

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.call("hark_shutdown", engine=self)

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -------------------------------------------------------------------------------------------- hook calls

    def _impls(self, hook: str) -> list[Any]:
        """Implementations in pluggy's calling order (latest registered first, tryfirst/trylast honoured)."""
        impls = list(reversed(getattr(self.pm.hook, hook).get_hookimpls()))
        if self.trace:
            print(f"hark trace: {hook} -> {', '.join(i.plugin_name for i in impls) or '(none)'}", file=sys.stderr)
        return impls

    def implements(self, hook: str) -> list[str]:
        """Names of the plugins that implement ``hook`` and are switched on (e.g. whether any can transcribe
        speech): a plugin whose ``active`` attribute is false (asr_wyoming without a uri) does not count."""
        return [impl.plugin_name for impl in getattr(self.pm.hook, hook).get_hookimpls()
                if getattr(impl.plugin, "active", True)]

    def call(self, hook: str, *, firstresult: bool = False, sink: list[Event] | None = None,
             reraise: tuple[type[Exception], ...] = (), states: Mapping[str, Any] | None = None,
             **kwargs: Any) -> Any:
        """Call ``hook`` implementation by implementation, isolating failures.

        Returns ``[(plugin_name, result), ...]`` for non-None results, or the first non-None result when
        ``firstresult``. A plugin that raises or returns the wrong type produces an ``error`` event in ``sink``
        (and for listeners) and is skipped. Exceptions of the ``reraise`` types (a plugin's invalid settings)
        stop the caller instead. With ``states`` (a stream's), each implementation gets its own plugin's entry
        as ``state``.
        """
        results = []
        for impl in self._impls(hook):
            if states is not None:
                kwargs["state"] = states.get(impl.plugin_name)
            result = self._invoke(impl, hook, sink, reraise, **kwargs)
            if result is None:
                continue
            if firstresult:
                return result
            results.append((impl.plugin_name, result))
        return None if firstresult else results

    def _invoke(self, impl: Any, hook: str, sink: list[Event] | None, reraise: tuple[type[Exception], ...] = (),
                **kwargs: Any) -> Any:
        """Run one implementation: the single place where a plugin's exception or wrong return type is caught,
        reported as an ``error`` event naming the plugin, and turned into None."""
        try:
            result = impl.function(**{a: kwargs[a] for a in impl.argnames})
        except reraise:
            raise
        except Exception as exc:
            self._error(sink, impl.plugin_name, hook, _describe(exc))
            return None
        expected = _RESULT_TYPES.get(hook)
        if result is not None and expected is not None and not isinstance(result, expected):
            names = " or ".join(t.__name__ for t in (expected if isinstance(expected, tuple) else (expected,)))
            self._error(sink, impl.plugin_name, hook, f"returned {type(result).__name__}, expected {names} or None")
            return None
        return result

    def _error(self, sink: list[Event] | None, plugin: str, hook: str, message: str) -> None:
        log.warning("plugin %s failed in %s: %s", plugin, hook, message)
        event = Event("error", {"plugin": plugin, "hook": hook, "message": message}, time=time.time())
        if sink is not None:
            sink.append(event)
        if hook != "hark_event":
            self.emit(event)

    def emit(self, event: Event) -> None:
        """Deliver ``event`` to every ``hark_event`` listener; a failing listener is logged, never re-entered."""
        self.call("hark_event", event=event)

    # ------------------------------------------------------------------------------------------- utterances

    def context(self, *, states: Mapping[str, Any] | None = None, **kwargs: Any) -> Context:
        """A Context for one utterance: clock in the configured time zone, locale, current scene (a stream's,
        given its plugin ``states``)."""
        now = kwargs.pop("now", None)
        if now is None:
            now = dt.datetime.now(self._tz())
        elif isinstance(now, str):
            try:
                now = dt.datetime.fromisoformat(now)
            except ValueError:
                raise InputError(f"now: not an ISO 8601 datetime: {now!r}") from None
        elif not isinstance(now, dt.datetime):  # {"context": {"now": 5}} on a stream line
            raise InputError(f"now: expected an ISO 8601 datetime, got {type(now).__name__} {now!r:.40}")
        if now.tzinfo is None:  # a wall-clock time means the configured time zone
            now = now.replace(tzinfo=self._tz())
        kwargs.setdefault("locale", self.config.engine.locale)
        ctx = Context.create(now, **kwargs)
        if ctx.scene is None:
            ctx = self.with_scene(ctx, states)
        return ctx

    def with_scene(self, context: Context, states: Mapping[str, Any] | None = None) -> Context:
        """``context`` with the scene plugins' current belief (unchanged when no plugin has one)."""
        scene = self.call("hark_scene", firstresult=True, states=states or {}, context=context)
        return context if scene is None else dataclasses.replace(context, scene=scene)

    def _tz(self) -> dt.tzinfo | None:
        name = self.config.engine.timezone
        if not name:
            return dt.datetime.now().astimezone().tzinfo
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise InputError(f"engine.timezone: unknown time zone {name!r}") from None

    def interpret(self, nbest: NBest, context: Context, sink: list[Event] | None = None) -> list[Interpretation]:
        """All plugins' interpretations, merged (best confidence per reading) and ranked."""
        merged: dict[tuple, Interpretation] = {}
        for plugin, found in self.call("hark_interpret", sink=sink, nbest=nbest, skills=self.skills,
                                       context=context):
            for interp in found:
                if not isinstance(interp, Interpretation):
                    self._error(sink, plugin, "hark_interpret",
                                f"returned a list holding {type(interp).__name__}, expected Interpretation")
                    break
                if not interp.source:
                    interp = dataclasses.replace(interp, source=plugin)
                key = interp.key
                if key not in merged or interp.confidence > merged[key].confidence:
                    merged[key] = interp
        return sorted(merged.values(), key=lambda i: (-i.confidence, i.hypothesis_index))

    def resolve(self, ranked: Sequence[Interpretation], nbest: NBest, context: Context,
                sink: list[Event] | None = None) -> list[Interpretation]:
        top = list(ranked[: self.config.engine.resolve_top])
        out = []
        for interp in top:
            for impl in self._impls("hark_resolve"):  # in turn: each resolver sees the previous one's output
                interp = self._invoke(impl, "hark_resolve", sink, interpretation=interp, nbest=nbest,
                                      skills=self.skills, context=context) or interp
            out.append(interp)
        out.sort(key=lambda i: (-i.confidence, i.hypothesis_index))
        return out + list(ranked[len(top):])

    def parse(self, text_or_nbest: Any, context: Context | None = None, *, utterance: int | None = None) -> Result:
        """Interpret typed text or an ASR n-best list and choose the skill action.

        ``context`` defaults to ``engine.context()`` (now, configured locale, current scene). A reading that is
        not a request (a negated command, a question about state, ...) is never acted on; an intent marked
        ``confirm:`` returns ``Result.confirm`` instead of an action (answer it through ``engine.conversation()``).
        """
        nbest = coerce_nbest(text_or_nbest, self.config.limits)
        context = context or self.context()
        events: list[Event] = []
        self._event(events, "utterance", {"nbest": nbest.to_dict()["hypotheses"], "source": nbest.source}, utterance)
        ranked = self.resolve(self.interpret(nbest, context, events), nbest, context, events)
        ranked, vetoed = self._requests_only(ranked)
        ranked = ranked[: self.config.engine.max_alternatives]
        action = confirm = chosen = None
        intent = self.skills.intent(ranked[0].skill, ranked[0].intent) if ranked else None
        if ranked and ranked[0].confidence >= self._threshold(intent):
            chosen = ranked[0]
        if chosen is not None and intent is not None and intent.confirm:
            confirm = Confirmation(chosen, confirmation_prompt(intent.confirm_prompts, chosen, intent.description),
                                   context.clock.timestamp() + self.config.engine.confirm_timeout_s)
        elif chosen is not None:
            action = self.call("hark_act", firstresult=True, sink=events, interpretation=chosen,
                               skills=self.skills, context=context)
        if ranked:
            self._event(events, "interpretation", {"interpretations": [i.to_dict() for i in ranked]}, utterance)
        if action is not None:
            self._event(events, "action", action.to_dict(), utterance)
        elif confirm is not None:
            self._event(events, "confirm", confirm.to_dict(context.clock.timestamp()), utterance)
        else:
            best = ranked[0].to_dict() if ranked else None
            data = {"text": nbest.best.text, "best": best, "min_confidence": self.config.engine.min_confidence}
            if vetoed:
                data["not_a_request"] = summarise(vetoed)
            self._event(events, "out_of_scope", data, utterance)
        return Result(nbest, tuple(ranked), action, context, tuple(events), confirm)

    def _threshold(self, intent: Any) -> float:
        """The intent's own ``min_confidence`` when its skill sets one, else the engine's."""
        own = intent.min_confidence if intent is not None else None
        return own if own is not None else self.config.engine.min_confidence

    def _requests_only(self, ranked: list[Interpretation]) -> tuple[list[Interpretation],
                                                                   list[tuple[Interpretation, str]]]:
        """Readings that are requests; when the best reading is not one (a negated command, a question about
        state, ...), nothing is kept: the utterance as a whole was not addressed to us as a request."""
        if not self.config.engine.request_gate or not ranked:
            return ranked, []
        verdicts = [(i, veto_reason(i, self._licences)) for i in ranked]
        vetoed = [(i, form) for i, form in verdicts if form]
        if verdicts[0][1]:
            return [], vetoed
        return [i for i, form in verdicts if not form], vetoed

    def conversation(self) -> Conversation:
        """Per-conversation state (a pending confirmation) for one device, client or stream."""
        return Conversation(self)

    def answer_confirmation(self, pending: Confirmation, nbest: NBest, context: Context, confirmed: bool, *,
                            expired: bool = False, utterance: int | None = None) -> Result:
        """Act on a pending reading after a yes, or report it cancelled after a no (or a yes too late)."""
        events: list[Event] = []
        self._event(events, "utterance", {"nbest": nbest.to_dict()["hypotheses"], "source": nbest.source}, utterance)
        action = None
        if confirmed:
            action = self.call("hark_act", firstresult=True, sink=events, interpretation=pending.interpretation,
                               skills=self.skills, context=context)
        if action is not None:
            self._event(events, "action", dict(action.to_dict(), confirmed=True), utterance)
        else:
            reason = "expired" if expired else ("no action" if confirmed else "declined")
            self._event(events, "cancelled", dict(pending.to_dict(), reason=reason,
                                                  response="Too late, I did not do it." if expired
                                                  else "OK, I won't."), utterance)
        return Result(nbest, (pending.interpretation,), action, context, tuple(events), None,
                      cancelled=action is None)

    def act_on_alert(self, alert: Event, context: Context) -> list[Event]:
        """The actions of the skills' ``on_alert`` intents for an ``alert`` event (``data.label``, ``data.score``):
        a device handles a safety sound where it handles every other action. Sounds are never speech, so the
        request gate and confirmation do not apply; an alert intent must not unlock anything."""
        label = str(alert.data.get("label", ""))
        events: list[Event] = []
        for intent in self.skills.alert_intents():
            if intent.on_alert and label not in intent.on_alert:
                continue
            spoken, score = label.replace("_", " "), float(alert.data.get("score", 1.0))
            slot = Slot("sound", spoken, value=label, confidence=score, end=len(spoken))
            reading = Interpretation(intent.skill, intent.name, score, (slot,), text=spoken, source="alert")
            action = self.call("hark_act", firstresult=True, sink=events, interpretation=reading,
                               skills=self.skills, context=context)
            if action is not None:
                self._event(events, "action", action.to_dict(), None)
        return events

    def _event(self, sink: list[Event], kind: str, data: dict[str, Any], utterance: int | None) -> None:
        event = Event(kind, data, time=time.time(), utterance=utterance)
        sink.append(event)
        self.emit(event)

    def transcribe(self, audio: AudioChunk, context: Context | None = None, sink: list[Event] | None = None, *,
                   states: Mapping[str, Any] | None = None) -> NBest | None:
        """The first ASR plugin's n-best list for one utterance of audio, or None when no plugin can. Outside a
        stream (no ``states``) every plugin gets ``state=None``."""
        return self.call("hark_transcribe", firstresult=True, sink=sink, states=states or {}, audio=audio,
                         context=context or self.context())

    def assess_pronunciation(self, audio: AudioChunk, expected: str, context: Context | None = None,
                             sink: list[Event] | None = None, *,
                             states: Mapping[str, Any] | None = None) -> PronunciationReport | None:
        """Practice mode: how well ``audio`` says ``expected`` (None when no tutor plugin is installed)."""
        return self.call("hark_assess_pronunciation", firstresult=True, sink=sink, states=states or {},
                         audio=audio, expected=expected, context=context or self.context())

    # ---------------------------------------------------------------------------------------------- streams

    def open_stream(self, *, sample_rate: int = 16000, **context: Any) -> Stream:
        """A new input on this engine (a microphone, a file, a client): its own plugin state, audio clock and
        conversation. ``context`` (device_id, expected_text, ...) starts every utterance's Context. See
        ``hark.streams.Stream``."""
        return Stream(self, sample_rate=sample_rate, **context)

    def stream(self, source: Iterable[Any], **context: Any) -> Iterator[Event]:
        """Run every item of ``source`` through one new stream and yield events.

        Items: text, n-best lists, {"text"|"nbest", "context"} objects, or AudioChunk frames (fed to the stream;
        the audio ends, ``hark_audio_end``, when a text item follows or the source ends). A bad item yields one
        ``error`` event naming it and the stream goes on. One conversation: a yes answers the question just asked.
        """
        stream = self.open_stream(**context)
        try:
            yield from run_stream(stream, source)
        finally:
            stream.close(flush=False)  # a consumer that stopped early: release the plugins' state, run nothing
