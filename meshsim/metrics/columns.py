"""Append-only typed columns: 1 to 8 bytes a value instead of a Python object per cell."""

from __future__ import annotations

import struct
from array import array
from collections.abc import Callable
from typing import Any

import numpy as np

from meshsim.metrics.sinks import ChunkSink

CHUNK = 4096  # rows held packed before they move into the typed columns


class Interner:
    """Strings to small integer codes; the engine records codes, results decode them once."""

    def __init__(self) -> None:
        self.names: list[str] = [""]
        self._codes: dict[str, int] = {"": 0}

    def __call__(self, name: str | None) -> int:
        if name is None:
            return 0
        code = self._codes.get(name)
        if code is None:
            code = len(self.names)
            self._codes[name] = code
            self.names.append(name)
        return code

    def code_of(self, name: str) -> int | None:
        """The code of ``name`` if it was interned, without interning it."""
        return self._codes.get(name)


class Table:
    """A set of named typed columns filled row by row.

    The hot path packs a whole row into bytes (:attr:`pack`, one C call, no Python object per
    cell) and appends them to :attr:`pending`; every :data:`CHUNK` rows the packed block
    moves into the typed columns through one numpy view. Readers see every row:
    :attr:`columns` flushes first.
    """

    def __init__(self, schema: dict[str, str], name: str = "") -> None:
        self.schema = schema
        self.name = name  # the table name chunk sinks receive
        self.sinks: list[ChunkSink] = []  # each flushed block is folded into these
        self._columns: dict[str, array[int]] = {name: array(code) for name, code in schema.items()}
        row = struct.Struct("=" + "".join(schema.values()))  # standard sizes, no padding
        sizes = [struct.calcsize("=" + code) for code in schema.values()]
        if sizes != [col.itemsize for col in self._columns.values()]:
            raise RuntimeError("typed columns and packed rows disagree on sizes")
        self.pack: Callable[..., bytes] = row.pack  # values in schema order -> one row
        self.row_size = row.size
        self.chunk_bytes = CHUNK * row.size  # flush when pending reaches this
        self.pending = bytearray()  # packed rows not yet in the columns
        self._dtype = np.dtype([(name, "=" + code) for name, code in schema.items()])

    def add(self, *values: Any) -> None:
        """Append one row (values in schema order)."""
        self.pending += self.pack(*values)
        if len(self.pending) >= self.chunk_bytes:
            self.flush()

    def flush(self) -> None:
        """Move the pending rows into the typed columns."""
        if self.pending:
            # A copy: the block's arrays (which sinks and, through their frames, samplers
            # such as Dask's profiler may still hold) never pin the growing buffer.
            data = bytes(self.pending)
            self.pending.clear()
            block = np.frombuffer(data, dtype=self._dtype)
            for name, col in self._columns.items():
                col.frombytes(block[name].tobytes())
            if self.sinks:
                columns = {name: block[name] for name in self.schema}
                for sink in self.sinks:
                    sink.fold(self.name, columns)

    @property
    def columns(self) -> dict[str, array[int]]:
        self.flush()
        return self._columns

    def __len__(self) -> int:
        first = next(iter(self._columns.values()))
        return len(first) + len(self.pending) // self.row_size

    def nbytes(self) -> int:
        return sum(col.itemsize * len(col) for col in self.columns.values())

    def to_numpy(self) -> dict[str, np.ndarray]:
        return {name: np.frombuffer(col, dtype=col.typecode).copy() if len(col) else
                np.zeros(0, dtype=col.typecode) for name, col in self.columns.items()}
