"""Circuit breakers: Envoy's per-cluster resource manager (one per client proxy and cluster).

Follows ``source/common/upstream/resource_manager_impl.h`` (``ManagedResourceImpl``,
``RetryBudgetImpl``) and the connection pools' overflow handling
(``source/common/conn_pool/conn_pool_base.cc``); reference/envoy-istio.md §3. Thresholds are
taken literally: Istio's "unset = 2^32 − 1" is the translator's business. Overflow is
immediate (no queueing, no timeout) and is never charged to outlier detection or retried.
"""

from __future__ import annotations

from meshsim.model.clusters import CircuitBreakers

# No counter ever gets near it, so a larger threshold trips exactly when this one does.
_UNREACHABLE = 2**62


def _threshold(limit: int) -> int:
    """A limit checked on every stream, as a C integer in the compiled build."""
    return min(limit, _UNREACHABLE)


class ResourceManager:
    """Open counters and limits for connections, pending requests, requests and retries.

    ``stats`` holds the cluster's counters that these limits drive, including the retry
    counters :class:`~meshsim.sim.envoy.retry.RetryState` bumps (they are cluster stats in
    Envoy): ``upstream_rq_pending_overflow`` (pending *and* max_requests overflow, as in
    Envoy), ``upstream_cx_overflow``, ``upstream_rq_retry``, ``upstream_rq_retry_success``,
    ``upstream_rq_retry_overflow``, ``upstream_rq_retry_limit_exceeded``.
    """

    def __init__(self, spec: CircuitBreakers) -> None:
        self.spec = spec
        # Checked per stream: copied once from the frozen spec, not read from it per check.
        self.max_connections = _threshold(spec.max_connections)
        self.max_pending_requests = _threshold(spec.max_pending_requests)
        self.max_requests = _threshold(spec.max_requests)
        # Checked per retry decision: with a budget, the limit follows the open requests.
        self.retry_budget = spec.retry_budget
        self.fixed_max_retries = _threshold(spec.max_retries)
        self.connections = 0
        self.pending = 0
        self.requests = 0
        self.retries = 0
        self.stats: dict[str, int] = {
            "upstream_rq_pending_overflow": 0,
            "upstream_cx_overflow": 0,
            "upstream_rq_retry": 0,
            "upstream_rq_retry_success": 0,
            "upstream_rq_retry_overflow": 0,
            "upstream_rq_retry_limit_exceeded": 0,
        }

    # -- checks -----------------------------------------------------------------------------

    def can_connect(self) -> bool:
        return self.connections < self.max_connections

    def can_pend(self) -> bool:
        return self.pending < self.max_pending_requests

    def can_request(self) -> bool:
        return self.requests < self.max_requests

    def max_retries(
        self, active_requests: int | None = None, pending_requests: int | None = None
    ) -> int:
        """Concurrent-retry limit; with a retry budget it replaces ``max_retries``:
        ``max(int(percent/100 × (active + pending)), min_retry_concurrency)``, recomputed on
        every check from this cluster's open request and pending counts unless given."""
        budget = self.retry_budget
        if budget is None:
            return self.fixed_max_retries
        active = self.requests if active_requests is None else active_requests
        pending = self.pending if pending_requests is None else pending_requests
        return max(int(budget.percent / 100.0 * (active + pending)), budget.min_retry_concurrency)

    def can_retry(
        self, active_requests: int | None = None, pending_requests: int | None = None
    ) -> bool:
        return self.retries < self.max_retries(active_requests, pending_requests)

    # -- counters ---------------------------------------------------------------------------

    def inc_connections(self) -> None:
        self.connections += 1

    def dec_connections(self) -> None:
        self.connections = max(0, self.connections - 1)

    def inc_pending(self) -> None:
        self.pending += 1

    def dec_pending(self) -> None:
        self.pending = max(0, self.pending - 1)

    def inc_requests(self) -> None:
        self.requests += 1

    def dec_requests(self) -> None:
        self.requests = max(0, self.requests - 1)

    def inc_retries(self) -> None:
        self.retries += 1

    def dec_retries(self) -> None:
        self.retries = max(0, self.retries - 1)

    # -- check, count overflow, take --------------------------------------------------------

    def try_pend(self) -> bool:
        """Queue a stream waiting for a connection, or overflow (503 UO) right now."""
        if not self.can_pend():
            self.stats["upstream_rq_pending_overflow"] += 1
            return False
        self.inc_pending()
        return True

    def try_request(self) -> bool:
        """Attach a stream to a connection, or overflow (Envoy counts it as pending overflow)."""
        if not self.can_request():
            self.stats["upstream_rq_pending_overflow"] += 1
            return False
        self.inc_requests()
        return True

    def try_connect(self) -> bool:
        """Open a connection; when full the stream just stays pending (``upstream_cx_overflow``)."""
        if not self.can_connect():
            self.stats["upstream_cx_overflow"] += 1
            return False
        self.inc_connections()
        return True

    # -- gauges -----------------------------------------------------------------------------

    @property
    def gauges(self) -> dict[str, int]:
        """``circuit_breakers.default.*_open`` (1 = breaker open) and ``remaining_*``.

        As in Envoy, ``rq_retry_open`` and ``remaining_retries`` follow ``max_retries`` even
        when a retry budget is set (Envoy then zeroes ``remaining_retries``).
        """
        s = self.spec
        budget = s.retry_budget is not None
        return {
            "cx_open": int(self.connections >= s.max_connections),
            "rq_pending_open": int(self.pending >= s.max_pending_requests),
            "rq_open": int(self.requests >= s.max_requests),
            "rq_retry_open": int(self.retries >= s.max_retries),
            "remaining_cx": max(0, s.max_connections - self.connections),
            "remaining_pending": max(0, s.max_pending_requests - self.pending),
            "remaining_rq": max(0, s.max_requests - self.requests),
            "remaining_retries": 0 if budget else max(0, s.max_retries - self.retries),
        }
