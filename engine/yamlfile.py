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
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context_mark", None)
        first = min(m.line for m in (mark, context) if m is not None) if (mark or context) else None
        hint = syntax_hint(text, problem, first, mark.line if mark else None)
        raise _err(error, f"invalid YAML: {problem}" + (f" ({hint})" if hint else ""), path,
                   mark.line + 1 if mark else None) from None
    lines: dict[str, int] = {}
    try:
        data = _build(node, "", lines) if node is not None else None
    except _DuplicateKey as dup:
        raise _err(error, f"key {dup.key!r} appears twice in the same mapping (first on line {dup.first}); "
                          f"YAML would keep only the last one", path, dup.line) from None
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


def _err(error: type[Exception], message: str, path: Path, line: int | None) -> Exception:
    try:
        return error(message, path=str(path), line=line)  # type: ignore[call-arg]
    except TypeError:
        return error(f"{path}" + (f":{line}" if line else "") + f": {message}")


def _build(node: yaml.Node, key: str, lines: dict[str, int]) -> Any:
    if key:
        lines[key] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        seen: dict[Any, int] = {}
        for knode, vnode in node.value:
            k = _scalar(knode)
            if k in seen:
                raise _DuplicateKey(k, knode.start_mark.line + 1, seen[k])
            seen[k] = knode.start_mark.line + 1
            child = f"{key}.{k}" if key else str(k)
            lines[child] = knode.start_mark.line + 1
            out[k] = _build(vnode, child, lines)
            lines[child] = knode.start_mark.line + 1  # the key's line, not its value's
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, f"{key}[{i}]", lines) for i, item in enumerate(node.value)]
    return _scalar(node)


_SCALARS = yaml.SafeLoader("")


def _scalar(node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return _SCALARS.construct_object(node, deep=True)
    # complex keys are not meaningful in hark files
    return str(node.value)
