"""Mesh-agnostic traffic policy: routes, splits, retries, timeouts, breakers, balancers.

Translators (Istio today, Linkerd next) compile manifests into these; the engine's proxies
apply them. Field defaults are Envoy's own where Envoy has one, because a translator must
state every value the control plane would send rather than rely on the engine guessing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

# -- matching -----------------------------------------------------------------------------------

MatchKind = Literal["exact", "prefix", "regex", "present"]


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
