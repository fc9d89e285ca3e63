"""Slot values: list values with synonyms and CSV catalogs of named entities (exact lookup, fuzzy fallback)."""
from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from .errors import SkillError
from .text import normalize

__all__ = ["SlotMatch", "ListValue", "CatalogEntry", "Catalog"]

# ---------------------------------------------------------------------------------------------- slot values


@dataclass(frozen=True)
class SlotMatch:
    """A way to read some words as a slot value."""

    value: Any
    entity_id: str | None = None
    #: how sure the slot type is about this reading, in [0, 1] (exact catalog match 1.0, fuzzy less)
    score: float = 1.0


@dataclass(frozen=True)
class ListValue:
    value: str
    id: str
    synonyms: tuple[str, ...] = ()


@dataclass(frozen=True)
class CatalogEntry:
    id: str
    name: str
    aliases: tuple[str, ...] = ()
    #: relative popularity prior (>= 0), from an optional weight column
    weight: float = 1.0


_ARTICLES = ("the ", "a ", "an ")


class Catalog:
    """Named entities of one slot: exact lookup on normalised names and aliases, fuzzy fallback (rapidfuzz)."""

    def __init__(self, entries: Iterable[CatalogEntry], *, name: str = "", fuzzy_cutoff: float = 86.0):
        self.name = name
        self.entries: tuple[CatalogEntry, ...] = tuple(entries)
        self.fuzzy_cutoff = fuzzy_cutoff
        self._exact: dict[str, list[int]] = {}
        for i, entry in enumerate(self.entries):
            for form in (entry.name, *entry.aliases):
                for key in self._keys(normalize(form)):
                    bucket = self._exact.setdefault(key, [])
                    if i not in bucket:
                        bucket.append(i)
        self._choices = list(self._exact)
        self.lookup = lru_cache(maxsize=4096)(self._lookup)  # the matcher asks about the same spans repeatedly

    @staticmethod
    def _keys(norm: str) -> list[str]:
        keys = [norm] if norm else []
        for article in _ARTICLES:  # "play matrix" finds "The Matrix"
            if norm.startswith(article) and len(norm) > len(article):
                keys.append(norm[len(article):])
        return keys

    def __len__(self) -> int:
        return len(self.entries)

    def exact(self, text: str) -> tuple[SlotMatch, ...]:
        """The entries whose name or alias is exactly ``text`` (normalised, a leading article optional)."""
        hits = self._exact.get(normalize(text)) or ()
        return tuple(SlotMatch(self.entries[i].name, self.entries[i].id, 1.0) for i in hits)

    def _lookup(self, text: str, limit: int = 5) -> tuple[SlotMatch, ...]:
        norm = normalize(text)
        if not norm:
            return ()
        hits = self._exact.get(norm)
        if hits:
            return tuple(SlotMatch(self.entries[i].name, self.entries[i].id, 1.0) for i in hits[:limit])
        from rapidfuzz import fuzz, process

        found = process.extract(norm, self._choices, scorer=fuzz.ratio, limit=limit, score_cutoff=self.fuzzy_cutoff)
        out: list[SlotMatch] = []
        seen: set[str] = set()
        for key, score, _ in found:
            for i in self._exact[key]:
                entry = self.entries[i]
                if entry.id not in seen:
                    seen.add(entry.id)
                    # fuzzy matches stay below exact ones: 86 -> 0.72, 100 -> 0.95
                    out.append(SlotMatch(entry.name, entry.id, round(0.95 - (100 - score) * 0.0164, 4)))
        return tuple(out[:limit])

    @classmethod
    def from_csv(cls, path: Path, *, column: str | None = None, id_column: str | None = None,
                 aliases_column: str | None = None, weight_column: str | None = None,
                 skill_file: Path | None = None, key: str = "", line: int | None = None) -> "Catalog":
        """Read a catalog CSV; errors name the skill file, line and ``<key>.file`` / ``<key>.<option>``."""
        where = dict(path=str(skill_file or path), key=f"{key}.file" if key else None, line=line)
        try:
            with open(path, newline="", encoding="utf-8") as fh:
                rows = list(csv.DictReader(fh))
                header = rows[0].keys() if rows else []
        except FileNotFoundError:
            raise SkillError(f"catalog file not found: {path}", **where) from None
        except (UnicodeDecodeError, csv.Error) as exc:
            raise SkillError(f"cannot read catalog {path}: {exc}", **where) from None
        if not rows:
            raise SkillError(f"catalog {path} has no rows", **where)
        column = column or next(iter(header))
        for label, col in (("column", column), ("id", id_column), ("aliases", aliases_column),
                           ("weight", weight_column)):
            if col and col not in header:
                raise SkillError(f"{label} {col!r} is not a column of {path.name} (columns: {', '.join(header)})",
                                 **{**where, "key": f"{key}.{label}" if key else None})
        entries = []
        for i, row in enumerate(rows):
            name = (row.get(column) or "").strip()
            if not name:
                continue
            aliases = tuple(a.strip() for a in (row.get(aliases_column) or "").split("|") if a.strip()) \
                if aliases_column else ()
            weight = 1.0
            if weight_column and (row.get(weight_column) or "").strip():
                try:
                    weight = float(row[weight_column])
                except ValueError:
                    raise SkillError(f"{path.name} row {i + 2}: weight {row[weight_column]!r} is not a number",
                                     **where) from None
            entry_id = (row.get(id_column) or "").strip() if id_column else str(i + 1)
            entries.append(CatalogEntry(entry_id or str(i + 1), name, aliases, weight))
        return cls(entries, name=path.stem)
