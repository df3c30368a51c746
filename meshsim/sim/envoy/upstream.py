"""The router's per-request state in one Envoy: route, cluster, host, attempt and retry state.

Models the state Envoy's router filter keeps for one downstream request and its current
upstream attempt (envoyproxy/envoy ``source/common/router/router.h`` ``Filter`` and
``source/common/router/upstream_request.h``), with the response-flag joining of
``source/common/stream_info/utility.cc``. :class:`~meshsim.sim.envoy.proxy.EnvoyProxy`
drives it; the timers' "is it over" predicates live here beside the state they read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from meshsim.model.routes import Route
    from meshsim.sim.envoy.cluster import Cluster, Connection
    from meshsim.sim.envoy.retry import RetryState
    from meshsim.sim.envoy.route_plan import RoutePlan
    from meshsim.sim.messages import Attempt, Call
    from meshsim.sim.pod import Pod


def join_flags(flags: str, more: str | None) -> str:
    if not more:
        return flags
    return f"{flags},{more}" if flags else more


class Upstream:
    """The router's state for one downstream request inside one sidecar."""

    __slots__ = (
        "attempt", "call", "cluster", "conn", "done", "flags", "hash", "host", "plan", "retry",
        "route", "route_timer", "try_timer", "waiting",
    )

    def __init__(self, call: Call) -> None:
        self.call = call
        self.route: Route | None = None
        self.plan: RoutePlan | None = None  # the route as this proxy compiled it (not shadows)
        self.cluster: Cluster | None = None
        self.retry: RetryState | None = None
        self.flags = ""
        self.hash: int | None = None
        self.conn: Connection | None = None
        self.host: Pod | None = None
        self.attempt: Attempt | None = None  # in flight, not yet answered
        self.waiting: Pod | None = None  # pending for a connection to this host
        self.done = False
        # the tickets of its timers (Timers.let_go), -1 once let go of (or none armed)
        self.route_timer = -1  # the route timeout's, let go of when done
        self.try_timer = -1  # the attempt's per-try timeout, let go of when over


def upstream_done(up: Upstream) -> bool:
    """A route timer is over once its request finished (``done`` never reverts)."""
    return up.done


def attempt_over(att: Attempt) -> bool:
    """A per-try timer is over once its request finished (the call then drops its upstream
    state) or moved past the attempt."""
    up: Upstream | None = att.call.state  # type: ignore[assignment]
    return up is None or up.done or up.attempt is not att
