"""What a catalog is: ``Entry``, the values ``Resolver.from_values`` takes (checked by ``catalog_columns``) and
``EntryColumns``, the entries kept column by column (reads like a list of ``Entry``)."""
from __future__ import annotations

import math
from collections.abc import Sequence as SequenceABC
from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np

from .packed import PackedStrings

__all__ = ["Entry", "EntryColumns", "catalog_columns"]


@dataclass(frozen=True)
class Entry:
    """One catalog entry."""

    name: str
    id: Any = None
    #: popularity (play count, rating count...): > 0, relative values matter; 1.0 when not given
    popularity: float = 1.0


def catalog_columns(values: Iterable[Any]) -> tuple[list[str], list[Any] | None, np.ndarray | None]:
    """(names, ids or None when no entry has one, popularity or None when every entry has 1.0), validated."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise ValueError(f"catalog values must be an iterable of names, (id, name) or (id, name, popularity), "
                         f"got {type(values).__name__}")
    names: list[str] = []
    ids: list[Any] = []
    pops: list[float] = []
    for i, item in enumerate(values):
        popularity: Any = 1.0
        if isinstance(item, str):
            ident, name = None, item
        elif isinstance(item, Entry):
            ident, name, popularity = item.id, item.name, item.popularity
        elif isinstance(item, (tuple, list)) and len(item) in (2, 3):
            ident, name = item[0], item[1]
            if len(item) == 3:
                popularity = item[2]
        else:
            raise ValueError(f"catalog entry {i}: expected a name, (id, name) or (id, name, popularity), "
                             f"got {type(item).__name__} {item!r:.60}")
        if not isinstance(name, str):
            raise ValueError(f"catalog entry {i}: the name must be a string, got {type(name).__name__} {name!r:.60}")
        if (isinstance(popularity, bool) or not isinstance(popularity, (int, float))
                or not math.isfinite(popularity) or popularity <= 0):
            raise ValueError(f"catalog entry {i} ({name!r}): popularity must be a positive number, "
                             f"got {popularity!r}")
        names.append(name)
        ids.append(ident)
        pops.append(float(popularity))
    if not names:
        raise ValueError("catalog is empty: give at least one value")
    has_ids = any(ident is not None for ident in ids)
    has_pops = any(p != 1.0 for p in pops)
    return names, ids if has_ids else None, np.array(pops, dtype=np.float64) if has_pops else None


class EntryColumns(SequenceABC):
    """The catalog's entries, column by column: names packed, ids and popularity kept only when given. Reads like
    a list of ``Entry``; a 1M-entry catalog costs tens of MB instead of an object per entry."""

    def __init__(self, names: PackedStrings, ids: list[Any] | None, popularity: np.ndarray | None):
        self.names = names
        self.ids = ids
        self.popularity = popularity

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = int(i)
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"entry {i} of a catalog of {len(self)}")
        return Entry(self.names[i], None if self.ids is None else self.ids[i],
                     1.0 if self.popularity is None else float(self.popularity[i]))
