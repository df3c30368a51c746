"""The AWS SDKs' adaptive mode's client-side rate limiter (botocore retries/adaptive.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

import meshsim
from meshsim.model import AdaptiveRate
from meshsim.sim.client.adaptive import Cubic, RateLimiter, TokenBucket


def test_cubic_cuts_to_beta_and_grows_back_to_the_rate_that_throttled() -> None:
    """After a throttle at rate 10: 7 at once (x0.7), back to 10 at k = (10·0.3/0.4)^(1/3)
    seconds, and past it along the cubic."""
    cubic = Cubic(AdaptiveRate(), start=0.0)
    assert cubic.throttled(10.0, 0.0) == pytest.approx(7.0)
    k = 7.5 ** (1 / 3)
    assert cubic.success(0.0) == pytest.approx(7.0)
    assert cubic.success(k) == pytest.approx(10.0)
    assert cubic.success(k + 1.0) == pytest.approx(10.4)


def test_the_bucket_fills_at_its_rate_up_to_its_capacity() -> None:
    bucket = TokenBucket(AdaptiveRate(), start=0.0)
    bucket.set_rate(4.0, 0.0)
    assert not bucket.take(0.0)
    assert bucket.wait(0.0) == pytest.approx(0.25)
    assert bucket.take(0.25) and not bucket.take(0.25)
    bucket.set_rate(0.1, 10.0)  # floor 0.5/s, one token at most
    assert bucket.take(10.0) and bucket.wait(10.0) == pytest.approx(2.0)


def test_the_limiter_is_off_until_a_throttle() -> None:
    limiter = RateLimiter(AdaptiveRate(), start=0.0)
    for i in range(100):
        limiter.answered(i * 0.01, throttled=False)
        assert limiter.admit(i * 0.01)
    limiter.answered(1.0, throttled=True)
    assert limiter.enabled


SCENARIO = """\
apiVersion: meshsim/v1alpha1
kind: Scenario
metadata: {{name: adaptive}}
spec:
  duration: 20s
  warmup: 2s
  network: {{latency: 0ms}}
  services:
    api: {{concurrency: 1000, latency: 5ms, errors: {errors}}}
  workload:
    - {{name: app, target: api, rate: 100/s, arrival: constant, client: {client}}}
"""


def run(tmp_path: Path, errors: str, client: str) -> meshsim.Results:
    (tmp_path / "s.yaml").write_text(SCENARIO.format(errors=errors, client=client))
    return meshsim.simulate(tmp_path / "s.yaml", seed=1)


def test_throttling_holds_the_client_to_the_floor_rate(tmp_path: Path) -> None:
    """Every answer a 429: the limiter cuts the rate to its floor, 0.5 tries a second,
    and the other user requests wait their turn."""
    results = run(tmp_path, "{rate: 1.0, status: {429: 1.0}}", "{rateLimiter: adaptive}")
    tries = results.requests
    late = tries[tries["start"] >= 5.0]
    assert len(late) / 15.0 == pytest.approx(0.5, abs=0.1)


def test_without_throttling_the_limiter_changes_nothing(tmp_path: Path) -> None:
    plain = run(tmp_path, "0.2", "{maxAttempts: 2}")
    limited = run(tmp_path, "0.2", "{maxAttempts: 2, rateLimiter: adaptive}")
    assert plain.requests.equals(limited.requests)
    assert plain.calls.equals(limited.calls)


def test_a_429_is_retried_as_the_sdks_do(tmp_path: Path) -> None:
    """Half the answers are 429: 3 tries per user request as for a 5xx, 1 + q + q²."""
    results = run(tmp_path, "{rate: 0.5, status: {429: 1.0}}",
                  "{maxAttempts: 3, backoff: {base: 1ms, max: 1ms}}")
    users = results.user_requests
    assert users["tries"].mean() == pytest.approx(1.75, rel=0.03)
