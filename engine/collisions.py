"""Sentences that two intents claim: found by expanding templates, reported by ``hark skills`` and ``hark train``.

When two intents' templates produce the same sentence, the template tier gives both readings the same quality and
the confidence is split between them (0.45 / 0.45: out of scope), so neither works and nothing says why. The same
holds when a held-out test sentence of one intent is exactly a sentence of another's templates. This module finds
such pairs so the CLI can warn with the skills, the intents and an example sentence.

The check is bounded (a fixed number of sentences per template, a few values per slot), so it takes well under a
second on the bundled skills; it runs in the CLI commands, never at every ``Engine`` start.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Iterable, Iterator

from .skills import Intent, SkillSet, SlotRef, SlotSpec, Word, expand_template
from .text import normalize

__all__ = ["Collision", "find_collisions", "intent_sentences"]

#: sentences taken from each template (its first expansions; alternatives vary fastest at the end)
PER_TEMPLATE = 200
#: values tried for a list or catalog slot that has no example value in the template
VALUES_PER_SLOT = 3


@dataclass(frozen=True)
class Collision:
    """Two intents that both claim ``sentence``. ``kind`` is "template" (both templates produce it) or "test" (a
    held-out test of ``first`` is a template sentence of ``second``)."""

    first: str
    second: str
    sentence: str
    kind: str = "template"

    def message(self) -> str:
        if self.kind == "test":
            return (f"the held-out test {self.sentence!r} of {self.first} is also a sentence of {self.second}'s "
                    f"templates: the template tier cannot tell them apart there")
        return (f"{self.first} and {self.second} both claim {self.sentence!r}: the template tier splits its "
                f"confidence between them (out of scope unless the trained tier decides); reword or remove one")


def _fillers(ref: SlotRef, spec: SlotSpec | None) -> list[str]:
    """What a slot stands for in a compared sentence: for typed slots (numbers, durations, free text) a placeholder
    of the type, since any value of that type fits both templates; for lists and catalogs the example value, or a
    few of their values."""
    if spec is None:
        return [f"<{ref.name}>"]
    if spec.type == "list":
        return [normalize(ref.example)] if ref.example else [normalize(v.value) for v in spec.values[:VALUES_PER_SLOT]]
    if spec.type == "catalog":
        if ref.example:
            return [normalize(ref.example)]
        return [normalize(e.name) for e in (spec.catalog.entries[:VALUES_PER_SLOT] if spec.catalog else ())]
    return [f"<{spec.type}>"]


def intent_sentences(intent: Intent, slots: dict[str, SlotSpec], per_template: int = PER_TEMPLATE) -> set[str]:
    """Normalised sentences of ``intent``'s templates, at most ``per_template`` per template."""
    out: set[str] = set()
    for tree in intent.templates:
        rendered: Iterator[str] = (
            " ".join(parts)
            for seq in expand_template(tree, limit=10 ** 9)
            for parts in itertools.product(*([item.text] if isinstance(item, Word) else
                                             _fillers(item, slots.get(item.name)) for item in seq)))
        out.update(" ".join(s.split()) for s in itertools.islice(rendered, per_template))  # words: normalised
    out.discard("")
    return out


def find_collisions(skills: SkillSet | Iterable, per_template: int = PER_TEMPLATE) -> list[Collision]:
    """One Collision per pair of intents that share a sentence (the shortest such sentence as the example), then
    one per held-out test that is another intent's sentence. Sorted, so the report is stable."""
    owners: dict[str, set[str]] = {}
    for skill in skills:
        for intent in skill.intents:
            for sentence in intent_sentences(intent, dict(skill.slots), per_template):
                owners.setdefault(sentence, set()).add(intent.qualified)
    pairs: dict[tuple[str, str], str] = {}
    for sentence, names in owners.items():
        for a, b in itertools.combinations(sorted(names), 2):
            best = pairs.get((a, b))
            if best is None or (len(sentence), sentence) < (len(best), best):
                pairs[(a, b)] = sentence
    found = [Collision(a, b, s) for (a, b), s in sorted(pairs.items())]
    seen: set[tuple[str, str]] = set()
    for skill in skills:
        for intent in skill.intents:
            for test in intent.tests:
                for other in sorted(owners.get(normalize(test.text), set()) - {intent.qualified}):
                    if (intent.qualified, other) not in seen:
                        seen.add((intent.qualified, other))
                        found.append(Collision(intent.qualified, other, test.text, "test"))
    return found
