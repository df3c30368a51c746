"""Named random streams derived from one root seed.

Each stream is keyed by a stable name (``"service/ratings"``, ``"arrivals/users"``), so adding a
feature or a service never shifts another stream's draws. No module-level random state.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable
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


def Batched(
    draw: Callable[..., Any], block: int = 4096, first: int | None = None,
) -> Callable[[], Any]:
    """Draws from a generator in blocks, so the hot path pays one numpy call per 4096 draws.

    Returns a zero-argument callable: the ``__next__`` of a C-level chain over each block's
    list, so a draw costs a C call and no Python frame. A block is drawn when its first value
    is needed (``chain`` asks for the next block only when the current one is used up), so the
    draws (and the generator's state) are the same as drawing one by one in blocks on demand.

    ``first``: the first block's size, doubling up to ``block``. A run has a hundred-odd
    streams and many draw only a few values; a 4096-value first block each cost some 20 ms a
    run. Only for a ``draw`` whose values do not depend on how the stream is cut into calls
    (numpy draws element by element, except bounded integers narrower than 64 bits, which
    buffer 32-bit halves within one call): :func:`meshsim.sim.sampling` says which.
    """
    sizes: Iterable[int] = repeat(block)
    if first is not None and first < block:
        doubling = [first << k for k in range((block // first).bit_length()) if first << k < block]
        sizes = chain(doubling, sizes)
    blocks = map(lambda n: draw(n).tolist(), sizes)
    return chain.from_iterable(blocks).__next__
