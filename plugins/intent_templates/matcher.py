"""Match token sequences against skill templates (Seq/Alt/Opt/Word/SlotRef trees).

A template matches the whole utterance. Slots match any span their type accepts; filler phrases ("could you",
"please") may be skipped at the start and end at a small cost. Four things keep parses around a millisecond:
templates are indexed by their possible first words, a required-words test rejects most of the rest, FOLLOW
sets stop a slot from trying spans the template could never continue from, and results are memoised per
(node, position).

With ``max_edits`` (the plugin's third pass, for heard hypotheses nothing else matched) a template's own words may also be
misheard: substituted, dropped or preceded by one extra word, each edit at ``edit_cost``. Slot values are never
edited (a slot still has to match its type), and an edit needs ``words_per_edit`` words of evidence: words of the
template heard exactly, or words of a slot that is not free text; a parse with a free-text slot (``free_slots``)
gets no edits at all, as such a slot could swallow the very words that make a sentence reported speech or a
question. A misheard opener of a long order is forgiven ("i have a coffee with brown sugar" for "may i have
...") but a short sentence does not turn into a command by editing half of it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

from hark.skills import Alt, Opt, Seq, SlotMatch, SlotRef, Word

__all__ = ["CompiledTemplate", "SlotHit", "Parse", "TemplateIndex", "compile_template", "filler_edges", "match_template",
           "iter_parses"]

END = "\x00end"  # marks "the utterance may end here" in FOLLOW sets
ANY = "\x00slot"  # marks "a slot may come next" (any word)


@dataclass(frozen=True)
class SlotHit:
    name: str
    start: int  # token indices, end exclusive
    end: int
    match: SlotMatch


@dataclass(frozen=True)
class Parse:
    slots: tuple[SlotHit, ...]
    quality: float


@dataclass(frozen=True)
class TemplateNode:
    """Analysis of a template tree node: FIRST set, nullability, FOLLOW set, required words."""

    first: frozenset
    nullable: bool
    required: frozenset


class CompiledTemplate:
    """A template tree plus the grammar analysis the matcher needs."""

    def __init__(self, tree: Seq, skill: str, intent: str, index: int):
        self.tree, self.skill, self.intent, self.index = tree, skill, intent, index
        self.info: dict[int, TemplateNode] = {}
        self.follow: dict[int, frozenset] = {}
        self._analyse(tree)
        self._follow(tree, frozenset({END}))
        self.required = self.info[id(tree)].required
        self.min_words = _min_words(tree)
        #: every literal word and slot name anywhere in the tree (optional parts too): an upper bound on what a
        #: parse can hear exactly, which is what a misheard word has to be forgiven against
        self.words, self.slots = _leaves(tree)

    def _analyse(self, node: Any) -> TemplateNode:
        if isinstance(node, Word):
            info = TemplateNode(frozenset({node.text}), False, frozenset({node.text}))
        elif isinstance(node, SlotRef):
            info = TemplateNode(frozenset({ANY}), False, frozenset())
        elif isinstance(node, Opt):
            inner = self._analyse(node.item)
            info = TemplateNode(inner.first, True, frozenset())
        elif isinstance(node, Alt):
            opts = [self._analyse(o) for o in node.options]
            req = frozenset.intersection(*(o.required for o in opts)) if opts else frozenset()
            info = TemplateNode(frozenset().union(*(o.first for o in opts)), any(o.nullable for o in opts), req)
        else:  # Seq
            first: set = set()
            nullable = True
            required: set = set()
            for item in node.items:
                sub = self._analyse(item)
                required |= sub.required
                if nullable:
                    first |= sub.first
                    nullable = sub.nullable
            info = TemplateNode(frozenset(first), nullable, frozenset(required))
        self.info[id(node)] = info
        return info

    def _follow(self, node: Any, follow: frozenset) -> None:
        self.follow[id(node)] = follow
        if isinstance(node, Opt):
            self._follow(node.item, follow)
        elif isinstance(node, Alt):
            for o in node.options:
                self._follow(o, follow)
        elif isinstance(node, Seq):
            after = follow
            for item in reversed(node.items):
                self._follow(item, after)
                info = self.info[id(item)]
                after = info.first | after if info.nullable else info.first


def _min_words(node: Any) -> int:
    if isinstance(node, (Word, SlotRef)):
        return 1
    if isinstance(node, Opt):
        return 0
    if isinstance(node, Alt):
        return min(_min_words(o) for o in node.options)
    return sum(_min_words(i) for i in node.items)


def _leaves(node: Any) -> tuple[frozenset[str], frozenset[str]]:
    if isinstance(node, Word):
        return frozenset({node.text}), frozenset()
    if isinstance(node, SlotRef):
        return frozenset(), frozenset({node.name})
    parts = [_leaves(o) for o in (node.options if isinstance(node, Alt) else
                                  [node.item] if isinstance(node, Opt) else node.items)]
    return frozenset().union(*(w for w, _ in parts)), frozenset().union(*(sl for _, sl in parts))


def compile_template(tree: Seq, skill: str, intent: str, index: int = 0) -> CompiledTemplate:
    return CompiledTemplate(tree, skill, intent, index)


def filler_edges(tokens: Sequence[str], fillers: Sequence[tuple[str, ...]]) -> tuple[dict[int, int], dict[int, int]]:
    """Where a match may start and end once leading/trailing filler phrases are skipped.

    Returns ({start: tokens skipped before}, {end: tokens skipped after}). Fillers are only skipped at the edges
    of an utterance ("could you ... please"): inside it they are words like any other, so a slot keeps them
    ("thank you" in "how do I say thank you in Japanese" is not a filler).
    """
    n = len(tokens)

    def walk(start: int, forward: bool) -> dict[int, int]:
        seen = {start: 0}
        frontier = [start]
        while frontier:
            i = frontier.pop()
            for phrase in fillers:
                k = len(phrase)
                j = i + k if forward else i - k
                if 0 <= min(i, j) and max(i, j) <= n and tuple(tokens[min(i, j):max(i, j)]) == phrase \
                        and j not in seen:
                    seen[j] = seen[i] + k
                    frontier.append(j)
        return seen

    starts = walk(0, True)
    ends = walk(n, False)
    return starts, ends


SlotLookup = Callable[[str, int, int], "tuple[SlotMatch, ...]"]


#: a partial parse: (end position, slot hits, quality, edits, words of evidence)
_Partial = tuple[int, tuple[SlotHit, ...], float, int, int]


def match_template(tpl: CompiledTemplate, tokens: Sequence[str], starts: dict[int, int], ends: dict[int, int],
                   lookup: SlotLookup, *, filler_cost: float = 0.97, max_slot_words: int = 10, max_edits: int = 0,
                   edit_cost: float = 0.85, words_per_edit: int = 5,
                   free_slots: frozenset[str] = frozenset()) -> Parse | None:
    """Best parse of the utterance (between a start and an end of ``filler_edges``) by ``tpl``, or None.

    ``lookup(slot_name, start, end)`` returns the slot type's readings of tokens[start:end], best first.
    ``max_edits`` > 0 lets the template's words be misheard (see the module docstring).
    """
    n = len(tokens)
    memo: dict[tuple[int, int], list[_Partial]] = {}
    follow_of = tpl.follow

    def word(text: str, pos: int) -> list[_Partial]:
        if pos < n and tokens[pos] == text:
            return [(pos + 1, (), 1.0, 0, 1)]
        if not max_edits:
            return []
        out: list[_Partial] = [(pos, (), edit_cost, 1, 0)]  # the word was not heard
        if pos < n:
            out.append((pos + 1, (), edit_cost, 1, 0))  # another word was heard instead
            if pos + 1 < n and tokens[pos + 1] == text:
                out.append((pos + 2, (), edit_cost, 1, 1))  # an extra word before it
        return out

    def m(node: Any, pos: int) -> list[_Partial]:
        key = (id(node), pos)
        found = memo.get(key)
        if found is not None:
            return found
        out: list[_Partial]
        if isinstance(node, Word):
            out = word(node.text, pos)
        elif isinstance(node, SlotRef):
            out = []
            follow = follow_of[id(node)]
            anything = ANY in follow or max_edits > 0  # the next word may be a misheard one
            may_end = END in follow
            for end in range(pos + 1, min(n, pos + max_slot_words) + 1):
                if not (anything or (may_end and end in ends) or (end < n and tokens[end] in follow)):
                    continue
                hits = lookup(node.name, pos, end)
                if hits:
                    evidence = 0 if node.name in free_slots else end - pos
                    out.append((end, (SlotHit(node.name, pos, end, hits[0]),), hits[0].score, 0, evidence))
        elif isinstance(node, Opt):
            out = [(pos, (), 1.0, 0, 0)] + m(node.item, pos)
        elif isinstance(node, Alt):
            out = [r for o in node.options for r in m(o, pos)]
        else:  # Seq
            partial: list[_Partial] = [(pos, (), 1.0, 0, 0)]
            for item in node.items:
                nxt = [(e, hits + h, q * q2, k + k2, ev + ev2) for p, hits, q, k, ev in partial
                       for e, h, q2, k2, ev2 in m(item, p) if k + k2 <= max_edits]
                partial = _prune(nxt) if len(nxt) > 1 else nxt
                if not partial:
                    break
            out = partial
        memo[key] = out
        return out

    best: Parse | None = None
    for start, skipped_before in starts.items():
        for end, hits, q, edits, evidence in m(tpl.tree, start):
            if end not in ends:
                continue
            if edits and (evidence < words_per_edit * edits or any(h.name in free_slots for h in hits)):
                continue  # too little heard right to forgive this many edits, or a free-text slot took the rest
            q *= filler_cost ** (skipped_before + ends[end])
            if best is None or q > best.quality:
                best = Parse(hits, q)
    return best


def _prune(items: list[_Partial]) -> list[_Partial]:
    """Keep the best partial parse per end position: what can follow depends only on the position."""
    best: dict[int, _Partial] = {}
    for item in items:
        if item[0] not in best or item[2] > best[item[0]][2]:
            best[item[0]] = item
    return list(best.values())


class TemplateIndex:
    """Templates bucketed by the words they can start with, so a parse only tries plausible ones."""

    def __init__(self, templates: Sequence[CompiledTemplate]):
        self.by_first: dict[str, list[CompiledTemplate]] = {}
        self.slot_first: list[CompiledTemplate] = []
        for tpl in templates:
            first = tpl.info[id(tpl.tree)].first
            if ANY in first:
                self.slot_first.append(tpl)
            for word in first - {ANY}:
                self.by_first.setdefault(word, []).append(tpl)
        self.all = list(templates)
        self.size = len(templates)

    def candidates(self, tokens: Sequence[str], starts: dict[int, int]) -> list[CompiledTemplate]:
        seen: dict[int, CompiledTemplate] = {}
        for s in starts:
            if s < len(tokens):
                for tpl in self.by_first.get(tokens[s], ()):
                    seen[id(tpl)] = tpl
        for tpl in self.slot_first:
            seen[id(tpl)] = tpl
        return list(seen.values())


def iter_parses(index: TemplateIndex, tokens: Sequence[str], fillers: Sequence[tuple[str, ...]],
                lookup_for: Callable[[str], SlotLookup], free_slots_for: Callable[[str], frozenset[str]] | None = None,
                **kwargs: Any) -> Iterator[tuple[CompiledTemplate, Parse]]:
    """Every template that matches, with its best parse. Templates whose first word or required words are absent
    are never tried. With ``max_edits``, a template is tried with as many edits as the words it could hear
    exactly allow (``words_per_edit`` each: its own words among the tokens, plus every token when it has a slot
    that is not free text), and then only when it misses no more required words than that; a template allowed
    no edit must pass the exact tests. The bound only takes away edits no parse could be forgiven, so no parse is
    lost; with fewer doomed partial parses in play, ``_prune`` (best quality per end position) may even keep one
    that the unbounded search pruned away."""
    starts, ends = edges = filler_edges(tokens, fillers)
    token_set = set(tokens)
    n = len(tokens)
    per_edit = kwargs.get("words_per_edit", 5)
    max_edits = min(kwargs.get("max_edits", 0), n // per_edit)
    candidates = index.candidates(tokens, starts)
    exact = {id(t) for t in candidates}
    for tpl in (index.all if max_edits else candidates):
        free = free_slots_for(tpl.skill) if free_slots_for is not None else frozenset()
        edits = 0
        if max_edits:
            heard = sum(t in tpl.words for t in tokens) + (n if tpl.slots - free else 0)
            edits = min(max_edits, heard // per_edit)
        if tpl.min_words > n + edits or len(tpl.required - token_set) > edits or (not edits and id(tpl) not in exact):
            continue
        if free_slots_for is not None:
            kwargs["free_slots"] = free
        parse = match_template(tpl, tokens, *edges, lookup_for(tpl.skill), **{**kwargs, "max_edits": edits})
        if parse is not None:
            yield tpl, parse
