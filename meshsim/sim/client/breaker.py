"""A client circuit breaker on resilience4j's rules (``CircuitBreakerStateMachine``,
count-based sliding window).

- CLOSED: every call is permitted; outcomes fill a ring of ``window`` calls. Once at least
  ``min(minimum_calls, window)`` outcomes are in it, a failure rate (per cent) at or above
  ``failure_rate`` opens the breaker.
- OPEN: calls are rejected (``CallNotPermittedException``) until ``open_wait`` has passed;
  the next call then moves it to HALF_OPEN (resilience4j's default, no automatic transition).
- HALF_OPEN: ``half_open_calls`` calls are permitted, others rejected; once all their outcomes
  are in, the failure rate decides: at or above the threshold, OPEN again, else CLOSED with an
  empty ring.

Outcomes arriving while OPEN (calls permitted before it opened) change nothing. Slow-call
thresholds are not modelled.
"""

from __future__ import annotations

from collections import deque

from meshsim.model.clients import ClientBreaker

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


class CountBreaker:
    __slots__ = ("config", "failures", "opened_at", "outcomes", "permits", "rejected", "state",
                 "transitions")

    def __init__(self, config: ClientBreaker) -> None:
        self.config = config
        self.state = CLOSED
        self.outcomes: deque[bool] = deque()  # True = failure
        self.failures = 0
        self.opened_at = 0.0
        self.permits = 0
        self.rejected = 0
        self.transitions: list[tuple[float, str]] = []

    def permit(self, now: float) -> bool:
        """May a call go out now (``tryAcquirePermission``)?"""
        if self.state == OPEN:
            if now - self.opened_at < self.config.open_wait:
                self.rejected += 1
                return False
            self._enter(HALF_OPEN, now)
        if self.state == HALF_OPEN:
            if self.permits <= 0:
                self.rejected += 1
                return False
            self.permits -= 1
        return True

    def record(self, failed: bool, now: float) -> None:
        """A permitted call's outcome (``onSuccess`` / ``onError``)."""
        if self.state == OPEN:
            return
        size = self.config.window if self.state == CLOSED else self.config.half_open_calls
        self.outcomes.append(failed)
        self.failures += failed
        if len(self.outcomes) > size:
            self.failures -= self.outcomes.popleft()
        needed = (min(self.config.minimum_calls, size) if self.state == CLOSED
                  else self.config.half_open_calls)
        if len(self.outcomes) < needed:
            return
        if 100.0 * self.failures / len(self.outcomes) >= self.config.failure_rate:
            self._enter(OPEN, now)
        elif self.state == HALF_OPEN:
            self._enter(CLOSED, now)

    def _enter(self, state: str, now: float) -> None:
        self.state = state
        self.outcomes.clear()
        self.failures = 0
        self.transitions.append((now, state))
        if state == OPEN:
            self.opened_at = now
        elif state == HALF_OPEN:
            self.permits = self.config.half_open_calls
