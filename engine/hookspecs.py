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
    from .runtime import Engine
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
def hark_audio_chunk(chunk: "AudioChunk", context: "Context") -> "Event | list[Event] | None":
    """Called by the streaming runtime for every ~20-30 ms frame of microphone or file audio, in order.

    Observers (VAD, scene context) update their own state. An observer may return an ``Event`` or a list of
    them; a ``speech_end`` event whose data holds ``{"audio": <base64 PCM>, "sample_rate", "audio_start"}`` ends
    the utterance and starts transcription. The runtime numbers utterances itself (``Event.utterance``).
    Broadcast; all returned events are emitted.
    """


@hookspec
def hark_audio_end(context: "Context") -> "Event | list[Event] | None":
    """Called by the streaming runtime when an audio source ends (end of a file, closed stdin or microphone).

    Endpointers close an utterance still in progress by returning its ``speech_end`` event, and observers reset
    their state for the next stream. Broadcast; returned events are handled like those of ``hark_audio_chunk``.
    """


@hookspec(firstresult=True)
def hark_end_of_turn(end: float, context: "Context") -> "float | None":
    """Called by an endpointer when speech has paused briefly (the vad plugin's ``early_silence_ms``), before it
    has waited its full ``silence_ms``: is what has been said up to stream time ``end`` a complete request?

    Return the probability that it is (the vad plugin ends the utterance at once from ``complete_threshold``),
    or ``None`` when you cannot tell; then the endpointer waits the full silence. The asr_pocketsphinx plugin
    answers from its live partial transcription (skill-LM end-of-sentence probability and the intent tiers'
    reading of the words so far). It runs while the user may still be speaking: keep it to a few milliseconds
    of work on top of what the frame costs anyway. firstresult.
    """


@hookspec
def hark_compile(engine: "Engine", force: bool) -> "str | None":
    """Called by ``hark train`` after start-up: rebuild what you derive from the installed skills and catalogs
    (an ASR language model, catalog indexes), even if a cached copy looks current when ``force`` is true.

    Return one line for the user saying what was built (or ``None``). Broadcast.
    """


@hookspec(firstresult=True)
def hark_transcribe(audio: "AudioChunk", context: "Context") -> "NBest | None":
    """Called once per endpointed utterance (``audio`` holds all of it) unless the caller passed text or an NBest.

    Return the n-best transcriptions, best first, or ``None`` to let the next ASR plugin try. firstresult: the
    first non-``None`` answer wins.
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
def hark_scene(context: "Context") -> "SceneState | None":
    """Called by the runtime when it builds the context for an utterance.

    Return your current belief about the acoustic scene; it reaches every later hook as ``context.scene``.
    firstresult.
    """


@hookspec(firstresult=True)
def hark_assess_pronunciation(audio: "AudioChunk", expected: str, context: "Context") -> "PronunciationReport | None":
    """Called in practice mode (``context.expected_text`` set) with the utterance audio and the text to say.

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
