"""Retries: ``retry_on`` classification, the per-request retry state machine and its backoff.

Follows ``source/common/router/retry_state_impl.cc`` (``wouldRetryFromHeaders``,
``wouldRetryFromReset``, ``shouldRetry``, ``resetRetry``) and
``source/common/common/backoff_strategy.cc`` (``JitteredExponentialBackOffStrategy``);
reference/envoy-istio.md §4. Not modelled: ``retriable-headers`` and ``envoy-ratelimited``
(they need response headers), ``http3-post-connect-failure``, ``x-envoy-*`` request headers,
rate-limited (``Retry-After``) backoff.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Literal

from meshsim.model.grpc import GRPC_BASE
from meshsim.model.routes import RetryPolicy
from meshsim.sim.envoy.breakers import ResourceManager
from meshsim.sim.envoy.previous_priorities import PreviousPriorities
from meshsim.sim.sampling import U64Blocks

ResetKind = Literal[
    "connect_failure", "per_try_timeout", "remote_reset", "refused_stream", "overflow"
]
Outcome = int | ResetKind

RESET_KINDS: frozenset[str] = frozenset(
    {"connect_failure", "per_try_timeout", "remote_reset", "refused_stream", "overflow"}
)

# gRPC status codes Envoy's retry_on understands (grpc-status in response headers only).
_GRPC_TOKENS = {
    "cancelled": 1,
    "deadline-exceeded": 4,
    "resource-exhausted": 8,
    "internal": 13,
    "unavailable": 14,
}

_TOO_EARLY = 425


# What ``retry_on`` says of one outcome (Envoy's ``RetryDecision``), as plain ints: the router
# asks on every attempt, and in the compiled build an int compares in C where an enum member
# is a module and attribute look-up.
_NO_RETRY = 0
_BACKOFF = 1  # RetryDecision::RetryWithBackoff
_IMMEDIATELY = 2  # RetryDecision::RetryImmediately (425 Too Early): next loop, no backoff


class RetryOn:
    """A retry policy read once per route: its ``retry_on`` tokens as flags, its backoff
    bounds and its host-selection settings. The router classifies every attempt's outcome
    and starts a :class:`RetryState` per request that fails once; these are C fields in the
    compiled build, where the policy's are a look-up each (and the token set one per token)."""

    __slots__ = (
        "any_reset", "backoff_base_ms", "backoff_max_ms", "connect_failure", "gateway_error",
        "grpc_codes", "host_selection_attempts", "num_retries", "on_5xx", "policy",
        "previous_hosts", "previous_priorities", "refused_stream", "reset_before_request",
        "retriable_4xx", "status_codes",
    )

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        on = policy.retry_on
        self.on_5xx = "5xx" in on
        self.gateway_error = "gateway-error" in on
        self.retriable_4xx = "retriable-4xx" in on
        self.status_codes: frozenset[int] = (
            frozenset(policy.retriable_status_codes) if "retriable-status-codes" in on
            else frozenset())
        self.grpc_codes = frozenset(code for token, code in _GRPC_TOKENS.items() if token in on)
        self.connect_failure = "connect-failure" in on
        self.reset_before_request = "reset-before-request" in on
        self.any_reset = "reset" in on or self.on_5xx or self.gateway_error
        self.refused_stream = "refused-stream" in on
        self.num_retries = policy.num_retries
        self.backoff_base_ms = _ms(policy.backoff_base)
        self.backoff_max_ms = (_ms(policy.backoff_max) if policy.backoff_max is not None
                               else self.backoff_base_ms * 10)
        self.host_selection_attempts = policy.host_selection_attempts
        self.previous_hosts = policy.previous_hosts
        self.previous_priorities = policy.previous_priorities

    def matches(self, outcome: Outcome) -> bool:
        """Does ``retry_on`` retry this outcome at all (:func:`wants_retry`)?"""
        return self.would(outcome) != _NO_RETRY

    def would(self, outcome: Outcome, grpc_status: int | None = None,
              request_started: bool | None = None) -> int:
        """``_NO_RETRY``, ``_BACKOFF`` or ``_IMMEDIATELY`` for one attempt's outcome."""
        if isinstance(outcome, str):
            return self.from_reset(outcome, request_started)
        return self.from_headers(int(outcome), grpc_status)

    def from_reset(self, outcome: str, request_started: bool | None) -> int:
        """``RetryStateImpl::wouldRetryFromReset``: a stream reset or connection failure."""
        if outcome not in RESET_KINDS:
            raise ValueError(f"unknown reset kind {outcome!r}")
        if outcome == "overflow":
            return _NO_RETRY
        started = (request_started if request_started is not None
                   else outcome != "connect_failure")
        if outcome == "connect_failure" and self.connect_failure:
            return _BACKOFF
        if self.reset_before_request and not started:
            return _BACKOFF
        if self.any_reset:
            return _BACKOFF
        if outcome == "refused_stream" and self.refused_stream:
            return _BACKOFF
        return _NO_RETRY

    def from_headers(self, status: int, grpc_status: int | None) -> int:
        """``RetryStateImpl::wouldRetryFromHeaders``: an upstream response's status. A gRPC
        answer (model/grpc) is HTTP 200 with its grpc-status in the headers (Trailers-Only)."""
        if status > GRPC_BASE:
            grpc_status, status = status - GRPC_BASE, 200
        if self.on_5xx and 500 <= status <= 599:
            return _BACKOFF
        if self.gateway_error and (status == 502 or status == 503 or status == 504):
            return _BACKOFF
        if self.retriable_4xx and status == 409:
            return _BACKOFF
        if self.status_codes and status in self.status_codes:
            # Envoy retries 425 immediately (unless the downstream request was early data,
            # which meshsim does not model).
            return _IMMEDIATELY if status == _TOO_EARLY else _BACKOFF
        if grpc_status is not None and grpc_status in self.grpc_codes:
            return _BACKOFF
        return _NO_RETRY


def wants_retry(
    policy: RetryPolicy,
    outcome: Outcome,
    *,
    grpc_status: int | None = None,
    request_started: bool | None = None,
) -> bool:
    """Would ``policy.retry_on`` retry this attempt outcome (§4.1)?

    ``outcome`` is an HTTP status from response headers or a reset kind. A per-try timeout is
    a local reset: only ``5xx``, ``gateway-error`` and ``reset`` match it. ``overflow`` never
    retries. ``request_started`` (default: False only for ``connect_failure``) drives
    ``reset-before-request``. gRPC tokens match only a ``grpc_status`` from response headers.
    """
    return RetryOn(policy).would(outcome, grpc_status, request_started) != _NO_RETRY


class JitteredExponentialBackOff:
    """``JitteredExponentialBackOffStrategy``: ``rand() % bound`` ms, bound = base, doubling
    while below max/2, then pinned at max (default bounds 25, 50, 100, 200, 250, 250 … ms)."""

    __slots__ = ("_doubling_limit", "_next", "_rand", "_u64", "base_ms", "max_ms")

    def __init__(self, base_ms: int, max_ms: int, rand: Callable[[], int]) -> None:
        self.configure(base_ms, max_ms, rand)

    def configure(self, base_ms: int, max_ms: int, rand: Callable[[], int]) -> None:
        """:meth:`__init__`'s work, also for an instance made without calling the class."""
        if base_ms <= 0 or base_ms > max_ms:
            raise ValueError("backoff needs 0 < base_interval <= max_interval")
        self.base_ms = base_ms
        self.max_ms = max_ms
        self._doubling_limit = max_ms // 2
        self._next = base_ms
        self._rand = rand
        # The compiled build's stream itself: a C call per draw, as the balancers' picks.
        self._u64 = rand if isinstance(rand, U64Blocks) else None

    @property
    def bound_ms(self) -> int:
        """The exclusive bound of the next delay."""
        return self._next

    def next_ms(self) -> int:
        bound = self._next
        self._next = bound * 2 if bound < self._doubling_limit else self.max_ms
        u64 = self._u64
        draw = u64.next_u64() if u64 is not None else self._rand()
        return int(draw % bound)

    def reset(self) -> None:
        self._next = self.base_ms


class RetryStatus(enum.Enum):
    NO = "no"
    RETRY = "retry"
    LIMIT_EXCEEDED = "limit_exceeded"  # response flag URX
    OVERFLOW = "overflow"  # response flag UO


@dataclass(frozen=True)
class Decision:
    status: RetryStatus
    delay: float = 0.0  # seconds before the retry is sent (RETRY only)

    @property
    def flag(self) -> str | None:
        return decision_flag(_STATUSES.index(self.status))


# :meth:`RetryState.decide`'s answers, one per :class:`RetryStatus` in its order: the router
# asks after every failed attempt, and a C int needs no object where a Decision is one.
NO = 0
RETRY = 1
LIMIT_EXCEEDED = 2
OVERFLOW = 3
_STATUSES = (RetryStatus.NO, RetryStatus.RETRY, RetryStatus.LIMIT_EXCEEDED, RetryStatus.OVERFLOW)


def decision_flag(code: int) -> str | None:
    """The response flag of a :meth:`RetryState.decide` answer that ends the request."""
    if code == LIMIT_EXCEEDED:
        return "URX"
    if code == OVERFLOW:
        return "UO"
    return None
# Outcomes without a delay are the same every time: no need for a new object per decision.
_NO = Decision(RetryStatus.NO)
_LIMIT = Decision(RetryStatus.LIMIT_EXCEEDED)
_OVERFLOW = Decision(RetryStatus.OVERFLOW)


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))  # Envoy rounds sub-millisecond intervals up to 1 ms


class RetryState:
    """One request's retry state (``RetryStateImpl``), sharing its cluster's breaker and stats.

    Call :meth:`should_retry` (or :meth:`decide`, its allocation-free form) with the outcome of
    *every* attempt, successes included (that is how Envoy counts ``upstream_rq_retry_success``
    and releases the retry slot), and :meth:`release` when the request ends. An accepted retry
    holds one slot of the retry breaker from the decision, through its backoff wait, until the
    next decision or the end.
    """

    __slots__ = (
        "_attempted", "_holding", "backoff", "breaker", "delay", "host_selection_attempts",
        "policy", "previous_hosts", "priority", "retries_remaining", "retry_on",
    )

    def __init__(
        self, policy: RetryPolicy, breaker: ResourceManager, rand: Callable[[], int],
        retry_on: RetryOn | None = None,
    ) -> None:
        # ``retry_on``: the route plan's own reading of ``policy``, made once per route
        self.configure(RetryOn(policy) if retry_on is None else retry_on, breaker, rand)

    def configure(
        self, retry_on: RetryOn, breaker: ResourceManager, rand: Callable[[], int],
    ) -> None:
        """:meth:`__init__`'s work, also for an instance made by :func:`retry_state`."""
        self.policy = retry_on.policy
        self.retry_on = retry_on  # read below through the typed attribute: C fields compiled
        self.breaker = breaker
        self.retries_remaining = retry_on.num_retries
        backoff = JitteredExponentialBackOff.__new__(JitteredExponentialBackOff)
        backoff.configure(retry_on.backoff_base_ms, retry_on.backoff_max_ms, rand)
        self.backoff = backoff
        self.delay = 0.0  # the backoff of the last retry :meth:`decide` accepted, in seconds
        # ``hostSelectionRetryCount``: extra picks the load balancer offers to :meth:`accept`
        self.host_selection_attempts = self.retry_on.host_selection_attempts
        self.previous_hosts = self.retry_on.previous_hosts
        self._holding = False
        self._attempted: list[Hashable] = []
        # the retry priority plugin, only when configured (retryRemoteLocalities)
        self.priority: PreviousPriorities | None = None
        if self.retry_on.previous_priorities:
            self.priority = PreviousPriorities(self.retry_on.previous_priorities)

    @property
    def stats(self) -> dict[str, int]:
        return self.breaker.stats

    def release(self) -> None:
        """``resetRetry``: give back the retry slot held by the last accepted retry, if any."""
        if self._holding:
            self.breaker.dec_retries()
            self._holding = False

    def should_retry(
        self,
        outcome: Outcome,
        active_requests: int | None = None,
        pending_requests: int | None = None,
        *,
        grpc_status: int | None = None,
        request_started: bool | None = None,
    ) -> Decision:
        """§4.2 in Envoy's order: not retriable → NO; none left → LIMIT_EXCEEDED; consume one;
        breaker/budget full → OVERFLOW; else RETRY after a jittered backoff."""
        code = self.decide(outcome, grpc_status, request_started, active_requests,
                           pending_requests)
        if code == RETRY:
            return Decision(RetryStatus.RETRY, self.delay)
        return _NO if code == NO else _LIMIT if code == LIMIT_EXCEEDED else _OVERFLOW

    def decide(
        self, outcome: Outcome, grpc_status: int | None = None,
        request_started: bool | None = None, active_requests: int | None = None,
        pending_requests: int | None = None,
    ) -> int:
        """:meth:`should_retry` as a code (``NO``, ``RETRY``, ``LIMIT_EXCEEDED``, ``OVERFLOW``),
        the backoff of an accepted retry in :attr:`delay`."""
        would = self.retry_on.would(outcome, grpc_status, request_started)
        stats = self.breaker.stats
        if self._holding and would == _NO_RETRY:
            stats["upstream_rq_retry_success"] += 1
        self.release()
        if would == _NO_RETRY:
            return NO
        if self.retries_remaining == 0:
            stats["upstream_rq_retry_limit_exceeded"] += 1
            return LIMIT_EXCEEDED
        self.retries_remaining -= 1
        if not self.breaker.can_retry(active_requests, pending_requests):
            stats["upstream_rq_retry_overflow"] += 1
            return OVERFLOW
        self.breaker.inc_retries()
        self._holding = True
        stats["upstream_rq_retry"] += 1
        self.delay = 0.0 if would == _IMMEDIATELY else self.backoff.next_ms() / 1000.0
        return RETRY

    # -- retry host predicates (previous_hosts) ---------------------------------------------

    def host_attempted(self, host: Hashable) -> None:
        """``onHostAttempted``: remember every host an attempt of this request went to."""
        self._attempted.append(host)
        if self.priority is not None:
            self.priority.host_attempted(host)

    def accept(self, host: Hashable) -> bool:
        """Negation of ``shouldSelectAnotherHost``: previous_hosts rejects attempted hosts."""
        return not (self.previous_hosts and host in self._attempted)


def retry_state(
    retry_on: RetryOn, breaker: ResourceManager, rand: Callable[[], int],
) -> RetryState:
    """``RetryState(retry_on.policy, breaker, rand, retry_on)`` without a Python call of the
    class (nor of the backoff's): C allocations when compiled. The router makes one per request
    that fails once, which an overloaded mesh does thousands of times a second."""
    state = RetryState.__new__(RetryState)
    state.configure(retry_on, breaker, rand)
    return state
