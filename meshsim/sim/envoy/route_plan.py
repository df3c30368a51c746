"""A route as one sidecar's router reads it per request: compiled once from the frozen config.

Envoy builds its route table once per configuration and reads plain fields per request
(``RouteEntryImplBase``). meshsim's :class:`~meshsim.model.routes.Route` is a frozen dataclass
shared by every proxy; in the compiled build each read of one of its fields is a dictionary
look-up. A :class:`RoutePlan` copies what the router reads per request and per attempt (the
fault percentages, the timeouts, the retry policy's ``retry_on`` as flags, the weighted
backends) into C fields, once per route and proxy, and keeps what the proxy resolves lazily
for that route (each backend's cluster, the timer queues), so a request reads no config object.

Routes never change during a run: a rollout controller's route (:class:`LiveRoute`) keeps its
mutable weights in a shared object that :func:`~meshsim.sim.envoy.split.live_pick` reads per
request, so its plan only remembers that it is live.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from meshsim.model.routes import Backend, Route
from meshsim.sim.envoy.retry import RetryOn
from meshsim.sim.envoy.split import static_pick
from meshsim.sim.live_routes import LiveRoute
from meshsim.sim.messages import Call
from meshsim.sim.routing import request_matches
from meshsim.sim.sampling import Sampler

if TYPE_CHECKING:
    from meshsim.sim.kernel import Timers


class BackendPlan:
    """One weighted destination of a route, with the cluster the proxy resolved for it."""

    __slots__ = (
        "backend", "cluster", "edits_headers", "remove_headers", "resolved", "service",
        "set_headers", "subset", "weight",
    )

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.service = backend.service
        self.subset = backend.subset
        self.weight = backend.weight
        self.set_headers = backend.set_headers
        self.remove_headers = backend.remove_headers
        self.edits_headers = bool(backend.set_headers or backend.remove_headers)
        self.cluster: object = None  # the proxy's Cluster (or None: no endpoints), once resolved
        self.resolved = False


class RoutePlan:
    """One route of one proxy's table (see the module docstring)."""

    __slots__ = (
        "abort_percent", "abort_status", "catch_all", "delay", "delay_percent", "direct",
        "direct_status", "edits_headers", "grpc", "live", "matches", "mirrors",
        "per_try_timeout", "per_try_timers", "remove_headers", "retry_on", "route",
        "route_timers", "set_headers", "targets", "timeout",
    )

    def __init__(self, route: Route, grpc: bool) -> None:
        self.route = route
        self.matches = tuple(route.matches)
        self.catch_all = not route.matches
        self.direct = route.direct_status is not None
        self.direct_status = route.direct_status if route.direct_status is not None else 0
        self.set_headers = route.set_headers
        self.remove_headers = route.remove_headers
        self.edits_headers = bool(route.set_headers or route.remove_headers)
        fault = route.fault
        self.delay_percent = fault.delay_percent if fault is not None else 0.0
        self.delay = fault.delay if fault is not None else 0.0
        self.abort_percent = fault.abort_percent if fault is not None else 0.0
        self.abort_status = fault.abort_status if fault is not None else 0
        self.timeout = route.timeout
        self.mirrors = tuple(route.mirrors)
        self.targets = tuple(BackendPlan(b) for b in route.backends)
        self.live = route if isinstance(route, LiveRoute) else None
        retry = route.retry
        self.retry_on = RetryOn(retry) if retry is not None else None
        per_try = retry.per_try_timeout if retry is not None else 0.0
        # Envoy arms a per-try timer only when it would fire before the route's timeout.
        self.per_try_timeout = per_try if per_try > 0 and (
            route.timeout == 0 or per_try < route.timeout) else 0.0
        self.grpc = grpc  # the called service speaks gRPC: local replies carry grpc-status
        self.route_timers: Timers | None = None  # the proxy's, for ``timeout``, once needed
        self.per_try_timers: Timers | None = None  # the proxy's, for ``per_try_timeout``

    def pick(self, roll: Sampler) -> BackendPlan:
        """Envoy's weighted-cluster pick (:func:`~meshsim.sim.envoy.split.static_pick`)."""
        targets = self.targets
        if len(targets) == 1:
            return targets[0]  # static_pick draws nothing for one backend either
        return static_pick(targets, roll)


def select_plan(plans: tuple[RoutePlan, ...], call: Call) -> RoutePlan | None:
    """:func:`~meshsim.sim.routing.select_route` over plans: the first route with a
    matching block (or no blocks); ``None`` = 404 NR."""
    for plan in plans:
        if plan.catch_all:
            return plan
        for match in plan.matches:
            if request_matches(match, call):
                return plan
    return None


def edit_headers(call: Call, set_headers: Mapping[str, str],
                 remove_headers: tuple[str, ...]) -> None:
    """A route's or backend's request header edits: removals, then sets, on a copy (callers
    share one headers dict between their calls)."""
    headers = {k: v for k, v in call.headers.items() if k not in remove_headers}
    headers.update(set_headers)
    call.headers = headers
