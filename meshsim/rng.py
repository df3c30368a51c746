"""Named random streams derived from one root seed.

Each stream is keyed by a stable name (``"service/ratings"``, ``"arrivals/users"``), so adding a
feature or a service never shifts another stream's draws. No module-level random state.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from itertools import chain, repeat
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


def Batched(draw: Callable[..., Any], block: int = 4096) -> Callable[[], Any]:
    """Draws from a generator in blocks, so the hot path pays one numpy call per 4096 draws.

    Returns a zero-argument callable: the ``__next__`` of a C-level chain over each block's
    list, so a draw costs a C call and no Python frame. A block is drawn when its first value
    is needed (``chain`` asks for the next block only when the current one is used up), so the
    draws (and the generator's state) are the same as drawing one by one in blocks on demand.
    """
    blocks = map(lambda _: draw(block).tolist(), repeat(None))
    return chain.from_iterable(blocks).__next__
