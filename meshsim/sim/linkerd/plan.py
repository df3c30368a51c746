"""A route as one linkerd2-proxy runs it: what the request path reads per request and attempt.

A :class:`~meshsim.model.routes.Route` is a frozen dataclass, so every field read is a
dictionary look-up, and the proxy read several per request and per attempt (filters, retry
engine, timeouts, backends). A :class:`RoutePlan` holds them as fields (C fields in the
compiled build), together with the proxy's own objects for the route: its profile retry
policy, its policy retry rule and the timers of its request and attempt timeouts. The proxy
builds one where it remembers the route a request takes
(:meth:`~meshsim.sim.linkerd.proxy.LinkerdProxy.plan_for`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from meshsim.model.routes import Route
from meshsim.sim.kernel import Timers
from meshsim.sim.linkerd.retry import PolicyRetry, PolicyRetryConfig, ProfileRetry, RetryRule
from meshsim.sim.live_routes import LiveRoute

if TYPE_CHECKING:
    from meshsim.sim.linkerd.flight import Flight
    from meshsim.sim.linkerd.pool import BackendPool
    from meshsim.sim.messages import Attempt


class RoutePlan:
    """One route of one client proxy, read per request (see the module docstring).

    Attempt timeouts (``route/retry.rs``): the first of the response timeout (``other``, not
    retryable) and, while the policy retry's own timeout applies (every attempt but the last),
    the retry timeout (``response_headers_timeout``, retryable); on a tie the response
    timeout. ``retry_timers``/``retry_kind`` is that choice while the retry timeout applies,
    ``attempt_timers``/``attempt_kind`` the choice otherwise; no timers, no timeout.
    """

    __slots__ = (
        "attempt_kind", "attempt_timers", "grpc", "live", "pool", "profile_retry", "redirects",
        "request_timers", "retry_config", "retry_kind", "retry_rule", "retry_timers",
        "rewrites_headers", "route", "service",
    )

    def __init__(self, route: Route, grpc: bool) -> None:
        self.route = route
        self.grpc = grpc  # the request's service answers gRPC
        self.redirects = route.redirect is not None
        self.rewrites_headers = bool(route.set_headers or route.remove_headers)
        self.profile_retry: ProfileRetry | None = None
        self.retry_config: PolicyRetryConfig | None = None
        self.retry_rule: RetryRule | None = None
        self.request_timers: Timers | None = None
        self.attempt_timers: Timers | None = None
        self.attempt_kind = ""
        self.retry_timers: Timers | None = None
        self.retry_kind = ""
        self.live = isinstance(route, LiveRoute)  # a rollout's live split: weights change
        # one backend takes everything: the pool is looked up once it exists
        self.service = route.backends[0].service if len(route.backends) == 1 else None
        self.pool: BackendPool | None = None

    def start_attempt_timer(self, flight: Flight, att: Attempt, retry: PolicyRetry | None) -> int:
        """Arm the timeout of an attempt just sent, if it has one: the timer's ticket (-1 for
        none), and its timers in ``flight.attempt_timers``, for ``Timers.let_go``."""
        if retry is not None and retry.attempt <= retry.rule.limit:
            timers, kind = self.retry_timers, self.retry_kind
        else:
            timers, kind = self.attempt_timers, self.attempt_kind
        if timers is None:
            return -1
        flight.attempt_timers = timers
        return timers.start((att, kind))


def attempt_timeouts(
    route: Route, rule: RetryRule | None
) -> tuple[tuple[float, str], tuple[float, str]]:
    """A route's attempt timeout and its kind while the retry timeout applies, and otherwise
    (0.0 and ``""``: none); see :class:`RoutePlan`."""
    response = route.response_timeout
    otherwise = (response, "other") if response > 0 else (0.0, "")
    retry = (rule.timeout or 0.0) if rule is not None else 0.0
    if retry > 0 and (response <= 0 or retry < response):
        return (retry, "response_headers_timeout"), otherwise
    return otherwise, otherwise
