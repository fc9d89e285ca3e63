"""Column storage that stays small at a million catalog entries: many strings as one UTF-8 buffer
(``PackedStrings``) and many sparse vectors as their non-zeros (``SparseRows``), where a Python object per entry
would cost more than the index itself.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

__all__ = ["PackedStrings", "SparseRows"]


class PackedStrings:
    """Many strings as one UTF-8 buffer and an offsets array: a byte or so a character, where a list of str costs
    ~50 bytes of object header per string (100k names: 2-3 MB instead of 8)."""

    def __init__(self, data: bytes, offsets: np.ndarray):
        self.data = data
        self.offsets = offsets

    @classmethod
    def pack(cls, strings: Sequence[str]) -> PackedStrings:
        encoded = [s.encode("utf-8", "surrogatepass") for s in strings]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(b) for b in encoded], out=offsets[1:])
        return cls(b"".join(encoded), offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> str:
        return self.data[self.offsets[i]:self.offsets[i + 1]].decode("utf-8", "surrogatepass")

    def take(self, ids: np.ndarray) -> list[str]:
        data = self.data
        return [data[a:b].decode("utf-8", "surrogatepass")
                for a, b in zip(self.offsets[ids].tolist(), self.offsets[ids + 1].tolist())]

    def empty(self) -> np.ndarray:
        """Indices of the empty strings."""
        return np.flatnonzero(np.diff(self.offsets) == 0)


class SparseRows:
    """A channel's exact vectors for every entry, kept as their non-zeros: a column (uint16) and a float32 value per
    non-zero, and each entry's offset. Hashed n-gram vectors are ~95 % zeros, so this is ~6 % of the dense floats;
    ``dense`` gives back the rows bit for bit (the cosines are then the same matrix product as before)."""

    def __init__(self, dim: int, columns: np.ndarray, values: np.ndarray, offsets: np.ndarray):
        self.dim = dim
        self.columns = columns
        self.values = values
        self.offsets = offsets

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @classmethod
    def of(cls, dense: np.ndarray) -> SparseRows:
        """The non-zeros of dense [rows, dim] float32 vectors."""
        rows, cols = np.nonzero(dense)  # row-major: each row's non-zeros by column
        offsets = np.zeros(len(dense) + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=len(dense)), out=offsets[1:])
        return cls(dense.shape[1], cols.astype(np.uint16), dense[rows, cols], offsets)

    @classmethod
    def join(cls, parts: Sequence[SparseRows], dim: int) -> SparseRows:
        """The rows of ``parts``, one after the other."""
        offsets = [np.zeros(1, dtype=np.int64)]
        base = 0
        for part in parts:
            offsets.append(part.offsets[1:] + base)
            base += int(part.offsets[-1])
        return cls(dim, np.concatenate([p.columns for p in parts] or [np.zeros(0, np.uint16)]),
                   np.concatenate([p.values for p in parts] or [np.zeros(0, np.float32)]), np.concatenate(offsets))

    def dense(self, ids: np.ndarray) -> np.ndarray:
        """[len(ids), dim] float32: the rows of entries ``ids``."""
        ids = np.asarray(ids, dtype=np.int64)
        starts = self.offsets[ids]
        lengths = self.offsets[ids + 1] - starts
        ends = np.cumsum(lengths)
        out = np.zeros((len(ids), self.dim), dtype=np.float32)
        if len(ids) and ends[-1]:
            pos = np.arange(int(ends[-1])) + np.repeat(starts - ends + lengths, lengths)  # each row's non-zeros
            flat = np.repeat(np.arange(0, len(ids) * self.dim, self.dim), lengths) + self.columns[pos]
            out.reshape(-1)[flat] = self.values[pos]
        return out

    def arrays(self) -> dict[str, np.ndarray]:
        return {"dim": np.array(self.dim), "columns": self.columns, "values": self.values, "offsets": self.offsets}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], n: int) -> SparseRows | None:
        """The rows saved by ``arrays``, or None when they do not fit a catalog of ``n`` entries."""
        rows = cls(int(arrays["dim"]), arrays["columns"], arrays["values"], arrays["offsets"])
        if (len(rows) != n or rows.columns.dtype != np.uint16 or rows.values.dtype != np.float32
                or len(rows.columns) != len(rows.values) or int(rows.offsets[-1]) != len(rows.values)
                or int(rows.columns.max(initial=0)) >= rows.dim):
            return None
        return rows
