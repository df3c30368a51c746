"""Linkerd's outbound specs: response classes, retry budgets and policies, balancer tuning.

The specs a linkerd2-proxy is configured with (ServiceProfile, HTTPRoute retry annotations,
the proxy's balancer, queue and failure accrual); the state machines that run them are in
:mod:`meshsim.sim.linkerd`, so these names end in ``Spec`` where the two would clash.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ResponseClass:
    """A ServiceProfile ``responseClasses`` entry: first class whose condition matches decides.

    The condition is a status range (inclusive) combined with ``all``/``any``/``not``, kept as a
    :class:`StatusCondition` tree.
    """

    condition: StatusCondition
    is_failure: bool = False

    def matches(self, status: int) -> bool:
        return self.condition.matches(status)


@dataclass(frozen=True)
class StatusCondition:
    """``status: {min, max}`` (inclusive) and ``all`` / ``any`` / ``not`` of other conditions.

    Every given part must hold (the controller ANDs the fields set on one condition).
    """

    status_min: int | None = None
    status_max: int | None = None
    all_of: tuple[StatusCondition, ...] = ()
    any_of: tuple[StatusCondition, ...] = ()
    negate: StatusCondition | None = None  # ``not``

    def matches(self, status: int) -> bool:
        if self.status_min is not None and status < self.status_min:
            return False
        if self.status_max is not None and status > self.status_max:
            return False
        if not all(c.matches(status) for c in self.all_of):
            return False
        if self.any_of and not any(c.matches(status) for c in self.any_of):
            return False
        return self.negate is None or not self.negate.matches(status)


@dataclass(frozen=True)
class TpsBudgetSpec:
    """tower ``TpsBudget::new(ttl, min_per_sec, retry_percent)`` (linkerd.md §1.1–§1.2).

    Linkerd sends 10 s / 10 per second / 0.2 even when no ServiceProfile exists.
    """

    ttl: float = 10.0
    min_retries_per_second: int = 10
    retry_ratio: float = 0.2


@dataclass(frozen=True)
class PolicyRetrySpec:
    """``retry.linkerd.io/*`` annotations (linkerd.md §2.1–§2.2): no budget, a count limit.

    ``codes`` are inclusive status ranges; empty means only retryable errors are retried.
    ``timeout`` is the per-attempt time to response headers, not applied to the last attempt.
    Backoff: min(backoff_min × 2^(n−1), backoff_max) plus jitter, total ≤ backoff_max.
    """

    codes: tuple[tuple[int, int], ...] = ()
    grpc_codes: frozenset[int] | None = None  # ``retry.linkerd.io/grpc``: GRPCRoutes only
    limit: int = 1
    timeout: float = 0.0  # 0 = none
    backoff_min: float = 0.025
    backoff_max: float = 0.25
    jitter: float = 1.0
    max_request_bytes: int = 65536

    def retries_status(self, status: int) -> bool:
        return any(low <= status <= high for low, high in self.codes)


@dataclass(frozen=True)
class PeakEwmaSpec:
    """tower Peak-EWMA as Linkerd configures it: default RTT 30 ms, decay 10 s."""

    default_rtt: float = 0.030
    decay: float = 10.0


@dataclass(frozen=True)
class QueueSpec:
    """linkerd2-proxy's balancer queue: capacity and failfast (outbound HTTP 10,000 / 3 s)."""

    capacity: int = 10_000
    failfast_timeout: float = 3.0


@dataclass(frozen=True)
class FailureAccrual:
    """``balancer.linkerd.io/failure-accrual: consecutive`` (linkerd.md §5.1–§5.2).

    Penalty k: min(min_penalty × 2^k, max_penalty) plus uniform jitter in [0, base × jitter),
    capped at max_penalty; exactly one probe request in probation. 429 is a success.
    """

    consecutive_failures: int = 7
    min_penalty: float = 1.0
    max_penalty: float = 60.0
    jitter: float = 0.5


@dataclass(frozen=True)
class LinkerdBackend:
    """What a linkerd2-proxy's balancer for one backend service is configured with.

    P2C over ready endpoints by Peak-EWMA cost, behind a FIFO queue with failfast, and
    per-endpoint failure accrual when the Service asks for it (linkerd.md §4–§5).
    """

    peak_ewma: PeakEwmaSpec = PeakEwmaSpec()
    queue: QueueSpec = QueueSpec()
    failure_accrual: FailureAccrual | None = None


@dataclass(frozen=True)
class FailoverSplit:
    """A TrafficSplit the linkerd-failover controller manages: ``primary`` takes the apex's
    traffic while it has ready endpoints, else ``fallback`` (``failover.linkerd.io/...``)."""

    name: str
    apex: str
    primary: str
    fallback: str
