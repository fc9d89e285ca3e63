"""The skill template language: ``(turn|switch) on (the)? [kitchen](room) lights`` parsed into a small tree.

    set a timer for [ten minutes](duration)      slot with an example value
    set a timer for {duration}                   slot without an example value
    (start|set) a timer                          alternatives
    cancel (the|my)? timer                       optional group: (...)?
    timer( for [the pasta](label))?              optional part containing a slot

Trees of frozen dataclasses (Seq, Alt, Opt, Word, SlotRef); matchers, generators and the language-model compiler
walk them. Pure functions, no I/O.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

from .text import normalize, tokenize

__all__ = ["Word", "SlotRef", "Seq", "Alt", "Opt", "TemplateSyntaxError", "parse_template", "slot_names",
           "expand_template", "continuation", "slot_refs", "required_slots"]

# ------------------------------------------------------------------------------------------- template language


@dataclass(frozen=True)
class Word:
    text: str  # one normalised token


@dataclass(frozen=True)
class SlotRef:
    name: str
    #: the example value written in the template ("ten minutes"), or None for ``{slot}``
    example: str | None = None


@dataclass(frozen=True)
class Seq:
    items: tuple[Any, ...]


@dataclass(frozen=True)
class Alt:
    options: tuple[Seq, ...]


@dataclass(frozen=True)
class Opt:
    item: Any


class TemplateSyntaxError(ValueError):
    def __init__(self, message: str, column: int):
        super().__init__(f"{message} at column {column + 1}")
        self.column = column


def parse_template(source: str) -> Seq:
    """Parse one example sentence into a tree of Seq/Alt/Opt/Word/SlotRef."""
    parser = _TemplateParser(source)
    tree = parser.seq()
    if parser.pos < len(source):
        raise TemplateSyntaxError(f"unexpected {source[parser.pos]!r}", parser.pos)
    if not tree.items:
        raise TemplateSyntaxError("empty example", 0)
    return tree


class _TemplateParser:
    SPECIAL = "()|?[]{}"

    def __init__(self, source: str):
        self.src, self.pos = source, 0

    def peek(self) -> str:
        self.skip_space()
        return self.src[self.pos] if self.pos < len(self.src) else ""

    def skip_space(self) -> None:
        while self.pos < len(self.src) and self.src[self.pos].isspace():
            self.pos += 1

    def seq(self) -> Seq:
        items: list[Any] = []
        while True:
            ch = self.peek()
            if ch in ("", ")", "|"):
                return Seq(tuple(items))
            item = self.item()
            if self.peek() == "?" and isinstance(item, (Alt, SlotRef)):  # "(...)?", "{slot}?"; a "?" after a
                self.pos += 1                                           # plain word is punctuation
                item = Opt(item)
            elif self.peek() == "?":
                self.pos += 1
            if isinstance(item, list):
                items.extend(item)
            else:
                items.append(item)

    def item(self) -> Any:
        start = self.pos
        ch = self.src[self.pos]
        if ch == "(":
            self.pos += 1
            options = [self.seq()]
            while self.peek() == "|":
                self.pos += 1
                options.append(self.seq())
            if self.peek() != ")":
                raise TemplateSyntaxError("unclosed '('", start)
            self.pos += 1
            if all(not o.items for o in options):
                raise TemplateSyntaxError("empty group '()'", start)
            return Alt(tuple(options))
        if ch == "[":
            end = self.src.find("]", self.pos)
            if end < 0:
                raise TemplateSyntaxError("unclosed '['", start)
            example = self.src[self.pos + 1:end].strip()
            self.pos = end + 1
            m = re.compile(r"\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)").match(self.src, self.pos)
            if not m:
                raise TemplateSyntaxError("'[example]' must be followed by '(slot_name)'", self.pos)
            self.pos = m.end()
            if not normalize(example):
                raise TemplateSyntaxError("empty slot example '[]'", start)
            return SlotRef(m.group(1), example)
        if ch == "{":
            m = re.compile(r"\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}").match(self.src, self.pos)
            if not m:
                raise TemplateSyntaxError("'{' must enclose a slot name like {duration}", start)
            self.pos = m.end()
            return SlotRef(m.group(1), None)
        if ch in ")]}?":
            raise TemplateSyntaxError(f"unexpected {ch!r}", start)
        while self.pos < len(self.src) and not self.src[self.pos].isspace() and self.src[self.pos] not in self.SPECIAL:
            self.pos += 1
        words = [Word(t.text) for t in tokenize(self.src[start:self.pos])]
        if not words:  # punctuation only: ignore it, but keep the parser moving
            return []
        return words if len(words) > 1 else words[0]


def slot_refs(node: Any) -> Iterator[SlotRef]:
    """Slot references anywhere in a template tree, in order of appearance."""
    if isinstance(node, SlotRef):
        yield node
    elif isinstance(node, Seq):
        for item in node.items:
            yield from slot_refs(item)
    elif isinstance(node, Alt):
        for option in node.options:
            yield from slot_refs(option)
    elif isinstance(node, Opt):
        yield from slot_refs(node.item)


def slot_names(node: Any) -> list[str]:
    """Slot names referenced anywhere in a template tree, in order of appearance."""
    return [ref.name for ref in slot_refs(node)]


def required_slots(templates: Sequence[Any]) -> frozenset[str]:
    """Slots every template of an intent needs (not optional, not in only some alternatives). A reading without
    one is incomplete: the interpreter missed words ("how do you pronounce" without the word)."""
    if not templates:
        return frozenset()
    return frozenset.intersection(*(_required(t) for t in templates))


def _required(node: Any) -> frozenset[str]:
    if isinstance(node, SlotRef):
        return frozenset({node.name})
    if isinstance(node, Seq):
        return frozenset().union(*(_required(item) for item in node.items))
    if isinstance(node, Alt):
        return frozenset.intersection(*(_required(o) for o in node.options)) if node.options else frozenset()
    return frozenset()  # Word, Opt


def expand_template(node: Any, limit: int = 10_000) -> Iterator[tuple[Any, ...]]:
    """Every concrete sentence of a template as a tuple of Word/SlotRef (training data, statistics).

    Raises ValueError past ``limit`` expansions so a runaway template is reported rather than hanging.
    """
    count = 0
    for seq in _expand(node):
        count += 1
        if count > limit:
            raise ValueError(f"template expands to more than {limit} sentences")
        yield seq


def _expand(node: Any) -> Iterator[tuple[Any, ...]]:
    if isinstance(node, (Word, SlotRef)):
        yield (node,)
    elif isinstance(node, Opt):
        yield ()
        yield from _expand(node.item)
    elif isinstance(node, Alt):
        for opt in node.options:
            yield from _expand(opt)
    elif isinstance(node, Seq):
        if not node.items:
            yield ()
            return
        for head in _expand(node.items[0]):
            for tail in _expand(Seq(node.items[1:])):
                yield head + tail


#: what a slot may hold, for ``continuation``: its spoken forms as token tuples (a closed list), or a test of the
#: words an open slot is given (a parser: numbers, durations, times), or None (any words: free text, catalogs)
SlotForms = Callable[[str], "Sequence[tuple[str, ...]] | Callable[[tuple[str, ...]], bool] | None"]
#: longest run of words an open slot with a test is tried on
_OPEN_SPAN = 8


def continuation(node: Any, tokens: Sequence[str], forms: SlotForms, any_words: bool = True) -> tuple[bool, bool]:
    """(complete, goes_on) for the words ``tokens`` against one template: complete when they are a whole sentence
    of it, goes_on when they are the start of a longer one. An endpointer can end a turn at once on words that
    are complete and cannot go on, and wait for more on words that can ("a mocha" | "with soy milk").

    An open slot whose words end the tokens can always go on ("for ten minutes" | "and thirty seconds"); one
    with a test only holds words it accepts, so "[3 minutes](duration) timer" is no continuation of "turn off
    the lights"; one without (None) holds any words, or, with ``any_words`` False, none: then the words must
    start the template on its own words and closed slots, as "the words only start a request" needs.
    """
    if not any_words:
        strict = forms
        forms = lambda name: () if strict(name) is None else strict(name)  # noqa: E731
    ends, goes_on = _advance(node, frozenset({0}), tuple(tokens), forms)
    return len(tokens) in ends, goes_on


def _advance(node: Any, starts: frozenset[int], toks: tuple[str, ...], forms: SlotForms,
             ) -> tuple[frozenset[int], bool]:
    """Positions reachable after ``node`` from ``starts``, and whether some path runs out of words inside it."""
    n = len(toks)
    if not starts:
        return starts, False
    if isinstance(node, Word):
        return frozenset(i + 1 for i in starts if i < n and toks[i] == node.text), n in starts
    if isinstance(node, SlotRef):
        held = forms(node.name)
        if held == ():  # a slot that holds no words here: it can only come next
            return frozenset(), n in starts
        return _slot(held, starts, toks)
    if isinstance(node, Opt):
        ends, goes_on = _advance(node.item, starts, toks, forms)
        return starts | ends, goes_on
    if isinstance(node, Alt):
        results = [_advance(o, starts, toks, forms) for o in node.options]
        return frozenset().union(*(e for e, _ in results)), any(g for _, g in results)
    goes_on = False
    for item in node.items:
        starts, g = _advance(item, starts, toks, forms)
        goes_on = goes_on or g
    return starts, goes_on


def _slot(held: Any, starts: frozenset[int], toks: tuple[str, ...]) -> tuple[frozenset[int], bool]:
    n = len(toks)
    if held is None:  # any words, at least one
        return frozenset(j for i in starts for j in range(i + 1, n + 1)), True
    if callable(held):
        ends = frozenset(j for i in starts for j in range(i + 1, min(n, i + _OPEN_SPAN) + 1) if held(toks[i:j]))
        return ends, n in starts or n in ends
    ends = frozenset(i + len(f) for i in starts for f in held if f and toks[i:i + len(f)] == f)
    goes_on = any(len(f) > n - i and f[:n - i] == toks[i:] for i in starts for f in held)
    return ends, goes_on
