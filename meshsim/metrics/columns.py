"""Append-only typed columns: 1 to 8 bytes a value instead of a Python object per cell."""

from __future__ import annotations

from array import array
from collections.abc import Callable
from typing import Any

import numpy as np


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


class Table:
    """A set of named typed columns filled row by row."""

    def __init__(self, schema: dict[str, str]) -> None:
        self.schema = schema
        self.columns = {name: array(code) for name, code in schema.items()}

    def __len__(self) -> int:
        first = next(iter(self.columns.values()))
        return len(first)

    def appenders(self) -> tuple[Callable[[Any], None], ...]:
        """Bound ``append`` methods in schema order, for the hot path."""
        return tuple(col.append for col in self.columns.values())

    def nbytes(self) -> int:
        return sum(col.itemsize * len(col) for col in self.columns.values())

    def to_numpy(self) -> dict[str, np.ndarray]:
        return {name: np.frombuffer(col, dtype=col.typecode).copy() if len(col) else
                np.zeros(0, dtype=col.typecode) for name, col in self.columns.items()}
