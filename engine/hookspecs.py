"""The plugin contract: every hook hark calls, one documented stub each.

Implement a hook with ``@hark.hookimpl`` on a function or method of the same name; an implementation may accept
any subset of the arguments, so hooks can gain arguments without breaking plugins. The runtime calls
implementations one by one: a plugin that raises is reported (an ``error`` event naming it) and skipped, and the
others still run. docs/hooks.md describes each hook with examples; tests/test_hooks.py keeps the two in step.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:  # pragma: no cover
    from .features import Features
    from .runtime import Engine
    from .streams import Stream
    from .skills import SkillRegistry, SkillSet
    from .slots import SlotTypeRegistry
    from .types import AudioChunk, Context, Event, Interpretation, NBest, PronunciationReport, SceneState, SkillAction

hookspec = pluggy.HookspecMarker("hark")
hookimpl = pluggy.HookimplMarker("hark")


@hookspec
def hark_startup(engine: "Engine") -> None:
    """Called once by ``Engine`` after all plugins are registered and skills are loaded.

    Load models and read your settings here (``engine.config.plugin_settings(name, Defaults)``); keep the state on
    your plugin object. Broadcast; return value ignored.
    """


@hookspec
def hark_shutdown(engine: "Engine") -> None:
    """Called once by ``Engine.close()`` (also on leaving ``with Engine...``). Release devices, threads and files.

    Broadcast; return value ignored.
    """


@hookspec
def hark_register_slot_types(registry: "SlotTypeRegistry") -> None:
    """Called by ``Engine`` before skills are loaded, so skills can name the slot types you add.

    Call ``registry.add(name, parser, description=...)`` where ``parser(text, context)`` returns the normalised
    value or ``None`` when the text is not of that type. Two plugins adding the same name is a startup error.
    Broadcast; return value ignored.
    """


@hookspec
def hark_register_skills(registry: "SkillRegistry") -> None:
    """Called by ``Engine`` at start-up, after the configured skill folders are loaded.

    Plugins that ship skills call ``registry.add_path(folder)`` or ``registry.add(skill)``. Duplicate skill names
    are a startup error naming both sources. Broadcast; return value ignored.
    """


@hookspec
def hark_stream_start(stream: "Stream") -> Any:
    """Called by ``Engine.open_stream`` when an input opens (a microphone, a file, a client connection).

    Return the object that holds your state for this stream (buffers, a decoder, a detector), or ``None`` if you
    keep none; the runtime hands it back as ``state`` to your implementations of the stream's hooks below, so
    two streams on one Engine never share it. Warm models here rather than on the first utterance. ``stream.id``
    names the stream; ``stream.context_defaults`` holds what it was opened with. Broadcast.
    """


@hookspec
def hark_stream_end(stream: "Stream", state: Any) -> None:
    """Called by ``Stream.close()``, after the audio is flushed: release what ``state`` holds. Broadcast."""


@hookspec
def hark_audio_chunk(chunk: "AudioChunk", features: "Features | None", context: "Context",
                     state: Any) -> "Event | list[Event] | None":
    """Called by the stream for every 30 ms frame of its audio (16 kHz mono int16), in order.

    ``features`` are the shared front end's rows completed by this frame (``hark.features``: 64-band log-mel and
    log energy, 25 ms windows every 10 ms), computed once per frame for every observer. Observers (VAD, scene
    context) update ``state`` and may return events. An endpointer returns ``speech_start`` ``{"start"}``,
    ``pause`` ``{"end", "pause_ms"}`` (a pause, reported again as it grows: the runtime asks ``hark_end_of_turn`` and answers with
    ``hark_turn_judged``) and ``speech_end`` with the utterance in ``Event.audio``, which the runtime transcribes
    and parses; ``alert`` ``{"label", "score"}`` (a safety sound), which the runtime turns into the actions of the
    skills' ``on_alert`` intents. The runtime numbers utterances itself (``Event.utterance``). Broadcast.
    """


@hookspec
def hark_audio_end(context: "Context", state: Any) -> "Event | list[Event] | None":
    """Called by the stream when its audio ends (end of a file, a closed microphone, ``Stream.flush()``).

    Endpointers close an utterance still in progress by returning its ``speech_end`` event; observers reset
    ``state`` for audio that may follow. Broadcast; returned events are handled like those of ``hark_audio_chunk``.
    """


@hookspec
def hark_speech_start(start: float, context: "Context", state: Any) -> None:
    """Called by the stream when an endpointer reported ``speech_start``: speech began at stream time ``start``.

    Streaming recognisers start decoding here (from a little before ``start``) so that little is left to do when
    the utterance ends. Broadcast; return value ignored.
    """


@hookspec(firstresult=True)
def hark_end_of_turn(end: float, pause: float, context: "Context", state: Any) -> "float | NBest | None":
    """Called by the stream when an endpointer reports a ``pause`` (the vad plugin asks at every multiple of its
    ``early_silence_ms`` and at its ``silence_ms``): is what was said up to stream time ``end``, followed by
    ``pause`` seconds of silence so far, a complete request?

    Return the probability that it is; or an ``NBest`` of the words heard so far, which the runtime interprets
    (the top reading's confidence is the answer); or ``None`` when you cannot tell; or a negative number when the
    words are only the start of a request ("give me a sixteen ounce"), so the endpointer may keep the turn open
    past its silence. The asr_pocketsphinx plugin returns its live partial transcription when the skill LM, the
    skills' templates and the pause make the end of the turn likely enough, -1 when the templates say the words
    only start a request, else 0. It runs while the user may still be speaking: keep it to a few milliseconds.
    firstresult.
    """


@hookspec
def hark_turn_judged(end: float, probability: "float | None", context: "Context",
                     state: Any) -> "Event | list[Event] | None":
    """Called by the stream on the plugin that reported a ``pause``, with the ``hark_end_of_turn`` answer
    (``None``: no judge could tell).

    The endpointer decides: a ``speech_end`` at ``end`` when the answer is high enough, else nothing (it goes on
    waiting for the full silence). Returned events are handled like those of ``hark_audio_chunk``. Broadcast in
    form, but only the plugin that paused is called.
    """


@hookspec
def hark_compile(engine: "Engine", force: bool) -> "str | None":
    """Called by ``hark train`` after start-up: rebuild what you derive from the installed skills and catalogs
    (an ASR language model, catalog indexes), even if a cached copy looks current when ``force`` is true.

    Return one line for the user saying what was built (or ``None``). Broadcast.
    """


@hookspec(firstresult=True)
def hark_transcribe(audio: "AudioChunk", context: "Context", state: Any) -> "NBest | None":
    """Called once per endpointed utterance (``audio`` holds all of it, its ``timestamp`` on the stream's clock).

    ``state`` is what your ``hark_stream_start`` returned for the stream, or ``None`` when the audio comes from
    outside a stream (``Engine.transcribe``). Return the n-best transcriptions, best first, or ``None`` to let the
    next ASR plugin try. firstresult: the first non-``None`` answer wins.
    """


@hookspec
def hark_interpret(nbest: "NBest", skills: "SkillSet", context: "Context") -> "list[Interpretation]":
    """Called once per utterance with every hypothesis of the n-best list.

    Return the interpretations you find (any order, possibly empty); each carries a confidence in [0, 1] that
    already accounts for the ASR scores. The runtime merges the lists of all plugins, keeps the best confidence
    per (skill, intent, slot values), and ranks them. Broadcast.
    """


@hookspec
def hark_resolve(interpretation: "Interpretation", nbest: "NBest", skills: "SkillSet",
                 context: "Context") -> "Interpretation | None":
    """Called for each of the top-ranked interpretations, after ``hark_interpret``.

    Map slot text to catalog entries (set ``value``, ``entity_id``, ``confidence``, ``alternatives``), using all
    hypotheses if that helps. Return a new Interpretation (``dataclasses.replace``) or ``None`` to leave it as is.
    Broadcast, applied in turn: each resolver sees the previous one's output.
    """


@hookspec(firstresult=True)
def hark_scene(context: "Context", state: Any) -> "SceneState | None":
    """Called by the runtime when it builds the context for an utterance, and again when a stream's utterance
    ends (so the scene is as of the request, not of the silence before it).

    Return your current belief about the acoustic scene; it reaches every later hook as ``context.scene``.
    ``state`` is what your ``hark_stream_start`` returned for the stream (``None`` outside a stream: typed text
    through ``Engine.parse`` has no surroundings). firstresult.
    """


@hookspec(firstresult=True)
def hark_assess_pronunciation(audio: "AudioChunk", expected: str, context: "Context",
                              state: Any) -> "PronunciationReport | None":
    """Called in practice mode (``context.expected_text`` set) with the utterance audio and the text to say;
    ``state`` as for ``hark_transcribe``.

    Return a PronunciationReport, or ``None`` if you cannot assess this input. firstresult.
    """


@hookspec(firstresult=True)
def hark_act(interpretation: "Interpretation", skills: "SkillSet", context: "Context") -> "SkillAction | None":
    """Called once per utterance with the winning interpretation (confidence above the threshold).

    Skill handlers (skills/<name>/handler.py) return a SkillAction for their own skill and ``None`` otherwise;
    the built-in ``skill_actions`` plugin runs last and builds the generic action from the skill file.
    firstresult: the first non-``None`` action wins.
    """


@hookspec
def hark_event(event: "Event") -> None:
    """Called for every event the runtime emits (utterance, interpretation, action, out_of_scope, error, ...).

    Printers, the server and user callbacks listen here. Exceptions are reported but never re-enter this hook.
    Broadcast; return value ignored.
    """


def hook_names() -> list[str]:
    """Names of all hooks in this module, in definition order."""
    return [name for name, obj in globals().items() if name.startswith("hark_") and callable(obj)]


__all__: list[Any] = ["hookspec", "hookimpl", "hook_names"]
