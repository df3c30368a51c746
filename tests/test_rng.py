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


def test_streams_are_independent_of_the_names_asked_before() -> None:
    one, two = Streams(9), Streams(9)
    two.get("other").random(100)
    assert one.get("service/api").random() == two.get("service/api").random()
