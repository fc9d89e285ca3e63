"""Match token sequences against skill templates (Seq/Alt/Opt/Word/SlotRef trees).

A template matches the whole utterance. Slots match any span their type accepts; filler words ("please",
"can you") may be skipped anywhere at a small cost. Three things keep this fast enough for ~1 ms parses:
a required-words prefilter rejects most templates with one set test, FOLLOW sets stop a slot from trying spans
that the rest of the template could never continue from, and results are memoised per (node, position).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

from hark.skills import Alt, Opt, Seq, SlotMatch, SlotRef, Word

__all__ = ["CompiledTemplate", "SlotHit", "Parse", "compile_template", "filler_skips", "match_template"]

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


def compile_template(tree: Seq, skill: str, intent: str, index: int = 0) -> CompiledTemplate:
    return CompiledTemplate(tree, skill, intent, index)


def filler_skips(tokens: Sequence[str], fillers: Sequence[tuple[str, ...]]) -> list[list[tuple[int, int]]]:
    """For each position, the positions reachable by skipping filler phrases, with the number of tokens skipped."""
    n = len(tokens)
    step: list[list[int]] = [[] for _ in range(n + 1)]
    for i in range(n):
        for phrase in fillers:
            if tuple(tokens[i:i + len(phrase)]) == phrase:
                step[i].append(i + len(phrase))
    out = []
    for i in range(n + 1):
        seen = {i: 0}
        frontier = [i]
        while frontier:
            j = frontier.pop()
            for k in step[j]:
                if k not in seen:
                    seen[k] = seen[j] + (k - j)
                    frontier.append(k)
        out.append(sorted(seen.items()))
    return out


SlotLookup = Callable[[str, int, int], "tuple[SlotMatch, ...]"]


def match_template(tpl: CompiledTemplate, tokens: Sequence[str], skips: list[list[tuple[int, int]]],
                   lookup: SlotLookup, *, filler_cost: float = 0.97, max_slot_words: int = 10) -> Parse | None:
    """Best parse of the whole token sequence by ``tpl``, or None.

    ``lookup(slot_name, start, end)`` returns the slot type's readings of tokens[start:end], best first.
    """
    n = len(tokens)
    memo: dict[tuple[int, int], list[tuple[int, tuple[SlotHit, ...], float]]] = {}
    can_end = {e for e in range(n + 1) if any(j == n for j, _ in skips[e])}

    def feasible(end: int, follow: frozenset) -> bool:
        if ANY in follow:
            return True
        if END in follow and end in can_end:
            return True
        return any(j < n and tokens[j] in follow for j, _ in skips[end])

    def m(node: Any, pos: int) -> list[tuple[int, tuple[SlotHit, ...], float]]:
        key = (id(node), pos)
        if key in memo:
            return memo[key]
        out: list[tuple[int, tuple[SlotHit, ...], float]] = []
        if isinstance(node, Word):
            for j, k in skips[pos]:
                if j < n and tokens[j] == node.text:
                    out.append((j + 1, (), filler_cost ** k))
        elif isinstance(node, SlotRef):
            follow = tpl.follow[id(node)]
            for j, k in skips[pos]:
                for end in range(j + 1, min(n, j + max_slot_words) + 1):
                    if not feasible(end, follow):
                        continue
                    found = lookup(node.name, j, end)
                    if found:
                        out.append((end, (SlotHit(node.name, j, end, found[0]),), filler_cost ** k * found[0].score))
        elif isinstance(node, Opt):
            out.append((pos, (), 1.0))
            out.extend(m(node.item, pos))
        elif isinstance(node, Alt):
            for o in node.options:
                out.extend(m(o, pos))
        else:  # Seq
            partial: list[tuple[int, tuple[SlotHit, ...], float]] = [(pos, (), 1.0)]
            for item in node.items:
                nxt = []
                for p, hits, q in partial:
                    for e, h, q2 in m(item, p):
                        nxt.append((e, hits + h, q * q2))
                partial = _prune(nxt)
                if not partial:
                    break
            out = partial
        memo[key] = out
        return out

    best: Parse | None = None
    for end, hits, q in m(tpl.tree, 0):
        if end not in can_end:
            continue
        skipped = dict(skips[end])[n]
        q *= filler_cost ** skipped
        if best is None or q > best.quality:
            best = Parse(hits, q)
    return best


def _prune(items: list[tuple[int, tuple[SlotHit, ...], float]]) -> list[tuple[int, tuple[SlotHit, ...], float]]:
    """Keep the best partial parse per end position: what can follow depends only on the position."""
    best: dict[int, tuple[int, tuple[SlotHit, ...], float]] = {}
    for item in items:
        if item[0] not in best or item[2] > best[item[0]][2]:
            best[item[0]] = item
    return list(best.values())


def iter_parses(templates: Sequence[CompiledTemplate], tokens: Sequence[str], token_set: set[str],
                skips: list[list[tuple[int, int]]], lookup_for: Callable[[str], SlotLookup],
                **kwargs: Any) -> Iterator[tuple[CompiledTemplate, Parse]]:
    """Every template that matches, with its best parse (templates failing the prefilter are never tried)."""
    n_effective = len(tokens)
    for tpl in templates:
        if tpl.min_words > n_effective or not tpl.required <= token_set:
            continue
        parse = match_template(tpl, tokens, skips, lookup_for(tpl.skill), **kwargs)
        if parse is not None:
            yield tpl, parse
