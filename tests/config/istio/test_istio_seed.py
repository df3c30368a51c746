"""Every Istio example of the seed translates, to the policy a real sidecar would get."""

from __future__ import annotations

from pathlib import Path

import pytest
from istio_helpers import find, run, service, topology
from istio_seed import (
    ALL,
    BASIC_ROUTING,
    CANARY,
    FAULT_INJECTION,
    INGRESS_GATEWAY,
    LOAD_BALANCING,
    MIRRORING,
    RETRY_AND_TIMEOUT,
)

from meshsim.errors import ScenarioError
from meshsim.model.clusters import U32_MAX
from meshsim.model.routes import (
    Backend,
    FaultInjection,
    HeaderMatch,
    Mirror,
    RouteMatch,
    StringMatch,
)

SEED = Path("/work/shared/seed")
TOPOLOGY = topology(
    service("reviews", "v1", "v2"),
    service("my-service", "stable", "canary", "v1", "v2"),
    service("ratings", replicas=2),
    service("api-service"),
)


@pytest.mark.skipif(not SEED.is_dir(), reason="the seed examples are not on this machine")
def test_the_examples_are_pasted_verbatim() -> None:
    text = "".join(p.read_text() for p in sorted(SEED.glob("*.txt")))
    for name, example in ALL.items():
        assert example in text, name


@pytest.mark.parametrize("name", [n for n in ALL if n != "mirroring"])
def test_every_example_translates(name: str) -> None:
    result = run(ALL[name], TOPOLOGY)
    assert result.policy.default_retry is not None


def test_basic_routing_sends_jason_to_v2_and_everyone_else_to_v1() -> None:
    result = run(BASIC_ROUTING, TOPOLOGY)
    first, second = result.policy.routes["reviews"]
    assert first.matches == (
        RouteMatch(headers=(HeaderMatch("end-user", StringMatch("exact", "jason")),)),
    )
    assert first.backends == (Backend("reviews", "v2", 100),)
    assert second.matches == ()
    assert second.backends == (Backend("reviews", "v1", 100),)
    assert first.timeout == second.timeout == 0.0
    assert first.retry == result.policy.default_retry
    assert result.policy.subsets[("reviews", "v2")].labels == {"version": "v2"}
    assert set(result.policy.clusters) == {("reviews", None), ("reviews", "v1"), ("reviews", "v2")}
    assert result.warnings == []


def test_canary_splits_90_10_and_sets_breakers_on_every_subset_cluster() -> None:
    result = run(CANARY, TOPOLOGY)
    (route,) = result.policy.routes["my-service"]
    assert route.backends == (
        Backend("my-service", "stable", 90), Backend("my-service", "canary", 10),
    )
    for subset in (None, "stable", "canary"):
        breakers = result.policy.clusters[("my-service", subset)].circuit_breakers
        assert (breakers.max_connections, breakers.max_pending_requests,
                breakers.max_requests) == (100, 100, 1000)
        assert breakers.max_retries == U32_MAX  # unset in the DR: Istio's 2^32-1
    assert result.policy.clusters[("my-service", "canary")].outlier is None
    warning = find(result.warnings, "h2UpgradePolicy")
    assert warning.location.line == 30
    assert warning.location.path.endswith("connectionPool.http.h2UpgradePolicy")


def test_retry_and_timeout_parse_retry_on_with_a_status_code() -> None:
    result = run(RETRY_AND_TIMEOUT, TOPOLOGY)
    (route,) = result.policy.routes["ratings"]
    assert route.timeout == 10.0
    retry = route.retry
    assert retry is not None
    assert retry.num_retries == 3
    assert retry.per_try_timeout == 3.0
    assert retry.retry_on == {"connect-failure", "refused-stream", "unavailable", "cancelled",
                              "retriable-4xx", "retriable-status-codes"}
    assert retry.retriable_status_codes == {503}
    assert retry.previous_hosts and retry.host_selection_attempts == 5
    # retryRemoteLocalities: true is pilot's previous_priorities retry priority, frequency 2
    assert retry.previous_priorities == 2
    assert not [w for w in result.warnings if "retryRemoteLocalities" in str(w)]


SUBSETS = """\
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: my-service-versions}
spec:
  host: my-service
  subsets:
    - {name: v1, labels: {version: v1}}
    - {name: v2, labels: {version: v2}}
"""


def test_mirroring_copies_all_of_v1_traffic_to_v2() -> None:
    (route,) = run(MIRRORING + SUBSETS, TOPOLOGY).policy.routes["my-service"]
    assert route.backends == (Backend("my-service", "v1", 100),)
    assert route.mirrors == (Mirror("my-service", "v2", 100.0),)


def test_mirroring_alone_names_the_missing_subsets() -> None:
    with pytest.raises(ScenarioError) as caught:
        run(MIRRORING, TOPOLOGY)
    assert caught.value.location.line == 12
    assert caught.value.location.path == (
        "VirtualService/mirror-traffic spec.http[0].route[0].destination.subset"
    )
    assert "503 NC" in caught.value.message


def test_fault_injection_percentages() -> None:
    (route,) = run(FAULT_INJECTION, TOPOLOGY).policy.routes["ratings"]
    assert route.fault == FaultInjection(delay_percent=10.0, delay=5.0, abort_percent=5.0,
                                         abort_status=503)


def test_ingress_gateway_routes_its_host_and_not_the_sidecars() -> None:
    result = run(INGRESS_GATEWAY, TOPOLOGY)
    gateway = result.policy.gateways["default/my-gateway"]
    assert gateway.hosts == ("*.example.com",)
    (route,) = gateway.routes["api.example.com"]
    assert route.matches == (RouteMatch(uri=StringMatch("prefix", "/api/v1")),)
    assert route.backends == (Backend("api-service", None, 100, 8080),)
    assert route.retry == result.policy.default_retry
    assert result.policy.routes == {}
    assert find(result.warnings, "tls is not modelled").location.line == 13


def test_load_balancing_keeps_the_first_rule_for_the_host() -> None:
    result = run(LOAD_BALANCING, TOPOLOGY)
    balancer = result.policy.clusters[("my-service", None)].load_balancer
    assert balancer.policy == "round_robin"
    assert balancer.hash_key is None
    warning = find(result.warnings, "Istio keeps the first")
    assert warning.code == "shadowed"
    assert "DestinationRule/load-balancing" in warning.message
    assert warning.location.path == "DestinationRule/sticky-sessions spec.trafficPolicy"
