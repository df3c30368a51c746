"""Append-only typed columns: 1 to 8 bytes a value instead of a Python object per cell."""

from __future__ import annotations

import struct
from array import array
from bisect import bisect_left
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from meshsim.metrics.rows import Rows

# Rows held packed before they move into the typed columns and to the sinks. Each block pays
# a fixed cost in the online aggregates' numpy calls (about 1 ms): 16,384 rows make it a
# quarter of what 4,096 did (the one-pod benchmark +14 %), for 1 MB of pending rows per table.
CHUNK = 16384


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


Fold = Callable[[str, dict[str, np.ndarray]], None]  # (table name, block of columns)


class Table:
    """A set of named typed columns filled row by row.

    The hot path packs a whole row into bytes (:attr:`pack`, one C call, no Python object per
    cell) and appends them to :attr:`pending`; every :data:`CHUNK` rows the packed block
    moves into the typed columns through one numpy view. A table given :attr:`rows` (the
    compiled recorder's) is filled through them instead, a C store per cell, and its block
    moves the same way after the same rows. Readers see every row: :attr:`columns` flushes
    first.

    A streaming run hands each flushed block to :attr:`folds` (the chunk sinks) and keeps
    only what :meth:`keep_window` asks for, so memory does not grow with the run: ``len``
    and :attr:`total` still count every row.
    """

    def __init__(self, schema: dict[str, str], name: str = "",
                 rows: Callable[[int], Rows] | None = None) -> None:
        # The block of CHUNK rows the compiled recorder fills, made by the writer class
        # ``rows`` (None: rows are packed); ``Any``: its ``put`` takes this table's columns,
        # which the base class cannot spell.
        self.rows: Any = None if rows is None else rows(CHUNK)
        if self.rows is not None and list(self.rows.block) != list(schema):
            raise RuntimeError("the block writer's columns are not the table's")
        self.schema = schema
        self.name = name  # the table name chunk sinks receive
        self.folds: list[Fold] = []
        self.keep = True  # hold every row (False: only the window below)
        self.horizon = 0.0  # the window: rows ending within this of the latest end
        self.only: np.ndarray | None = None  # the window's rows: these ``service`` codes only
        self.total = 0  # rows flushed so far
        self.dropped = 0  # rows let go from the front: a held row's index + this is stable
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
        if self.rows is not None:
            if self.rows.put(*values):
                self.flush()
            return
        self.pending += self.pack(*values)
        if len(self.pending) >= self.chunk_bytes:
            self.flush()

    def stream(self, folds: Sequence[Fold], *, keep: bool) -> None:
        """Hand every flushed block to ``folds``; hold the rows too only if ``keep``."""
        self.folds = list(folds)
        self.keep = keep

    def keep_window(self, horizon: float, services: Sequence[int] | None = None) -> None:
        """When rows are not kept, still hold those ending within ``horizon`` seconds of the
        latest one (of ``services`` only, if given): what live queries read."""
        self.horizon = max(self.horizon, horizon)
        self.only = None if services is None else np.asarray(sorted(services), dtype=np.int64)

    def flush(self) -> None:
        """Move the pending rows to the sinks and into the typed columns (or the window)."""
        n = self.rows.filled if self.rows is not None else len(self.pending) // self.row_size
        if not n:
            return
        self.total += n
        if not (self.folds or self.keep or self.horizon > 0):  # nothing wants them
            if self.rows is not None:
                self.rows.filled = 0
            else:
                self.pending.clear()
            self.dropped += n
            return
        columns = self._take()
        if self.keep:
            self._append(columns)
        elif self.horizon > 0:
            self._append_window(columns)
        else:
            self.dropped += n
        for fold in self.folds:
            fold(self.name, columns)

    def _take(self) -> dict[str, np.ndarray]:
        """The waiting rows as columns, each its own contiguous copy (the typed columns copy
        from it, and every sink gets it as its own array, never a view of a buffer that is
        refilled); the block or the packed bytes empty."""
        return self.rows.take() if self.rows is not None else self._unpack()

    def _unpack(self) -> dict[str, np.ndarray]:
        """The packed rows as columns; ``pending`` empties."""
        # A copy first: no view of the growing buffer (which sinks, or samplers such as
        # Dask's profiler holding their frames, might keep) ever pins it (BufferError).
        data = bytes(self.pending)
        self.pending.clear()
        block = np.frombuffer(data, dtype=self._dtype)
        return {name: np.ascontiguousarray(block[name]) for name in self.schema}

    def _append(self, columns: dict[str, np.ndarray]) -> None:
        for name, col in self._columns.items():
            col.frombytes(columns[name].data.cast("B"))  # its bytes, no copy

    def _append_window(self, columns: dict[str, np.ndarray]) -> None:
        if self.only is not None:
            keep = np.isin(columns["service"], self.only)
            columns = {name: values[keep] for name, values in columns.items()}
        self._append(columns)
        end = self._columns["end"]
        if not len(end):
            return
        cut = bisect_left(end, end[-1] - self.horizon)  # rows arrive in end-time order
        if cut:
            for col in self._columns.values():
                del col[:cut]
            self.dropped += cut

    @property
    def columns(self) -> dict[str, array[int]]:
        self.flush()
        return self._columns

    def __len__(self) -> int:
        """Rows recorded so far, held or not."""
        filled = self.rows.filled if self.rows is not None else 0
        return self.total + len(self.pending) // self.row_size + filled

    def nbytes(self) -> int:
        return sum(col.itemsize * len(col) for col in self.columns.values())

    def to_numpy(self) -> dict[str, np.ndarray]:
        return {name: np.frombuffer(col, dtype=col.typecode).copy() if len(col) else
                np.zeros(0, dtype=col.typecode) for name, col in self.columns.items()}
