"""Turn frozen distribution specs into fast zero-argument samplers.

Draws come from numpy in blocks (:func:`blocks`), so the per-request cost is an index into
the current block, not a numpy call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import chain, repeat
from types import FunctionType
from typing import Any

import numpy as np

from meshsim.model import Constant, Distribution, Empirical, Exponential, Gamma, LogNormal
from meshsim.rng import Batched

Sampler = Callable[[], float]

# The first block of a stream whose draws go element by element (rng.Batched): most streams
# draw few values in a run, and a full first block is most of a short run's set-up.
FIRST_BLOCK = 64
BLOCK = 4096


def _compiled() -> bool:
    """This module runs compiled (a Cython function is not a Python ``FunctionType``)."""
    return not isinstance(_compiled, FunctionType)


COMPILED = _compiled()


def blocks(
    draw: Callable[[int], np.ndarray], first: int | None = FIRST_BLOCK, *,
    integers: bool = False,
) -> Callable[[], Any]:
    """:func:`meshsim.rng.Batched` (the same draws, blocks and generator state), each block
    kept as numpy drew it when compiled: :class:`FloatBlocks`, or :class:`U64Blocks` for
    ``integers`` (full-range unsigned 64-bit draws)."""
    if not COMPILED:
        return Batched(draw, BLOCK, first)  # a C chain over lists: the fastest interpreted
    return (U64Blocks if integers else FloatBlocks)(draw, block_sizes(first))


def block_sizes(first: int | None) -> Iterator[int]:
    """Batched's block sizes: ``first`` doubling up to :data:`BLOCK`, then :data:`BLOCK`."""
    if first is None or first >= BLOCK:
        return repeat(BLOCK)
    doubling = [first << k for k in range((BLOCK // first).bit_length()) if first << k < BLOCK]
    return chain(doubling, repeat(BLOCK))


class _Blocks:
    """What both typed streams share: the draw function, the block sizes and the position."""

    __slots__ = ("_draw", "_index", "_size", "_sizes")

    def __init__(self, draw: Callable[[int], np.ndarray], sizes: Iterator[int]) -> None:
        self._draw = draw
        self._sizes = sizes
        self._index = 0
        self._size = 0

    def __iter__(self) -> _Blocks:
        return self

    def _next_block(self) -> np.ndarray:
        """The next block from numpy; the position goes back to its start."""
        values = self._draw(next(self._sizes))
        self._size = len(values)
        self._index = 0
        return values


class FloatBlocks(_Blocks):
    """The compiled build's float stream: ``stream()`` or ``next(stream)`` is the next draw.

    A block stays the float64 array numpy drew: 8 bytes a draw, read in order. As a list
    (:func:`meshsim.rng.Batched`) each draw was a float object of its own, 32 bytes with its
    slot, all allocated when the block was drawn and read cold, one by one, later: a run
    keeps a stream per pod and proxy, and their blocks (up to 4,096 draws each) were megabytes.
    """

    __slots__ = ("_values",)

    def __init__(self, draw: Callable[[int], np.ndarray], sizes: Iterator[int]) -> None:
        super().__init__(draw, sizes)
        self._values = np.zeros(0)

    def __call__(self) -> float:
        return self.next_float()

    def __next__(self) -> float:
        return self.next_float()

    def next_float(self) -> float:
        if self._index == self._size:
            self._values = self._next_block()
        index = self._index
        self._index = index + 1
        return float(self._values[index])


class U64Blocks(_Blocks):
    """:class:`FloatBlocks` of unsigned 64-bit integers (Envoy's ``Random::random()``)."""

    __slots__ = ("_values",)

    def __init__(self, draw: Callable[[int], np.ndarray], sizes: Iterator[int]) -> None:
        super().__init__(draw, sizes)
        self._values = np.zeros(0, dtype=np.uint64)

    def __call__(self) -> int:
        return self.next_u64()

    def __next__(self) -> int:
        return self.next_u64()

    def next_u64(self) -> int:
        if self._index == self._size:
            self._values = self._next_block()
        index = self._index
        self._index = index + 1
        return int(self._values[index])


def sampler(dist: Distribution, rng: np.random.Generator) -> Sampler:
    """A callable returning one draw of ``dist`` (seconds) per call."""
    if isinstance(dist, Constant):
        value = float(dist.value)
        return lambda: value
    if isinstance(dist, Exponential):
        mean = float(dist.mean)
        return blocks(lambda n: rng.exponential(mean, n))
    if isinstance(dist, LogNormal):
        mu, sigma = dist.mu, dist.sigma
        return blocks(lambda n: rng.lognormal(mu, sigma, n))
    if isinstance(dist, Gamma):
        shape, scale = dist.shape, dist.scale
        return blocks(lambda n: rng.gamma(shape, scale, n))
    if isinstance(dist, Empirical):
        samples = np.asarray(dist.samples, dtype=float)
        # Bounded integers under 2**32 buffer 32-bit halves within a call: fixed blocks.
        return blocks(lambda n: rng.choice(samples, n), first=None)
    raise TypeError(f"unknown distribution {dist!r}")


def uniform(rng: np.random.Generator) -> Sampler:
    """Uniform [0, 1) draws, for probability rolls."""
    return blocks(rng.random)


def random64(rng: np.random.Generator) -> Callable[[], int]:
    """Full-range unsigned 64-bit integers, like Envoy's ``Random::random()``.

    From a PCG64 stream (every :class:`meshsim.rng.Streams` one) the bit generator's raw
    output: full-range ``integers(0, 2**64, dtype=uint64)`` returns exactly those values and
    leaves the same state, but its argument handling is most of a block's cost (a 64-value
    block: 1.6 µs against 6.5 µs), and the balancers draw two per pick."""
    bits = rng.bit_generator
    if isinstance(bits, np.random.PCG64):
        return blocks(bits.random_raw, integers=True)
    return blocks(lambda n: rng.integers(0, 2**64, n, dtype=np.uint64), integers=True)
