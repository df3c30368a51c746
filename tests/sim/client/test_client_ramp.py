"""Linear ramps between schedule points: the arrival curve and its inversion."""

from __future__ import annotations

import numpy as np
import pytest

from meshsim.model import RateStep
from meshsim.sim.client.ramp import INF, RateCurve

# 10/s at 0 s climbing to 110/s at 10 s, held until 20 s, then off: ∫ = 600 + 1100 = 1700
RAMP = (RateStep(0.0, 10.0), RateStep(10.0, 110.0, ramp=True), RateStep(20.0, 0.0))


def arrivals(curve: RateCurve, needs: np.ndarray) -> np.ndarray:
    t, times = 0.0, []
    for need in needs:
        t = curve.next_arrival(t, float(need))
        if t == INF:
            break
        times.append(t)
    return np.array(times)


def test_the_rate_climbs_linearly_then_steps() -> None:
    curve = RateCurve(RAMP)
    assert curve.rate(0.0) == 10.0
    assert curve.rate(5.0) == pytest.approx(60.0)
    assert curve.rate(15.0) == 110.0
    assert curve.rate(25.0) == 0.0


def test_constant_arrivals_cross_every_unit_of_the_integral() -> None:
    times = arrivals(RateCurve(RAMP), np.ones(5000))
    assert len(times) == 1700
    # the k-th arrival in the ramp sits where 10 t + 5 t² = k
    k = np.arange(1, 101)
    assert times[:100] == pytest.approx((-10 + np.sqrt(100 + 20 * k)) / 10)


def test_poisson_arrivals_follow_the_ramp() -> None:
    rng = np.random.default_rng(7)
    counts = [len(arrivals(RateCurve(RAMP), rng.exponential(1.0, 5000))) for _ in range(20)]
    assert np.mean(counts) == pytest.approx(1700, rel=0.02)
    times = arrivals(RateCurve(RAMP), rng.exponential(1.0, 5000))
    first_half = np.sum(times < 5.0)  # ∫0^5 (10 + 10 t) dt = 175
    assert first_half == pytest.approx(175, abs=4 * np.sqrt(175))


def test_a_ramp_down_and_a_first_ramp_from_zero() -> None:
    curve = RateCurve((RateStep(10.0, 100.0, ramp=True), RateStep(20.0, 0.0, ramp=True)))
    assert curve.rate(5.0) == pytest.approx(50.0)
    assert curve.rate(15.0) == pytest.approx(50.0)
    assert len(arrivals(curve, np.ones(5000))) == 1000  # two triangles of 500
