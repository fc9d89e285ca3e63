"""Confirmation of sensitive actions: "unlock the front door" -> "Unlock the front door? Say yes or no." -> "yes".

An intent marked ``confirm:`` in its skill file is not acted on at once: ``Engine.parse`` returns a ``Confirmation``
and the action waits for a yes from the same conversation (a ``Conversation`` object, one per stream, device or
client), within ``engine.confirm_timeout_s``. A no cancels it; anything else lets it lapse and is parsed as a new
request, so a stray "yes" an hour later, or from another room's stream, never unlocks anything.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .edges import coerce_nbest
from .responses import fill_first
from .text import normalize
from .types import Context, Interpretation, PronunciationReport, SkillAction, Slot, slot_values

if TYPE_CHECKING:  # pragma: no cover
    from .runtime import Engine, Result

__all__ = ["ANSWERS", "Confirmation", "Conversation", "answer_of", "confirmation_prompt"]

_YES_WORDS = frozenset("yes yeah yep yup yea sure confirm confirmed correct affirmative absolutely definitely "
                       "ok okay alright".split())
_YES_PHRASES = ("go ahead", "do it", "please do", "that's right", "that is right", "of course")
_NO_WORDS = frozenset("no nope nah cancel stop don't dont negative never wait abort".split())
_NO_PHRASES = ("never mind", "not now", "do not", "forget it", "leave it")
#: how people answer a confirmation, for recognisers whose vocabulary comes from the skills (the ASR's skill LM)
ANSWERS = ("yes", "yes please", "yeah", "yep", "sure", "ok", "okay", "go ahead", "do it", "yes do it", "no",
           "no thanks", "nope", "cancel", "don't", "never mind", "not now")
_ADDRESS = ("hey hark ", "ok hark ", "okay hark ", "hark ")


@dataclass(frozen=True)
class Confirmation:
    """A sensitive reading waiting for a yes: what would be done, what to ask, until when (context clock)."""

    interpretation: Interpretation
    prompt: str
    #: POSIX time after which a yes no longer counts
    expires: float

    def to_dict(self, now: float | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"skill": self.interpretation.skill, "intent": self.interpretation.intent,
                               "prompt": self.prompt,
                               "slots": slot_values(self.interpretation.slots)}
        if now is not None:
            out["expires_in_s"] = round(max(0.0, self.expires - now), 1)
        return out


def answer_of(text: str) -> str | None:
    """"yes", "no", or None when ``text`` is neither (a new request, or noise)."""
    words = normalize(text)
    for address in _ADDRESS:
        if words.startswith(address):
            words = words[len(address):]
    if not words:
        return None
    tokens = words.split()
    if tokens[0] in _NO_WORDS or any(words.startswith(p) for p in _NO_PHRASES):
        return "no"
    negated = any(t in _NO_WORDS or t.endswith("n't") for t in tokens[1:])
    if not negated and (tokens[0] in _YES_WORDS or any(words.startswith(p) for p in _YES_PHRASES)):
        return "yes"
    return None


def confirmation_prompt(templates: tuple[str, ...], interpretation: Interpretation, description: str) -> str:
    """The question to ask: the first of the skill's own ``confirm:`` questions whose slots are all filled, else a
    generic one built from the intent's description."""
    question = fill_first(templates, interpretation, _said)
    if question is not None:
        return question
    what = description.rstrip(". ") or f"{interpretation.skill}.{interpretation.intent}"
    details = ", ".join(f"{s.name} {_said(s) or s.raw}" for s in interpretation.slots)
    return f"{what}{f' ({details})' if details else ''}: are you sure? Say yes or no."


def _said(slot: Slot, field: str | None = None) -> str | None:
    """A slot in a question: its list or catalog name, else the words heard (None when it has neither)."""
    if slot.value is None and not slot.raw:
        return None
    return slot.value if isinstance(slot.value, str) else slot.raw


class Conversation:
    """One conversation's state (a pending confirmation) over a shared Engine.

    ``engine.conversation()`` makes one; ``Engine.stream`` keeps one per stream. Not thread-safe: one per client.
    """

    def __init__(self, engine: "Engine"):
        self.engine = engine
        self.pending: Confirmation | None = None
        #: the last action taken in this conversation (``context.previous_action`` of the next utterance)
        self.last_action: SkillAction | None = None
        #: practice mode: the text the next utterance is assessed against (an action's ``params.practice``)
        self.practice: str | None = None
        #: the last pronunciation assessment (``context.last_report``: "how did I do?")
        self.last_report: PronunciationReport | None = None

    def context_fields(self) -> dict[str, Any]:
        """What this conversation adds to the next utterance's Context."""
        out: dict[str, Any] = {"previous_action": self.last_action, "last_report": self.last_report}
        if self.practice:
            out["expected_text"] = self.practice
        return out

    def parse(self, text_or_nbest: Any, context: Context | None = None, *,
              utterance: int | None = None) -> "Result":
        """Like ``Engine.parse``, but a yes or no answers a pending confirmation first."""
        context = context or self.engine.context()
        pending, self.pending = self.pending, None
        if pending is not None:
            nbest = coerce_nbest(text_or_nbest, self.engine.config.limits)
            answer = answer_of(nbest.best.text)
            if answer is not None:
                fresh = context.clock.timestamp() <= pending.expires
                result = self.engine.answer_confirmation(pending, nbest, context, answer == "yes" and fresh,
                                                         expired=not fresh, utterance=utterance)
                self._remember(result)
                return result
            text_or_nbest = nbest
        result = self.engine.parse(text_or_nbest, context, utterance=utterance)
        self.pending = result.confirm
        self._remember(result)
        return result

    def _remember(self, result: "Result") -> None:
        action = result.action
        if action is not None:
            self.last_action = action
            practice = action.params.get("practice")
            self.practice = practice if isinstance(practice, str) and practice.strip() else None
