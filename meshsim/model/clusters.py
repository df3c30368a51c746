"""Envoy clusters: balancer, circuit breakers, outlier detection, retry budget, subsets.

What an Istio DestinationRule compiles to, per (service, subset), for every client proxy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from meshsim.model.routes import HashKey

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
class Failover:
    """``localityLbSetting.failover``: callers in region ``source`` fail over to ``target``."""

    source: str
    target: str


@dataclass(frozen=True)
class Distribute:
    """``localityLbSetting.distribute``: callers matching ``source`` send ``to`` percentages
    to the localities (``region/zone/subzone``, ``*`` wildcards) each key matches."""

    source: str
    to: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class LocalityLbSetting:
    """A DestinationRule's ``loadBalancer.localityLbSetting`` (istio/api destination_rule.proto)."""

    enabled: bool = True
    failover: tuple[Failover, ...] = ()
    failover_priority: tuple[str, ...] = ()
    distribute: tuple[Distribute, ...] = ()


@dataclass(frozen=True)
class ClusterPolicy:
    """Everything an Envoy cluster (a service, or one subset of it) carries."""

    load_balancer: LoadBalancer = LoadBalancer()
    circuit_breakers: CircuitBreakers = CircuitBreakers()
    outlier: OutlierDetection | None = None
    panic_threshold: float = 50.0  # percent; 0 disables panic routing
    connect_timeout: float = 10.0
    http2: bool = False  # Istio h2UpgradePolicy UPGRADE: one multiplexed connection per host
    locality: LocalityLbSetting | None = None  # None: the mesh default (enabled, no rules)


@dataclass(frozen=True)
class Subset:
    """A named group of a service's pods, selected by labels (DestinationRule subset)."""

    service: str
    name: str
    labels: Mapping[str, str]
