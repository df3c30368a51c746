"""RetryState.decide, the router's allocation-free should_retry (meshsim/sim/envoy/retry.py).

The upstream scenarios run through ``should_retry`` in tests/conformance/envoy; the router
reads ``decide``'s codes, ``delay`` and ``decision_flag`` instead, so those must mean what the
Decisions mean, with the same counters, breaker slots and backoff draws.
"""

from __future__ import annotations

from envoy_mocks import Pinned
from hypothesis import given
from hypothesis import strategies as st

from meshsim.model.clusters import CircuitBreakers, RetryBudget
from meshsim.model.routes import RetryPolicy
from meshsim.sim.envoy import ResourceManager, RetryState, RetryStatus
from meshsim.sim.envoy.retry import (
    LIMIT_EXCEEDED,
    NO,
    OVERFLOW,
    RETRY,
    RetryOn,
    decision_flag,
)

OUTCOMES = st.sampled_from(
    [200, 404, 409, 425, 500, 503, 504, "connect_failure", "per_try_timeout", "remote_reset",
     "refused_stream", "overflow"])
CODES = {RetryStatus.NO: NO, RetryStatus.RETRY: RETRY,
         RetryStatus.LIMIT_EXCEEDED: LIMIT_EXCEEDED, RetryStatus.OVERFLOW: OVERFLOW}


def _pair(policy: RetryPolicy, breakers: CircuitBreakers) -> tuple[RetryState, RetryState]:
    draws = list(range(7, 400, 13))
    return (RetryState(policy, ResourceManager(breakers), Pinned(*draws)),
            RetryState(policy, ResourceManager(breakers), Pinned(*draws)))


@given(
    outcomes=st.lists(OUTCOMES, min_size=1, max_size=12),
    retries=st.integers(0, 4),
    max_retries=st.integers(0, 3),
    budget=st.booleans(),
)
def test_decide_agrees_with_should_retry(
    outcomes: list[object], retries: int, max_retries: int, budget: bool
) -> None:
    policy = RetryPolicy(retry_on=frozenset({"5xx", "retriable-status-codes", "reset"}),
                         retriable_status_codes=frozenset({409, 425}), num_retries=retries)
    breakers = CircuitBreakers(
        max_retries=max_retries,
        retry_budget=RetryBudget(percent=20.0, min_retry_concurrency=1) if budget else None)
    slow, fast = _pair(policy, breakers)
    for outcome in outcomes:
        decision = slow.should_retry(outcome)  # type: ignore[arg-type]
        code = fast.decide(outcome)
        assert code == CODES[decision.status]
        assert decision_flag(code) == decision.flag
        if code == RETRY:
            assert fast.delay == decision.delay
    assert fast.stats == slow.stats
    assert fast.breaker.retries == slow.breaker.retries
    assert fast.retries_remaining == slow.retries_remaining


def test_retry_on_reads_the_policy_once() -> None:
    policy = RetryPolicy(retry_on=frozenset({"5xx"}), num_retries=4, backoff_base=0.1,
                         host_selection_attempts=3, previous_hosts=True)
    on = RetryOn(policy)
    assert (on.num_retries, on.backoff_base_ms, on.backoff_max_ms) == (4, 100, 1000)
    assert (on.host_selection_attempts, on.previous_hosts) == (3, True)
    state = RetryState(policy, ResourceManager(CircuitBreakers()), Pinned(), on)
    assert (state.backoff.base_ms, state.backoff.max_ms) == (100, 1000)
    assert state.host_selection_attempts == 3
    state.host_attempted("a")
    assert not state.accept("a")
    assert state.accept("b")
