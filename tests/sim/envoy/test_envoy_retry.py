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
from meshsim.rng import Batched, Streams
from meshsim.sim.envoy import ResourceManager, RetryState, RetryStatus
from meshsim.sim.envoy.retry import (
    LIMIT_EXCEEDED,
    NO,
    OVERFLOW,
    RETRY,
    JitteredExponentialBackOff,
    RetryOn,
    decision_flag,
    retry_state,
)
from meshsim.sim.sampling import U64Blocks, block_sizes

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


@given(
    outcomes=st.lists(OUTCOMES, min_size=1, max_size=12),
    retries=st.integers(0, 4),
    max_retries=st.integers(0, 3),
)
def test_retry_state_is_the_class_made_without_calling_it(
    outcomes: list[object], retries: int, max_retries: int
) -> None:
    """The router's ``retry_state`` (C allocations when compiled) decides, backs off and counts
    exactly as ``RetryState(policy, ...)`` does, whatever the outcomes."""
    policy = RetryPolicy(retry_on=frozenset({"5xx", "retriable-status-codes", "reset"}),
                         retriable_status_codes=frozenset({409, 425}), num_retries=retries)
    breakers = CircuitBreakers(max_retries=max_retries)
    draws = list(range(7, 400, 13))
    made = retry_state(RetryOn(policy), ResourceManager(breakers), Pinned(*draws))
    called = RetryState(policy, ResourceManager(breakers), Pinned(*draws))
    assert made.policy is policy and made.retries_remaining == retries
    for outcome in outcomes:
        assert made.decide(outcome) == called.decide(outcome)  # type: ignore[arg-type]
        assert made.delay == called.delay
    assert made.stats == called.stats
    assert made.retries_remaining == called.retries_remaining


def test_a_backoff_draws_from_a_typed_stream_what_it_draws_from_its_values() -> None:
    """A ``U64Blocks`` stream is drawn with a C call (``_u64``); any other callable by calling
    it. The same values give the same delays either way (both builds run this)."""
    stream = U64Blocks(Streams(3).get("b").bit_generator.random_raw, block_sizes(64))
    values = Batched(Streams(3).get("b").bit_generator.random_raw, 4096, 64)
    typed = JitteredExponentialBackOff(25, 250, stream)
    plain = JitteredExponentialBackOff(25, 250, values)
    assert typed._u64 is stream and plain._u64 is None
    delays = [typed.next_ms() for _ in range(300)]  # past the first block of 64
    assert delays == [plain.next_ms() for _ in range(300)]
    assert max(delays) < 250 and len(set(delays)) > 100


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
