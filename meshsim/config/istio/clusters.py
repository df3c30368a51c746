"""DestinationRule traffic-policy components → one Envoy cluster's :class:`ClusterPolicy`.

Follows ``pilot/pkg/networking/core/cluster_traffic_policy.go``: ``applyConnectionPool`` (every
cluster starts from 2^32−1 thresholds; a 0 is indistinguishable from unset and keeps the
default), ``applyRetryBudget``, ``applyOutlierDetection`` (success-rate ejection off, panic
threshold = ``minHealthPercent``, default 0, whenever the block exists), ``applyLoadBalancer``
and ``ApplyRingHashLoadBalancer``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from meshsim.config.manifest.nodes import Diagnostics, Node
from meshsim.model.clusters import (
    CircuitBreakers,
    ClusterPolicy,
    Distribute,
    Failover,
    LoadBalancer,
    LocalityLbSetting,
    OutlierDetection,
    RetryBudget,
)
from meshsim.model.routes import HashKey

from .defaults import CONNECT_TIMEOUT, PANIC_THRESHOLD, default_breakers
from .profile import IstioProfile

SIMPLE_LB = ("UNSPECIFIED", "LEAST_CONN", "RANDOM", "PASSTHROUGH", "ROUND_ROBIN", "LEAST_REQUEST")
_HASH_KEYS = ("httpHeaderName", "httpCookie", "useSourceIp", "httpQueryParameterName")
MAGLEV_MAX_TABLE = 5000011


@dataclass(frozen=True)
class Components:
    """The parts of a TrafficPolicy one cluster uses (after subset and port-level merging)."""

    load_balancer: Node | None = None
    connection_pool: Node | None = None
    outlier: Node | None = None
    retry_budget: Node | None = None


def cluster_policy(
    parts: Components, profile: IstioProfile, diagnostics: Diagnostics
) -> ClusterPolicy:
    breakers, connect_timeout = connection_pool(parts.connection_pool)
    if parts.retry_budget is not None and profile.retry_budget:
        breakers = replace(breakers, retry_budget=retry_budget(parts.retry_budget, profile))
    outlier, panic = None, PANIC_THRESHOLD
    if parts.outlier is not None:
        outlier = outlier_detection(parts.outlier, profile)
        panic = float(parts.outlier["minHealthPercent"].integer(0, minimum=0, maximum=100))
    return ClusterPolicy(
        load_balancer=load_balancer(parts.load_balancer, diagnostics),
        circuit_breakers=breakers,
        outlier=outlier,
        panic_threshold=panic,
        connect_timeout=connect_timeout,
        locality=locality_setting(parts.load_balancer),
    )


def locality_setting(node: Node | None) -> LocalityLbSetting | None:
    """``localityLbSetting`` as written (pilot decides per caller what it means); None = the
    mesh default (enabled, no rules). ``failover`` and ``distribute`` are exclusive, and
    ``distribute`` weights are percentages (istio/api destination_rule.proto)."""
    if node is None or not node.has("localityLbSetting"):
        return None
    lb = node["localityLbSetting"]
    failover = tuple(
        Failover(_required(item, "from"), _required(item, "to")) for item in lb["failover"].items()
    )
    distribute = tuple(
        Distribute(_required(item, "from"), tuple(
            (key, value.integer(minimum=0, maximum=100)) for key, value in item["to"].entries()
        ))
        for item in lb["distribute"].items()
    )
    if failover and distribute:
        raise lb.error("localityLbSetting takes failover or distribute, not both")
    return LocalityLbSetting(
        enabled=lb["enabled"].boolean(True),
        failover=failover,
        failover_priority=tuple(lb["failoverPriority"].strings()),
        distribute=distribute,
    )


def _required(node: Node, key: str) -> str:
    value = node[key].string()
    if not value:
        raise node.error(f"{node.name}: '{key}' is required")
    return value


def connection_pool(node: Node | None) -> tuple[CircuitBreakers, float]:
    """Thresholds and connect timeout; positive values replace Istio's 2^32−1 defaults."""
    breakers, connect_timeout = default_breakers(), CONNECT_TIMEOUT
    if node is None:
        return breakers, connect_timeout
    tcp, http = node["tcp"], node["http"]

    def limit(field: Node, default: int) -> int:
        value = field.integer(0, minimum=0)
        return value if value > 0 else default

    breakers = CircuitBreakers(
        max_connections=limit(tcp["maxConnections"], breakers.max_connections),
        max_pending_requests=limit(http["http1MaxPendingRequests"], breakers.max_pending_requests),
        max_requests=limit(http["http2MaxRequests"], breakers.max_requests),
        max_retries=limit(http["maxRetries"], breakers.max_retries),
        retry_budget=None,
        max_requests_per_connection=limit(http["maxRequestsPerConnection"], 0),
    )
    if tcp.has("connectTimeout"):
        connect_timeout = tcp["connectTimeout"].duration(minimum=0.001)
    return breakers, connect_timeout


def retry_budget(node: Node, profile: IstioProfile) -> RetryBudget:
    """``applyRetryBudget``: percent as written (or the profile's default), minimum 3 if unset."""
    percent = node["percent"].number(profile.retry_budget_default_percent, minimum=0, maximum=100)
    concurrency = node["minRetryConcurrency"].integer(0, minimum=0)
    return RetryBudget(percent=percent, min_retry_concurrency=concurrency or 3)


def outlier_detection(node: Node, profile: IstioProfile) -> OutlierDetection:
    """``applyOutlierDetection`` over Envoy's defaults."""
    out = OutlierDetection(enforcing_success_rate=0,
                           legacy_max_ejection_rule=profile.legacy_max_ejection_rule)
    if node.has("consecutive5xxErrors"):
        value = node["consecutive5xxErrors"].integer(minimum=0)
        out = replace(out, consecutive_5xx=value, enforcing_consecutive_5xx=100 if value else 0)
    if node.has("consecutiveGatewayErrors"):
        value = node["consecutiveGatewayErrors"].integer(minimum=0)
        out = replace(out, consecutive_gateway_failure=value,
                      enforcing_consecutive_gateway_failure=100 if value else 0)
    if node.has("interval"):
        out = replace(out, interval=node["interval"].duration(minimum=0.001))
    if node.has("baseEjectionTime"):
        base = node["baseEjectionTime"].duration(minimum=0.001)
        out = replace(out, base_ejection_time=base, max_ejection_time=max(300.0, base))
    percent = node["maxEjectionPercent"].integer(0, minimum=0, maximum=100)
    if percent > 0:
        out = replace(out, max_ejection_percent=float(percent))
    if node["splitExternalLocalOriginErrors"].boolean():
        out = replace(out, split_external_local_origin_errors=True,
                      enforcing_local_origin_success_rate=0)
        local = node["consecutiveLocalOriginFailures"].integer(0, minimum=0)
        if local > 0:
            out = replace(out, consecutive_local_origin_failure=local,
                          enforcing_consecutive_local_origin_failure=100)
    return out


def load_balancer(node: Node | None, diagnostics: Diagnostics) -> LoadBalancer:
    """``applyLoadBalancer``: LEAST_REQUEST unless told otherwise; consistentHash wins."""
    if node is None:
        return LoadBalancer(policy="least_request")
    if node.has("simple") and node.has("consistentHash"):
        raise node.error("loadBalancer takes simple or consistentHash, not both")
    if node.has("consistentHash"):
        return consistent_hash(node["consistentHash"])
    simple = node["simple"].choice(SIMPLE_LB, "UNSPECIFIED")
    if simple == "ROUND_ROBIN":
        return LoadBalancer(policy="round_robin")
    if simple == "RANDOM":
        return LoadBalancer(policy="random")
    if simple == "PASSTHROUGH":
        diagnostics.warn(
            node["simple"],
            "PASSTHROUGH (original destination, no load balancing) is not modelled: meshsim "
            "picks endpoints at random",
            code="approximated",
        )
        return LoadBalancer(policy="random")
    return LoadBalancer(policy="least_request")  # LEAST_REQUEST, LEAST_CONN, UNSPECIFIED


def consistent_hash(node: Node) -> LoadBalancer:
    """``ApplyRingHashLoadBalancer``: RING_HASH (ring 1024) unless ``maglev`` is given."""
    key = hash_key(node)
    if node.has("maglev"):
        size = node["maglev"]["tableSize"].integer(0, minimum=0)
        if size and (size >= MAGLEV_MAX_TABLE or not _is_prime(size)):
            raise node["maglev"]["tableSize"].error(
                f"Envoy requires a prime Maglev table size below {MAGLEV_MAX_TABLE}, got {size}"
            )
        return LoadBalancer(policy="maglev", maglev_table_size=size or 65537, hash_key=key)
    ring = node["minimumRingSize"].integer(0, minimum=0) or 1024
    if node.has("ringHash"):
        ring = node["ringHash"]["minimumRingSize"].integer(0, minimum=0) or 1024
    return LoadBalancer(policy="ring_hash", ring_size=ring, hash_key=key)


def hash_key(node: Node) -> HashKey | None:
    """``consistentHashToHashPolicy``: the request property a consistent hash uses."""
    keys = [k for k in _HASH_KEYS if node.has(k)]
    if len(keys) != 1:
        raise node.error(
            f"consistentHash needs exactly one of {', '.join(_HASH_KEYS)}"
            + (f", got {' and '.join(keys)}" if keys else "")
        )
    key = keys[0]
    if key == "httpHeaderName":
        return HashKey("header", node[key].string().lower())
    if key == "httpQueryParameterName":
        return HashKey("query", node[key].string())
    if key == "useSourceIp":
        return HashKey("source_ip") if node[key].boolean() else None
    cookie = node["httpCookie"]
    if not cookie["name"].string():
        raise cookie.error("httpCookie needs a name")
    ttl = cookie["ttl"].duration() if cookie.has("ttl") else None
    return HashKey("cookie", cookie["name"].string(), ttl)


def _is_prime(n: int) -> bool:
    return n > 1 and all(n % d for d in range(2, int(n**0.5) + 1))
