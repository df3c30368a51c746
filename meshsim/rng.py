"""Named random streams derived from one root seed.

Each stream is keyed by a stable name (``"service/ratings"``, ``"arrivals/users"``), so adding a
feature or a service never shifts another stream's draws. No module-level random state.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np


class Streams:
    """Factory of independent ``numpy.random.Generator`` objects, one per name."""

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)
        self._cache: dict[str, np.random.Generator] = {}

    def get(self, name: str) -> np.random.Generator:
        """The generator for ``name``; the same object on every call within a run."""
        gen = self._cache.get(name)
        if gen is None:
            key = zlib.crc32(name.encode("utf-8"))
            seq = np.random.SeedSequence(entropy=self.seed, spawn_key=(key,))
            gen = np.random.Generator(np.random.PCG64(seq))
            self._cache[name] = gen
        return gen


class Batched:
    """Draws from a generator in blocks, so the hot path pays one numpy call per 4096 draws."""

    __slots__ = ("_buf", "_draw", "_i", "_n")

    def __init__(self, draw: object, block: int = 4096) -> None:
        self._draw = draw  # callable(size) -> ndarray
        self._n = block
        self._buf: list[float] = []
        self._i = 0

    def __call__(self) -> Any:
        i = self._i
        if i >= len(self._buf):
            self._buf = self._draw(self._n).tolist()  # type: ignore[operator]
            i = 0
        self._i = i + 1
        return self._buf[i]
