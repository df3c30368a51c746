"""Istio's DestinationRule ``outlierDetection`` translated to Envoy's outlier detection.

The engine's ejection is tested in tests/sim/envoy/test_envoy_outlier.py, the algorithm
against Envoy's own tests in tests/conformance/envoy/test_conformance_outlier.py.
"""

from __future__ import annotations

import pytest
from istio_helpers import run
from istio_seed import CIRCUIT_BREAKER
from test_istio_defaults import TOPO, dr
from test_istio_seed import TOPOLOGY


def test_an_empty_outlier_block_turns_on_5xx_ejection_and_turns_off_panic() -> None:
    cluster = run(dr("outlierDetection: {}"), TOPO).policy.clusters[("reviews", None)]
    outlier = cluster.outlier
    assert outlier is not None
    assert (outlier.consecutive_5xx, outlier.enforcing_consecutive_5xx) == (5, 100)
    assert (outlier.consecutive_gateway_failure,
            outlier.enforcing_consecutive_gateway_failure) == (5, 0)
    assert outlier.enforcing_success_rate == 0
    assert (outlier.interval, outlier.base_ejection_time) == (10.0, 30.0)
    assert outlier.max_ejection_percent == 10.0
    assert cluster.panic_threshold == 0.0


def test_outlier_fields() -> None:
    block = """
outlierDetection:
  consecutive5xxErrors: 0
  consecutiveGatewayErrors: 3
  interval: 1m
  baseEjectionTime: 10m
  maxEjectionPercent: 0
  splitExternalLocalOriginErrors: true
  consecutiveLocalOriginFailures: 2
"""
    outlier = run(dr(block), TOPO).policy.clusters[("reviews", None)].outlier
    assert outlier is not None
    assert (outlier.consecutive_5xx, outlier.enforcing_consecutive_5xx) == (0, 0)
    assert (outlier.consecutive_gateway_failure,
            outlier.enforcing_consecutive_gateway_failure) == (3, 100)
    assert (outlier.interval, outlier.base_ejection_time) == (60.0, 600.0)
    assert outlier.max_ejection_time == 600.0  # Envoy: max(300 s, base)
    assert outlier.max_ejection_percent == 10.0  # 0 is not copied
    assert outlier.split_external_local_origin_errors
    assert (outlier.consecutive_local_origin_failure,
            outlier.enforcing_consecutive_local_origin_failure) == (2, 100)
    assert outlier.enforcing_local_origin_success_rate == 0


@pytest.mark.parametrize(("version", "legacy"), [("1.19", True), ("1.20", False), (None, False)])
def test_max_ejection_rule_follows_the_bundled_envoy(version: str | None, legacy: bool) -> None:
    outlier = run(dr("outlierDetection: {}"), TOPO, version).policy.clusters[
        ("reviews", None)].outlier
    assert outlier is not None and outlier.legacy_max_ejection_rule is legacy


def test_circuit_breaker_maps_pool_and_outlier_detection() -> None:
    cluster = run(CIRCUIT_BREAKER, TOPOLOGY).policy.clusters[("my-service", None)]
    breakers = cluster.circuit_breakers
    assert (breakers.max_connections, breakers.max_pending_requests, breakers.max_requests,
            breakers.max_requests_per_connection, breakers.max_retries) == (100, 100, 1000, 10, 3)
    outlier = cluster.outlier
    assert outlier is not None
    assert (outlier.consecutive_5xx, outlier.enforcing_consecutive_5xx) == (5, 100)
    assert outlier.enforcing_consecutive_gateway_failure == 0
    assert outlier.enforcing_success_rate == 0
    assert (outlier.interval, outlier.base_ejection_time) == (30.0, 30.0)
    assert outlier.max_ejection_percent == 50.0
    assert cluster.panic_threshold == 30.0  # minHealthPercent
    assert cluster.load_balancer.policy == "least_request"
