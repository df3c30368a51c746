"""Mesh-agnostic traffic policy: routes, splits, retries, timeouts, breakers, balancers.

Translators (Istio today, Linkerd next) compile manifests into these; the engine's proxies
apply them. Field defaults are Envoy's own where Envoy has one, because a translator must
state every value the control plane would send rather than rely on the engine guessing.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

# -- matching -----------------------------------------------------------------------------------

# ``prefix`` is a plain string prefix (Envoy, Istio); ``path_prefix`` matches whole path
# segments (Gateway API PathPrefix: "/api" matches "/api" and "/api/x", not "/apix").
MatchKind = Literal["exact", "prefix", "path_prefix", "regex", "present"]


@dataclass(frozen=True)
class StringMatch:
    kind: MatchKind
    value: str = ""
    ignore_case: bool = False


@dataclass(frozen=True)
class HeaderMatch:
    name: str
    match: StringMatch
    invert: bool = False  # Istio ``withoutHeaders``
    # Envoy ``treat_missing_header_as_empty``: Istio sets it on inverted value matches, so a
    # request without the header counts as carrying "" (``withoutHeaders: {x: {exact: a}}``
    # then matches a request with no ``x``).
    treat_missing_as_empty: bool = False


@dataclass(frozen=True)
class RouteMatch:
    """All given conditions must hold (AND); a route's several matches are OR."""

    uri: StringMatch | None = None
    method: StringMatch | None = None
    headers: tuple[HeaderMatch, ...] = ()
    query: tuple[HeaderMatch, ...] = ()
    authority: StringMatch | None = None
    port: int | None = None  # config time: only on that listener port
    source_labels: Mapping[str, str] = field(default_factory=dict)  # config time: callers
    source_namespace: str | None = None
    gateways: tuple[str, ...] = ()  # config time: which proxies get it ("mesh" = sidecars)
    # Boolean composition (Linkerd ServiceProfile ``all`` / ``any`` / ``not``): every match in
    # ``all_of`` must hold, at least one of ``any_of`` when it is not empty, none of ``none_of``.
    all_of: tuple[RouteMatch, ...] = ()
    any_of: tuple[RouteMatch, ...] = ()
    none_of: tuple[RouteMatch, ...] = ()


# -- destinations -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Backend:
    """A weighted destination: a service, optionally one subset (Envoy cluster) of it."""

    service: str
    subset: str | None = None
    weight: int = 100
    port: int | None = None
    # Request headers of this weighted destination only (Envoy applies them before the route's).
    set_headers: Mapping[str, str] = field(default_factory=dict)
    remove_headers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Mirror:
    service: str
    subset: str | None = None
    percent: float = 100.0


@dataclass(frozen=True)
class FaultInjection:
    """Client-side fault filter: delay rolled first, then abort rolled independently."""

    delay_percent: float = 0.0
    delay: float = 0.0
    abort_percent: float = 0.0
    abort_status: int = 503


@dataclass(frozen=True)
class RetryPolicy:
    """Envoy ``RetryPolicy`` (envoy-istio.md §4)."""

    num_retries: int = 1
    retry_on: frozenset[str] = frozenset()
    retriable_status_codes: frozenset[int] = frozenset()
    per_try_timeout: float = 0.0  # 0 = none
    backoff_base: float = 0.025
    backoff_max: float | None = None  # None = 10 × base
    previous_hosts: bool = False
    host_selection_attempts: int = 1  # extra picks offered to the predicate


@dataclass(frozen=True)
class Route:
    """One Envoy route: matches, weighted backends and per-route policy."""

    name: str
    matches: tuple[RouteMatch, ...] = ()  # empty = catch-all
    backends: tuple[Backend, ...] = ()
    timeout: float = 0.0  # route (global) timeout; 0 = disabled
    retry: RetryPolicy | None = None
    fault: FaultInjection | None = None
    mirrors: tuple[Mirror, ...] = ()
    hash_key: HashKey | None = None  # consistent-hash key from the destination's policy
    direct_status: int | None = None  # answered locally (redirect / direct response)
    set_headers: Mapping[str, str] = field(default_factory=dict)  # request headers set/added
    remove_headers: tuple[str, ...] = ()  # request headers removed before forwarding
    # Istio: this route starts another candidate's routes for the same service (a newer
    # VirtualService for the host, or the service's default route), used by a proxy only when
    # every route before it was left out for that proxy by its source matches (a VirtualService
    # whose routes all fail ``sourceMatchHTTP`` gives that proxy no virtual host).
    alternative: bool = False
    # -- Linkerd (linkerd.md §1–§3); Envoy routes leave them at their defaults ----------------
    # ServiceProfile path: ``retry`` is None; a route retries only when ``is_retryable`` and a
    # budget exists (shared per client proxy by every route of the destination service, i.e.
    # all routes of one service carry the same ``retry_budget``); ``timeout`` wraps the whole
    # retry loop. ``response_classes`` classify responses in order (none matching: 5xx fails).
    response_classes: tuple[ResponseClass, ...] = ()
    is_retryable: bool = False
    retry_budget: TpsBudgetSpec | None = None
    # Policy path (HTTPRoute / Service annotations): count-limited retries without a budget;
    # ``timeout`` is ``timeout.linkerd.io/request`` (whole request, retries included).
    policy_retry: PolicyRetry | None = None
    response_timeout: float = 0.0  # timeout.linkerd.io/response: per attempt; 0 = none
    # Policy path routing (linkerd.md §3.5): ``best_match`` routes are ranked per request across
    # every route of the parent, not walked in order; a ``consumer_namespace`` route (an
    # HTTPRoute in another namespace than its parent Service) applies only to callers in that
    # namespace; a ``fallback`` route is the parent's default route, used only by callers to
    # whom no other route applies. ``redirect``: the client proxy answers the redirect itself.
    best_match: bool = False
    consumer_namespace: str | None = None
    fallback: bool = False
    redirect: RequestRedirect | None = None


@dataclass(frozen=True)
class RequestRedirect:
    """A Gateway API ``RequestRedirect`` filter as linkerd2-proxy applies it
    (``linkerd/http/route/src/http/filter/redirect.rs``): the Location keeps each part of the
    request's URI the filter does not replace. ``port`` 0 = keep; ``path`` is a full path, or
    the replacement of the matched prefix when ``replace_prefix``."""

    status: int = 302
    scheme: str | None = None
    hostname: str | None = None
    port: int = 0
    path: str | None = None
    replace_prefix: bool = False


@dataclass(frozen=True)
class ResponseClass:
    """A ServiceProfile ``responseClasses`` entry: first class whose condition matches decides.

    The condition is a status range (inclusive) combined with ``all``/``any``/``not``, kept as a
    :class:`StatusCondition` tree.
    """

    condition: StatusCondition
    is_failure: bool = False

    def matches(self, status: int) -> bool:
        return self.condition.matches(status)


@dataclass(frozen=True)
class StatusCondition:
    """``status: {min, max}`` (inclusive) and ``all`` / ``any`` / ``not`` of other conditions.

    Every given part must hold (the controller ANDs the fields set on one condition).
    """

    status_min: int | None = None
    status_max: int | None = None
    all_of: tuple[StatusCondition, ...] = ()
    any_of: tuple[StatusCondition, ...] = ()
    negate: StatusCondition | None = None  # ``not``

    def matches(self, status: int) -> bool:
        if self.status_min is not None and status < self.status_min:
            return False
        if self.status_max is not None and status > self.status_max:
            return False
        if not all(c.matches(status) for c in self.all_of):
            return False
        if self.any_of and not any(c.matches(status) for c in self.any_of):
            return False
        return self.negate is None or not self.negate.matches(status)


def classify_failure(classes: tuple[ResponseClass, ...], status: int) -> bool:
    """Linkerd's classifier: the first matching response class decides, else 5xx = failure."""
    for response_class in classes:
        if response_class.matches(status):
            return response_class.is_failure
    return status >= 500


@dataclass(frozen=True)
class TpsBudgetSpec:
    """tower ``TpsBudget::new(ttl, min_per_sec, retry_percent)`` (linkerd.md §1.1–§1.2).

    Linkerd sends 10 s / 10 per second / 0.2 even when no ServiceProfile exists.
    """

    ttl: float = 10.0
    min_retries_per_second: int = 10
    retry_ratio: float = 0.2


@dataclass(frozen=True)
class PolicyRetry:
    """``retry.linkerd.io/*`` annotations (linkerd.md §2.1–§2.2): no budget, a count limit.

    ``codes`` are inclusive status ranges; empty means only retryable errors are retried.
    ``timeout`` is the per-attempt time to response headers, not applied to the last attempt.
    Backoff: min(backoff_min × 2^(n−1), backoff_max) plus jitter, total ≤ backoff_max.
    """

    codes: tuple[tuple[int, int], ...] = ()
    limit: int = 1
    timeout: float = 0.0  # 0 = none
    backoff_min: float = 0.025
    backoff_max: float = 0.25
    jitter: float = 1.0
    max_request_bytes: int = 65536

    def retries_status(self, status: int) -> bool:
        return any(low <= status <= high for low, high in self.codes)


# -- clusters -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class HashKey:
    kind: Literal["header", "cookie", "source_ip", "query"]
    name: str = ""
    ttl: float | None = None  # cookie TTL: with one, a missing cookie is generated


LbPolicy = Literal["round_robin", "least_request", "random", "ring_hash", "maglev"]


@dataclass(frozen=True)
class LoadBalancer:
    policy: LbPolicy = "least_request"
    choice_count: int = 2
    active_request_bias: float = 1.0
    ring_size: int = 1024
    maglev_table_size: int = 65537
    hash_key: HashKey | None = None


U32_MAX = 2**32 - 1


@dataclass(frozen=True)
class RetryBudget:
    percent: float = 20.0
    min_retry_concurrency: int = 3


@dataclass(frozen=True)
class CircuitBreakers:
    """Envoy thresholds per client proxy and cluster; Istio emits 2^32−1 for all by default."""

    max_connections: int = 1024
    max_pending_requests: int = 1024
    max_requests: int = 1024
    max_retries: int = 3
    retry_budget: RetryBudget | None = None
    max_requests_per_connection: int = 0  # 0 = unlimited


@dataclass(frozen=True)
class OutlierDetection:
    """Envoy ``OutlierDetection`` with Envoy's defaults (envoy-istio.md §1.6)."""

    consecutive_5xx: int = 5
    enforcing_consecutive_5xx: int = 100
    consecutive_gateway_failure: int = 5
    enforcing_consecutive_gateway_failure: int = 0
    consecutive_local_origin_failure: int = 5
    enforcing_consecutive_local_origin_failure: int = 100
    split_external_local_origin_errors: bool = False
    interval: float = 10.0
    base_ejection_time: float = 30.0
    max_ejection_time: float = 300.0
    max_ejection_time_jitter: float = 0.0
    max_ejection_percent: float = 10.0
    always_eject_one_host: bool = False
    success_rate_minimum_hosts: int = 5
    success_rate_request_volume: int = 100
    success_rate_stdev_factor: int = 1900
    enforcing_success_rate: int = 100
    failure_percentage_threshold: int = 85
    failure_percentage_minimum_hosts: int = 5
    failure_percentage_request_volume: int = 50
    enforcing_failure_percentage: int = 0
    # Split mode only: Envoy's local-origin twins of the two statistical detectors
    # (outlier_detection.proto defaults; Istio forces the success-rate one to 0).
    enforcing_local_origin_success_rate: int = 100
    enforcing_failure_percentage_local_origin: int = 0
    # Profile switch (envoy-istio.md §1.4, §13): Envoy < 1.28 always ejected the first host and
    # compared the pre-ejection percentage.
    legacy_max_ejection_rule: bool = False


@dataclass(frozen=True)
class ClusterPolicy:
    """Everything an Envoy cluster (a service, or one subset of it) carries."""

    load_balancer: LoadBalancer = LoadBalancer()
    circuit_breakers: CircuitBreakers = CircuitBreakers()
    outlier: OutlierDetection | None = None
    panic_threshold: float = 50.0  # percent; 0 disables panic routing
    connect_timeout: float = 10.0
    http2: bool = False  # Istio h2UpgradePolicy UPGRADE: one multiplexed connection per host
    # Linkerd (linkerd.md §4–§5): P2C over ready endpoints with Peak-EWMA cost, behind a FIFO
    # queue with failfast; failure accrual per endpoint and client proxy. Envoy clusters keep
    # ``balancer="envoy"`` and ignore the rest.
    balancer: BalancerKind = "envoy"
    peak_ewma: PeakEwma | None = None
    queue: BalancerQueue | None = None
    failure_accrual: FailureAccrual | None = None


BalancerKind = Literal["envoy", "p2c_ewma"]


@dataclass(frozen=True)
class PeakEwma:
    """tower Peak-EWMA as Linkerd configures it: default RTT 30 ms, decay 10 s."""

    default_rtt: float = 0.030
    decay: float = 10.0


@dataclass(frozen=True)
class BalancerQueue:
    """linkerd2-proxy's balancer queue: capacity and failfast (outbound HTTP 10,000 / 3 s)."""

    capacity: int = 10_000
    failfast_timeout: float = 3.0


@dataclass(frozen=True)
class FailureAccrual:
    """``balancer.linkerd.io/failure-accrual: consecutive`` (linkerd.md §5.1–§5.2).

    Penalty k: min(min_penalty × 2^k, max_penalty) plus uniform jitter in [0, base × jitter),
    capped at max_penalty; exactly one probe request in probation. 429 is a success.
    """

    consecutive_failures: int = 7
    min_penalty: float = 1.0
    max_penalty: float = 60.0
    jitter: float = 0.5


@dataclass(frozen=True)
class Subset:
    """A named group of a service's pods, selected by labels (DestinationRule subset)."""

    service: str
    name: str
    labels: Mapping[str, str]


@dataclass(frozen=True)
class TrafficPolicy:
    """What the control plane sends to every client proxy of the mesh.

    ``routes`` are per destination service, in order (first match wins; none → 404 NR).
    ``clusters`` are keyed by (service, subset or None). A service with no entry in
    ``routes`` gets ``default_route`` applied to it.
    """

    routes: Mapping[str, tuple[Route, ...]] = field(default_factory=dict)
    clusters: Mapping[tuple[str, str | None], ClusterPolicy] = field(default_factory=dict)
    subsets: Mapping[tuple[str, str], Subset] = field(default_factory=dict)
    default_cluster: ClusterPolicy = ClusterPolicy()
    default_retry: RetryPolicy | None = None
    default_timeout: float = 0.0
    gateways: Mapping[str, Gateway] = field(default_factory=dict)
    sidecars: Mapping[str, bool] = field(default_factory=dict)  # service -> injected
    external: Mapping[str, ExternalService] = field(default_factory=dict)
    # Linkerd: the profile budget of a service with no explicit routes (unused by the default
    # route, which is not retryable, but sent by the controller all the same) and the inbound
    # authorization policy. None / None for Istio: no budget, every request is authorized.
    default_retry_budget: TpsBudgetSpec | None = None
    inbound: InboundPolicy | None = None
    # Istio: AuthorizationPolicy and PeerAuthentication, enforced by the destination's sidecar.
    # None = no security policy: every request is allowed, mTLS permissive.
    security: IstioSecurity | None = None


@dataclass(frozen=True)
class Gateway:
    """An ingress gateway: an Envoy without an app, chosen by the hosts it serves.

    Workloads whose ``target`` is one of ``hosts`` enter the mesh through it, and its own
    routes (VirtualServices bound to it) decide where requests go.
    """

    name: str
    hosts: tuple[str, ...]
    routes: Mapping[str, tuple[Route, ...]] = field(default_factory=dict)  # by host
    replicas: int = 1


@dataclass(frozen=True)
class ExternalService:
    """A ServiceEntry: endpoints outside the mesh, no sidecar, their own latency and errors."""

    name: str
    hosts: tuple[str, ...]
    resolution: Literal["STATIC", "DNS", "DNS_ROUND_ROBIN", "NONE"] = "DNS"
    location: Literal["MESH_EXTERNAL", "MESH_INTERNAL"] = "MESH_EXTERNAL"
    endpoints: int = 1


def host_matches(pattern: str, host: str) -> bool:
    """Gateway-style host match: exact, or ``*.example.com`` for any subdomain, or ``*``."""
    if pattern == "*" or pattern == host:
        return True
    return pattern.startswith("*.") and host.endswith(pattern[1:])


def gateway_for(policy: TrafficPolicy, host: str) -> Gateway | None:
    """The gateway whose routes serve ``host`` (a VirtualService bound to it names the host)."""
    for gateway in policy.gateways.values():
        if any(host_matches(pattern, host) for pattern in gateway.routes):
            return gateway
    return None


# -- inbound authorization (Linkerd policy.linkerd.io; linkerd.md §7) ---------------------------

DefaultInboundPolicy = Literal[
    "all-unauthenticated", "all-authenticated", "cluster-authenticated",
    "cluster-unauthenticated", "deny", "audit",
]
CLUSTER_NETWORKS = (
    "10.0.0.0/8", "100.64.0.0/10", "172.16.0.0/12", "192.168.0.0/16", "fd00::/8",
)
ALL_NETWORKS = ("0.0.0.0/0", "::/0")
IDENTITY_DOMAIN = "serviceaccount.identity.linkerd.cluster.local"


def identity_of(service_account: str, namespace: str) -> str:
    """The mTLS identity of a meshed pod: ``<sa>.<ns>.serviceaccount.identity.linkerd.<domain>``."""
    return f"{service_account}.{namespace}.{IDENTITY_DOMAIN}"


@dataclass(frozen=True)
class Network:
    """A client network: ``cidr`` minus every ``except`` block."""

    cidr: str
    excepts: tuple[str, ...] = ()

    def contains(self, address: str) -> bool:
        ip = ipaddress.ip_address(address)
        if ip not in _network(self.cidr):
            return False
        return not any(ip in _network(block) for block in self.excepts)


def _network(cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(cidr, strict=False)


@dataclass(frozen=True)
class Authorization:
    """One way a client may be let in; a server's authorizations are OR-ed, fields AND-ed.

    ``unauthenticated``: any client (meshed or not). Otherwise ``tls_unauthenticated`` admits any
    proxy-terminated TLS client, and an mTLS identity must be in ``identities`` (exact, ``*``
    or ``*.suffix``). ``networks`` empty = every address. ``name`` is ``Kind/name`` of its source.
    """

    name: str
    unauthenticated: bool = False
    tls_unauthenticated: bool = False
    identities: tuple[str, ...] = ()
    networks: tuple[Network, ...] = ()
    audit: bool = False

    def permits(self, identity: str | None, address: str | None = None) -> bool:
        """``identity`` None = no mTLS identity (unmeshed client); ``address`` None = skip IPs."""
        in_networks = any(n.contains(address) for n in self.networks) if address else True
        if self.networks and not in_networks:
            return False
        if self.unauthenticated:
            return True
        if identity is None:
            return False
        if self.tls_unauthenticated:
            return True
        return any(_identity_matches(p, identity) for p in self.identities)


def _identity_matches(pattern: str, identity: str) -> bool:
    if pattern == "*":
        return True
    if pattern.startswith("*."):
        return identity.endswith(pattern[1:])
    return pattern == identity


@dataclass(frozen=True)
class InboundRoute:
    """An HTTPRoute attached to a Server: matches (best match, pre-sorted) and its authorizations.

    A request to a Server with routes that matches none is answered 404; a matched route whose
    authorizations (its own plus the Server's) permit nothing answers 403.
    """

    name: str
    matches: tuple[RouteMatch, ...] = ()  # empty = everything
    authorizations: tuple[Authorization, ...] = ()


@dataclass(frozen=True)
class ServerPolicy:
    """A Linkerd ``Server``: the pods (service, version) it selects and who may call them.

    ``access_policy`` is the fallback when no authorization permits (``deny`` for a Server
    unless ``accessPolicy`` says otherwise). meshsim pods serve one port: a Server applies to
    all inbound traffic of the pods it selects.
    """

    name: str
    namespace: str
    pod_selector: Mapping[str, str]
    port: int | str
    targets: tuple[tuple[str, str | None], ...] = ()  # (service, version or None)
    proxy_protocol: str = "unknown"
    access_policy: DefaultInboundPolicy = "deny"
    authorizations: tuple[Authorization, ...] = ()
    routes: tuple[InboundRoute, ...] = ()


@dataclass(frozen=True)
class InboundPolicy:
    """What every server-side Linkerd proxy enforces.

    ``defaults`` is each service's default inbound policy (namespace or pod annotation; else
    ``default``). A pod selected by a Server follows that Server only; any other pod follows its
    default, which :func:`default_authorizations` expands.
    """

    default: DefaultInboundPolicy = "all-unauthenticated"
    defaults: Mapping[str, DefaultInboundPolicy] = field(default_factory=dict)
    servers: tuple[ServerPolicy, ...] = ()
    cluster_networks: tuple[str, ...] = CLUSTER_NETWORKS

    def server_for(self, service: str, version: str | None) -> ServerPolicy | None:
        for server in self.servers:
            if (service, version) in server.targets:
                return server
        return None

    def default_for(self, service: str) -> DefaultInboundPolicy:
        return self.defaults.get(service, self.default)


def default_authorizations(
    policy: DefaultInboundPolicy, cluster_networks: tuple[str, ...] = CLUSTER_NETWORKS
) -> tuple[Authorization, ...]:
    """The authorizations a default inbound policy stands for (linkerd.md §7.1)."""
    everywhere = tuple(Network(c) for c in ALL_NETWORKS)
    cluster = tuple(Network(c) for c in cluster_networks)
    name = f"default:{policy}"
    if policy in ("all-unauthenticated", "audit"):
        return (Authorization(name, unauthenticated=True, networks=everywhere,
                              audit=policy == "audit"),)
    if policy == "cluster-unauthenticated":
        return (Authorization(name, unauthenticated=True, networks=cluster),)
    if policy == "all-authenticated":
        return (Authorization(name, identities=("*",), networks=everywhere),)
    if policy == "cluster-authenticated":
        return (Authorization(name, identities=("*",), networks=cluster),)
    return ()


# -- Istio security (security.istio.io AuthorizationPolicy, PeerAuthentication) ----------------

TRUST_DOMAIN = "cluster.local"
ROOT_NAMESPACE = "istio-system"
MtlsMode = Literal["STRICT", "PERMISSIVE", "DISABLE"]
RbacAction = Literal["ALLOW", "DENY", "AUDIT"]
POD_PORT: int | None = None  # meshsim pods serve one unnumbered port


def spiffe_principal(service_account: str, namespace: str, domain: str = TRUST_DOMAIN) -> str:
    """An Istio peer principal: the SPIFFE ID of the workload's certificate, without spiffe://."""
    return f"{domain}/ns/{namespace}/sa/{service_account}"


def principal_namespace(principal: str) -> str | None:
    """The namespace a SPIFFE principal names (Istio matches ``source.namespace`` on it)."""
    parts = principal.split("/")
    return parts[2] if len(parts) >= 5 and parts[1] == "ns" and parts[3] == "sa" else None


@dataclass(frozen=True)
class RbacCondition:
    """One Istio attribute: holds when it matches one of ``values`` (if any) and none of
    ``not_values``. ``key`` is the Istio attribute (``source.principal``, ``source.namespace``,
    ``source.ip``, ``remote.ip``, ``request.auth.principal``, ``request.headers[x]``,
    ``destination.port``) or an operation (``method``, ``path``, ``host``)."""

    key: str
    values: tuple[str, ...] = ()
    not_values: tuple[str, ...] = ()


@dataclass(frozen=True)
class RbacRule:
    """An AuthorizationPolicy rule as Istio's authz model builds it: it matches when one
    ``principals`` list (from sources, AND within) and one ``permissions`` list (to operations)
    fully hold; ``when`` conditions are merged into each list."""

    principals: tuple[tuple[RbacCondition, ...], ...] = ((),)
    permissions: tuple[tuple[RbacCondition, ...], ...] = ((),)


@dataclass(frozen=True)
class WorkloadSelector:
    """Which sidecars a policy binds to: ``labels`` None = every workload of the namespace; a
    policy in the root namespace binds workloads of every namespace (Istio's authorization
    policy lookup; PeerAuthentication narrows this itself)."""

    namespace: str
    labels: Mapping[str, str] | None = None

    def selects(self, namespace: str, labels: Mapping[str, str]) -> bool:
        if self.namespace not in (namespace, ROOT_NAMESPACE):
            return False
        return self.labels is None or all(labels.get(k) == v for k, v in self.labels.items())


@dataclass(frozen=True)
class RbacPolicy:
    """An AuthorizationPolicy (ALLOW, DENY or AUDIT); no rules = matches nothing."""

    name: str  # <namespace>/<name>
    action: RbacAction
    selector: WorkloadSelector
    rules: tuple[RbacRule, ...] = ()


@dataclass(frozen=True)
class PeerAuthnPolicy:
    """A PeerAuthentication: ``mode`` None = UNSET (inherit); ``port_modes`` per target port."""

    name: str
    selector: WorkloadSelector
    mode: MtlsMode | None = None
    port_modes: Mapping[int, MtlsMode | None] = field(default_factory=dict)


@dataclass(frozen=True)
class IstioSecurity:
    """What istiod sends each inbound sidecar: its authorization policies and mTLS mode."""

    policies: tuple[RbacPolicy, ...] = ()
    peer_authn: tuple[PeerAuthnPolicy, ...] = ()

    def policies_for(self, namespace: str, labels: Mapping[str, str]) -> tuple[RbacPolicy, ...]:
        return tuple(p for p in self.policies if p.selector.selects(namespace, labels))

    def mtls_mode(self, namespace: str, labels: Mapping[str, str],
                  port: int | None = POD_PORT) -> MtlsMode:
        """Workload policy over namespace policy over mesh policy; UNSET inherits; the mesh
        default is PERMISSIVE. ``port`` None: a single port-level mode applies to the pod's one
        port (the translator warns)."""
        mode: MtlsMode = "PERMISSIVE"
        for level in self._levels(namespace, labels):
            if level is None:
                continue
            if level.mode is not None:
                mode = level.mode
            port_mode = _port_mode(level, port)
            if port_mode is not None:
                mode = port_mode
        return mode

    def _levels(self, namespace: str, labels: Mapping[str, str]) -> list[PeerAuthnPolicy | None]:
        def first(ns: str, selected: bool) -> PeerAuthnPolicy | None:
            for p in self.peer_authn:
                level = p.selector.namespace == ns and (p.selector.labels is not None) == selected
                if level and (not selected or p.selector.selects(namespace, labels)):
                    return p
            return None

        return [first(ROOT_NAMESPACE, False), first(namespace, False), first(namespace, True)]


def _port_mode(policy: PeerAuthnPolicy, port: int | None) -> MtlsMode | None:
    if port is not None:
        return policy.port_modes.get(port)
    modes = list(policy.port_modes.values())
    return modes[0] if len(modes) == 1 else None
