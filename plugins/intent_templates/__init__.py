"""Template tier: the skills' example sentences as exact matchers, no training needed.

High precision by construction; generalisation is the trained tier's job. Works over every n-best hypothesis and
turns match quality and ASR posteriors into one confidence per reading (see ``fuse``).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Sequence

from hark.config import ranged
from hark.hookspecs import hookimpl
from hark.skills import SkillSet, SlotMatch
from hark.text import tokenize
from hark.types import Context, EntityCandidate, Interpretation, NBest, Slot

from .matcher import CompiledTemplate, Parse, TemplateIndex, compile_template, iter_parses

__all__ = ["TemplateIntentPlugin", "TemplateSettings", "fuse"]

NAME = "intent_templates"


@dataclass(frozen=True)
class TemplateSettings:
    #: words and phrases skipped at the start or end of an utterance, at a small cost each
    fillers: tuple[str, ...] = (
        "please", "hey hark", "ok hark", "okay hark", "hark", "can you", "could you", "would you", "will you",
        "i want to", "i'd like to", "i would like to", "i wanna", "for me", "just", "thanks", "thank you", "um",
        "uh", "hey", "ok", "okay", "right now",
    )
    #: quality factor per skipped filler token
    filler_cost: float = field(default=0.97, metadata=ranged(0, 1, low_open=True))
    #: quality of a free-text slot of one word; each further word costs text_slot_word_cost
    text_slot_quality: float = field(default=0.9, metadata=ranged(0, 1, low_open=True))
    text_slot_word_cost: float = field(default=0.04, metadata=ranged(0, 1))
    #: longest span a slot may cover, in words
    max_slot_words: int = field(default=10, metadata=ranged(1, 50))
    #: weight of a hypothesis no template matches, relative to a perfect match (see ``fuse``)
    unmatched_weight: float = field(default=0.15, metadata=ranged(0, 1))
    #: weight of a hypothesis matched only with catalog wildcards, misheard words or a completed last slot
    weak_weight: float = field(default=0.4, metadata=ranged(0, 1))
    #: sharpness of the competition between readings of one hypothesis
    ambiguity_power: float = field(default=4.0, metadata=ranged(0, 32, low_open=True))
    #: when no template matches a hypothesis, match it again with catalog slots accepting any words at this
    #: quality (value unresolved, for the entity resolver to look up by sound); 0 turns the second pass off
    catalog_wildcard_quality: float = field(default=0.45, metadata=ranged(0, 1))
    #: when still nothing matches, match again letting up to this many of a template's own words be misheard
    #: (substituted, dropped, or preceded by an extra word); 0 turns this third pass off
    max_misheard_words: int = field(default=2, metadata=ranged(0, 5))
    #: quality factor per misheard word
    misheard_word_cost: float = field(default=0.85, metadata=ranged(0, 1, low_open=True))
    #: words of the utterance that must match exactly for each misheard one
    words_per_misheard: int = field(default=5, metadata=ranged(1, 50))


@dataclass
class _Compiled:
    fingerprint: str
    index: TemplateIndex
    #: per skill, its free-text slots (they prove nothing when a template's words are misheard)
    free_slots: dict[str, frozenset[str]]


class TemplateIntentPlugin:
    """Registered through the ``hark`` entry point ``intent_templates``."""

    name = NAME

    def __init__(self) -> None:
        self.settings = TemplateSettings()
        self._compiled: _Compiled | None = None
        self._fillers: list[tuple[str, ...]] = []

    @hookimpl
    def hark_startup(self, engine: Any) -> None:
        self.settings = engine.config.plugin_settings(NAME, TemplateSettings)
        self._fillers = sorted({tuple(t.text for t in tokenize(f)) for f in self.settings.fillers if f.strip()},
                               key=len, reverse=True)
        self._compile(engine.skills)

    def _compile(self, skills: SkillSet) -> _Compiled:
        if self._compiled is None or self._compiled.fingerprint != skills.fingerprint:
            templates = [compile_template(tree, intent.skill, intent.name, i)
                         for intent in skills.intents() for i, tree in enumerate(intent.templates)]
            free = {skill.name: frozenset(n for n, spec in skill.slots.items() if spec.type == "text")
                    for skill in skills}
            self._compiled = _Compiled(skills.fingerprint, TemplateIndex(templates), free)
        return self._compiled

    @hookimpl
    def hark_interpret(self, nbest: NBest, skills: SkillSet, context: Context) -> list[Interpretation]:
        if not self._fillers:  # used without hark_startup (embedded directly)
            self._fillers = sorted({tuple(t.text for t in tokenize(f)) for f in self.settings.fillers},
                                   key=len, reverse=True)
        templates = self._compile(skills).index
        per_hyp, weak = [], []
        for idx, h in enumerate(nbest.hypotheses):
            found = self.parse_hypothesis(h.text, templates, skills, context, idx)
            wildcard = not found and self.settings.catalog_wildcard_quality > 0
            if wildcard:  # "put on bbc radio four": the words around a catalog slot fit, its words are misheard
                found = self.parse_hypothesis(h.text, templates, skills, context, idx, catalog_wildcards=True)
            # only for what a recogniser heard: typed text has typos, not misheard words
            misheard = not found and self.settings.max_misheard_words > 0 and nbest.source != "text"
            if misheard:  # "i have a coffee with brown sugar": the slots fit, a word of the template was misheard
                found = self.parse_hypothesis(h.text, templates, skills, context, idx, misheard_words=True)
            per_hyp.append(found)
            weak.append((wildcard or misheard) and bool(found))
        return fuse(nbest, per_hyp, self.settings.unmatched_weight, self.settings.ambiguity_power, weak,
                    self.settings.weak_weight)

    def parse_hypothesis(self, text: str, templates: TemplateIndex, skills: SkillSet, context: Context,
                         index: int, catalog_wildcards: bool = False,
                         misheard_words: bool = False) -> list[Interpretation]:
        """Best parse per (skill, intent) of one hypothesis, as Interpretations whose confidence is match quality.

        With ``catalog_wildcards`` a catalog slot also accepts words its catalog does not spell, unresolved
        (value None, confidence 0: nobody vouched they are a name) at ``catalog_wildcard_quality``. With
        ``misheard_words`` up to ``max_misheard_words`` of the templates' own words may be misheard, and a list
        slot that ends the utterance may have lost its last word(s) when only one value goes on from those heard."""
        toks = tokenize(text)
        words = [t.text for t in toks]
        if not words:
            return []
        cache: dict[tuple, Any] = {}
        s = self.settings

        def lookup_for(skill_name: str):
            slots = skills[skill_name].slots

            def lookup(slot: str, start: int, end: int):
                key = (skill_name, slot, start, end)
                if key not in cache:
                    spec = slots[slot]
                    raw = text[toks[start].start:toks[end - 1].end]
                    found = spec.match(raw, context)
                    if found and spec.type == "text":
                        q = max(0.5, s.text_slot_quality - s.text_slot_word_cost * (end - start - 1))
                        found = (type(found[0])(found[0].value, None, q),)
                    elif not found and catalog_wildcards and spec.type == "catalog":
                        q = max(0.3, s.catalog_wildcard_quality - s.text_slot_word_cost * (end - start - 1))
                        found = (SlotMatch(None, None, q),)
                    elif not found and misheard_words and end == len(toks):
                        # the last word of the utterance lost ("... with sugar and soy"): the one value that
                        # goes on from the words heard, at the cost of a misheard word
                        done = spec.completion(raw)
                        found = (SlotMatch(done.value, done.entity_id, s.misheard_word_cost),) if done else ()
                    cache[key] = found
                return cache[key]

            return lookup

        best: dict[tuple[str, str], tuple[CompiledTemplate, Parse]] = {}
        edits: dict[str, Any] = {}
        if misheard_words:
            edits = {"max_edits": s.max_misheard_words, "edit_cost": s.misheard_word_cost,
                     "words_per_edit": s.words_per_misheard,
                     "free_slots_for": self._compile(skills).free_slots.__getitem__}
        for tpl, parse in iter_parses(templates, words, self._fillers, lookup_for,
                                      filler_cost=s.filler_cost, max_slot_words=s.max_slot_words, **edits):
            key = (tpl.skill, tpl.intent)
            if key not in best or parse.quality > best[key][1].quality:
                best[key] = (tpl, parse)
        out = []
        for (skill, intent), (tpl, parse) in best.items():
            slots = []
            for hit in parse.slots:
                spec = skills[skill].slots[hit.name]
                start, end = toks[hit.start].start, toks[hit.end - 1].end
                alts = ()
                if spec.type == "catalog":
                    alts = tuple(EntityCandidate(m.value, m.entity_id, m.score)
                                 for m in cache[(skill, hit.name, hit.start, hit.end)][1:])
                confidence = round(hit.match.score, 4) if hit.match.value is not None else 0.0
                slots.append(Slot(hit.name, text[start:end], hit.match.value, hit.match.entity_id,
                                  confidence, start, end, spec.type, alts))
            out.append(Interpretation(skill, intent, round(parse.quality, 4), tuple(slots), text, index, NAME))
        return out


def fuse(nbest: NBest, per_hypothesis: list[list[Interpretation]], unmatched_weight: float,
         ambiguity_power: float, weak: Sequence[bool] = (), weak_weight: float | None = None) -> list[Interpretation]:
    """Combine per-hypothesis parses into one confidence per reading.

    Readings of one hypothesis compete: reading r of hypothesis i gets share s_ir = q_ir^k / sum_r' q_ir'^k of
    its match quality q_ir. Hypotheses are weighted by their ASR posterior p_i; one that no template matches
    keeps weight p_i * unmatched_weight, because users mostly say in-domain things and an unparseable
    hypothesis is more likely a misrecognition. Then

        confidence(r) = sum_i p_i * q_ir * s_ir / sum_i p_i * w_i,   w_i = 1 if matched else unmatched_weight

    which is 1 for a perfect unambiguous match of typed text, and lets a parseable second hypothesis win over an
    unparseable first one. The returned reading carries the slots of the hypothesis that supports it most.
    A hypothesis matched only with catalog wildcards, misheard words or a completed slot (``weak``) counts with
    ``weak_weight`` (default: ``unmatched_weight``).

    Then, as the trained tier does, the confidence is the **intent's**: readings of one intent that differ only in
    slot values ("a triple shot mocha" / "a double shot mocha") pool their mass: the best-supported reading gets
    it all, the others keep their own. How sure each value is goes to the slot: its
    match score times its agreement, the intent's mass behind that value over the intent's mass. Without this a
    five-slot coffee order whose n-best list disagrees on one word would fall below any action threshold
    although every hypothesis asks for a coffee.
    """
    support: dict[tuple, float] = {}
    carrier: dict[tuple, tuple[float, Interpretation]] = {}
    total = 0.0
    for k, (hyp, found) in enumerate(zip(nbest.hypotheses, per_hypothesis)):
        p = max(hyp.score, 1e-6)
        if not found:
            total += p * unmatched_weight
            continue
        if k < len(weak) and weak[k]:
            p *= unmatched_weight if weak_weight is None else weak_weight
        total += p
        norm = sum(i.confidence ** ambiguity_power for i in found)
        for interp in found:
            share = interp.confidence ** ambiguity_power / norm
            contribution = p * interp.confidence * share
            key = interp.key
            support[key] = support.get(key, 0.0) + contribution
            if key not in carrier or contribution > carrier[key][0]:
                carrier[key] = (contribution, interp)
    if total <= 0:
        return []
    by_intent: dict[tuple[str, str], list[tuple]] = {}
    for key in support:
        by_intent.setdefault(key[:2], []).append(key)
    out = []
    for keys in by_intent.values():
        pooled = sum(support[k] for k in keys)
        top = max(support[k] for k in keys)
        agreement: dict[tuple, float] = {}
        for k in keys:
            for pair in k[2]:
                agreement[pair] = agreement.get(pair, 0.0) + support[k] / pooled
        for key in keys:
            interp = carrier[key][1]
            slots = tuple(dataclasses.replace(s, confidence=round(s.confidence * min(1.0, agreement[pair]), 4))
                          for s, pair in zip(interp.slots, key[2]))
            confidence = min(1.0, (pooled if support[key] == top else support[key]) / total)
            out.append(Interpretation(interp.skill, interp.intent, round(confidence, 4), slots,
                                      interp.text, interp.hypothesis_index, NAME))
    out.sort(key=lambda i: (-i.confidence, i.hypothesis_index))
    return out
