"""`hark test-skill`: does a skill understand what its author wrote? Every ``tests:`` sentence must parse to its
intent with its slot values, and sentences walked from every example template must parse to their intent with
the slots they name. A sentence that lands on another skill's intent is a confusion, reported as such: two skills
that claim the same words are the usual cause. Pure functions over an Engine; the CLI prints the report."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .sentences import sample_sentences
from .skills import SkillSet
from .types import slot_values

__all__ = ["Case", "SkillReport", "values_match", "check_skill"]


def values_match(expected: Any, got: Any) -> bool:
    """A test's slot value against a parsed one: numbers to 1e-6, text ignoring case and outer spaces."""
    if isinstance(expected, (int, float)) and isinstance(got, (int, float)):
        return abs(expected - got) < 1e-6
    if isinstance(expected, str) and isinstance(got, str):
        return expected.strip().lower() == got.strip().lower()
    if isinstance(expected, list) and isinstance(got, list):  # a slot declared multiple
        return len(expected) == len(got) and all(values_match(e, g) for e, g in zip(expected, got))
    return expected == got


@dataclass(frozen=True)
class Case:
    """One sentence checked: what it should give, what it gave, and why it failed (empty when it passed)."""

    text: str
    kind: str  # "test" (a tests: entry, slot values checked) or "example" (a walk of a template, slot names)
    expected: str
    got: str | None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return not self.problem

    @property
    def confusion(self) -> bool:
        """Taken by another skill."""
        return self.got is not None and self.got.split(".")[0] != self.expected.split(".")[0]

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "kind": self.kind, "expected": self.expected, "got": self.got,
                "problem": self.problem}


@dataclass(frozen=True)
class SkillReport:
    skill: str
    cases: tuple[Case, ...] = field(default_factory=tuple)

    @property
    def failures(self) -> list[Case]:
        return [c for c in self.cases if not c.ok]

    @property
    def confusions(self) -> dict[str, int]:
        """Other skills' intents that took this skill's sentences, with how many."""
        out: dict[str, int] = {}
        for case in self.failures:
            if case.confusion:
                out[case.got] = out.get(case.got, 0) + 1
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))

    def to_dict(self) -> dict[str, Any]:
        return {"skill": self.skill, "sentences": len(self.cases), "passed": len(self.cases) - len(self.failures),
                "confusions": self.confusions, "failures": [c.to_dict() for c in self.failures]}


def check_skill(engine: Any, name: str, per_intent: int = 20, seed: int = 0) -> SkillReport:
    """Parse the skill's test sentences and ``per_intent`` walks of its example templates (per intent) through
    ``engine`` (which has every installed skill, so other skills can take sentences) and judge each."""
    skill = engine.skills[name]
    context = engine.context()
    cases = []
    for intent in skill.intents:
        for test in intent.tests:
            cases.append(_judge(engine.parse(test.text, context), test.text, "test",
                                f"{name}.{intent.name}", dict(test.slots)))
    for sample in sample_sentences(SkillSet([skill]), per_intent=per_intent, seed=seed, filler_rate=0.0):
        text = " ".join(sample.words)
        names = {tag[2:] for tag in sample.tags if tag.startswith("B-")}
        cases.append(_judge(engine.parse(text, context), text, "example", sample.intent, names))
    return SkillReport(name, tuple(cases))


def _judge(result: Any, text: str, kind: str, expected: str, slots: dict[str, Any] | set[str]) -> Case:
    chosen = result.action or (result.confirm.interpretation if result.confirm else None)
    got = f"{chosen.skill}.{chosen.intent}" if chosen else None
    if got is None:
        best = result.best
        reason = "not a request" if any(e.data.get("not_a_request") for e in result.events
                                        if e.kind == "out_of_scope") else "out of scope"
        hint = f" (best guess {best.skill}.{best.intent} at {best.confidence:.2f})" if best else ""
        return Case(text, kind, expected, None, f"{reason}{hint}")
    if got != expected:
        return Case(text, kind, expected, got, f"parsed as {got}")
    parsed = slot_values(chosen.slots)
    if isinstance(slots, set):
        if set(parsed) != slots:
            return Case(text, kind, expected, got, f"slots {sorted(parsed)} instead of {sorted(slots)}")
        return Case(text, kind, expected, got)
    wrong = [f"{k}={parsed.get(k)!r} (expected {v!r})" for k, v in slots.items()
             if k not in parsed or not values_match(v, parsed[k])]
    return Case(text, kind, expected, got, "; ".join(wrong))
