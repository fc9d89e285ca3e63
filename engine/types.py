"""The values that cross hook boundaries.

All are frozen dataclasses and all serialize to JSON through one path: ``obj.to_dict()`` and
``Type.from_dict(d)``. Tuples stand in for lists so the objects stay immutable; mapping fields hold JSON values.
"""
from __future__ import annotations

import base64
import dataclasses
import datetime as _dt
import math
import sys
import typing
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from .errors import InputError

__all__ = [
    "Hypothesis",
    "NBest",
    "AudioChunk",
    "EntityCandidate",
    "Slot",
    "Interpretation",
    "slot_values",
    "SceneState",
    "HeardSound",
    "PhoneAssessment",
    "WordAssessment",
    "PronunciationReport",
    "SkillAction",
    "Event",
    "Context",
    "EVENT_KINDS",
]


class _JSONType:
    """Mixin: ``to_dict`` / ``from_dict`` for frozen dataclasses built from JSON values, tuples and each other."""

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _to_json(getattr(self, f.name)) for f in dataclasses.fields(self)}  # type: ignore[arg-type]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]):
        if not isinstance(data, Mapping):
            raise InputError(f"{cls.__name__}: expected a JSON object, got {type(data).__name__}")
        hints = _hints(cls)
        known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(f"{cls.__name__}: unknown field(s) {', '.join(unknown)}")
        kwargs = {name: _from_json(hints[name], value, f"{cls.__name__}.{name}") for name, value in data.items()}
        try:
            return cls(**kwargs)
        except TypeError as exc:  # a missing required field
            raise InputError(f"{cls.__name__}: {exc}") from None


_HINT_CACHE: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINT_CACHE:
        _HINT_CACHE[cls] = typing.get_type_hints(cls, vars(sys.modules[cls.__module__]))
    return _HINT_CACHE[cls]


def _to_json(value: Any) -> Any:
    if isinstance(value, _JSONType):
        return value.to_dict()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, (tuple, list)):
        return [_to_json(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _to_json(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _from_json(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if value is None:
        return None
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        non_none = [a for a in args if a is not type(None)]
        if len(non_none) == 1:
            return _from_json(non_none[0], value, where)
        return value
    if isinstance(hint, type) and issubclass(hint, _JSONType):
        return hint.from_dict(value)
    if hint is bytes:
        try:
            return base64.b64decode(value)
        except (ValueError, TypeError):
            raise InputError(f"{where}: expected base64 text") from None
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise InputError(f"{where}: expected a list, got {type(value).__name__}")
        if len(args) == 2 and args[1] is Ellipsis or len(args) <= 1:  # tuple[X, ...]
            item = args[0] if args else Any
            return tuple(_from_json(item, v, where) for v in value)
        if len(value) != len(args):  # fixed shape, e.g. tuple[str, float]
            raise InputError(f"{where}: expected {len(args)} items, got {len(value)}")
        return tuple(_from_json(a, v, where) for a, v in zip(args, value))
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint in (int, str, bool) and not isinstance(value, hint):
        raise InputError(f"{where}: expected {hint.__name__}, got {type(value).__name__}")
    return value


# --------------------------------------------------------------------------------------------------- ASR side


@dataclass(frozen=True)
class Hypothesis(_JSONType):
    """One ASR transcription candidate."""

    text: str
    #: posterior probability in [0, 1]; the hypotheses of one NBest sum to 1 after ``NBest.from_scores``.
    score: float = 1.0


@dataclass(frozen=True)
class NBest(_JSONType):
    """Alternative transcriptions of one utterance, best first."""

    hypotheses: tuple[Hypothesis, ...]
    #: who produced it: "text" (typed input), "external" (caller's recognizer) or an ASR plugin name.
    source: str = "text"

    def __post_init__(self) -> None:
        if not self.hypotheses:
            raise InputError("NBest: needs at least one hypothesis")

    @property
    def best(self) -> Hypothesis:
        return self.hypotheses[0]

    @classmethod
    def from_text(cls, text: str) -> "NBest":
        if not isinstance(text, str) or not text.strip():
            raise InputError("text to parse is empty")
        return cls((Hypothesis(text.strip(), 1.0),), source="text")

    @classmethod
    def from_scores(cls, items: typing.Iterable[Any], source: str = "external") -> "NBest":
        """Build from ``[{"text", "score"}]`` or ``[(text, score)]`` in any score convention.

        Scores in [0, 1] are taken as probabilities and renormalised; anything else (negative log-likelihoods,
        unbounded logits) goes through a softmax. Missing scores fall off geometrically with rank. Hypotheses are
        sorted best first; duplicate texts keep their summed probability.
        """
        rows: list[tuple[str, float | None]] = []
        for i, item in enumerate(items):
            if isinstance(item, str):
                text, score = item, None
            elif isinstance(item, Mapping):
                if "text" not in item:
                    raise InputError(f"n-best item {i}: missing 'text'")
                text, score = item["text"], item.get("score")
            elif isinstance(item, (list, tuple)) and len(item) == 2:
                text, score = item
            else:
                raise InputError(f"n-best item {i}: expected {{'text': ..., 'score': ...}}, got {item!r:.60}")
            if not isinstance(text, str):
                raise InputError(f"n-best item {i}: 'text' must be a string")
            if score is not None:
                score = _finite_score(score, i)
            if text.strip():
                rows.append((text.strip(), score))
        if not rows:
            raise InputError("n-best list has no non-empty hypothesis")
        probs = _normalise_scores([s for _, s in rows])
        merged: dict[str, float] = {}
        for (text, _), p in zip(rows, probs):
            merged[text] = merged.get(text, 0.0) + p
        ranked = sorted(merged.items(), key=lambda kv: -kv[1])
        return cls(tuple(Hypothesis(t, round(p, 6)) for t, p in ranked), source=source)


def _finite_score(score: Any, i: int) -> float:
    """``score`` as a finite float; an int too large for a float (10**400) is refused like inf, not an
    OverflowError."""
    if isinstance(score, bool) or not isinstance(score, (int, float)):
        raise InputError(f"n-best item {i}: 'score' must be a finite number, got {score!r:.60}")
    if isinstance(score, int) and score.bit_length() > 1000:
        raise InputError(f"n-best item {i}: 'score' must be a finite number, got an integer of "
                         f"{score.bit_length()} bits")
    if not math.isfinite(score):
        raise InputError(f"n-best item {i}: 'score' must be a finite number, got {score!r}")
    return float(score)


def _normalise_scores(scores: list[float | None]) -> list[float]:
    if all(s is None for s in scores):
        raw = [0.5**i for i in range(len(scores))]
        total = sum(raw)
        return [r / total for r in raw]
    if any(s is None for s in scores):
        raise InputError("n-best: give a score for every hypothesis or for none")
    vals = [float(s) for s in scores]  # type: ignore[arg-type]
    if all(0.0 <= v <= 1.0 for v in vals) and sum(vals) > 0:
        total = sum(vals)
        return [v / total for v in vals]
    top = max(vals)
    exps = [math.exp(v - top) for v in vals]
    total = sum(exps)
    return [e / total for e in exps]


@dataclass(frozen=True)
class AudioChunk(_JSONType):
    """A short frame of mono 16-bit PCM audio (JSON: base64)."""

    samples: bytes
    sample_rate: int = 16000
    #: seconds since the start of the stream
    timestamp: float = 0.0
    index: int = 0

    @property
    def duration(self) -> float:
        return len(self.samples) / 2 / self.sample_rate

    def to_array(self):
        import numpy as np

        return np.frombuffer(self.samples, dtype="<i2")


# --------------------------------------------------------------------------------------------------- NLU side


@dataclass(frozen=True)
class EntityCandidate(_JSONType):
    """An alternative catalog entry for a slot, as proposed by a resolver."""

    value: Any
    entity_id: str | None = None
    score: float = 0.0


@dataclass(frozen=True)
class Slot(_JSONType):
    """A filled slot: what was heard, what it means, where it was."""

    name: str
    #: the words of the hypothesis that filled the slot
    raw: str
    #: normalised value: seconds for a duration, a number, an ISO datetime dict, a catalog entry's canonical text
    value: Any = None
    #: id of the catalog entry or list value, when the slot type has ids
    entity_id: str | None = None
    confidence: float = 1.0
    #: character offsets of ``raw`` in the hypothesis text (end exclusive)
    start: int = 0
    end: int = 0
    #: slot type name from the skill (duration, catalog, list, ...)
    type: str = "text"
    alternatives: tuple[EntityCandidate, ...] = ()


@dataclass(frozen=True)
class Interpretation(_JSONType):
    """One reading of an utterance: which skill and intent, with which slots."""

    skill: str
    intent: str
    confidence: float
    slots: tuple[Slot, ...] = ()
    #: the hypothesis text this reading was taken from
    text: str = ""
    #: rank of that hypothesis in the NBest (0 = ASR 1-best)
    hypothesis_index: int = 0
    #: name of the plugin that produced it
    source: str = ""

    def slot(self, name: str) -> Slot | None:
        """The first slot called ``name``."""
        return next((s for s in self.slots if s.name == name), None)

    def slots_named(self, name: str) -> tuple[Slot, ...]:
        """Every slot called ``name``, in the order heard (more than one for a skill slot declared ``multiple``)."""
        return tuple(s for s in self.slots if s.name == name)

    @property
    def key(self) -> tuple:
        """Identity of the reading regardless of which hypothesis produced it."""
        return (self.skill, self.intent, tuple((s.name, _freeze(s.value)) for s in self.slots))


def slot_values(slots: Iterable[Slot]) -> dict[str, Any]:
    """Slot name -> normalised value; a list of values for a name filled more than once."""
    values: dict[str, list] = {}
    for s in slots:
        values.setdefault(s.name, []).append(s.value)
    return {name: v[0] if len(v) == 1 else v for name, v in values.items()}


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


@dataclass(frozen=True)
class HeardSound(_JSONType):
    """One sound the scene-context plugin heard: an event label and when (stream seconds)."""

    label: str
    #: the highest probability it reached
    score: float
    start: float
    end: float


@dataclass(frozen=True)
class SceneState(_JSONType):
    """What the scene-context plugin believes about the acoustic surroundings."""

    scene: str = "unknown"
    confidence: float = 0.0
    #: (label, probability) of audio events heard in the last second, most likely first
    events: tuple[tuple[str, float], ...] = ()
    #: stream time of this belief (s)
    timestamp: float = 0.0
    #: sounds heard recently (the plugin's memory), oldest first: what "what was that noise?" answers from
    heard: tuple[HeardSound, ...] = ()
    #: a room where the assistant should speak softly (a bedroom): actions get ``params.volume = "soft"``
    quiet: bool = False


@dataclass(frozen=True)
class PhoneAssessment(_JSONType):
    """One expected phone and what was heard in its place."""

    expected: str
    heard: str | None
    score: float
    #: "ok", "substitution", "deletion" or "insertion"
    verdict: str = "ok"


@dataclass(frozen=True)
class WordAssessment(_JSONType):
    word: str
    score: float
    phones: tuple[PhoneAssessment, ...] = ()
    #: False when any of its phones was substituted or missing
    ok: bool = True


@dataclass(frozen=True)
class PronunciationReport(_JSONType):
    """Result of assessing a learner's attempt at an expected text."""

    expected: str
    #: overall goodness of pronunciation in [0, 1]
    score: float
    words: tuple[WordAssessment, ...] = ()
    #: short sentences a TTS can read back ("Try the 'th' in 'three' again.")
    feedback: tuple[str, ...] = ()


@dataclass(frozen=True)
class SkillAction(_JSONType):
    """What the device should do: the structured output of hark. Its JSON Schema is docs/skill_action.schema.json."""

    skill: str
    intent: str
    #: dotted action name from the skill file, e.g. "timer.start"
    name: str
    #: action parameters with slot references substituted by slot values
    params: Mapping[str, Any] = field(default_factory=dict)
    #: text for a TTS to speak, rendered from the skill's response template
    response: str | None = None
    confidence: float = 1.0
    slots: tuple[Slot, ...] = ()
    #: the hypothesis the action was taken from
    text: str = ""


EVENT_KINDS = frozenset(
    {
        "utterance",  # an NBest is ready (typed text, external n-best or ASR)
        "interpretation",  # ranked interpretations of an utterance
        "action",  # a SkillAction was produced
        "out_of_scope",  # no skill understood the utterance, or it was not a request (data.not_a_request)
        "confirm",  # a sensitive action waits for a yes in the same conversation (data.prompt is the question)
        "cancelled",  # a pending confirmation was answered no, or the yes came too late
        "speech_start",
        "speech_end",  # an utterance ended; Event.audio holds it (pre-roll + speech + post-roll)
        "pause",  # an endpointer asks whether the turn is over (handled by the stream, never emitted)
        "wake",  # the wake phrase was said alone: the next utterance within engine.wake_window_s is a command
        "ignored",  # an utterance without the wake phrase (engine.wake_phrase is set): not acted on
        "scene",
        "alert",
        "pronunciation",
        "error",  # a plugin raised or the input was bad; data names the plugin/input
        "info",
    }
)


@dataclass(frozen=True)
class Event(_JSONType):
    """Something that happened in the runtime, delivered to ``hark_event`` listeners and ``Engine.stream``."""

    kind: str
    data: Mapping[str, Any] = field(default_factory=dict)
    #: seconds since the epoch
    time: float = 0.0
    #: which utterance of a stream this belongs to (0-based), when it belongs to one
    utterance: int | None = None
    #: speech_end: the utterance's audio, as samples between runtime and plugins (base64 only in ``to_dict``)
    audio: AudioChunk | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in EVENT_KINDS:
            raise InputError(f"Event: unknown kind {self.kind!r} (known: {', '.join(sorted(EVENT_KINDS))})")
        if self.audio is not None and not isinstance(self.audio, AudioChunk):
            raise InputError(f"Event.audio: expected an AudioChunk, got {type(self.audio).__name__}")

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        if self.audio is None:
            del out["audio"]
        return out


@dataclass(frozen=True)
class Context(_JSONType):
    """Per-utterance facts every hook may read. Extend this instead of reaching for globals."""

    #: the clock relative expressions ("tomorrow at 7 pm") are resolved against, ISO 8601 with offset
    now: str = ""
    locale: str = "en-US"
    device_id: str = "default"
    scene: SceneState | None = None
    #: skill that holds the conversation (e.g. pronunciation practice), if any
    active_skill: str | None = None
    #: practice mode: the text the user is expected to say
    expected_text: str | None = None
    previous_action: SkillAction | None = None
    #: the conversation's last pronunciation assessment ("how did I do?")
    last_report: PronunciationReport | None = None

    @classmethod
    def create(cls, now: _dt.datetime | str | None = None, **kwargs: Any) -> "Context":
        if now is None:
            now = _dt.datetime.now().astimezone()
        if isinstance(now, str):
            try:
                parsed = _dt.datetime.fromisoformat(now)
            except ValueError:
                raise InputError(f"context.now: not an ISO 8601 datetime: {now!r}") from None
            now = parsed
        if now.tzinfo is None:
            now = now.astimezone()
        return cls(now=now.isoformat(timespec="seconds"), **kwargs)

    @property
    def clock(self) -> _dt.datetime:
        """``now`` as an aware datetime (the current time if it was left empty)."""
        if not self.now:
            return _dt.datetime.now().astimezone()
        return _dt.datetime.fromisoformat(self.now)
