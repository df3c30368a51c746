"""The per-backend balancer queue with failfast, as a pure state machine.

Follows ``linkerd/proxy/balance/queue/src/{service,worker,failfast}.rs`` in
linkerd/linkerd2-proxy (reference/linkerd.md §0, §4.4, C9, C11). Callers see the queue through
a gate: it is *ready* when the gate is open and the channel has room. One worker pulls one
request at a time (so ``capacity + 1`` requests can be held) and waits for the pool (P2C over
ready endpoints) to become ready. If that wait reaches the failfast timeout, the request fails
with FailFast (504), the gate shuts, and every request dequeued while in failfast fails at
once. Failfast ends only when the pool becomes ready (not when time passes); then the gate
reopens. A request for a backend whose queue is not ready is load-shed (503) at once
(:meth:`.pool.BackendPool.send`); the route prefers ready backends (:mod:`.distribute`).

The engine drives it (:class:`.pool.BackendPool`): :meth:`BalancerQueue.enqueue` when a
request arrives, :meth:`BalancerQueue.step` whenever time passes to
:meth:`BalancerQueue.next_deadline`, an endpoint becomes ready, or a request is enqueued.
``dispatch(req)`` is the engine's P2C pick: it sends the request and returns True, or returns
False when no endpoint is ready.
"""

from __future__ import annotations

import typing
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeVar

from meshsim.sim.generic import Generic, GenericBase

R = TypeVar("R")

OUTBOUND_CAPACITY = 10_000
OUTBOUND_FAILFAST = 3.0
INBOUND_CAPACITY = 10_000
INBOUND_FAILFAST = 1.0

FAIL_FAST_STATUS = 504  # FailFastError → 504 / DEADLINE_EXCEEDED (§2.3)
LOAD_SHED_STATUS = 503  # LoadShedError → 503 / UNAVAILABLE

Outcome = Literal["dispatched", "fail_fast"]
FailfastState = Literal["idle", "waiting", "failfast"]

EPS = 1e-9  # a step this close before the deadline counts as at it (callers with float clocks)


@dataclass
class Result(typing.Generic[R]):
    """What happened to one queued request at ``time``."""

    request: R
    outcome: Outcome
    time: float


class BalancerQueue(GenericBase, Generic[R]):
    """Gate + bounded FIFO + worker with failfast, for one backend (one balancer)."""

    def __init__(
        self, capacity: int = OUTBOUND_CAPACITY, failfast: float = OUTBOUND_FAILFAST,
        *, eps: float = EPS,
    ) -> None:
        self.capacity = capacity
        self.eps = eps
        self.failfast_timeout = failfast
        self.channel: deque[tuple[R, float]] = deque()
        self.head: tuple[R, float] | None = None  # held by the worker, awaiting readiness
        self.state: FailfastState = "idle"
        self.since: float | None = None  # start of the current wait (Waiting/Failfast since)
        self.gate_open = True

    # -- caller side ---------------------------------------------------------------------------

    def ready(self) -> bool:
        """``Gate::poll_ready`` then ``PollSender::poll_reserve``: gate open and room left."""
        return self.gate_open and len(self.channel) < self.capacity

    def enqueue(self, request: R, now: float) -> None:
        """Send a request the caller saw :meth:`ready`; follow with :meth:`step`."""
        if not self.ready():
            raise RuntimeError("enqueue on a queue that is not ready (load-shed it instead)")
        self.channel.append((request, now))

    def __len__(self) -> int:
        return len(self.channel) + (self.head is not None)

    def take_all(self) -> list[R]:
        """Give up every request, the worker's included (the end of a run: nothing runs
        after it), returning them."""
        held = [] if self.head is None else [self.head[0]]
        held.extend(request for request, _ in self.channel)
        self.head = None
        self.channel.clear()
        return held

    # -- worker side ---------------------------------------------------------------------------

    def endpoint_ready(self, now: float) -> None:
        """The pool became ready: leaves failfast at once and reopens the gate (``drive``)."""
        if self.state == "failfast":
            self._set_ready()

    def _set_ready(self) -> None:
        if self.state == "failfast":
            self.gate_open = True
        self.state = "idle"
        self.since = None

    def next_deadline(self) -> float | None:
        """When the waiting request hits failfast, if a request is waiting."""
        if self.state == "waiting" and self.since is not None:
            return self.since + self.failfast_timeout
        return None

    def step(self, now: float, dispatch: Callable[[R], bool]) -> list[Result[R]]:
        """Run the worker until it blocks; returns each request's fate in order."""
        out: list[Result[R]] = []
        while True:
            if self.head is None:
                if not self.channel:
                    return out
                self.head = self.channel.popleft()
            request, _t0 = self.head
            # ready_or_failfast: the pool's readiness is polled first (biased select).
            if dispatch(request):
                self._set_ready()
                out.append(Result(request, "dispatched", now))
                self.head = None
                continue
            if self.state == "failfast":
                out.append(Result(request, "fail_fast", now))
                self.head = None
                continue
            if self.state == "idle":
                self.state = "waiting"
                self.since = now  # the timer starts when a request begins to wait
            deadline = self.next_deadline()
            assert deadline is not None
            if now + self.eps < deadline:
                return out
            self.state = "failfast"  # entered: shut the gate, fail the waiting request
            self.gate_open = False
            out.append(Result(request, "fail_fast", now))
            self.head = None
