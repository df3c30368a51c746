"""Back-off and jitter against the AWS architecture blog's definitions."""

from __future__ import annotations

import numpy as np
import pytest

from meshsim.model import Backoff
from meshsim.sim.client.backoff import sleep

U = np.random.default_rng(3).random(20_000)


def draws(policy: Backoff, retry: int, previous: float = 0.0) -> np.ndarray:
    return np.array([sleep(policy, retry, previous, float(u)) for u in U])


def test_no_jitter_doubles_up_to_the_cap() -> None:
    policy = Backoff(base=0.1, cap=1.0, jitter="none")
    assert [sleep(policy, n, 0.0, 0.5) for n in range(1, 7)] == pytest.approx(
        [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    )


@pytest.mark.parametrize("retry", [1, 3, 6])
def test_full_jitter_is_uniform_below_the_ceiling(retry: int) -> None:
    policy = Backoff(base=1.0, cap=20.0, jitter="full")  # the AWS SDKs' standard mode
    ceiling = min(20.0, 2.0 ** (retry - 1))
    got = draws(policy, retry)
    assert got.min() >= 0.0 and got.max() < ceiling
    assert got.mean() == pytest.approx(ceiling / 2, rel=0.02)
    assert np.quantile(got, 0.9) == pytest.approx(0.9 * ceiling, rel=0.02)


def test_equal_jitter_keeps_half_the_ceiling() -> None:
    policy = Backoff(base=0.05, cap=10.0, jitter="equal")
    ceiling = 0.05 * 2**3
    got = draws(policy, 4)
    assert got.min() >= ceiling / 2 and got.max() < ceiling
    assert got.mean() == pytest.approx(0.75 * ceiling, rel=0.01)


def test_decorrelated_jitter_grows_from_the_previous_sleep() -> None:
    policy = Backoff(base=0.1, cap=2.0, jitter="decorrelated")
    first = draws(policy, 1, previous=0.0)  # the blog starts from sleep = base
    assert first.min() >= 0.1 and first.max() < 0.3
    assert first.mean() == pytest.approx(0.2, rel=0.02)
    later = draws(policy, 5, previous=0.5)
    assert later.min() >= 0.1 and later.max() < 1.5
    capped = draws(policy, 9, previous=5.0)
    assert capped.max() == pytest.approx(2.0)
    assert np.mean(capped == 2.0) == pytest.approx((15.0 - 2.0) / (15.0 - 0.1), rel=0.03)


def test_large_retry_counts_stay_finite() -> None:
    assert sleep(Backoff(base=1.0, cap=20.0, jitter="none"), 10_000, 0.0, 0.3) == 20.0
