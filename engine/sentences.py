"""Sentences of the installed skills: random walks through their templates with typed slot values filled in.

Each sentence is a walk over one template's tree (alternatives and optional parts chosen at random); every slot is
filled with a value of its type (catalog entries and list synonyms, spoken numbers, durations and dates, the example
values the skill author wrote for free-text slots), and its words get ``B-slot I-slot ...`` tags.

Two consumers: training/skill_data.py (training data for the joint intent model) and the pocketsphinx plugin (the
text its skill language model is estimated from). Plain Python, no torch.
"""
from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from .skills import Alt, Opt, SkillSet, SlotRef, SlotSpec, Word
from .templates import slot_refs
from .text import tokenize

__all__ = ["Sample", "SlotFiller", "sample_sentences", "spoken_number", "ordinal_words", "TYPE_GENERATORS"]


@dataclass(frozen=True)
class Sample:
    """One generated sentence: its hark tokens, a BIO tag per token, and ``skill.Intent``."""

    words: tuple[str, ...]
    tags: tuple[str, ...]
    intent: str


_ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen " \
        "seventeen eighteen nineteen".split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_ORDINALS = ("first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth "
             "fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth").split()


def spoken_number(n: int) -> str:
    """English words for 0 <= n < 10000, as an ASR writes them ("one hundred and five")."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return _ONES[n // 100] + " hundred" + ("" if rest == 0 else " and " + spoken_number(rest))
    rest = n % 1000
    return spoken_number(n // 1000) + " thousand" + ("" if rest == 0 else " " + spoken_number(rest))


_ORDINAL_ENDINGS = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
                    "nine": "ninth", "twelve": "twelfth"}


def ordinal_words(words: list[str]) -> list[str]:
    """Spoken cardinal words made ordinal by their last word: ["twenty", "one"] -> ["twenty", "first"]."""
    if not words:
        return words
    last = words[-1]
    if last in _ORDINAL_ENDINGS:
        last = _ORDINAL_ENDINGS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return words[:-1] + [last]


def _number_text(rng: random.Random, lo: int = 0, hi: int = 100) -> str:
    n = rng.randint(lo, hi)
    return str(n) if rng.random() < 0.35 else spoken_number(n)


_UNITS = ("second", "minute", "hour", "day")


def _duration_text(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.12:
        return rng.choice(["half an hour", "an hour and a half", "a quarter of an hour", "a minute", "an hour",
                           "a couple of minutes", "a few minutes", "two and a half hours", "ninety seconds"])
    unit = rng.choice(_UNITS[:3] if rng.random() < 0.9 else _UNITS)
    n = rng.choice([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 15, 20, 25, 30, 40, 45, 50, 60, 90])
    words = _number_text(rng, n, n)
    plural = "s" if n != 1 and rng.random() < 0.8 else ""
    text = f"{words} {unit}{plural}"
    if r > 0.9 and unit in ("minute", "hour"):
        smaller = "seconds" if unit == "minute" else "minutes"
        text += f" and {spoken_number(rng.choice([10, 15, 20, 30]))} {smaller}"
    return text


_DAYS = ["today", "tomorrow", "tonight", "this evening", "this morning", "tomorrow morning", "the day after tomorrow",
         "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "next friday", "on monday",
         "next week", "this afternoon"]


def _time_text(rng: random.Random) -> str:
    """A clock time as an ASR writes it: "7 pm", "7:30 am", "seven thirty in the evening", "at noon"."""
    hour = rng.randint(1, 12)
    if rng.random() < 0.5:
        clock = str(hour) + rng.choice(["", "", ":30", ":15", ":45"])
    else:
        clock = spoken_number(hour) + rng.choice(["", "", " thirty", " fifteen", " forty five"])
    suffix = rng.choice([" am", " pm", " a.m.", " p.m.", "", " in the morning", " in the evening"])
    text = f"{clock}{suffix}"
    if not suffix or rng.random() < 0.5:  # a bare "seven thirty" needs "at" to read as a time
        text = "at " + text
    return text if rng.random() > 0.05 else rng.choice(["at noon", "at midnight"])


def _datetime_text(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.3:
        return rng.choice(_DAYS)
    if r < 0.55:
        return _time_text(rng)
    if r < 0.85:  # a day plus a clock time: only days that do not already name a part of the day
        day = rng.choice(["today", "tomorrow", "monday", "friday", "saturday", "on sunday", "next tuesday"])
        return f"{day} {_time_text(rng)}"
    return f"in {_duration_text(rng)}"


def _percentage_text(rng: random.Random) -> str:
    n = rng.choice([5, 10, 15, 20, 25, 30, 40, 50, 60, 70, 75, 80, 90, 100])
    return f"{_number_text(rng, n, n)} {rng.choice(['percent', 'percent', '%', 'per cent'])}".replace(" %", "%")


def _numeric_ordinal(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


TYPE_GENERATORS = {
    "number": lambda rng: _number_text(rng, 0, 100),
    "ordinal": lambda rng: rng.choice(_ORDINALS) if rng.random() < 0.8 else _numeric_ordinal(rng.randint(1, 31)),
    "duration": _duration_text,
    "datetime": _datetime_text,
    "percentage": _percentage_text,
}


class SlotFiller:
    """Values for the slots of one skill set, with the skill author's example values for free text."""

    def __init__(self, skills: SkillSet, rng: random.Random):
        self.rng = rng
        self.examples: dict[tuple[str, str], list[str]] = defaultdict(list)
        for intent in skills.intents():
            for tree in intent.templates:
                for ref in slot_refs(tree):
                    if ref.example:
                        self.examples[(intent.skill, ref.name)].append(ref.example)

    def value(self, skill: str, spec: SlotSpec, example: str | None) -> str:
        rng = self.rng
        if example and rng.random() < 0.25:
            return example
        if spec.type == "catalog" and spec.catalog is not None and len(spec.catalog):
            entry = rng.choice(spec.catalog.entries)
            forms = [entry.name, *entry.aliases]
            return rng.choice(forms)
        if spec.type == "list" and spec.values:
            v = rng.choice(spec.values)
            return rng.choice([v.value, *v.synonyms])
        generator = TYPE_GENERATORS.get(spec.type)
        if generator is not None:
            return generator(rng)
        pool = self.examples.get((skill, spec.name))
        if pool:
            return rng.choice(pool)
        return example or spec.name.replace("_", " ")


def _walk(node: Any, rng: random.Random) -> list[Any]:
    """One random concrete sentence of a template: a list of Word and SlotRef."""
    if isinstance(node, (Word, SlotRef)):
        return [node]
    if isinstance(node, Opt):
        return _walk(node.item, rng) if rng.random() < 0.5 else []
    if isinstance(node, Alt):
        return _walk(rng.choice(node.options), rng)
    return [x for item in node.items for x in _walk(item, rng)]


# politeness that fits in front of / after any request, command or question
FILLER_PREFIXES = ["please", "hey hark", "ok", "okay", "hark"]
FILLER_SUFFIXES = ["please", "thanks", "thank you"]


def sample_sentences(skills: SkillSet, per_intent: int = 300, seed: int = 0,
                     filler_rate: float = 0.15) -> list[Sample]:
    """About ``per_intent`` distinct sentences per intent (fewer when the templates allow fewer), with BIO tags.

    Deterministic for a given seed and skill set: the trained intent model and the ASR language model are both
    built from these sentences. Each intent draws from its own seeded stream, so adding or removing a skill
    leaves every other intent's sentences as they were (and the language model's view of them).
    """
    rng = random.Random(seed)
    filler = SlotFiller(skills, rng)
    out: list[Sample] = []
    for intent in skills.intents():
        rng.seed(f"{seed}/{intent.skill}.{intent.name}")
        skill = skills[intent.skill]
        seen: set[tuple[str, ...]] = set()
        tries = 0
        while len(seen) < per_intent and tries < per_intent * 20:
            tries += 1
            tree = rng.choice(intent.templates)
            words: list[str] = []
            tags: list[str] = []
            for item in _walk(tree, rng):
                if isinstance(item, Word):
                    words.append(item.text)
                    tags.append("O")
                    continue
                text = filler.value(intent.skill, skill.slots[item.name], item.example)
                toks = [t.text for t in tokenize(text)]
                words.extend(toks)
                tags.extend([f"B-{item.name}"] + [f"I-{item.name}"] * (len(toks) - 1) if toks else [])
            if not words:
                continue
            if rng.random() < filler_rate:
                pre = [t.text for t in tokenize(rng.choice(FILLER_PREFIXES))]
                words, tags = pre + words, ["O"] * len(pre) + tags
            if rng.random() < filler_rate / 2:
                suf = [t.text for t in tokenize(rng.choice(FILLER_SUFFIXES))]
                words, tags = words + suf, tags + ["O"] * len(suf)
            key = tuple(words)
            if key in seen:
                continue
            seen.add(key)
            out.append(Sample(tuple(words), tuple(tags), intent.qualified))
    return out
