"""DestinationRules: subsets, per-component subset overrides, port-level settings, balancers."""

from __future__ import annotations

import pytest
from istio_helpers import codes, find, run, service, topology

from meshsim.errors import ScenarioError
from meshsim.model.clusters import U32_MAX
from meshsim.model.routes import HashKey

TOPO = topology(service("reviews", "v1", "v2"), service("ratings"))


def dr(body: str, name: str = "reviews", host: str = "reviews") -> str:
    return (
        "apiVersion: networking.istio.io/v1beta1\nkind: DestinationRule\n"
        f"metadata: {{name: {name}}}\nspec:\n  host: {host}\n"
        + "".join(f"  {line}\n" for line in body.strip().splitlines())
    )


def route_to(destination: str) -> str:
    return (
        "---\napiVersion: networking.istio.io/v1beta1\nkind: VirtualService\n"
        "metadata: {name: reviews}\nspec:\n  hosts: [reviews]\n  http:\n"
        f"    - route: [{{destination: {destination}}}]\n"
    )


SUBSET_OVERRIDE = """
trafficPolicy:
  loadBalancer: {simple: ROUND_ROBIN}
  connectionPool: {tcp: {maxConnections: 10}}
  outlierDetection: {consecutive5xxErrors: 2}
subsets:
  - name: v1
    labels: {version: v1}
  - name: v2
    labels: {version: v2}
    trafficPolicy:
      loadBalancer: {simple: RANDOM}
"""


def test_a_subset_policy_replaces_the_top_level_one_per_component() -> None:
    clusters = run(dr(SUBSET_OVERRIDE), TOPO).policy.clusters
    v1, v2 = clusters[("reviews", "v1")], clusters[("reviews", "v2")]
    assert v1 == clusters[("reviews", None)]
    assert v1.load_balancer.policy == "round_robin"
    assert v2.load_balancer.policy == "random"
    assert v2.circuit_breakers.max_connections == 10
    assert v2.outlier is not None and v2.outlier.consecutive_5xx == 2
    assert v2.panic_threshold == 0.0


PORT_LEVEL = """
trafficPolicy:
  connectionPool: {tcp: {maxConnections: 10}}
  portLevelSettings:
    - port: {number: 9080}
      loadBalancer: {simple: RANDOM}
"""


def test_port_level_settings_replace_the_whole_policy_for_the_routed_port() -> None:
    text = dr(PORT_LEVEL) + route_to("{host: reviews, port: {number: 9080}}")
    cluster = run(text, TOPO).policy.clusters[("reviews", None)]
    assert cluster.load_balancer.policy == "random"
    assert cluster.circuit_breakers.max_connections == U32_MAX  # not inherited


def test_port_level_settings_for_another_port_do_not_apply() -> None:
    text = dr(PORT_LEVEL) + route_to("{host: reviews, port: {number: 8080}}")
    result = run(text, TOPO)
    cluster = result.policy.clusters[("reviews", None)]
    assert cluster.load_balancer.policy == "least_request"
    assert cluster.circuit_breakers.max_connections == 10
    assert find(result.warnings, "do not apply").code == "unused"


def test_a_lone_port_level_entry_is_taken_as_the_services_port() -> None:
    result = run(dr(PORT_LEVEL), TOPO)
    assert result.policy.clusters[("reviews", None)].load_balancer.policy == "random"
    warning = find(result.warnings, "single port of reviews")
    assert warning.code == "approximated"
    assert warning.location.path == (
        "DestinationRule/reviews spec.trafficPolicy.portLevelSettings[0].port.number"
    )


@pytest.mark.parametrize(("hash_yaml", "key"), [
    ("{httpHeaderName: X-User}", HashKey("header", "x-user")),
    ("{httpCookie: {name: user, ttl: 0s}}", HashKey("cookie", "user", 0.0)),
    ("{httpCookie: {name: user}}", HashKey("cookie", "user", None)),
    ("{useSourceIp: true}", HashKey("source_ip")),
    ("{httpQueryParameterName: uid}", HashKey("query", "uid")),
])
def test_consistent_hash_keys(hash_yaml: str, key: HashKey) -> None:
    text = dr(f"trafficPolicy: {{loadBalancer: {{consistentHash: {hash_yaml}}}}}")
    balancer = run(text + route_to("{host: reviews}"), TOPO).policy.clusters[
        ("reviews", None)].load_balancer
    assert balancer.policy == "ring_hash" and balancer.ring_size == 1024
    assert balancer.hash_key == key


@pytest.mark.parametrize(("hash_yaml", "policy", "size"), [
    ("{httpHeaderName: x, ringHash: {minimumRingSize: 4096}}", "ring_hash", 4096),
    ("{httpHeaderName: x, minimumRingSize: 2048}", "ring_hash", 2048),
    ("{httpHeaderName: x, maglev: {tableSize: 251}}", "maglev", 251),
    ("{httpHeaderName: x, maglev: {}}", "maglev", 65537),
])
def test_ring_and_maglev_sizes(hash_yaml: str, policy: str, size: int) -> None:
    text = dr(f"trafficPolicy: {{loadBalancer: {{consistentHash: {hash_yaml}}}}}")
    balancer = run(text, TOPO).policy.clusters[("reviews", None)].load_balancer
    assert balancer.policy == policy
    assert (balancer.ring_size if policy == "ring_hash" else balancer.maglev_table_size) == size


def test_a_maglev_table_size_must_be_prime() -> None:
    text = dr("trafficPolicy: {loadBalancer: {consistentHash: {httpHeaderName: x, "
              "maglev: {tableSize: 1000}}}}")
    with pytest.raises(ScenarioError, match="prime"):
        run(text, TOPO)


def test_a_subset_hash_wins_for_routes_to_that_subset() -> None:
    body = """
trafficPolicy: {loadBalancer: {consistentHash: {httpHeaderName: x-top}}}
subsets:
  - name: v1
    labels: {version: v1}
    trafficPolicy: {loadBalancer: {consistentHash: {httpCookie: {name: c, ttl: 10s}}}}
"""
    policy = run(dr(body) + route_to("{host: reviews, subset: v1}"), TOPO).policy
    (route,) = policy.routes["reviews"]
    assert route.hash_key == HashKey("cookie", "c", 10.0)
    assert route.retry is not None and not route.retry.previous_hosts
    assert policy.clusters[("reviews", None)].load_balancer.hash_key == HashKey("header", "x-top")


@pytest.mark.parametrize(("simple", "policy"), [
    ("LEAST_CONN", "least_request"), ("LEAST_REQUEST", "least_request"),
    ("ROUND_ROBIN", "round_robin"), ("RANDOM", "random"),
])
def test_simple_balancers(simple: str, policy: str) -> None:
    text = dr(f"trafficPolicy: {{loadBalancer: {{simple: {simple}}}}}")
    assert run(text, TOPO).policy.clusters[("reviews", None)].load_balancer.policy == policy


def test_passthrough_and_warmup_are_named() -> None:
    text = dr("trafficPolicy: {loadBalancer: {simple: PASSTHROUGH, warmup: {duration: 60s}}}")
    result = run(text, TOPO)
    assert result.policy.clusters[("reviews", None)].load_balancer.policy == "random"
    assert find(result.warnings, "PASSTHROUGH").code == "approximated"
    assert find(result.warnings, "slow start").location.path.endswith("loadBalancer.warmup")


def test_a_subset_that_selects_no_pod_is_a_503_uh_warning() -> None:
    result = run(dr("subsets: [{name: v3, labels: {version: v3}}]"), TOPO)
    assert result.policy.subsets[("reviews", "v3")].labels == {"version": "v3"}
    warning = find(result.warnings, "selects no pod")
    assert "503 UH" in warning.message and warning.code == "empty-subset"
    assert warning.location.line == 6
    assert warning.location.path == "DestinationRule/reviews spec.subsets[0].labels"


def test_rules_for_one_host_merge_their_subsets() -> None:
    first = dr("subsets: [{name: v1, labels: {version: v1}}]", name="a")
    second = dr("trafficPolicy: {loadBalancer: {simple: RANDOM}}\n"
                "subsets: [{name: v1, labels: {version: v2}}, {name: v2, labels: {version: v2}}]",
                name="b")
    result = run(first + "---\n" + second, TOPO)
    assert result.policy.subsets[("reviews", "v1")].labels == {"version": "v1"}
    assert ("reviews", "v2") in result.policy.subsets
    assert result.policy.clusters[("reviews", "v2")].load_balancer.policy == "random"
    assert codes(result.warnings) == ["shadowed"]


def test_a_wildcard_rule_covers_services_without_their_own() -> None:
    wild = dr("trafficPolicy: {loadBalancer: {simple: RANDOM}}", name="all",
              host='"*.default.svc.cluster.local"')
    own = dr("trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}")
    clusters = run(wild + "---\n" + own, TOPO).policy.clusters
    assert clusters[("ratings", None)].load_balancer.policy == "random"
    assert clusters[("reviews", None)].load_balancer.policy == "round_robin"
