"""meshsim/sim/sampling.py: the samplers draw what their numpy calls would, block by block."""

from __future__ import annotations

import numpy as np

from meshsim.rng import Batched, Streams
from meshsim.sim.sampling import random64


def test_random64_draws_the_full_range_integers_of_its_stream() -> None:
    # PCG64's raw output stands in for integers(0, 2**64, dtype=uint64): the same values
    # (10,000 of them span every block size) and the generator left in the same state.
    fast, slow = Streams(5).get("envoy/a"), Streams(5).get("envoy/a")
    draw = random64(fast)
    reference = Batched(lambda n: slow.integers(0, 2**64, n, dtype=np.uint64), first=64)
    assert [draw() for _ in range(10_000)] == [reference() for _ in range(10_000)]
    assert fast.random() == slow.random()


def test_random64_of_another_bit_generator_keeps_integers() -> None:
    # MT19937's raw output is 32 bits wide: there, only integers() gives 64-bit values.
    draw = random64(np.random.Generator(np.random.MT19937(3)))
    expected = np.random.Generator(np.random.MT19937(3)).integers(
        0, 2**64, 64, dtype=np.uint64).tolist()
    assert [draw() for _ in range(64)] == expected
    assert max(expected) >= 2**32
