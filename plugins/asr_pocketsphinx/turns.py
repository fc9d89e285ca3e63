"""Is the turn over? The two views the end-of-turn judge combines (docs/decisions.md 31).

- The skill LM's P(</s> | last two words), weighed against how long the pause has lasted (``turn_over``): a pause
  inside a sentence rarely lasts long, so the longer the silence, the likelier the end.
- The skills' own templates (``SkillGrammar``): words that some template takes as a whole request and from which
  no template can go on are a finished request, however short the pause. "... with whole milk and some brown
  sugar" cannot go on; "... a mocha" can ("with soy milk"), and the LM and the pause decide. Words that only
  start a request ("give me a sixteen ounce") keep the turn open past the vad's silence_ms (its hold_silence_ms):
  in noise the detector misses quiet words, and a command cut there is lost whole.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

from hark.templates import SlotForms, continuation
from hark.types import Context

from .compile import spoken

__all__ = ["turn_over", "SkillGrammar"]


def turn_over(p_end: float, pause: float, mid_pause_ms: int) -> float:
    """P(the turn is over | the words, a pause of ``pause`` s so far): the LM's ``p_end`` against the chance that a
    pause inside the sentence lasts this long, exp(-pause / mid_pause_ms); ``p_end`` itself when that is 0."""
    if mid_pause_ms <= 0:
        return p_end
    still = (1.0 - p_end) * math.exp(-1000.0 * pause / mid_pause_ms)
    return p_end / (p_end + still) if p_end + still > 0 else 0.0


def _slot_forms(spec: Any) -> Any:
    """What a slot may hold, for ``continuation``: a list slot's values and synonyms in spoken form; for a typed
    slot (number, duration, time) a test of the words by its parser; None (any words) for text and catalogs."""
    if spec.type == "list":
        return tuple({tuple(spoken(form)) for v in spec.values for form in (v.value, *v.synonyms)} - {()})
    if spec.parser is not None:
        context = Context()
        return lambda words: _parses(spec.parser, " ".join(words), context)
    return None


def _parses(parser: Callable[[str, Context], Any], text: str, context: Context) -> bool:
    try:
        return parser(text, context) is not None
    except Exception:  # noqa: BLE001 - a parser that cannot read the words does not hold them
        return False


@dataclass(frozen=True)
class SkillGrammar:
    """Every template of the installed skills, with its skill's slot forms."""

    templates: tuple[tuple[Any, SlotForms], ...]

    @classmethod
    def from_skills(cls, skills: Any) -> "SkillGrammar":
        out = []
        for skill in skills:
            forms = {name: _slot_forms(spec) for name, spec in skill.slots.items()}
            for intent in skill.intents:
                out += [(tree, forms.get) for tree in intent.templates]
        return cls(tuple(out))

    def state(self, text: str) -> str:
        """"finished" when some template takes ``text`` as a whole request and none can go on from it; "started"
        when templates go on from it and none takes it whole (the start of a request); else ""."""
        words = tuple(text.split())
        complete = goes_on = False
        for tree, forms in self.templates:
            whole, more = continuation(tree, words, forms)
            complete, goes_on = complete or whole, goes_on or more
            if complete and goes_on:
                return ""
        if complete:
            return "finished"
        # the start of a request only on the templates' own words and closed slots: open slots take any words, so
        # through them anything would "start" a request and a pause between two commands would join them
        if goes_on and any(continuation(tree, words, forms, any_words=False)[1] for tree, forms in self.templates):
            return "started"
        return ""

    def finished(self, text: str) -> bool:
        return self.state(text) == "finished"
