"""What a client proxy is configured with, and its state, as plain data (Envoy's admin
``/config_dump`` and ``/clusters``; linkerd2-proxy's routes, balancers and endpoints).

Read-only: it reads the proxies' state and never changes it (route tables are computed the way
the proxies compute them, not through their caches). ``meshsim proxy-config`` renders the rows
in ``istioctl proxy-config routes|clusters|endpoints`` shapes; the Linkerd views have the
columns of ``linkerd diagnostics endpoints`` plus the balancer's own state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from meshsim.model.clusters import ClusterPolicy
from meshsim.model.routes import Route, RouteMatch, StringMatch
from meshsim.sim.envoy.cluster import subset_hosts
from meshsim.sim.envoy.proxy import EnvoyProxy
from meshsim.sim.envoy.routes import host_table, route_table, routes_for_proxy
from meshsim.sim.linkerd.proxy import LinkerdProxy
from meshsim.sim.linkerd.routing import routes_for_caller

if TYPE_CHECKING:
    from meshsim.sim.engine import Simulation
    from meshsim.sim.envoy.cluster import Cluster
    from meshsim.sim.linkerd.pool import Endpoint
    from meshsim.sim.pod import Pod

PORT = 80  # meshsim models no ports: every service listens on one, shown as 80
Row = dict[str, Any]
Names = Mapping[str, str]  # route name → "VirtualService name.namespace"; service → DR


@dataclass(frozen=True)
class View:
    """One table: its default columns (istioctl's), the extra ``-o wide`` ones, and rows
    holding every column (``-o json`` prints them all)."""

    kind: str
    columns: tuple[str, ...]
    wide: tuple[str, ...]
    rows: list[Row] = field(default_factory=list)


@dataclass(frozen=True)
class ConfigDump:
    """One proxy's routes, clusters and endpoints at simulated time ``at`` (None: at start)."""

    proxy: str
    mesh: str
    at: float | None
    routes: View
    clusters: View
    endpoints: View


def dump(sim: Simulation, proxy_name: str, *, virtual_services: Names | None = None,
         destination_rules: Names | None = None) -> ConfigDump:
    """The views of ``proxy_name``; a KeyError names the proxies that exist."""
    proxy = sim.proxies.get(proxy_name)
    if proxy is None:
        raise KeyError(proxy_name)
    at = sim.env.now or None
    if isinstance(proxy, EnvoyProxy):
        vs, dr = virtual_services or {}, destination_rules or {}
        return ConfigDump(proxy_name, "istio", at, envoy_routes(sim, proxy, vs),
                          envoy_clusters(sim, proxy, dr), envoy_endpoints(sim, proxy))
    if isinstance(proxy, LinkerdProxy):
        return ConfigDump(proxy_name, "linkerd", at, linkerd_routes(sim, proxy),
                          linkerd_backends(sim, proxy), linkerd_endpoints(sim, proxy))
    raise ValueError(f"{proxy_name} has no sidecar proxy: it sends requests as they are")


def proxies(sim: Simulation) -> list[str]:
    """Names of the proxies that have a mesh configuration (sidecars and gateways)."""
    return [n for n, p in sim.proxies.items() if isinstance(p, EnvoyProxy | LinkerdProxy)]


def _fqdn(sim: Simulation, service: str) -> str:
    spec = sim.model.topology.services.get(service)
    return spec.fqdn if spec is not None else service


def _services(sim: Simulation, proxy: EnvoyProxy | LinkerdProxy) -> list[str]:
    if isinstance(proxy, EnvoyProxy) and proxy.host_routes is not None:
        return [h for h in proxy.host_routes]
    return list(sim.model.topology.services)


# -- Envoy: routes -------------------------------------------------------------------------------
def envoy_routes(sim: Simulation, proxy: EnvoyProxy, owners: Names) -> View:
    view = View("routes", ("NAME", "VHOST NAME", "DOMAINS", "MATCH", "VIRTUAL SERVICE"),
                ("ROUTE", "BACKENDS", "TIMEOUT", "RETRIES", "MIRRORS", "FAULT"))
    for service in _services(sim, proxy):
        table = (route_table(proxy.policy, service) if proxy.host_routes is None
                 else host_table(proxy.host_routes, service))
        fqdn = _fqdn(sim, service)
        domains = service if fqdn == service else f"{service}, {fqdn.split('.svc')[0]}"
        for route in routes_for_proxy(table, proxy.labels, proxy.namespace, proxy.gateway):
            view.rows.append({
                "NAME": str(PORT), "VHOST NAME": f"{fqdn}:{PORT}", "DOMAINS": domains,
                "MATCH": describe_matches(route.matches),
                "VIRTUAL SERVICE": owners.get(route.name, ""), "ROUTE": route.name,
                **route_policy(route),
            })
    return view


def route_policy(route: Route) -> Row:
    retry = route.retry
    retries = "" if retry is None or retry.num_retries == 0 else (
        f"{retry.num_retries} on {','.join(sorted(retry.retry_on))}"
        + (f" per-try {seconds(retry.per_try_timeout)}" if retry.per_try_timeout else "")
        + (f" previous_priorities/{retry.previous_priorities}"
           if retry.previous_priorities else ""))
    fault = route.fault
    return {
        "BACKENDS": ", ".join(f"{b.service}{'/' + b.subset if b.subset else ''} {b.weight}"
                              for b in route.backends),
        "TIMEOUT": seconds(route.timeout) if route.timeout else "none",
        "RETRIES": retries,
        "MIRRORS": ", ".join(f"{m.service}{'/' + m.subset if m.subset else ''} {m.percent:g}%"
                             for m in route.mirrors),
        "FAULT": "" if fault is None else (
            f"delay {fault.delay_percent:g}% {seconds(fault.delay)}, "
            f"abort {fault.abort_percent:g}% {fault.abort_status}"),
    }


def describe_matches(matches: tuple[RouteMatch, ...]) -> str:
    """istioctl's MATCH column: ``/*`` for everything, ``/api*`` a prefix, ``/x`` exact."""
    if not matches:
        return "/*"
    return ", ".join(_describe(m) for m in matches)


def _describe(m: RouteMatch) -> str:
    uri = "/*" if m.uri is None else _string(m.uri)
    extras = [label for label, present in (("headers", m.headers), ("method", m.method),
                                           ("query", m.query)) if present]
    return uri + (f" (+{'+'.join(extras)})" if extras else "")


def _string(m: StringMatch) -> str:
    if m.kind == "exact":
        return m.value
    if m.kind in ("prefix", "path_prefix"):
        return m.value + "*"
    return f"~{m.value}" if m.kind == "regex" else "*"


# -- Envoy: clusters -----------------------------------------------------------------------------
def envoy_clusters(sim: Simulation, proxy: EnvoyProxy, rules: Names) -> View:
    view = View("clusters",
                ("SERVICE FQDN", "PORT", "SUBSET", "DIRECTION", "TYPE", "DESTINATION RULE"),
                ("LB", "CIRCUIT BREAKERS", "OUTLIER DETECTION", "PANIC THRESHOLD"))
    for service, subset in _cluster_keys(sim, proxy):
        policy = _cluster_policy(proxy, service, subset)
        view.rows.append({
            "SERVICE FQDN": _fqdn(sim, service), "PORT": PORT, "SUBSET": subset or "",
            "DIRECTION": "outbound", "TYPE": "EDS", "DESTINATION RULE": rules.get(service, ""),
            **cluster_policy(policy),
        })
    return view


def _cluster_keys(sim: Simulation, proxy: EnvoyProxy) -> list[tuple[str, str | None]]:
    """Every cluster Istio pushes to a sidecar: each service, and each subset of it."""
    keys: list[tuple[str, str | None]] = []
    for service in sim.model.topology.services:
        keys.append((service, None))
        keys += [(s, n) for (s, n) in proxy.policy.subsets if s == service]
    return keys


def _cluster_policy(proxy: EnvoyProxy, service: str, subset: str | None) -> ClusterPolicy:
    policy = proxy.policy
    return policy.clusters.get((service, subset)) or policy.default_cluster


def cluster_policy(policy: ClusterPolicy) -> Row:
    lb, cb, od = policy.load_balancer, policy.circuit_breakers, policy.outlier
    breakers = (f"maxConnections={cb.max_connections} maxPending={cb.max_pending_requests} "
                f"maxRequests={cb.max_requests} maxRetries={cb.max_retries}")
    if cb.retry_budget is not None:
        breakers += (f" retryBudget={cb.retry_budget.percent:g}%"
                     f"/min {cb.retry_budget.min_retry_concurrency}")
    outlier = "none" if od is None else (
        f"consecutive5xx={od.consecutive_5xx} consecutiveGatewayErrors="
        f"{od.consecutive_gateway_failure} interval={seconds(od.interval)} "
        f"baseEjectionTime={seconds(od.base_ejection_time)} "
        f"maxEjectionPercent={od.max_ejection_percent:g}")
    return {"LB": lb.policy.upper(), "CIRCUIT BREAKERS": breakers, "OUTLIER DETECTION": outlier,
            "PANIC THRESHOLD": f"{policy.panic_threshold:g}%"}


# -- Envoy: endpoints ----------------------------------------------------------------------------
def envoy_endpoints(sim: Simulation, proxy: EnvoyProxy) -> View:
    view = View("endpoints", ("ENDPOINT", "STATUS", "OUTLIER CHECK", "CLUSTER"),
                ("POD", "PRIORITY", "WEIGHT", "LOCALITY", "ACTIVE REQUESTS", "EJECTIONS",
                 "EJECTED SINCE"))
    # The proxy's lazily built clusters; EnvoyProxy is a compiled hot-path module whose
    # attributes stay as they are, so the dump reads this one directly (never writes it).
    built: Mapping[tuple[str, str | None], Cluster | None] = proxy._clusters  # noqa: SLF001
    for service, subset in _cluster_keys(sim, proxy):
        cluster = built.get((service, subset))
        name = f"outbound|{PORT}|{subset or ''}|{_fqdn(sim, service)}"
        hosts = cluster.hosts if cluster is not None else subset_hosts(
            proxy.policy, service, subset, sim.endpoints.get(service, []))
        for host in hosts or []:
            view.rows.append({"CLUSTER": name, **_host_row(host, cluster)})
    return view


def _host_row(host: Pod, cluster: Cluster | None) -> Row:
    detector = cluster.detector if cluster is not None else None
    ejected = detector is not None and detector.is_ejected(host)
    ejections, since = detector.ejections(host) if detector is not None else (0, None)
    tiers = cluster.tiers if cluster is not None else None
    place = getattr(host, "place", None)
    return {
        "ENDPOINT": f"{host.name}:{PORT}", "STATUS": "HEALTHY",
        "OUTLIER CHECK": "FAILED" if ejected else "OK", "POD": host.name,
        "PRIORITY": tiers.priority_of.get(host, 0) if tiers is not None else 0,
        "WEIGHT": int(getattr(host, "weight", 1)),
        "LOCALITY": place.locality if place is not None else "",
        "ACTIVE REQUESTS": cluster.active.get(host, 0) if cluster is not None else 0,
        "EJECTIONS": ejections,
        "EJECTED SINCE": since if ejected else None,
    }


# -- Linkerd -------------------------------------------------------------------------------------
def linkerd_routes(sim: Simulation, proxy: LinkerdProxy) -> View:
    view = View("routes", ("ROUTE", "SERVICE", "MATCH", "RETRY", "TIMEOUT", "BUDGET"),
                ("BACKENDS", "RESPONSE TIMEOUT"))
    policy = proxy.policy
    for service in _services(sim, proxy):
        table = policy.routes.get(service) or (
            Route(name=f"default|{service}", retry_budget=policy.default_retry_budget),)
        for route in routes_for_caller(table, proxy.namespace):
            view.rows.append({
                "ROUTE": route.name, "SERVICE": _fqdn(sim, service),
                "MATCH": describe_matches(route.matches), "RETRY": _linkerd_retry(route),
                "TIMEOUT": seconds(route.timeout) if route.timeout else "none",
                "BUDGET": _budget(route),
                "BACKENDS": ", ".join(f"{b.service} {b.weight}" for b in route.backends)
                or service,
                "RESPONSE TIMEOUT": seconds(route.response_timeout)
                if route.response_timeout else "none",
            })
    return view


def _linkerd_retry(route: Route) -> str:
    if route.policy_retry is not None and route.policy_retry.limit > 0:
        codes = ",".join(f"{a}-{b}" if a != b else str(a) for a, b in route.policy_retry.codes)
        return f"limit {route.policy_retry.limit}" + (f" on {codes}" if codes else "")
    return "isRetryable" if route.is_retryable else "no"


def _budget(route: Route) -> str:
    spec = route.retry_budget
    if spec is None:
        return "none"
    return (f"retryRatio={spec.retry_ratio:g} minRetriesPerSecond="
            f"{spec.min_retries_per_second} ttl={seconds(spec.ttl)}")


def linkerd_backends(sim: Simulation, proxy: LinkerdProxy) -> View:
    view = View("clusters", ("SERVICE", "BALANCER", "QUEUE", "FAILURE ACCRUAL"), ())
    policy = proxy.policy
    for service in _services(sim, proxy):
        backend = policy.backends.get(service) or policy.default_backend
        accrual = backend.failure_accrual
        view.rows.append({
            "SERVICE": _fqdn(sim, service),
            "BALANCER": f"p2c peak-ewma defaultRtt={seconds(backend.peak_ewma.default_rtt)} "
                        f"decay={seconds(backend.peak_ewma.decay)}",
            "QUEUE": f"capacity={backend.queue.capacity} "
                     f"failfast={seconds(backend.queue.failfast_timeout)}",
            "FAILURE ACCRUAL": "none" if accrual is None else (
                f"consecutive maxFailures={accrual.consecutive_failures} "
                f"minPenalty={seconds(accrual.min_penalty)} "
                f"maxPenalty={seconds(accrual.max_penalty)}"),
        })
    return view


def linkerd_endpoints(sim: Simulation, proxy: LinkerdProxy) -> View:
    view = View("endpoints", ("NAMESPACE", "IP", "PORT", "POD", "SERVICE"),
                ("STATE", "EWMA", "PENDING", "CONSECUTIVE FAILURES", "EJECTIONS"))
    now = sim.env.now
    for service in _services(sim, proxy):
        pool = proxy._balancers.get(service)  # noqa: SLF001 (read-only, as _clusters above)
        spec = sim.model.topology.services.get(service)
        namespace = spec.namespace if spec is not None else "default"
        if pool is None:
            backend = proxy.policy.backends.get(service) or proxy.policy.default_backend
            rows = [_idle_endpoint(pod, backend.peak_ewma.default_rtt)
                    for pod in sim.endpoints.get(service, [])]
        else:
            rows = [_endpoint(e, now) for e in pool.endpoints]
        for row in rows:
            view.rows.append({"NAMESPACE": namespace, "IP": row["POD"], "PORT": PORT,
                              "SERVICE": f"{service}.{namespace}", **row})
    return view


def _idle_endpoint(pod: Pod, rtt: float) -> Row:
    return {"POD": pod.name, "STATE": "ready", "EWMA": seconds(rtt), "PENDING": 0,
            "CONSECUTIVE FAILURES": 0, "EJECTIONS": 0}


def _endpoint(endpoint: Endpoint, now: float) -> Row:
    accrual = endpoint.accrual
    state = "ready"
    if accrual is not None:
        state = {"admitting": "ready", "ejected": "ejected", "probation": "probation"}.get(
            accrual.state, accrual.state)
        if accrual.state == "ejected" and accrual.probe_at is not None and now >= accrual.probe_at:
            state = "probation"  # due: the next request's readiness check moves it
    return {
        "POD": endpoint.pod.name, "STATE": state, "EWMA": seconds(endpoint.ewma.estimate()),
        "PENDING": endpoint.ewma.pending,
        "CONSECUTIVE FAILURES": accrual.failures if accrual is not None else 0,
        "EJECTIONS": accrual.ejections if accrual is not None else 0,
    }


def seconds(value: float) -> str:
    """``0.25`` → ``250ms``, ``2.0`` → ``2s``: Envoy's and Linkerd's own duration style."""
    if value >= 1 and float(value).is_integer():
        return f"{value:g}s"
    return f"{value * 1000:.6g}ms"


