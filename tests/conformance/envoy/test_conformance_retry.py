"""Retries against Envoy's own tests (reference/envoy-istio.md §3.3, §4, §12 S8–S10).

Source of the scenarios: envoyproxy/envoy test/common/router/retry_state_impl_test.cc.
"""

from __future__ import annotations

from typing import get_args

import pytest
from envoy_mocks import Pinned
from hypothesis import given
from hypothesis import strategies as st

from meshsim.model.clusters import CircuitBreakers, RetryBudget
from meshsim.model.routes import RetryPolicy
from meshsim.sim.envoy import (
    JitteredExponentialBackOff,
    ResourceManager,
    RetryState,
    RetryStatus,
    wants_retry,
)
from meshsim.sim.envoy.retry import ResetKind


def state(
    policy: RetryPolicy, breakers: CircuitBreakers | None = None, rand: Pinned | None = None
) -> RetryState:
    return RetryState(policy, ResourceManager(breakers or CircuitBreakers()), rand or Pinned())


def policy(*retry_on: str, **kw: object) -> RetryPolicy:
    return RetryPolicy(retry_on=frozenset(retry_on), **kw)  # type: ignore[arg-type]


# -- S8 ------------------------------------------------------------------------------------------


def test_s8_backoff_with_default_base() -> None:
    rs = state(policy("connect-failure", num_retries=3), rand=Pinned(repeat=190))
    delays = [rs.should_retry("connect_failure") for _ in range(3)]
    assert [d.status for d in delays] == [RetryStatus.RETRY] * 3
    assert [round(d.delay * 1000) for d in delays] == [15, 40, 90]
    assert rs.should_retry(200).status is RetryStatus.NO
    assert rs.stats["upstream_rq_retry"] == 3
    assert rs.stats["upstream_rq_retry_success"] == 1


def test_s8_custom_backoff_interval_pins_at_max() -> None:
    rand = Pinned(149, 350, 751, 2399, 2399)
    rs = state(
        policy("connect-failure", num_retries=5, backoff_base=0.1, backoff_max=1.2), rand=rand
    )
    delays = [round(rs.should_retry("connect_failure").delay * 1000) for _ in range(5)]
    assert delays == [49, 150, 351, 799, 1199]


def test_s8_default_bounds_are_25_50_100_200_250() -> None:
    backoff = JitteredExponentialBackOff(25, 250, Pinned(repeat=10**9 - 1))
    bounds = []
    for _ in range(7):
        bounds.append(backoff.bound_ms)
        backoff.next_ms()
    assert bounds == [25, 50, 100, 200, 250, 250, 250]
    backoff.reset()
    assert backoff.bound_ms == 25


def test_s8_default_max_is_ten_times_base() -> None:
    rs = state(policy("5xx", num_retries=10, backoff_base=0.1))
    assert (rs.backoff.base_ms, rs.backoff.max_ms) == (100, 1000)


@given(
    base=st.integers(1, 500),
    factor=st.integers(1, 40),
    draws=st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=30),
)
def test_property_backoff_delay_in_zero_to_bound(base: int, factor: int, draws: list[int]) -> None:
    cap = base * factor
    backoff = JitteredExponentialBackOff(base, cap, Pinned(*draws))
    previous = 0
    for _ in draws:
        bound = backoff.bound_ms
        assert base <= bound <= cap and bound >= previous
        assert 0 <= backoff.next_ms() < bound
        previous = bound


# -- S9 ------------------------------------------------------------------------------------------

BUDGET = CircuitBreakers(
    max_connections=0,
    max_pending_requests=0,
    max_requests=0,
    max_retries=0,
    retry_budget=RetryBudget(percent=20.0, min_retry_concurrency=3),
)


def test_s9_budget_minimum_concurrency() -> None:
    rm = ResourceManager(BUDGET)
    rm.inc_retries()
    rm.inc_retries()
    assert rm.can_retry(0, 0)  # 2 outstanding < max(0, 3)
    rm.inc_retries()
    assert not rm.can_retry(0, 0)  # 3 outstanding
    assert rm.can_retry(20, 0)  # 20 % of 20 active = 4
    rm.inc_retries()
    assert not rm.can_retry(20, 0)


def test_s9_budget_through_retry_state_and_own_counters() -> None:
    rm = ResourceManager(BUDGET)
    for _ in range(3):
        rm.inc_retries()
    rs = RetryState(policy("5xx", num_retries=3), rm, Pinned())
    d = rs.should_retry(503)
    assert d.status is RetryStatus.OVERFLOW and d.flag == "UO"
    assert rm.stats["upstream_rq_retry_overflow"] == 1
    for _ in range(20):
        rm.inc_requests()  # the cluster's own open-request count feeds the budget
    assert rs.should_retry(503).status is RetryStatus.RETRY
    assert rm.retries == 4
    assert rm.max_retries() == 4
    assert rm.max_retries(10, 15) == 5


# -- S10 -----------------------------------------------------------------------------------------


def test_s10_no_retries_allowed_is_limit_exceeded() -> None:
    rs = state(policy("connect-failure", num_retries=0))
    d = rs.should_retry("connect_failure")
    assert d.status is RetryStatus.LIMIT_EXCEEDED and d.flag == "URX"
    assert rs.stats["upstream_rq_retry_limit_exceeded"] == 1
    assert rs.stats["upstream_rq_retry"] == 0


def test_s10_retry_breaker_zero_overflows_and_consumes_a_retry() -> None:
    rs = state(policy("connect-failure", num_retries=3), CircuitBreakers(max_retries=0))
    d = rs.should_retry("connect_failure")
    assert d.status is RetryStatus.OVERFLOW and d.flag == "UO"
    assert rs.stats["upstream_rq_retry_overflow"] == 1
    assert rs.retries_remaining == 2  # decremented before the breaker check


def test_s10_connect_failure_policy_ignores_other_resets() -> None:
    rs = state(policy("connect-failure"))
    assert rs.should_retry("remote_reset").status is RetryStatus.NO


def test_s10_overflow_reset_is_never_retried() -> None:
    rs = state(policy("5xx", "reset", "gateway-error", "connect-failure", "refused-stream"))
    assert rs.should_retry("overflow").status is RetryStatus.NO


def test_s10_no_preferred_over_limit_exceeded() -> None:
    rs = state(policy("5xx", num_retries=1))
    assert rs.should_retry(503).status is RetryStatus.RETRY
    assert rs.should_retry(200).status is RetryStatus.NO  # not LIMIT_EXCEEDED
    assert rs.stats["upstream_rq_retry_success"] == 1
    assert rs.stats["upstream_rq_retry_limit_exceeded"] == 0
    assert rs.should_retry(503).status is RetryStatus.LIMIT_EXCEEDED


# -- §4.1 table ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("retry_on", "outcome", "expected"),
    [
        ({"5xx"}, 500, True),
        ({"5xx"}, 599, True),
        ({"5xx"}, 404, False),
        ({"gateway-error"}, 500, False),
        ({"gateway-error"}, 502, True),
        ({"gateway-error"}, 503, True),
        ({"gateway-error"}, 504, True),
        ({"retriable-4xx"}, 409, True),
        ({"retriable-4xx"}, 404, False),
        ({"retriable-4xx"}, 429, False),
        ({"connect-failure"}, 503, False),
        ({"refused-stream"}, 503, False),
        ({"retriable-status-codes"}, 503, False),  # no codes listed (Istio >= 1.24 default)
        # A per-try timeout is a local reset: only 5xx, gateway-error and reset take it.
        ({"5xx"}, "per_try_timeout", True),
        ({"gateway-error"}, "per_try_timeout", True),
        ({"reset"}, "per_try_timeout", True),
        ({"connect-failure"}, "per_try_timeout", False),
        ({"refused-stream"}, "per_try_timeout", False),
        ({"retriable-status-codes"}, "per_try_timeout", False),
        ({"reset-before-request"}, "per_try_timeout", False),
        ({"connect-failure"}, "connect_failure", True),
        ({"reset-before-request"}, "connect_failure", True),
        ({"reset-before-request"}, "remote_reset", False),
        ({"refused-stream"}, "refused_stream", True),
        ({"refused-stream"}, "remote_reset", False),
        ({"5xx"}, "remote_reset", True),
        ({"gateway-error"}, "connect_failure", True),
        ({"reset"}, "refused_stream", True),
        ({"5xx", "reset", "connect-failure"}, "overflow", False),
    ],
)
def test_retry_on_table(retry_on: set[str], outcome: int | ResetKind, expected: bool) -> None:
    assert wants_retry(policy(*retry_on), outcome) is expected


def test_retriable_status_codes() -> None:
    p = policy("retriable-status-codes", retriable_status_codes=frozenset({503, 418}))
    assert wants_retry(p, 418) and wants_retry(p, 503)
    assert not wants_retry(p, 500)
    assert not wants_retry(policy(retriable_status_codes=frozenset({503})), 503)


def test_grpc_tokens_need_a_grpc_status() -> None:
    istio_default = policy(
        "connect-failure", "refused-stream", "unavailable", "cancelled", "retriable-status-codes"
    )
    assert not wants_retry(istio_default, 200)
    assert wants_retry(istio_default, 200, grpc_status=14)
    assert wants_retry(istio_default, 200, grpc_status=1)
    assert not wants_retry(istio_default, 200, grpc_status=4)  # deadline-exceeded not listed
    assert not wants_retry(istio_default, 503)  # no retriable codes since Istio 1.24
    full = policy("deadline-exceeded", "resource-exhausted", "internal")
    assert [wants_retry(full, 200, grpc_status=c) for c in (4, 8, 13, 14)] == [
        True,
        True,
        True,
        False,
    ]


def test_every_reset_kind_is_accepted() -> None:
    for kind in get_args(ResetKind):
        wants_retry(policy("5xx"), kind)
    with pytest.raises(ValueError, match="unknown reset kind"):
        wants_retry(policy("5xx"), "bogus")  # type: ignore[arg-type]


def test_425_is_retried_immediately_without_backoff() -> None:
    rs = state(
        policy("retriable-status-codes", retriable_status_codes=frozenset({425})),
        rand=Pinned(repeat=190),
    )
    d = rs.should_retry(425)
    assert d.status is RetryStatus.RETRY and d.delay == 0.0
    assert rs.backoff.bound_ms == 25  # no backoff consumed


# -- retry slot accounting -----------------------------------------------------------------------


def test_retry_slot_held_until_next_decision_or_release() -> None:
    rs = state(policy("5xx", num_retries=3))
    rm = rs.breaker
    assert rs.should_retry(503).status is RetryStatus.RETRY
    assert rm.retries == 1  # held through the backoff wait and the retried attempt
    assert rs.should_retry(503).status is RetryStatus.RETRY
    assert rm.retries == 1  # released, then taken again
    rs.release()
    assert rm.retries == 0
    rs.release()
    assert rm.retries == 0


def test_retry_slot_shared_across_requests_of_a_cluster() -> None:
    rm = ResourceManager(CircuitBreakers(max_retries=1))
    first = RetryState(policy("5xx"), rm, Pinned())
    second = RetryState(policy("5xx"), rm, Pinned())
    assert first.should_retry(503).status is RetryStatus.RETRY
    assert second.should_retry(503).status is RetryStatus.OVERFLOW
    first.release()
    assert RetryState(policy("5xx"), rm, Pinned()).should_retry(503).status is RetryStatus.RETRY


@given(st.lists(st.sampled_from([200, 404, 500, 503, "connect_failure", "overflow"]), max_size=20))
def test_property_retry_slots_never_leak(outcomes: list[int | ResetKind]) -> None:
    rs = state(policy("5xx", num_retries=5), CircuitBreakers(max_retries=2))
    for outcome in outcomes:
        rs.should_retry(outcome)
        assert rs.breaker.retries in (0, 1)
    rs.release()
    assert rs.breaker.retries == 0


def test_previous_hosts_predicate() -> None:
    rs = state(policy("5xx", previous_hosts=True, host_selection_attempts=5))
    rs.host_attempted("A")
    assert not rs.accept("A") and rs.accept("B")
    assert rs.host_selection_attempts == 5
    plain = state(policy("5xx"))
    plain.host_attempted("A")
    assert plain.accept("A")
