"""Call paths through the scenario: who calls whom, over which route, with what policy.

A path starts at a workload and follows the calls each service's handler makes (DESIGN §2),
through an ingress gateway when the workload targets one. Each hop is a caller's proxy sending
to one service over the route it would match for that call, which is what the resilience
checks read: how many tries the route makes, how long it waits, whether it has a budget.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from meshsim.model import Model
from meshsim.model.policy import TrafficPolicy, gateway_for
from meshsim.model.routes import HeaderMatch, RetryPolicy, Route, RouteMatch, StringMatch
from meshsim.model.topology import Call, CallStep, Parallel

MAX_DEPTH = 12  # a call graph deeper than this is cut (cycles are cut at once)


@dataclass(frozen=True)
class Request:
    method: str = "GET"
    path: str = "/"
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Hop:
    """One caller's proxy sending a request to ``service`` over ``route``."""

    caller: str
    service: str
    route: Route | None  # None: no route matches (404 NR), or no mesh policy at all
    request: Request
    default_retry: RetryPolicy | None = None  # the mesh default, to tell an explicit retry

    def key(self) -> tuple[object, ...]:
        """Identity for de-duplication (routes hold mappings, so they do not hash)."""
        return (self.caller, self.service, id(self.route), self.request)

    @property
    def tries(self) -> int:
        """How many times one request may be sent: 1 + retries (count-limited ones)."""
        if self.route is None:
            return 1
        if self.route.policy_retry is not None:
            return 1 + self.route.policy_retry.limit
        retry = self.route.retry
        return 1 + retry.num_retries if retry is not None else 1

    @property
    def explicit_retry(self) -> bool:
        """Retries someone wrote: a route's own policy, not the mesh's default one."""
        route = self.route
        if route is None:
            return False
        if route.policy_retry is not None:
            return route.policy_retry.limit > 0
        if route.retry is None or route.retry.num_retries == 0:
            return False
        return not _same_retry(route.retry, self.default_retry)

    @property
    def per_try(self) -> float:
        """The per-attempt timeout, 0 when none."""
        route = self.route
        if route is None:
            return 0.0
        if route.policy_retry is not None and route.policy_retry.timeout > 0:
            return route.policy_retry.timeout
        if route.response_timeout > 0:
            return route.response_timeout
        return route.retry.per_try_timeout if route.retry is not None else 0.0

    @property
    def total(self) -> float:
        """How long the caller's proxy may spend on the request, retries included; 0 = no limit."""
        if self.route is not None and self.route.timeout > 0:
            return self.route.timeout
        return self.tries * self.per_try if self.per_try > 0 else 0.0

    @property
    def attempt_wait(self) -> float:
        """How long one attempt may run before the caller's proxy abandons it; 0 = no limit."""
        waits = [w for w in (self.per_try, self.total) if w > 0]
        return min(waits) if waits else 0.0


@dataclass(frozen=True)
class Path:
    """A workload's request followed down the call graph."""

    workload: str
    timeout: float  # the calling app's own timeout, 0 = none
    hops: tuple[Hop, ...]

    def names(self) -> str:
        return " -> ".join([self.workload, *(h.service for h in self.hops)])


def paths(model: Model) -> list[Path]:
    """Every maximal path from each workload (one per distinct request shape and branch)."""
    out: list[Path] = []
    policy = model.policy
    for workload in model.workloads:
        for template in workload.requests:
            request = Request(template.method, template.path, tuple(template.headers.items()))
            host = workload.host or workload.target
            for first in _entry(model, policy, workload.name, host, workload.target, request):
                for rest in _below(model, first.service, {first.service}, 1):
                    path = Path(workload.name, workload.timeout, (first, *rest))
                    if path not in out:
                        out.append(path)
    return out


def _entry(model: Model, policy: TrafficPolicy | None, caller: str, host: str, target: str,
           request: Request) -> Iterator[Hop]:
    """The first hop: straight to the target service, or through the gateway serving it."""
    if target in model.topology.services or policy is None:
        yield hop(policy, caller, host if host in _routes(policy) else target, request, target)
        return
    gateway = gateway_for(policy, target)
    if gateway is None:
        return
    routes = next((r for p, r in gateway.routes.items() if _host_covers(p, target)), ())
    route = match(routes, request)
    for backend in route.backends if route is not None else ():
        yield Hop(gateway.name, backend.service, route, request, policy.default_retry)


def _below(model: Model, service: str, seen: set[str], depth: int) -> Iterator[tuple[Hop, ...]]:
    """The hops under ``service``'s handler: one tuple per branch, ``()`` for a leaf."""
    spec = model.topology.services.get(service)
    calls = [c for d in (spec.deployments if spec else ()) for c in _flatten(d.calls)]
    calls = [c for i, c in enumerate(calls) if c not in calls[:i]]
    if not calls or depth >= MAX_DEPTH:
        yield ()
        return
    for call in calls:
        request = Request(call.method, call.path, tuple(call.headers.items()))
        nxt = hop(model.policy, service, call.service, request)
        if call.service in seen:
            yield (nxt,)
            continue
        for rest in _below(model, call.service, seen | {call.service}, depth + 1):
            yield (nxt, *rest)


def hop(policy: TrafficPolicy | None, caller: str, host: str, request: Request,
        service: str | None = None) -> Hop:
    """The hop to ``host`` (a service, or a Service selecting it): the route the call matches."""
    if policy is None:
        return Hop(caller, service or host, None, request)
    routes = _routes(policy).get(host)
    if routes is None:
        default = Route(f"default|{host}", retry=policy.default_retry,
                        timeout=policy.default_timeout)
        return Hop(caller, service or host, default, request, policy.default_retry)
    return Hop(caller, service or host, match(routes, request), request, policy.default_retry)


def _routes(policy: TrafficPolicy | None) -> Mapping[str, tuple[Route, ...]]:
    return policy.routes if policy is not None else {}


def _flatten(steps: tuple[CallStep, ...]) -> Iterator[Call]:
    for step in steps:
        if isinstance(step, Parallel):
            yield from _flatten(step.calls)
        else:
            yield step


def _host_covers(pattern: str, host: str) -> bool:
    return pattern in ("*", host) or (pattern.startswith("*.") and host.endswith(pattern[1:]))


# -- route matching (static: the request's method, path and headers) ---------------------------
def match(routes: tuple[Route, ...], request: Request) -> Route | None:
    """The first route whose matches take ``request`` (config-time conditions are ignored)."""
    for route in routes:
        if route.fallback or route.consumer_namespace is not None:
            continue
        if not route.matches or any(_matches(m, request) for m in route.matches):
            return route
    return next((r for r in routes if r.fallback), None)


def _matches(m: RouteMatch, request: Request) -> bool:
    if m.uri is not None and not _string(m.uri, request.path):
        return False
    if m.method is not None and not _string(m.method, request.method):
        return False
    if not all(_header(h, request.headers) for h in m.headers):
        return False
    if not all(_matches(inner, request) for inner in m.all_of):
        return False
    if m.any_of and not any(_matches(inner, request) for inner in m.any_of):
        return False
    return not any(_matches(inner, request) for inner in m.none_of)


def _header(h: HeaderMatch, headers: tuple[tuple[str, str], ...]) -> bool:
    value = {k.lower(): v for k, v in headers}.get(h.name.lower())
    if value is None and h.treat_missing_as_empty:
        value = ""
    found = value is not None and _string(h.match, value)
    return found != h.invert


def _string(m: StringMatch, value: str) -> bool:
    a, b = (m.value.lower(), value.lower()) if m.ignore_case else (m.value, value)
    if m.kind == "exact":
        return a == b
    if m.kind == "prefix":
        return b.startswith(a)
    if m.kind == "path_prefix":
        stem = a.rstrip("/")
        return b == stem or b.startswith(stem + "/") or not stem
    if m.kind == "regex":
        return re.fullmatch(m.value, value) is not None
    return True  # present


def _same_retry(a: RetryPolicy, b: RetryPolicy | None) -> bool:
    if b is None:
        return False
    return (a.num_retries, a.retry_on, a.retriable_status_codes, a.per_try_timeout) == (
        b.num_retries, b.retry_on, b.retriable_status_codes, b.per_try_timeout)
