"""Consecutive-failures failure accrual: one breaker per endpoint per client proxy.

Follows ``linkerd/app/outbound/src/http/breaker/consecutive_failures.rs`` (``open``,
``closed``, ``probation``) in linkerd/linkerd2-proxy, with the backoff of
``linkerd/exp-backoff`` (see :mod:`.backoff`); failure classification per
``linkerd/app/core/src/classify.rs``. reference/linkerd.md §5.1–§5.2, C8–C10.

Upstream says "open" for admitting and "shut" for ejected; here the states are ``admitting``,
``ejected`` and ``probation``. An endpoint that is not :meth:`ready` is in the balancer's
pending set: P2C never sees it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from meshsim.model.grpc import grpc_code
from meshsim.sim.linkerd.backoff import ACCRUAL_BACKOFF, BackoffStream, ExponentialBackoff

State = Literal["admitting", "ejected", "probation"]

DEFAULT_MAX_FAILURES = 7

# Default gRPC failure set of the endpoint classifier (UNKNOWN included, as in code).
GRPC_FAILURE_CODES = frozenset({2, 4, 7, 13, 14, 15})  # UNKNOWN, DEADLINE_EXCEEDED,
# PERMISSION_DENIED, INTERNAL, UNAVAILABLE, DATA_LOSS


def is_failure(
    status: int | None, *, grpc_status: int | None = None, stream_error: bool = False
) -> bool:
    """Endpoint classifier: HTTP 5xx, a gRPC failure code, or a stream error. 429 succeeds."""
    if stream_error or status is None:
        return True
    if grpc_status is None:
        grpc_status = grpc_code(status)
    if grpc_status is not None:
        return grpc_status in GRPC_FAILURE_CODES
    return 500 <= status <= 599


class ConsecutiveFailures:
    """The breaker as a pure state machine; ``now`` in seconds, ``rand`` in [0, 1)."""

    def __init__(
        self,
        max_failures: int = DEFAULT_MAX_FAILURES,
        backoff: ExponentialBackoff = ACCRUAL_BACKOFF,
        *,
        rand: Callable[[], float],
    ) -> None:
        self.max_failures = max_failures
        self.backoff = backoff
        self._rand = rand
        self.state: State = "admitting"
        self.failures = 0
        self.permits = 0  # the probation semaphore; add_permits(1) on every probation
        self.probe_at: float | None = None
        self._stream: BackoffStream | None = None
        self.ejections = 0

    def _eject(self, now: float) -> None:
        assert self._stream is not None
        self.state = "ejected"
        self.probe_at = now + self._stream.next_delay()

    def advance(self, now: float) -> None:
        """Fire the backoff timer if it is due: ejected → probation with one more permit."""
        if self.state == "ejected" and self.probe_at is not None and now >= self.probe_at - 1e-12:
            self.state = "probation"
            self.probe_at = None
            self.permits += 1

    def next_deadline(self) -> float | None:
        """When the engine must call :meth:`advance` (end of the current ejection)."""
        return self.probe_at if self.state == "ejected" else None

    def ready(self, now: float) -> bool:
        """Admitting, or in probation with a permit left (the probe not yet sent)."""
        self.advance(now)
        return self.state == "admitting" or (self.state == "probation" and self.permits > 0)

    def acquire(self, now: float) -> None:
        """A request is dispatched to this endpoint; in probation it takes the permit."""
        self.advance(now)
        if self.state == "probation":
            assert self.permits > 0, "dispatch to an endpoint that is not ready"
            self.permits -= 1
        else:
            assert self.state == "admitting", "dispatch to an ejected endpoint"

    def on_response(self, now: float, failure: bool) -> None:
        """A classified response (or error) from this endpoint arrived at ``now``.

        While ejected responses are ignored; in probation the *next* response of any request
        decides, as the upstream task just reads its channel.
        """
        self.advance(now)
        if self.state == "admitting":
            if not failure:
                self.failures = 0
                return
            self.failures += 1
            if self.failures == self.max_failures:
                self.ejections += 1
                self._stream = BackoffStream(self.backoff, self._rand)  # fresh per ejection
                self._eject(now)
        elif self.state == "probation":
            if failure:
                self._eject(now)  # same stream: the next, longer backoff
            else:
                self.state = "admitting"
                self.failures = 0
                self._stream = None
