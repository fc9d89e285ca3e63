"""YAML loading that remembers where every key came from, so validation errors can say file:line: key.

Stricter than plain YAML where plain YAML silently loses what was written: a key repeated in one mapping is an
error (PyYAML keeps the last value). Syntax errors get a hint for the usual causes (an example sentence starting
with ``[`` or ``{``, tabs, ``key:value`` without a space).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

__all__ = ["LocatedYAML", "load_located"]

# libyaml's C parser when PyYAML was built with it (~10x faster on skill files), else the pure-Python one
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class LocatedYAML:
    """Plain Python data from a YAML file plus the line of every dotted key path ("intents.SetTimer.examples[2]")."""

    def __init__(self, data: Any, lines: dict[str, int], path: Path):
        self.data, self.lines, self.path = data, lines, path

    def line(self, key: str) -> int | None:
        """Line of ``key``, or of its nearest ancestor that has one."""
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key.rsplit(".", 1)[0] if "." in key else (key.rsplit("[", 1)[0] if "[" in key else "")
        return None


def load_located(path: Path, error: type[Exception], text: str | None = None) -> LocatedYAML:
    """Parse ``path``; syntax errors raise ``error(message, path=..., line=...)`` (a SkillError or ConfigError)."""
    if text is None:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise _err(error, "file not found", path, None) from None
        except UnicodeDecodeError as exc:
            raise _err(error, f"not UTF-8 text ({exc.reason} at byte {exc.start})", path, None) from None
    try:
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.reader.ReaderError as exc:  # a control character: its own message spans two lines
        line = text.count("\n", 0, exc.position) + 1
        raise _err(error, f"invalid YAML: character {exc.character!r} is not allowed ({exc.reason})", path,
                   line) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        context = getattr(exc, "context_mark", None)
        first = min(m.line for m in (mark, context) if m is not None) if (mark or context) else None
        hint = syntax_hint(text, problem, first, mark.line if mark else None)
        raise _err(error, f"invalid YAML: {problem}" + (f" ({hint})" if hint else ""), path,
                   mark.line + 1 if mark else None) from None
    lines: dict[str, int] = {}
    try:
        data = _Builder(lines).build(node, "") if node is not None else None
    except _DuplicateKey as dup:
        raise _err(error, f"key {dup.key!r} appears twice in the same mapping (first on line {dup.first}); "
                          f"YAML would keep only the last one", path, dup.line) from None
    except _BadNode as bad:
        raise _err(error, bad.message, path, bad.line) from None
    return LocatedYAML(data, lines, path)


_MISSING_SPACE = re.compile(r"^\s*(?:-\s+)?[A-Za-z_][\w.-]*:[^\s:/]")


def syntax_hint(text: str, problem: str, first: int | None, last: int | None) -> str:
    """A hint for the common causes of a YAML syntax error, from the lines ``first``..``last`` (0-based) around it;
    empty when none applies."""
    if first is None or last is None:
        return ""
    around = text.splitlines()[max(0, first - 1): last + 1]
    if any("\t" in line[:len(line) - len(line.lstrip())] for line in around):
        return "indent with spaces: YAML does not allow tabs"
    for line in reversed(around):
        stripped = line.strip()
        if stripped.startswith(("- [", "- {")):
            return f"quote the example: - \"{stripped[2:].strip()}\""
    for line in reversed(around):
        if _MISSING_SPACE.match(line) and not line.strip().startswith(("'", '"', "#")):
            key, _, value = line.strip().partition(":")
            return f"put a space after the colon: {key}: {value}"
    return ""


class _DuplicateKey(Exception):
    def __init__(self, key: Any, line: int, first: int):
        super().__init__(key)
        self.key, self.line, self.first = key, line, first


class _BadNode(Exception):
    """A node that cannot become plain data: an alias that contains itself, aliases expanding past the budget, a
    tag or scalar the safe constructor refuses (``!!python/object``, ``!!int abc``)."""

    def __init__(self, message: str, node: yaml.Node):
        super().__init__(message)
        self.message, self.line = message, node.start_mark.line + 1


def _err(error: type[Exception], message: str, path: Path, line: int | None) -> Exception:
    try:
        return error(message, path=str(path), line=line)  # type: ignore[call-arg]
    except TypeError:
        return error(f"{path}" + (f":{line}" if line else "") + f": {message}")


#: nodes that aliases (``*name``) may add on top of those written out: a 300-byte file of nested aliases (the
#: "billion laughs") would otherwise expand to 10**6 values and more, taking seconds and gigabytes
ALIAS_BUDGET = 10_000


class _Builder:
    """Composed YAML nodes -> plain data, recording the line of every dotted key. Each node is built once per
    place it appears; a node seen before is an alias use and counts against ``ALIAS_BUDGET``."""

    def __init__(self, lines: dict[str, int]):
        self.lines = lines
        self.seen: set[int] = set()
        self.open: set[int] = set()  # nodes being built: meeting one again is an alias to an ancestor
        self.aliased = 0

    def build(self, node: yaml.Node, key: str, in_alias: bool = False) -> Any:
        if id(node) in self.open:
            raise _BadNode(f"{key or 'the document'}: an alias refers to a mapping or list that contains it "
                           f"(a recursive structure)", node)
        in_alias = in_alias or id(node) in self.seen
        self.seen.add(id(node))
        if in_alias:
            self.aliased += 1
            if self.aliased > ALIAS_BUDGET:
                raise _BadNode(f"aliases expand to more than {ALIAS_BUDGET:,} values; write the values out", node)
        if key:
            self.lines[key] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            self.open.add(id(node))
            out = self.mapping(node, key, in_alias)
            self.open.discard(id(node))
            return out
        if isinstance(node, yaml.SequenceNode):
            self.open.add(id(node))
            out_list = [self.build(item, f"{key}[{i}]", in_alias) for i, item in enumerate(node.value)]
            self.open.discard(id(node))
            return out_list
        return _scalar(node)

    def mapping(self, node: yaml.MappingNode, key: str, in_alias: bool) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        seen: dict[Any, int] = {}
        for knode, vnode in node.value:
            k = _scalar(knode)
            if k in seen:
                raise _DuplicateKey(k, knode.start_mark.line + 1, seen[k])
            seen[k] = knode.start_mark.line + 1
            child = f"{key}.{k}" if key else str(k)
            self.lines[child] = knode.start_mark.line + 1
            out[k] = self.build(vnode, child, in_alias)
            self.lines[child] = knode.start_mark.line + 1  # the key's line, not its value's
        return out


_SCALARS = yaml.SafeLoader("")


def _scalar(node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        try:
            return _SCALARS.construct_object(node, deep=True)
        except yaml.YAMLError as exc:  # a tag the safe loader does not construct (!!python/object, !!binary %%)
            raise _BadNode(f"cannot read {node.tag} value {node.value!r:.40}: {getattr(exc, 'problem', exc)}",
                           node) from None
        except (ValueError, TypeError, OverflowError) as exc:  # !!int abc, !!timestamp 2001-02-30
            raise _BadNode(f"cannot read {node.tag} value {node.value!r:.40}: {exc}", node) from None
        finally:  # the loader caches every node it constructed: without this, each file loaded stays in memory
            _SCALARS.constructed_objects.clear()
            _SCALARS.recursive_objects.clear()
    # complex keys are not meaningful in hark files
    return _flow(node)


def _flow(node: yaml.Node, depth: int = 3) -> str:
    """A complex key written back in flow style ("[a, b]"), for messages; shallow, since an alias can make it
    recursive."""
    if depth == 0 and isinstance(node, (yaml.SequenceNode, yaml.MappingNode)):
        return "..."
    if isinstance(node, yaml.SequenceNode):
        return "[" + ", ".join(_flow(n, depth - 1) for n in node.value[:10]) + "]"
    if isinstance(node, yaml.MappingNode):
        return "{" + ", ".join(f"{_flow(k, depth - 1)}: {_flow(v, depth - 1)}" for k, v in node.value[:10]) + "}"
    return str(node.value)
