"""Named streams and block draws: the same values, in the same order, only when needed."""

from __future__ import annotations

import numpy as np

from meshsim.rng import Batched, Streams


def test_block_draws_equal_drawing_block_by_block_on_demand() -> None:
    batched = Batched(Streams(5).get("s").random, block=7)
    direct = Streams(5).get("s")
    expected = [*direct.random(7).tolist(), *direct.random(7).tolist(), *direct.random(7)]
    assert [batched() for _ in range(21)] == expected


def test_a_block_is_drawn_only_when_its_first_value_is_needed() -> None:
    gen = Streams(5).get("s")
    blocks: list[int] = []

    def draw(n: int) -> np.ndarray:
        blocks.append(n)
        return gen.random(n)

    batched = Batched(draw, block=4)
    assert blocks == []
    for _ in range(4):
        batched()
    assert blocks == [4]
    batched()
    assert blocks == [4, 4]


def test_first_blocks_double_up_to_the_block_size() -> None:
    gen = Streams(5).get("s")
    blocks: list[int] = []

    def draw(n: int) -> np.ndarray:
        blocks.append(n)
        return gen.random(n)

    batched = Batched(draw, block=16, first=3)
    for _ in range(3 + 6 + 12 + 16 + 1):
        batched()
    assert blocks == [3, 6, 12, 16, 16]


def test_growing_blocks_draw_what_full_blocks_draw_for_the_samplers_that_use_them() -> None:
    # Each sampler given ``first`` (meshsim/sim/sampling.py) draws element by element, so
    # how the stream is cut into calls must not matter; 5,000 values span both block sizes.
    draws = {
        "exponential": lambda g, n: g.exponential(0.003, n),
        "lognormal": lambda g, n: g.lognormal(-5.0, 1.2, n),
        "gamma": lambda g, n: g.gamma(0.7, 0.01, n),
        "random": lambda g, n: g.random(n),
        "random64": lambda g, n: g.integers(0, 2**64, n, dtype=np.uint64),
    }
    for name, draw in draws.items():
        full, growing = Streams(11).get(name), Streams(11).get(name)
        a = Batched(lambda n, g=full, d=draw: d(g, n))
        b = Batched(lambda n, g=growing, d=draw: d(g, n), first=64)
        assert [a() for _ in range(5000)] == [b() for _ in range(5000)], name


def test_streams_are_independent_of_the_names_asked_before() -> None:
    one, two = Streams(9), Streams(9)
    two.get("other").random(100)
    assert one.get("service/api").random() == two.get("service/api").random()
