"""A finite-state grammar (JSGF) compiled from the skills' templates, for pocketsphinx's FSG search.

The skill LM (compile.py) is a trigram over sampled sentences: it also accepts word strings no template makes. A
closed skill (a coffee menu) can instead be decoded with exactly its templates: one public rule alternating every
template of every intent, slot values expanded as alternatives (list values and synonyms, catalog names and
aliases, the templates' own example values), spelled as compile.py spells them (``speakable``: "12" -> "twelve")
so the skill LM's dictionary covers them. The politeness words the LM corpus adds ("please", "thanks") are
optional at both ends, as there. Alternatives with a word ``known`` rejects are dropped, as compile.py drops
unpronounceable sentences: pocketsphinx refuses a grammar with a word missing from its dictionary.

    decoder = grammar_decoder(hmm, dict_path, jsgf(skills, known), fwdflat=True)
"""
from __future__ import annotations

import re
from typing import Any, Callable, Iterable

from hark.sentences import FILLER_PREFIXES, FILLER_SUFFIXES
from hark.skills import SkillSet
from hark.templates import Alt, Opt, Seq, SlotRef, Word, expand_template, slot_names, slot_refs

from .compile import spoken

__all__ = ["jsgf", "grammar_decoder", "activate_grammar", "closed", "SEARCH"]

SEARCH = "skills_grammar"
_NONE = None  # an expansion that cannot be spoken (a word ``known`` rejects)


def _phrase(words: list[str], known: Callable[[str], bool]) -> str | None:
    if not words or not all(known(w) for w in words):
        return _NONE
    return " ".join(words)


def _alternatives(options: Iterable[str | None]) -> str | None:
    kept = list(dict.fromkeys(o for o in options if o))  # distinct, in order; unspeakable ones dropped
    if not kept:
        return _NONE
    return kept[0] if len(kept) == 1 else "(" + " | ".join(kept) + ")"


def _slot_values(skill: Any, name: str, examples: list[str]) -> list[str]:
    """Every surface form a slot can take: list values and synonyms, catalog names and aliases, else the
    templates' example values (typed slots like numbers have no closed set; their examples stand in)."""
    spec = skill.slots.get(name)
    forms: list[str] = []
    if spec is not None:
        for v in spec.values:
            forms += [v.value, *v.synonyms]
        if spec.catalog is not None:
            for e in spec.catalog.entries:
                forms += [e.name, *e.aliases]
    return forms or examples


def _node(node: Any, skill: Any, slot_rule: Callable[[str], str | None], known: Callable[[str], bool]) -> str | None:
    """The JSGF expansion of one template node (None when nothing of it can be spoken)."""
    if isinstance(node, Word):
        return _phrase(spoken(node.text), known)
    if isinstance(node, SlotRef):
        return slot_rule(node.name)
    if isinstance(node, Opt):
        inner = _node(node.item, skill, slot_rule, known)
        return f"[{inner}]" if inner else ""  # an unspeakable optional part is just left out
    if isinstance(node, Alt):
        return _alternatives(_node(o, skill, slot_rule, known) for o in node.options)
    parts = [_node(item, skill, slot_rule, known) for item in node.items]
    if any(p is _NONE for p in parts):
        return _NONE
    return " ".join(p for p in parts if p) or _NONE


def _factor(trees: Iterable[Seq]) -> Seq:
    """One intent's templates as one tree, their common leading and trailing parts written once.

    pocketsphinx expands a JSGF grammar into an FSG without minimising it, and its search time grows with the
    FSG's size: six coffee templates that differ only in the order of three optional slots cost six copies of the
    milk-and-sugar tail; factored, the search is several times faster for the same language. What differs is
    written as its distinct expansions (when there are few): "{size}? {roast}?" in six orders says "large" six
    times over, which splits the lattice posterior of "large" six ways and deflates the confidence."""
    seqs = [tuple(SlotRef(i.name) if isinstance(i, SlotRef) else i for i in t.items) for t in trees]  # values
    if len(seqs) == 1:
        return Seq(seqs[0])
    shortest = min(len(s) for s in seqs)
    head = 0
    while head < shortest and all(s[head] == seqs[0][head] for s in seqs):
        head += 1
    tail = 0
    while tail < shortest - head and all(s[len(s) - 1 - tail] == seqs[0][-1 - tail] for s in seqs):
        tail += 1
    middles = [Seq(s[head:len(s) - tail]) for s in seqs]
    try:  # distinct word/slot sequences: one path per sentence, so a word's lattice posterior is not split
        flat = list(dict.fromkeys(x for m in middles for x in expand_template(m, limit=500)))
        middles = [Seq(x) for x in flat]
    except ValueError:
        middles = list(dict.fromkeys(middles))
    middle: tuple = ()
    if any(m.items for m in middles):
        alt = Alt(tuple(m for m in middles if m.items))
        middle = (Opt(alt),) if any(not m.items for m in middles) else (alt,)
    return Seq(seqs[0][:head] + middle + (seqs[0][len(seqs[0]) - tail:] if tail else ()))


def closed(skills: SkillSet) -> bool:
    """Whether every slot the skills' templates name is a list: then the templates are a finite language a
    grammar search can hold (text, catalog and typed slots are open-ended)."""
    return all(skill.slots.get(name) is not None and skill.slots[name].type == "list"
               for skill in skills for intent in skill.intents for tree in intent.templates
               for name in slot_names(tree))


def _rule_name(*parts: str) -> str:
    return "_".join(re.sub(r"[^A-Za-z0-9]", "_", p) for p in parts)


def _slot_examples(trees: Iterable[Any], out: dict[str, list[str]]) -> None:
    for ref in (r for tree in trees for r in slot_refs(tree)):
        if ref.example:
            out.setdefault(ref.name, []).append(ref.example)


def jsgf(skills: SkillSet, known: Callable[[str], bool] = lambda w: True, *, fillers: bool = True,
         other: Iterable[str] = (), other_weight: float = 0.0, wake: str = "", name: str = "hark") -> str:
    """The skills' templates as one JSGF grammar whose public rule ``<command>`` is any template sentence, or, with
    ``other`` words and an ``other_weight`` above 0, any run of those words at that weight against the commands'
    1: the search can then hear speech no template makes as what it is, rather than as the nearest command."""
    rules: dict[str, str] = {}
    templates: list[str] = []
    for skill in sorted(skills, key=lambda s: s.name):
        examples: dict[str, list[str]] = {}
        for intent in skill.intents:
            _slot_examples(intent.templates, examples)

        def slot_rule(slot: str, skill: Any = skill, examples: dict = examples) -> str | None:
            rule = _rule_name("slot", skill.name, slot)
            if rule not in rules:
                body = _alternatives(_phrase(spoken(v), known) for v in _slot_values(skill, slot, examples.get(slot, [])))
                rules[rule] = body or ""
            return f"<{rule}>" if rules[rule] else _NONE

        for intent in skill.intents:
            body = _node(_factor(intent.templates), skill, slot_rule, known)
            if body:
                rule = _rule_name(skill.name, intent.name)
                rules[rule] = body
                templates.append(f"<{rule}>")
    if not templates:
        raise ValueError("no template of the skills can be spoken with this dictionary")
    command = "(" + " | ".join(templates) + ")"
    if fillers:
        pre = _alternatives(_phrase(spoken(p), known) for p in [*FILLER_PREFIXES, *([wake] if wake else [])])
        post = _alternatives(_phrase(spoken(s), known) for s in FILLER_SUFFIXES)
        command = (f"[{pre}] " if pre else "") + command + (f" [{post}]" if post else "")
    loop = _alternatives(_phrase(spoken(w), known) for w in other) if other_weight > 0 else None
    if loop:
        rules["other_word"] = loop
        command = f"/1.0/ {command} | /{other_weight:.40f}/ <other_word>+"
    lines = ["#JSGF V1.0;", f"grammar {name};", f"public <command> = {command};"]
    lines += [f"<{r}> = {body};" for r, body in rules.items() if body]
    return "\n".join(lines) + "\n"


def activate_grammar(decoder: Any, grammar: str, search: str = SEARCH) -> Any:
    """Add ``grammar`` (JSGF text) to a pocketsphinx 5 decoder as search ``search`` and make it the active one."""
    decoder.add_jsgf_string(search, grammar)  # ValueError when the grammar does not parse
    decoder.activate_search(search)
    return decoder


def grammar_decoder(hmm: Any, dictionary: Any, grammar: str, **options: Any) -> Any:
    """A decoder searching only ``grammar`` (no n-gram LM is loaded: ``lm=None`` keeps pocketsphinx's default
    English LM out), with the acoustic model, dictionary and options the skill-LM decoder gets."""
    from pocketsphinx import Decoder

    decoder = Decoder(hmm=str(hmm), dict=str(dictionary), lm=None, loglevel="FATAL", **options)
    return activate_grammar(decoder, grammar)
