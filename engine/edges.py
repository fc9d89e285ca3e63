"""The edges of ``Engine.parse``: what it accepts (text, n-best lists, JSON lines, each within the configured
limits) and what it returns (``Result``, with the JSON object ``hark parse`` prints). No Engine state here."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping

from . import limits as limits_
from .config import LimitSettings
from .errors import InputError
from .types import Context, Event, Hypothesis, Interpretation, NBest, SkillAction

if TYPE_CHECKING:  # pragma: no cover
    from .conversation import Confirmation

__all__ = ["Result", "coerce_nbest", "read_jsonl"]


@dataclass(frozen=True)
class Result:
    """What ``Engine.parse`` returns: the chosen action (or none) and how it was reached."""

    nbest: NBest
    #: ranked, best first (resolved)
    interpretations: tuple[Interpretation, ...]
    action: SkillAction | None
    context: Context
    events: tuple[Event, ...] = ()
    #: a sensitive action waiting for a yes (``confirm:`` in the skill); no action was taken
    confirm: Confirmation | None = None
    #: this utterance answered a pending confirmation with a no (or too late)
    cancelled: bool = False

    @property
    def best(self) -> Interpretation | None:
        return self.interpretations[0] if self.interpretations else None

    @property
    def out_of_scope(self) -> bool:
        return self.action is None and self.confirm is None and not self.cancelled

    @property
    def errors(self) -> tuple[Event, ...]:
        return tuple(e for e in self.events if e.kind == "error")

    def to_dict(self) -> dict[str, Any]:
        """The JSON object ``hark parse`` prints."""
        best = self.best if self.action is not None or self.confirm is not None else None
        chosen = self.action or (self.confirm.interpretation if self.confirm else None)
        return {
            "text": (chosen.text if chosen else self.nbest.best.text),
            "out_of_scope": self.out_of_scope,
            "skill": chosen.skill if chosen else None,
            "intent": chosen.intent if chosen else None,
            "confidence": round(chosen.confidence if chosen else (self.best.confidence if self.best else 0.0), 4),
            "action": None if self.action is None else {"name": self.action.name,
                                                        "params": self.action.to_dict()["params"],
                                                        "response": self.action.response},
            "slots": [_slot_summary(s) for s in (chosen.slots if chosen else ())],
            "hypothesis_index": best.hypothesis_index if best else None,
            "alternatives": [
                {"skill": i.skill, "intent": i.intent, "confidence": round(i.confidence, 4), "text": i.text,
                 "hypothesis_index": i.hypothesis_index, "slots": [_slot_summary(s) for s in i.slots]}
                for i in self.interpretations[(1 if best else 0):]
            ],
            "errors": [dict(e.data) for e in self.errors],
            "confirm": self.confirm.to_dict(self.context.clock.timestamp()) if self.confirm else None,
        }


def _slot_summary(slot: Any) -> dict[str, Any]:
    d = slot.to_dict()
    keep = ("name", "raw", "value", "entity_id", "confidence", "start", "end", "type")
    out = {k: d[k] for k in keep}
    if d["alternatives"]:
        out["alternatives"] = d["alternatives"]
    return out


def coerce_nbest(value: Any, limits: LimitSettings | None = None) -> NBest:
    """Accept text, an NBest, a list of hypotheses ({text, score} / (text, score) / Hypothesis) or {"nbest": [...]}.

    ``limits`` (the engine's ``config.limits``; default: the built-in ones) bounds the result: text longer than
    ``max_text_chars``/``max_text_words`` is refused, a list longer than ``max_nbest`` keeps its best hypotheses
    (with a warning), so what a caller hands in cannot make the parse arbitrarily slow."""
    return limits_.check_nbest(_to_nbest(value), limits or limits_.DEFAULT)


def _to_nbest(value: Any) -> NBest:
    if isinstance(value, NBest):
        return value
    if isinstance(value, str):
        return NBest.from_text(value)
    if isinstance(value, Mapping):
        if "nbest" in value:  # one level: {"nbest": {"nbest": ...}} nested 3000 deep must not recurse 3000 times
            inner = value["nbest"]
            if isinstance(inner, Mapping):
                raise InputError("'nbest' must be a list of hypotheses, got an object")
            return _to_nbest(inner)
        if "text" in value:
            if not isinstance(value["text"], str):
                raise InputError("'text' must be a string")
            return NBest.from_text(value["text"])
        raise InputError("expected {\"text\": ...} or {\"nbest\": [...]}")
    if isinstance(value, (list, tuple)):
        items = [{"text": h.text, "score": h.score} if isinstance(h, Hypothesis) else h for h in value]
        return NBest.from_scores(items)
    raise InputError(f"cannot parse {type(value).__name__}: give text or an n-best list")


def read_jsonl(lines: Iterable[str], limits: LimitSettings | None = None, first: int = 1) -> Iterator[Any]:
    """Decode a JSON-lines stream for ``Engine.stream``: JSON values, plain-text lines as text, and an
    InputError in place of a line that looks like JSON but is not, or that is longer or deeper than ``limits``
    allow (the stream reports it and goes on). A file object is read a bounded line at a time. ``first`` is the
    number the messages give the first line (the server's WebSocket decodes one message at a time)."""
    limits = limits or limits_.DEFAULT
    source: Iterable[Any] = limits_.bounded_lines(lines, limits) if hasattr(lines, "readline") else lines
    for number, line in enumerate(source, first):
        if isinstance(line, InputError):
            yield line
            continue
        try:
            line = limits_.check_line(line, limits, f"input line {number}").strip()
            if not line:
                continue
            if line[0] not in "{[\"":
                yield line
                continue
            limits_.check_json_depth(line, limits, f"input line {number}")
            value: Any = json.loads(line)
        except json.JSONDecodeError as exc:
            value = InputError(f"input line {number}: not valid JSON ({exc.msg} at column {exc.colno})")
        except InputError as exc:
            value = exc
        except RecursionError:  # deeper than the interpreter allows, with a max_json_depth set near it
            value = limits_.InputLimitError(f"input line {number}: JSON nested too deep", "limits.max_json_depth")
        yield value
