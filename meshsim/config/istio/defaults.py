"""What Istio emits when a manifest says nothing (envoy-istio.md §3.4, §4.6, §5.7, §6).

Sources: ``pilot/pkg/networking/core/route/retry/retry.go`` (``DefaultPolicy``),
``cluster_traffic_policy.go`` (``getDefaultCircuitBreakerThresholds``, ``defaultLBAlgorithm``,
``applyDefaultConnectionPool`` with meshConfig ``connectTimeout`` 10 s), ``route/route.go``
(``setTimeout``: route timeout 0 = disabled).
"""

from __future__ import annotations

from meshsim.model.clusters import U32_MAX, CircuitBreakers, ClusterPolicy, LoadBalancer
from meshsim.model.routes import RetryPolicy

from .profile import IstioProfile

DEFAULT_RETRY_ON = frozenset(
    {"connect-failure", "refused-stream", "unavailable", "cancelled", "retriable-status-codes"}
)
DEFAULT_ATTEMPTS = 2
HOST_SELECTION_ATTEMPTS = 5  # retry.go: HostSelectionRetryMaxAttempts, set on every policy
ENVOY_BACKOFF_BASE = 0.025
CONNECT_TIMEOUT = 10.0  # meshConfig.connectTimeout
ROUTE_TIMEOUT = 0.0  # disabled unless a VirtualService sets one
PANIC_THRESHOLD = 50.0  # Envoy's healthy_panic_threshold; Istio leaves it without outlierDetection


def default_retry(profile: IstioProfile, *, previous_hosts: bool = True) -> RetryPolicy:
    """Istio's outbound retry policy: 2 retries, the profile's retriable codes, previous_hosts.

    ``previous_hosts=False`` is ``DefaultConsistentHashPolicy`` (consistent-hash routes, 1.23+).
    """
    return RetryPolicy(
        num_retries=DEFAULT_ATTEMPTS,
        retry_on=DEFAULT_RETRY_ON,
        retriable_status_codes=profile.default_retriable_status_codes,
        per_try_timeout=0.0,
        backoff_base=ENVOY_BACKOFF_BASE,
        backoff_max=None,
        previous_hosts=previous_hosts,
        host_selection_attempts=HOST_SELECTION_ATTEMPTS,
    )


def default_breakers() -> CircuitBreakers:
    """Istio's thresholds for every outbound cluster: all 2^32−1, i.e. breakers off."""
    return CircuitBreakers(
        max_connections=U32_MAX,
        max_pending_requests=U32_MAX,
        max_requests=U32_MAX,
        max_retries=U32_MAX,
        retry_budget=None,
        max_requests_per_connection=0,
    )


def default_cluster() -> ClusterPolicy:
    """A cluster no DestinationRule shapes: LEAST_REQUEST, breakers off, no outlier detection."""
    return ClusterPolicy(
        load_balancer=LoadBalancer(policy="least_request"),
        circuit_breakers=default_breakers(),
        outlier=None,
        panic_threshold=PANIC_THRESHOLD,
        connect_timeout=CONNECT_TIMEOUT,
    )
