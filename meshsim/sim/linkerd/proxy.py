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

from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING

from meshsim.model.linkerd import LinkerdBackend
from meshsim.model.policy import TrafficPolicy
from meshsim.model.routes import Backend, Route
from meshsim.sim.kernel import Timers, call_later
from meshsim.sim.linkerd.accrual import ConsecutiveFailures
from meshsim.sim.linkerd.backoff import ExponentialBackoff
from meshsim.sim.linkerd.budget import TpsBudget, budget_from_profile
from meshsim.sim.linkerd.errors import http_status
from meshsim.sim.linkerd.ewma import P2C, PeakEwma
from meshsim.sim.linkerd.retry import PolicyRetry, PolicyRetryConfig, ProfileRetry
from meshsim.sim.linkerd.routing import (
    modified_headers,
    redirect_location,
    routes_for_caller,
    select,
)
from meshsim.sim.messages import Attempt, Call
from meshsim.sim.proxy import Proxy
from meshsim.sim.rollout.weights import LiveRoute, with_live
from meshsim.sim.sampling import Sampler

if TYPE_CHECKING:
    import simpy

    from meshsim.sim.engine import Simulation
    from meshsim.sim.pod import Pod

FAIL_FAST = http_status("fail_fast")
LOAD_SHED = http_status("load_shed")
BAD_GATEWAY = http_status("endpoint_io")
TIMEOUT = http_status("stream_timeout")  # the request, response and retry timeouts
NO_ROUTE = http_status("no_route")


class Endpoint:
    """One pod as one client proxy's balancer sees it."""

    __slots__ = ("accrual", "ewma", "pod")

    def __init__(self, pod: Pod, ewma: PeakEwma, accrual: ConsecutiveFailures | None) -> None:
        self.pod = pod
        self.ewma = ewma
        self.accrual = accrual


class Balancer:
    """A backend's P2C balancer with its queue and failfast (per client proxy)."""

    def __init__(
        self, proxy: LinkerdProxy, service: str, pods: list[Pod], policy: LinkerdBackend,
    ) -> None:
        self.proxy = proxy
        self.service = service
        self.policy = policy
        self.endpoints = [self._endpoint(pod) for pod in pods]
        self.p2c = P2C(proxy._roll)
        self.failfast = policy.queue.failfast_timeout
        self.capacity = policy.queue.capacity
        self.waiting: deque[Flight] = deque()
        self.shed = False  # failfast fired: the gate is shut until an endpoint is ready
        self._deadline_token = 0

    def _endpoint(self, pod: Pod) -> Endpoint:
        now = self.proxy.env._now
        ewma = self.policy.peak_ewma
        accrual = self.policy.failure_accrual
        return Endpoint(
            pod,
            PeakEwma(ewma.default_rtt, ewma.decay, now=now),
            ConsecutiveFailures(
                accrual.consecutive_failures,
                ExponentialBackoff(accrual.min_penalty, accrual.max_penalty, accrual.jitter),
                rand=self.proxy._roll,
            ) if accrual else None,
        )

    def update(self, pods: list[Pod]) -> None:
        """The destination controller's endpoint update: kept pods keep their EWMA and
        accrual state, new ones start fresh, removed ones leave the balancer (requests on
        them finish). A queue (or a failfast gate) waiting for a ready endpoint opens."""
        now = self.proxy.env._now
        kept = {e.pod: e for e in self.endpoints}
        for endpoint in self.endpoints:
            if endpoint.pod not in pods and endpoint.accrual is not None \
                    and endpoint.accrual.state == "ejected":
                pod = endpoint.pod
                self.proxy.sim.recorder.level("ejected", pod.service, pod.version).change(
                    now, -1)
        self.endpoints = [kept.get(pod) or self._endpoint(pod) for pod in pods]
        if (self.waiting or self.shed) and self.ready(now):
            self.proxy._drain(self)

    def ready(self, now: float) -> list[Endpoint]:
        for e in self.endpoints:
            if e.accrual is not None and e.accrual.state == "ejected":
                self.proxy._advance(e, now)  # an ejection that ended: back for a probe
        return [e for e in self.endpoints if e.accrual is None or e.accrual.ready(now)]

    def is_ready(self, now: float) -> bool:
        """A backend is ready while its queue takes requests: not in failfast, not full."""
        return not self.shed and len(self.waiting) < self.capacity


class Flight:
    """The router's state for one request inside one linkerd2-proxy."""

    __slots__ = ("attempt", "balancer", "call", "done", "endpoint", "policy_retry",
                 "profile_retry", "route", "started")

    def __init__(self, call: Call, route: Route) -> None:
        self.call = call
        self.route = route
        self.profile_retry: ProfileRetry | None = None
        self.policy_retry: PolicyRetry | None = None
        self.balancer: Balancer | None = None
        self.attempt: Attempt | None = None
        self.endpoint: Endpoint | None = None
        self.done = False
        self.started = 0.0


def _flight_done(flight: Flight) -> bool:
    """A request timer is over once its request finished (``done`` never reverts)."""
    return flight.done


def _attempt_over(value: tuple[Attempt, str]) -> bool:
    """An attempt timer is over once its request finished or moved past the attempt."""
    att = value[0]
    flight: Flight = att.call.state  # type: ignore[assignment]
    return flight.done or flight.attempt is not att


class LinkerdProxy(Proxy):
    """One meshed pod's (or client's) outbound linkerd2-proxy."""

    def __init__(
        self, sim: Simulation, name: str, policy: TrafficPolicy, *, roll: Sampler,
        labels: Mapping[str, str] | None = None, namespace: str = "default",
    ) -> None:
        super().__init__(sim, name, True, roll, labels, namespace)
        self._request_timers: dict[float, Timers] = {}  # by timeout: most never fire
        self._attempt_timers: dict[float, Timers] = {}
        self.policy = policy
        self._routes: dict[str, tuple[Route, ...]] = {}
        self._chosen: dict[tuple[object, ...], Route | None] = {}  # see :meth:`route_for`
        self._balancers: dict[str, Balancer] = {}
        self._budgets: dict[str, TpsBudget | None] = {}
        self._profile_retries: dict[int, tuple[Route, ProfileRetry]] = {}  # by id(route)

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
        """The route of a request, remembered per distinct request: the choice depends only
        on the service, method, path and headers, and a scenario sends few distinct ones."""
        key = (call.service, call.method, call.path, *call.headers.items())
        chosen = self._chosen
        if key in chosen:
            return chosen[key]
        route = select(self.routes(call.service), call)
        if len(chosen) >= 4096:
            chosen.clear()
        chosen[key] = route
        return route

    def balancer(self, service: str) -> Balancer | None:
        bal = self._balancers.get(service)
        if bal is None:
            pods = self.sim.endpoints.get(service)
            if pods is None:
                return None
            policy = self.policy.backends.get(service) or self.policy.default_backend
            bal = self._balancers[service] = Balancer(self, service, list(pods), policy)
        return bal

    def budget(self, service: str, route: Route) -> TpsBudget | None:
        """One budget per profile per client proxy, shared by all its retryable routes."""
        if service not in self._budgets:
            spec = route.retry_budget
            self._budgets[service] = None if spec is None else budget_from_profile(
                spec.ttl, spec.min_retries_per_second, spec.retry_ratio, now=self.env._now)
        return self._budgets[service]

    def profile_retry(self, service: str, route: Route) -> ProfileRetry:
        """One retry policy per profile route per client proxy, over the profile's budget."""
        entry = self._profile_retries.get(id(route))
        if entry is None or entry[0] is not route:  # the route is kept: its id stays its own
            retry = ProfileRetry(self.budget(service, route),
                                 response_classes=route.response_classes)
            entry = self._profile_retries[id(route)] = (route, retry)
        return entry[1]

    def on_endpoints(self, service: str, pods: list[Pod]) -> None:
        """The destination controller pushed ``service``'s new endpoints."""
        bal = self._balancers.get(service)
        if bal is not None:
            bal.update(pods)

    # -- the request path -----------------------------------------------------------------------
    def forward(self, call: Call, now: float) -> None:
        route = self.route_for(call)
        if route is None:
            self.complete(call, NO_ROUTE, "NR", 0)
            return
        if route.redirect is not None and self._redirect(call, route):
            return
        if route.set_headers or route.remove_headers:
            call.headers = modified_headers(call.headers, route)
        flight = Flight(call, route)
        call.state = flight
        if route.is_retryable and route.retry_budget is not None:
            flight.profile_retry = self.profile_retry(call.service, route)
        elif route.policy_retry is not None:
            spec = route.policy_retry
            flight.policy_retry = PolicyRetry(PolicyRetryConfig(
                statuses=spec.codes, limit=spec.limit, timeout=spec.timeout or None,
                backoff=ExponentialBackoff(spec.backoff_min, spec.backoff_max, spec.jitter),
            ), self._roll)
        if route.timeout > 0:
            timers = self._request_timers.get(route.timeout)
            if timers is None:
                timers = self._request_timers[route.timeout] = Timers(
                    self.env, route.timeout, self._on_request_timeout, _flight_done)
            timers.start(flight)
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

    def _pick_backend(self, flight: Flight, now: float) -> Balancer | None:
        """Weighted random among ready backends (all unready: the first, to queue there)."""
        route = flight.route
        if isinstance(route, LiveRoute):  # a rollout's live split: zero weights are out
            weighted = [(b, w) for b, w in route.weighted_backends() if w > 0]
        else:
            weighted = [(b, float(b.weight)) for b in route.backends]
        balancers = [(w, self.balancer(b.service)) for b, w in weighted]
        ready = [(w, bal) for w, bal in balancers if bal is not None and bal.is_ready(now)]
        pool = ready or [(w, bal) for w, bal in balancers if bal is not None]
        if not pool:
            return None
        if len(pool) == 1:
            return pool[0][1]
        total = sum(w for w, _ in pool)
        if total <= 0:
            return pool[0][1]
        x = self._roll() * total
        for w, bal in pool:
            x -= w
            if x < 0:
                return bal
        return next((bal for w, bal in reversed(pool) if w > 0), pool[-1][1])

    def _try(self, flight: Flight) -> None:
        if flight.done:
            return
        now = self.env._now
        bal = self._pick_backend(flight, now)
        if bal is None:
            self.finish(flight, 500, "")
            return
        flight.balancer = bal
        if bal.shed:
            self._outcome(flight, LOAD_SHED, "load_shed")
            return
        ready = bal.ready(now)
        if ready and not bal.waiting:  # FIFO: nobody jumps the queue
            self._dispatch(flight, bal, ready, now)
        elif len(bal.waiting) >= bal.capacity:
            self._outcome(flight, LOAD_SHED, "load_shed")
        else:
            bal.waiting.append(flight)
            if len(bal.waiting) == 1:
                bal._deadline_token += 1
                call_later(self.env, bal.failfast, self._on_failfast,
                           (bal, bal._deadline_token))

    def _dispatch(self, flight: Flight, bal: Balancer, ready: list[Endpoint], now: float) -> None:
        endpoint = self.p2c_pick(bal, ready, now)
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
        timeout, kind = self._attempt_timeout(flight)
        if timeout:
            timers = self._attempt_timers.get(timeout)
            if timers is None:
                timers = self._attempt_timers[timeout] = Timers(
                    self.env, timeout, self._on_attempt_timeout, _attempt_over)
            timers.start((att, kind))
        self.transmit(att)

    @staticmethod
    def p2c_pick(bal: Balancer, ready: list[Endpoint], now: float) -> Endpoint:
        picked = bal.p2c.pick(ready, lambda e: e.ewma.cost(now))
        assert picked is not None
        return picked

    def _attempt_timeout(self, flight: Flight) -> tuple[float, str]:
        """The first per-attempt timer and what its expiry is: the retry (response-headers)
        timeout is a retryable error, the response timeout is not (``route/retry.rs``)."""
        timers = [(flight.route.response_timeout, "other")]
        if flight.policy_retry is not None:
            timers.append((flight.policy_retry.header_timeout() or 0.0,
                           "response_headers_timeout"))
        live = [t for t in timers if t[0] > 0]
        return min(live) if live else (0.0, "")

    # -- queue and failfast ---------------------------------------------------------------------
    def _on_failfast(self, ev: simpy.Event) -> None:
        bal, token = ev._value
        if token != bal._deadline_token or not bal.waiting:
            return
        if bal.ready(self.env._now):
            self._drain(bal)
            return
        bal.shed = True  # failfast: the queued requests fail, later ones are shed
        while bal.waiting:
            flight = bal.waiting.popleft()
            if not flight.done:
                self._outcome(flight, FAIL_FAST, "fail_fast")

    def _drain(self, bal: Balancer) -> None:
        now = self.env._now
        bal.shed = False
        while bal.waiting:
            ready = bal.ready(now)
            if not ready:
                # Still waiting: the failfast clock restarts for the new head of the queue.
                bal._deadline_token += 1
                call_later(self.env, bal.failfast, self._on_failfast,
                           (bal, bal._deadline_token))
                return
            flight = bal.waiting.popleft()
            if not flight.done:
                self._dispatch(flight, bal, ready, now)

    def _on_probe_due(self, ev: simpy.Event) -> None:
        bal, endpoint = ev._value
        now = self.env._now
        self._advance(endpoint, now)
        if bal.ready(now):
            self._drain(bal)

    # -- outcomes -------------------------------------------------------------------------------
    def response(self, att: Attempt) -> None:
        if att.abandoned:
            return
        flight: Flight = att.call.state  # type: ignore[assignment]
        now = self.env._now
        flight.attempt = None
        status = BAD_GATEWAY if att.flags in ("UF", "UC") else att.status
        endpoint = flight.endpoint
        if endpoint is not None:
            endpoint.ewma.finish(now, now - flight.started)
            self._accrue(flight, endpoint, status, now)
        self.record_attempt(att, status, att.flags)
        self._outcome(flight, status, status)

    def _accrue(self, flight: Flight, endpoint: Endpoint, status: int, now: float) -> None:
        accrual = endpoint.accrual
        if accrual is None:
            return
        self._advance(endpoint, now)
        before = accrual.state
        accrual.on_response(now, status >= 500 and status != 429)
        if accrual.state == "ejected" and before != "ejected":
            self._accrual_event(endpoint, True, now)
        elif accrual.state == "admitting" and before != "admitting" and flight.balancer:
            self._drain(flight.balancer)  # the probe succeeded: the queue goes out now
        due = accrual.next_deadline()
        if due is not None and flight.balancer is not None:
            call_later(self.env, max(0.0, due - now), self._on_probe_due,
                       (flight.balancer, endpoint))

    def _advance(self, endpoint: Endpoint, now: float) -> None:
        """End an ejection that is due: the endpoint is back in the balancer for a probe."""
        accrual = endpoint.accrual
        assert accrual is not None
        if accrual.state == "ejected":
            accrual.advance(now)
            if accrual.state == "probation":
                self._accrual_event(endpoint, False, now)

    def _accrual_event(self, endpoint: Endpoint, ejected: bool, now: float) -> None:
        """Failure accrual taking an endpoint out of (or back into) the balancer."""
        pod = endpoint.pod
        self.sim.recorder.level("ejected", pod.service, pod.version).change(
            now, 1 if ejected else -1)
        self.sim.recorder.event(
            now, "eject" if ejected else "uneject", proxy=self.name, service=pod.service,
            subset=pod.version, pod=pod.name, detail="failure-accrual",
        )

    def _outcome(self, flight: Flight, status: int, outcome: int | str) -> None:
        """Retry or answer, by the route's retry engine."""
        if flight.done:
            return
        flags = ""
        profile = flight.profile_retry
        if profile is not None:  # an error (not a response) is never retried: it deposits
            if profile.should_retry(self.env._now, status if isinstance(outcome, int) else None):
                self._try(flight)  # no backoff on the profile path
                return
            self.finish(flight, status, flags)
            return
        retry = flight.policy_retry
        if retry is not None:
            kind = outcome if isinstance(outcome, str) else status
            decision = retry.after_attempt(kind)  # type: ignore[arg-type]
            if decision.retry:
                retry.begin_retry()
                if decision.delay > 0:
                    call_later(self.env, decision.delay, self._on_backoff, flight)
                else:
                    self._try(flight)
                return
        self.finish(flight, status, flags)

    def _on_backoff(self, ev: simpy.Event) -> None:
        self._try(ev._value)

    def _on_attempt_timeout(self, ev: simpy.Event) -> None:
        att: Attempt = ev._value[0]
        kind: str = ev._value[1]
        flight: Flight = att.call.state  # type: ignore[assignment]
        if flight.done or flight.attempt is not att:
            return
        self._drop_attempt(flight, att, TIMEOUT, "UT")
        self._outcome(flight, TIMEOUT, kind)

    def _drop_attempt(self, flight: Flight, att: Attempt, status: int, flags: str) -> None:
        """Stop waiting for an attempt; dropping tower's load handle ends its pending count."""
        flight.attempt = None
        endpoint = flight.endpoint
        if endpoint is not None:
            now = self.env._now
            endpoint.ewma.finish(now, now - flight.started)
        self.abandon(att, status, flags)

    def _on_request_timeout(self, ev: simpy.Event) -> None:
        flight: Flight = ev._value
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

    def finish(self, flight: Flight, status: int, flags: str) -> None:
        if flight.done:
            return
        flight.done = True
        endpoint = flight.endpoint
        subset = endpoint.pod.subset_code if endpoint is not None else 0
        service = None
        if flight.balancer is not None:
            service = self.sim.service_code(flight.balancer.service)
        self.complete(flight.call, status, flags, subset, service)
