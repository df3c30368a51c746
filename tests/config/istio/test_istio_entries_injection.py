"""ServiceEntries, sidecar injection and the Istio kinds meshsim does not apply yet."""

from __future__ import annotations

import pytest
from istio_helpers import codes, find, run, service, topology

from meshsim.errors import ScenarioError
from meshsim.model.policy import ExternalService
from meshsim.model.routes import Backend

ENTRY = """\
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: stripe}
spec:
  hosts: [api.stripe.com]
  location: MESH_EXTERNAL
  resolution: DNS
  ports: [{number: 443, name: https, protocol: TLS}]
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: stripe}
spec:
  hosts: [api.stripe.com]
  http:
    - route: [{destination: {host: api.stripe.com}}]
      timeout: 3s
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: stripe}
spec:
  host: api.stripe.com
  trafficPolicy: {connectionPool: {tcp: {maxConnections: 5}}}
"""


def test_a_service_entry_is_the_external_service_of_its_name() -> None:
    topo = topology(service("checkout"), service("stripe", external=True))
    policy = run(ENTRY, topo).policy
    assert policy.external == {"stripe": ExternalService(
        "stripe", ("api.stripe.com",), resolution="DNS", location="MESH_EXTERNAL", endpoints=1)}
    (route,) = policy.routes["stripe"]
    assert route.backends == (Backend("stripe", None, 100),) and route.timeout == 3.0
    assert policy.clusters[("stripe", None)].circuit_breakers.max_connections == 5
    assert policy.sidecars == {"checkout": True, "stripe": False}


def test_a_service_entry_without_a_scenario_service_says_what_to_add() -> None:
    with pytest.raises(ScenarioError) as caught:
        run(ENTRY, topology(service("checkout")))
    assert "services.stripe: {external: true, latency: ...}" in caught.value.message
    assert caught.value.location.path == "ServiceEntry/stripe spec.hosts"
    assert caught.value.location.line == 5


def test_a_service_entry_for_a_mesh_service_is_an_error() -> None:
    with pytest.raises(ScenarioError, match="external: true"):
        run(ENTRY, topology(service("stripe")))


def test_static_entries_count_their_endpoints() -> None:
    text = """\
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: legacy}
spec:
  hosts: [legacy.internal]
  resolution: STATIC
  endpoints: [{address: 10.0.0.1}, {address: 10.0.0.2, weight: 3}]
"""
    result = run(text, topology(service("legacy", external=True)))
    assert result.policy.external["legacy"].endpoints == 2
    assert result.policy.external["legacy"].resolution == "STATIC"
    assert find(result.warnings, "endpoint weights").location.path.endswith("endpoints[1].weight")


def namespace(name: str, labels: str) -> str:
    return f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n  labels: {labels}\n---\n"


INJECTION_TOPOLOGY = topology(
    service("a", namespace="shop"),
    service("b", namespace="shop", labels={"sidecar.istio.io/inject": "false"}),
    service("c", namespace="legacy", labels={"sidecar.istio.io/inject": "true"}),
    service("d", namespace="plain"),
    service("e", namespace="plain", labels={"sidecar.istio.io/inject": "true"}),
    service("f", namespace="rev"),
    service("g", namespace="unlisted"),
    service("x", namespace="shop", external=True),
)


def test_injection_follows_namespace_and_pod_labels() -> None:
    text = (namespace("shop", "{istio-injection: enabled}")
            + namespace("legacy", "{istio-injection: disabled}")
            + namespace("plain", "{team: a}")
            + namespace("rev", "{istio.io/rev: canary}"))
    sidecars = run(text, INJECTION_TOPOLOGY).policy.sidecars
    # g's namespace has no manifest here: taken as labelled for injection, as with none at all
    assert sidecars == {"a": True, "b": False, "c": False, "d": False, "e": True, "f": True,
                        "g": True, "x": False}


def test_a_namespace_manifest_for_another_namespace_changes_nothing() -> None:
    topo = topology(service("productpage"), service("reviews"))
    result = run(namespace("monitoring", "{istio-injection: enabled}"), topo)
    assert result.policy.sidecars == {"productpage": True, "reviews": True}
    assert "unmeshed" not in codes(result.warnings)


def test_a_namespace_that_turns_injection_off_says_which_services_lose_it() -> None:
    text = (namespace("legacy", "{istio-injection: disabled}")
            + namespace("plain", "{team: a}"))
    result = run(text, INJECTION_TOPOLOGY)
    legacy = find(result.warnings, "Namespace/legacy is labelled istio-injection: disabled")
    assert legacy.code == "unmeshed" and legacy.location.line == 1
    assert "so c run without a sidecar" in legacy.message  # the namespace label wins over c's
    plain = find(result.warnings, "Namespace/plain has neither")
    assert "so d run without a sidecar" in plain.message  # e opts in with its pod label
    assert plain.location.line == 7


def test_without_namespace_manifests_every_mesh_service_is_injected() -> None:
    sidecars = run("", INJECTION_TOPOLOGY).policy.sidecars
    assert sidecars == {"a": True, "b": False, "c": True, "d": True, "e": True, "f": True,
                        "g": True, "x": False}


def test_versions_that_disagree_about_injection_are_named() -> None:
    topo = topology(service("r", "v1", "v2",
                            version_labels={"v2": {"sidecar.istio.io/inject": "false"}}))
    result = run("", topo)
    assert result.policy.sidecars == {"r": False}
    assert find(result.warnings, "only some versions of r").code == "approximated"


def test_ambient_namespaces_are_named() -> None:
    text = namespace("shop", "{istio.io/dataplane-mode: ambient}")
    result = run(text, topology(service("a", namespace="shop")))
    assert result.policy.sidecars == {"a": False}
    assert find(result.warnings, "ambient mode").location.path == (
        "Namespace/shop metadata.labels.istio.io/dataplane-mode"
    )


@pytest.mark.parametrize(("api", "kind"), [
    ("networking.istio.io/v1beta1", "Sidecar"),
    ("security.istio.io/v1", "RequestAuthentication"),
])
def test_kinds_not_applied_yet_get_one_warning_each(api: str, kind: str) -> None:
    text = f"apiVersion: {api}\nkind: {kind}\nmetadata: {{name: p, namespace: prod}}\nspec: {{}}\n"
    result = run(text, topology(service("a")))
    (warning,) = result.warnings
    assert warning.code == "unmodelled-kind"
    assert warning.message.startswith(f"{kind}/p is loaded but not applied")
    assert warning.location.line == 1
