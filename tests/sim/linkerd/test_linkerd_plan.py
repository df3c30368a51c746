"""A route as the Linkerd proxy runs it (sim/linkerd/plan.py): the attempt timeout it arms
while the policy retry's own timeout applies and on the last attempt (``route/retry.rs``)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from builders import deployment, model

from meshsim.model import Constant, Model
from meshsim.model.linkerd import LinkerdBackend, PolicyRetrySpec
from meshsim.model.policy import TrafficPolicy
from meshsim.model.routes import Backend, Route
from meshsim.sim import Simulation
from meshsim.sim.linkerd.plan import attempt_timeouts
from meshsim.sim.linkerd.retry import PolicyRetryConfig, RetryRule

MS = 1e-3


def rule(timeout: float | None, limit: int = 1) -> RetryRule:
    return RetryRule(PolicyRetryConfig(statuses=((500, 599),), limit=limit, timeout=timeout))


def test_the_shorter_retry_timeout_is_retryable_until_the_last_attempt() -> None:
    route = Route("r", response_timeout=0.2)
    assert attempt_timeouts(route, rule(0.05)) == (
        (0.05, "response_headers_timeout"), (0.2, "other"))


def test_a_response_timeout_no_longer_than_the_retry_timeout_wins_ties_included() -> None:
    assert attempt_timeouts(Route("r", response_timeout=0.05), rule(0.05)) == (
        (0.05, "other"), (0.05, "other"))
    assert attempt_timeouts(Route("r", response_timeout=0.03), rule(0.05)) == (
        (0.03, "other"), (0.03, "other"))


def test_no_timeouts_arm_no_timer() -> None:
    assert attempt_timeouts(Route("r"), None) == ((0.0, ""), (0.0, ""))
    assert attempt_timeouts(Route("r"), rule(None)) == ((0.0, ""), (0.0, ""))
    assert attempt_timeouts(Route("r"), rule(0.05)) == (
        (0.05, "response_headers_timeout"), (0.0, ""))


def _run(route: Route) -> dict[str, np.ndarray]:
    deps = [deployment("api", latency=Constant(100 * MS), concurrency=64)]
    m: Model = model(deps, rate=10, duration=1, mesh="linkerd", arrival="constant")
    policy = TrafficPolicy(default_backend=LinkerdBackend(), routes={"api": (route,)})
    return Simulation(replace(m, policy=policy)).run().calls  # type: ignore[return-value]


def test_the_last_attempt_runs_without_the_retry_timeout() -> None:
    """A 100 ms service behind a 50 ms retry timeout: the first attempt times out (retryable),
    the retry is the last attempt, has no retry timeout and is answered."""
    route = Route("r", backends=(Backend("api"),), policy_retry=PolicyRetrySpec(
        ((500, 599),), limit=1, timeout=0.05, backoff_min=0.001, backoff_max=0.001, jitter=0.0))
    calls = _run(route)
    assert len(calls["status"]) > 0
    assert np.all(calls["status"] == 200)
    assert np.all(calls["attempts"] == 2)


def test_a_response_timeout_ends_every_attempt_unretried() -> None:
    route = Route("r", backends=(Backend("api"),), response_timeout=0.05,
                  policy_retry=PolicyRetrySpec(((500, 599),), limit=2, timeout=0.08))
    calls = _run(route)
    assert len(calls["status"]) > 0
    assert np.all(calls["status"] == 504)
    assert np.all(calls["attempts"] == 1)
