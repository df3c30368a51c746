"""Peak-EWMA's whole nanoseconds (sim/linkerd/ewma.py): held in floats, rounded half to even
in float arithmetic, they must be exactly what ``round(seconds * 1e9)`` gives."""

from __future__ import annotations

import random

import pytest

from meshsim.sim.linkerd.ewma import _ns

NS = 1_000_000_000


@pytest.mark.parametrize("seconds", [
    0.0, -0.0, 1e-9, 0.5e-9, 1.5e-9, 2.5e-9, -2.5e-9, 0.030, 10.0, 0.1 + 0.2, 123.4567891235,
    2.0**52 / NS - 0.5e-9, 2.0**52 / NS, 2.0**53 / NS + 1.0, 1e9, -7.25,
])
def test_whole_nanoseconds_round_half_to_even_as_round_does(seconds: float) -> None:
    assert _ns(seconds) == round(seconds * NS)
    assert isinstance(_ns(seconds), float)


def test_whole_nanoseconds_of_many_times() -> None:
    draw = random.Random(12)
    times = [draw.uniform(0.0, 1e5) for _ in range(20_000)]
    times += [(k + 0.5) / NS for k in range(5_000)]  # exact ties and their neighbours
    assert all(_ns(t) == round(t * NS) for t in times)
