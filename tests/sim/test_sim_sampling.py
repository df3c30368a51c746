"""meshsim/sim/sampling.py: the samplers draw what their numpy calls would, block by block."""

from __future__ import annotations

import numpy as np

from meshsim.rng import Batched, Streams
from meshsim.sim.sampling import FloatBlocks, U64Blocks, block_sizes, blocks, random64


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


def test_blocks_draw_what_batched_draws_value_for_value_and_type() -> None:
    # 10,000 draws span every block size (64 doubling to 4,096); the generator is left in the
    # same state. In the compiled build these are typed blocks, in the pure build Batched.
    for first in (64, None):
        fast, slow = Streams(9).get("service/a"), Streams(9).get("service/a")
        draw = blocks(lambda n, rng=fast: rng.exponential(2.0, n), first)
        reference = Batched(lambda n, rng=slow: rng.exponential(2.0, n), 4096, first)
        got = [draw() for _ in range(10_000)]
        assert got == [reference() for _ in range(10_000)]
        assert {type(value) for value in got} == {float}
        assert fast.random() == slow.random()


def test_typed_blocks_take_turns_between_call_and_next() -> None:
    # Both classes, in either build: ``stream()`` and ``next(stream)`` draw from one sequence.
    floats = FloatBlocks(Streams(3).get("x").random, block_sizes(64))
    integers = U64Blocks(Streams(3).get("y").bit_generator.random_raw, block_sizes(64))
    reference_f = Batched(Streams(3).get("x").random, 4096, 64)
    reference_u = Batched(Streams(3).get("y").bit_generator.random_raw, 4096, 64)
    got_f = [next(floats) if i % 3 else floats() for i in range(500)]
    got_u = [next(integers) if i % 3 else integers() for i in range(500)]
    assert got_f == [reference_f() for _ in range(500)]
    assert got_u == [reference_u() for _ in range(500)]
    assert {type(value) for value in got_u} == {int} and max(got_u) >= 2**63
