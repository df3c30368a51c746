"""A linkerd2-proxy applying Linkerd's policy to a caller's outbound requests.

Order (linkerd.md §0): route (profile routes in order with a catch-all, or the HTTPRoute best
match ranked per request, :mod:`meshsim.sim.linkerd.routing`; a redirect rule is answered
here, a header modifier applied) → request timeout around the retry loop → retry (profile:
the TpsBudget only, no backoff; policy: a count limit with 25–250 ms backoff and a
per-attempt retry timeout except on the last attempt) → weighted backend among ready
backends → per backend a queue with failfast in front of P2C over Peak-EWMA among ready
endpoints → per endpoint failure accrual. Errors become the statuses of §2.3
(:mod:`~meshsim.sim.linkerd.errors`): FailFast 504, LoadShed 503, a timeout 504, an endpoint
connection failure a synthetic 502.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from meshsim.model.policy import TrafficPolicy
from meshsim.model.routes import Backend, Route
from meshsim.sim.kernel import Timers, call_later
from meshsim.sim.linkerd.backoff import ExponentialBackoff
from meshsim.sim.linkerd.budget import TpsBudget, budget_from_profile
from meshsim.sim.linkerd.distribute import pick_backend
from meshsim.sim.linkerd.errors import grpc_reply, http_status
from meshsim.sim.linkerd.flight import Flight, attempt_over, flight_done
from meshsim.sim.linkerd.plan import RoutePlan, attempt_timeouts
from meshsim.sim.linkerd.pool import BackendPool, Endpoint
from meshsim.sim.linkerd.retry import PolicyRetry, PolicyRetryConfig, ProfileRetry, RetryRule
from meshsim.sim.linkerd.routing import (
    modified_headers,
    redirect_location,
    routes_for_caller,
    select,
    takes_every_request,
)
from meshsim.sim.live_routes import with_live
from meshsim.sim.messages import Attempt, Call
from meshsim.sim.proxy import Proxy
from meshsim.sim.sampling import Sampler

if TYPE_CHECKING:
    from meshsim.sim.kernel import Wake
    from meshsim.sim.pod import Pod
    from meshsim.sim.ports import Mesh

BAD_GATEWAY = http_status("endpoint_io")
TIMEOUT = http_status("stream_timeout")  # the request, response and retry timeouts
NO_ROUTE = http_status("no_route")


class LinkerdProxy(Proxy):
    """One meshed pod's (or client's) outbound linkerd2-proxy."""

    def __init__(
        self, sim: Mesh, name: str, policy: TrafficPolicy, *, roll: Sampler,
        labels: Mapping[str, str] | None = None, namespace: str = "default",
    ) -> None:
        super().__init__(sim, name, True, roll, labels, namespace)
        self._request_timers: dict[float, Timers] = {}  # by timeout: most never fire
        self._attempt_timers: dict[float, Timers] = {}
        self.policy = policy
        self._routes: dict[str, tuple[Route, ...]] = {}
        self._chosen: dict[tuple[object, ...], RoutePlan | None] = {}  # see :meth:`plan_for`
        self._sole: dict[str, RoutePlan] = {}  # a service whose requests all take one route
        self._balancers: dict[str, BackendPool] = {}
        self._budgets: dict[str, TpsBudget | None] = {}
        self._profile_retries: dict[int, tuple[Route, ProfileRetry]] = {}  # by id(route)
        self._policy_configs: dict[int, tuple[Route, PolicyRetryConfig]] = {}  # by id(route)

    def take_in_flight(self) -> list[object]:
        """The requests waiting in a balancer's queue, in every backend pool (teardown.py)."""
        return [flight for pool in self._balancers.values() for flight in pool.queue.take_all()]

    # -- configuration --------------------------------------------------------------------------
    def routes(self, service: str) -> tuple[Route, ...]:
        routes = self._routes.get(service)
        if routes is None:
            table = self.policy.routes.get(service) or (
                Route(name=f"default|{service}", backends=(Backend(service),)),)
            routes = routes_for_caller(table, self.namespace)
            if self.sim.live_routes:
                routes = with_live(self.sim.live_routes, service, routes)
            self._routes[service] = routes
        return routes

    def route_for(self, call: Call) -> Route | None:
        """The route of a request (:meth:`plan_for`)."""
        plan = self.plan_for(call)
        return None if plan is None else plan.route

    def plan_for(self, call: Call) -> RoutePlan | None:
        """The route of a request as this proxy runs it, remembered per distinct request: the
        choice depends only on the service, method, path and headers, and a scenario sends
        few distinct ones; or per service, when every request takes the same route."""
        sole = self._sole.get(call.service)
        if sole is not None:
            return sole
        headers = call.headers
        key = ((call.service, call.method, call.path, *headers.items()) if headers
               else (call.service, call.method, call.path))
        chosen = self._chosen
        if key in chosen:
            return chosen[key]
        routes = self.routes(call.service)
        route = select(routes, call)
        plan = None if route is None else self._plan(call.service, route)
        if plan is not None and takes_every_request(routes):
            self._sole[call.service] = plan
        if len(chosen) >= 4096:
            chosen.clear()
        chosen[key] = plan
        return plan

    def _plan(self, service: str, route: Route) -> RoutePlan:
        """A route of ``service`` with this proxy's retry policy and timers for it."""
        plan = RoutePlan(route, service in self.sim.grpc_services)
        if route.is_retryable and route.retry_budget is not None:
            plan.profile_retry = self.profile_retry(service, route)
        elif route.policy_retry is not None:
            plan.retry_config = self.policy_config(route)
            plan.retry_rule = RetryRule(plan.retry_config)
        if route.timeout > 0:
            timers = self._request_timers.get(route.timeout)
            if timers is None:
                timers = self._request_timers[route.timeout] = Timers(
                    self.env, route.timeout, self._on_request_timeout, flight_done)
            plan.request_timers = timers
        (retry, plan.retry_kind), (other, plan.attempt_kind) = attempt_timeouts(
            route, plan.retry_rule)
        plan.retry_timers = self._attempt_timers_of(retry)
        plan.attempt_timers = self._attempt_timers_of(other)
        return plan

    def _attempt_timers_of(self, timeout: float) -> Timers | None:
        """This proxy's attempt timers of one timeout (0: none), shared by its routes."""
        if not timeout:
            return None
        timers = self._attempt_timers.get(timeout)
        if timers is None:
            timers = self._attempt_timers[timeout] = Timers(
                self.env, timeout, self._on_attempt_timeout, attempt_over)
        return timers

    def balancer(self, service: str) -> BackendPool | None:
        bal = self._balancers.get(service)
        if bal is None:
            pods = self.sim.endpoints.get(service)
            if pods is None:
                return None
            policy = self.policy.backends.get(service) or self.policy.default_backend
            bal = self._balancers[service] = BackendPool(
                self, service, self._own_cluster(service, list(pods)), policy, self._roll)
        return bal

    def _own_cluster(self, service: str, pods: list[Pod]) -> list[Pod]:
        """Multicluster: a Service's endpoints are its own cluster's pods; other clusters'
        are reached through their mirrors (``<svc>-<cluster>``)."""
        place = self.place
        spec = self.sim.topology.services.get(service)
        if place is None or spec is None or spec.mirror is not None:
            return pods
        return [p for p in pods if p.place is None or p.place.cluster == place.cluster]

    def budget(self, service: str, route: Route) -> TpsBudget | None:
        """One budget per profile per client proxy, shared by all its retryable routes."""
        if service not in self._budgets:
            spec = route.retry_budget
            self._budgets[service] = None if spec is None else budget_from_profile(
                spec.ttl, spec.min_retries_per_second, spec.retry_ratio, now=self.env.now)
        return self._budgets[service]

    def profile_retry(self, service: str, route: Route) -> ProfileRetry:
        """One retry policy per profile route per client proxy, over the profile's budget."""
        entry = self._profile_retries.get(id(route))
        if entry is None or entry[0] is not route:  # the route is kept: its id stays its own
            retry = ProfileRetry(self.budget(service, route),
                                 response_classes=route.response_classes)
            entry = self._profile_retries[id(route)] = (route, retry)
        return entry[1]

    def policy_config(self, route: Route) -> PolicyRetryConfig:
        """A policy route's retry settings, built once per route (they are immutable; each
        request gets its own :class:`PolicyRetry` state over them)."""
        entry = self._policy_configs.get(id(route))
        if entry is None or entry[0] is not route:  # the route is kept: its id stays its own
            spec = route.policy_retry
            assert spec is not None
            config = PolicyRetryConfig(
                statuses=spec.codes, grpc_codes=spec.grpc_codes, limit=spec.limit,
                timeout=spec.timeout or None,
                backoff=ExponentialBackoff(spec.backoff_min, spec.backoff_max, spec.jitter),
            )
            entry = self._policy_configs[id(route)] = (route, config)
        return entry[1]

    def on_endpoints(self, service: str, pods: list[Pod]) -> None:
        """The destination controller pushed ``service``'s new endpoints."""
        bal = self._balancers.get(service)
        if bal is not None:
            bal.update(self._own_cluster(service, pods) if self.sim.topology.geography
                       else pods)

    # -- the request path -----------------------------------------------------------------------
    def forward(self, call: Call, now: float) -> None:
        plan = self.plan_for(call)
        if plan is None:
            grpc = self.sim.grpc_services
            status = grpc_reply(NO_ROUTE) if grpc and call.service in grpc else NO_ROUTE
            self.complete(call, status, "NR", 0)
            return
        if plan.redirects and self._redirect(call, plan.route):
            return
        if plan.rewrites_headers:
            call.headers = modified_headers(call.headers, plan.route)
        flight = Flight(call, plan)
        call.state = flight
        if plan.profile_retry is not None:
            flight.profile_retry = plan.profile_retry
        elif plan.retry_config is not None:
            flight.policy_retry = PolicyRetry(plan.retry_config, self._roll, plan.retry_rule)
        if plan.request_timers is not None:
            flight.request_timer = plan.request_timers.start(flight)
        self._try(flight)

    def _redirect(self, call: Call, route: Route) -> bool:
        """Answer a redirect rule locally (no attempt, no backend): the caller sees the 3xx
        with its Location in ``flags`` (``redirect=<location>``). A redirect to the request's
        own URI is ignored by the proxy, which then routes the request as usual."""
        assert route.redirect is not None
        host = next((v for k, v in call.headers.items() if k.lower() in ("host", ":authority")),
                    call.service)
        location = redirect_location(route.redirect, route, host, call.path)
        if location is None:
            return False
        flag = "redirect=" + location.replace(",", "%2C")  # flags are comma-separated
        self.complete(call, route.redirect.status, flag, 0)
        return True

    def _pick_backend(self, flight: Flight) -> BackendPool | None:
        """The route's backends by weight (:func:`~meshsim.sim.linkerd.distribute.pick_backend`)."""
        plan = flight.plan
        route = plan.route
        if plan.live:  # a rollout's live split: zero weights are out
            weighted = [(b, w) for b, w in route.weighted_backends() if w > 0]  # type: ignore[attr-defined]
        elif plan.service is not None:  # one backend takes everything, ready or not: no draw
            if plan.pool is None:  # none until the service has endpoints; then for good
                plan.pool = self.balancer(plan.service)
            return plan.pool
        else:
            weighted = [(b, float(b.weight)) for b in route.backends]
        balancers = [(w, bal) for b, w in weighted
                     if (bal := self.balancer(b.service)) is not None]
        return pick_backend(balancers, BackendPool.is_ready, self._roll)

    def _try(self, flight: Flight) -> None:
        if flight.done:
            return
        now = self.clock.now
        bal = self._pick_backend(flight)
        if bal is None:
            self.finish(flight, 500, "")
            return
        flight.balancer = bal
        ready = bal.admit(flight, now)
        if ready is not None:  # it goes out now (else the queue holds it, or it was shed)
            self._dispatch(flight, bal, ready, now)

    def dispatch(
        self, flight: Flight, pool: BackendPool, ready: list[Endpoint], now: float
    ) -> None:
        """Send an attempt to the endpoint P2C picks among the ready ones (the pool's call
        when its queue lets a request go)."""
        self._dispatch(flight, pool, ready, now)

    def _dispatch(
        self, flight: Flight, pool: BackendPool, ready: list[Endpoint], now: float
    ) -> None:
        """:meth:`dispatch`, called in C by this class."""
        endpoint = pool.pick(ready, now)
        if endpoint.accrual is not None:
            endpoint.accrual.acquire(now)
        endpoint.ewma.start(now)
        call = flight.call
        call.attempts += 1
        att = Attempt(call, endpoint.pod, call.attempts, now)
        call.attempt = att
        flight.attempt = att
        flight.endpoint = endpoint
        flight.started = now
        flight.attempt_timer = flight.plan.start_attempt_timer(flight, att, flight.policy_retry)
        self.transmit(att)

    def connect_timeout(self, att: Attempt) -> float:
        """The chart's ``outboundConnectTimeout``, 1 s (linkerd.md §0)."""
        return 1.0

    # -- outcomes -------------------------------------------------------------------------------
    def response(self, att: Attempt) -> None:
        if att.abandoned:
            return
        flight: Flight = att.call.state  # type: ignore[assignment]
        now = self.clock.now
        flight.attempt = None
        if flight.attempt_timer >= 0:
            self._end_attempt_timer(flight)
        status = BAD_GATEWAY if att.flags in ("UF", "UC", "UR") else att.status
        endpoint = flight.endpoint
        if endpoint is not None:
            endpoint.ewma.finish(now, now - flight.started)
            pool = flight.balancer
            assert pool is not None
            pool.accrue(endpoint, status, now)
        self.record_attempt(att, status, att.flags)
        self._outcome(flight, status, status)

    def outcome(self, flight: Flight, status: int, outcome: int | str) -> None:
        """Retry or answer, by the route's retry engine (the pool's call when it sheds or
        fails fast)."""
        self._outcome(flight, status, outcome)

    def _outcome(self, flight: Flight, status: int, outcome: int | str) -> None:
        """:meth:`outcome`, called in C by this class."""
        if flight.done:
            return
        flags = ""
        profile = flight.profile_retry
        if profile is not None:  # an error (not a response) is never retried: it deposits
            if profile.should_retry(self.clock.now, status if isinstance(outcome, int) else None):
                self._try(flight)  # no backoff on the profile path
                return
            self.finish(flight, status, flags)
            return
        retry = flight.policy_retry
        if retry is not None:
            kind = outcome if isinstance(outcome, str) else status
            decision = retry.decide(kind)  # type: ignore[arg-type]
            if decision.retry:
                retry.begin_retry()
                if decision.delay > 0:
                    call_later(self.env, decision.delay, self._on_backoff, flight)
                else:
                    self._try(flight)
                return
        self.finish(flight, status, flags)

    def _on_backoff(self, ev: Wake) -> None:
        self._try(ev.value)

    def _on_attempt_timeout(self, ev: Wake) -> None:
        if attempt_over(ev.value):
            return
        att: Attempt = ev.value[0]
        kind: str = ev.value[1]
        flight: Flight = att.call.state  # type: ignore[assignment]
        self._drop_attempt(flight, att, TIMEOUT, "UT")
        self._outcome(flight, TIMEOUT, kind)

    def _drop_attempt(self, flight: Flight, att: Attempt, status: int, flags: str) -> None:
        """Stop waiting for an attempt; dropping tower's load handle ends its pending count."""
        flight.attempt = None
        if flight.attempt_timer >= 0:
            self._end_attempt_timer(flight)
        endpoint = flight.endpoint
        if endpoint is not None:
            now = self.clock.now
            endpoint.ewma.finish(now, now - flight.started)
        self.abandon(att, status, flags)

    def _on_request_timeout(self, ev: Wake) -> None:
        flight: Flight = ev.value
        if flight.done:
            return
        if flight.attempt is not None:
            self._drop_attempt(flight, flight.attempt, TIMEOUT, "UT")
        self.finish(flight, TIMEOUT, "UT")

    def give_up(self, call: Call) -> None:
        flight = call.state
        if not isinstance(flight, Flight):
            super().give_up(call)
            return
        if flight.done:
            return
        if flight.attempt is not None:
            self._drop_attempt(flight, flight.attempt, 0, "DC")
        self.finish(flight, 0, "DC")

    def _end_attempt_timer(self, flight: Flight) -> None:
        """The current attempt is over: its timer lets go of it (``Timers.let_go``)."""
        flight.attempt_timers.let_go(flight.attempt_timer)  # type: ignore[union-attr]
        flight.attempt_timer = -1

    def finish(self, flight: Flight, status: int, flags: str) -> None:
        if flight.done:
            return
        flight.done = True
        if flight.request_timer >= 0:  # over: free the flight now, not at its timeout
            flight.plan.request_timers.let_go(flight.request_timer)  # type: ignore[union-attr]
            flight.request_timer = -1
        if flight.attempt_timer >= 0:
            self._end_attempt_timer(flight)
        endpoint = flight.endpoint
        subset = endpoint.pod.subset_code if endpoint is not None else 0
        service = None
        pool = flight.balancer
        if pool is not None:
            service = pool.service_code
            if service is None:  # the first answer through this pool (a code never changes)
                service = pool.service_code = self.sim.service_code(pool.service)
        if flight.plan.grpc:
            status = grpc_reply(status)
        self.complete(flight.call, status, flags, subset, service)
