"""Turn frozen distribution specs into fast zero-argument samplers.

Draws come from numpy in blocks (:class:`meshsim.rng.Batched`), so the per-request cost is a
list index, not a numpy call.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from meshsim.model import Constant, Distribution, Empirical, Exponential, Gamma, LogNormal
from meshsim.rng import Batched

Sampler = Callable[[], float]

# The first block of a stream whose draws go element by element (rng.Batched): most streams
# draw few values in a run, and a full first block is most of a short run's set-up.
FIRST_BLOCK = 64


def sampler(dist: Distribution, rng: np.random.Generator) -> Sampler:
    """A callable returning one draw of ``dist`` (seconds) per call."""
    if isinstance(dist, Constant):
        value = float(dist.value)
        return lambda: value
    if isinstance(dist, Exponential):
        mean = float(dist.mean)
        return Batched(lambda n: rng.exponential(mean, n), first=FIRST_BLOCK)
    if isinstance(dist, LogNormal):
        mu, sigma = dist.mu, dist.sigma
        return Batched(lambda n: rng.lognormal(mu, sigma, n), first=FIRST_BLOCK)
    if isinstance(dist, Gamma):
        shape, scale = dist.shape, dist.scale
        return Batched(lambda n: rng.gamma(shape, scale, n), first=FIRST_BLOCK)
    if isinstance(dist, Empirical):
        samples = np.asarray(dist.samples, dtype=float)
        # Bounded integers under 2**32 buffer 32-bit halves within a call: fixed blocks.
        return Batched(lambda n: rng.choice(samples, n))
    raise TypeError(f"unknown distribution {dist!r}")


def uniform(rng: np.random.Generator) -> Sampler:
    """Uniform [0, 1) draws, for probability rolls."""
    return Batched(rng.random, first=FIRST_BLOCK)


def random64(rng: np.random.Generator) -> Callable[[], int]:
    """Full-range unsigned 64-bit integers, like Envoy's ``Random::random()``.

    From a PCG64 stream (every :class:`meshsim.rng.Streams` one) the bit generator's raw
    output: full-range ``integers(0, 2**64, dtype=uint64)`` returns exactly those values and
    leaves the same state, but its argument handling is most of a block's cost (a 64-value
    block: 1.6 µs against 6.5 µs), and the balancers draw two per pick."""
    bits = rng.bit_generator
    if isinstance(bits, np.random.PCG64):
        return Batched(bits.random_raw, first=FIRST_BLOCK)
    return Batched(lambda n: rng.integers(0, 2**64, n, dtype=np.uint64), first=FIRST_BLOCK)
