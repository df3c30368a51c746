"""Circuit breakers against Envoy's own tests (reference/envoy-istio.md §3, §12 S14).

Source: envoyproxy/envoy test/common/http/http1/conn_pool_test.cc (``MaxPendingRequests``) and
source/common/upstream/resource_manager_impl.h. The engine-level S14 (503 UO at the router,
nothing charged to outlier detection) is the lead's test.
"""

from __future__ import annotations

from meshsim.model.clusters import U32_MAX, CircuitBreakers, RetryBudget
from meshsim.sim.envoy import ResourceManager


def test_s14_pending_overflow_is_immediate() -> None:
    rm = ResourceManager(CircuitBreakers(max_connections=1, max_pending_requests=1))
    # Request 1: no idle connection yet, so it pends while the connection is established.
    assert rm.try_pend()
    assert rm.try_connect()
    # Request 2, right after: still no usable connection and the pending queue is full.
    assert not rm.try_pend()
    assert rm.stats["upstream_rq_pending_overflow"] == 1
    assert rm.gauges["rq_pending_open"] == 1
    assert rm.pending == 1  # the overflowed stream never queued


def test_s14_connection_limit_leaves_the_stream_pending() -> None:
    rm = ResourceManager(CircuitBreakers(max_connections=1, max_pending_requests=2))
    assert rm.try_pend() and rm.try_connect()
    assert rm.try_pend()
    assert not rm.try_connect()  # no second connection: request 2 waits for the first one
    assert rm.stats["upstream_cx_overflow"] == 1
    assert rm.stats["upstream_rq_pending_overflow"] == 0
    assert rm.gauges["cx_open"] == 1


def test_max_requests_overflow_counts_as_pending_overflow() -> None:
    rm = ResourceManager(CircuitBreakers(max_requests=2))
    assert rm.try_request() and rm.try_request()
    assert not rm.try_request()
    assert rm.stats["upstream_rq_pending_overflow"] == 1
    assert rm.gauges["rq_open"] == 1
    rm.dec_requests()
    assert rm.can_request() and rm.gauges["rq_open"] == 0


def test_envoy_defaults_and_literal_istio_values() -> None:
    envoy = ResourceManager(CircuitBreakers())
    assert envoy.max_retries() == 3
    istio = ResourceManager(
        CircuitBreakers(
            max_connections=U32_MAX,
            max_pending_requests=U32_MAX,
            max_requests=U32_MAX,
            max_retries=U32_MAX,
        )
    )
    for _ in range(10_000):
        istio.inc_requests()
    assert istio.can_request() and istio.can_pend() and istio.can_connect() and istio.can_retry()


def test_retry_budget_replaces_max_retries() -> None:
    rm = ResourceManager(CircuitBreakers(max_retries=100, retry_budget=RetryBudget(50.0, 1)))
    assert rm.max_retries(0, 0) == 1
    assert rm.max_retries(7, 2) == 4  # floor(0.5 × 9)
    assert rm.gauges["remaining_retries"] == 0  # Envoy zeroes it when a budget is in use
