"""One request's state inside one linkerd2-proxy: its route, retry engine, backend, attempt."""

from __future__ import annotations

from typing import TYPE_CHECKING

from meshsim.sim.linkerd.plan import RoutePlan
from meshsim.sim.messages import Attempt, Call

if TYPE_CHECKING:
    from meshsim.sim.kernel import Timers
    from meshsim.sim.linkerd.pool import BackendPool, Endpoint
    from meshsim.sim.linkerd.retry import PolicyRetry, ProfileRetry


class Flight:
    """The router's state for one request inside one linkerd2-proxy."""

    __slots__ = ("attempt", "attempt_timer", "attempt_timers", "balancer", "call", "done",
                 "endpoint", "plan", "policy_retry", "profile_retry", "request_timer", "started")

    def __init__(self, call: Call, plan: RoutePlan) -> None:
        self.call = call
        self.plan = plan  # its route, as this proxy runs it
        self.profile_retry: ProfileRetry | None = None
        self.policy_retry: PolicyRetry | None = None
        self.balancer: BackendPool | None = None
        self.attempt: Attempt | None = None
        self.endpoint: Endpoint | None = None
        self.done = False
        self.started = 0.0
        # the timers of its request and current attempt, let go of when over (Timers.let_go)
        self.request_timer = -1
        self.attempt_timer = -1
        self.attempt_timers: Timers | None = None  # what ``attempt_timer`` was armed on


def flight_done(flight: Flight) -> bool:
    """A request timer is over once its request finished (``done`` never reverts)."""
    return flight.done


def attempt_over(value: tuple[Attempt, str]) -> bool:
    """An attempt timer is over once its request finished (the call then drops its flight)
    or moved past the attempt."""
    att = value[0]
    flight: Flight | None = att.call.state  # type: ignore[assignment]
    return flight is None or flight.done or flight.attempt is not att
