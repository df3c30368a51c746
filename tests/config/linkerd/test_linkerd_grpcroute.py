"""Linkerd GRPCRoute (policy.linkerd.io/v1alpha1 and gateway.networking.k8s.io/v1): method
matches as gRPC paths, ``retry.linkerd.io/grpc`` and timeouts, GRPCRoutes winning over
HTTPRoutes on one parent, bad input."""

from __future__ import annotations

import pytest
from linkerd_helpers import find, run, service, topology

from meshsim.errors import ScenarioError
from meshsim.model.linkerd import PolicyRetrySpec
from meshsim.model.routes import StringMatch

TOPO = topology(service("web"), service("api"))
SVC = "apiVersion: v1\nkind: Service\nmetadata:\n  name: api\n  annotations:\n"


def grpc_route(rules: str, annotations: str = "{}",
               api: str = "gateway.networking.k8s.io/v1") -> str:
    return (f"apiVersion: {api}\nkind: GRPCRoute\nmetadata:\n  name: g\n"
            f"  annotations: {annotations}\n"
            "spec:\n  parentRefs: [{name: api, kind: Service, group: core}]\n"
            f"  rules:\n{rules}")


@pytest.mark.parametrize("api", ["gateway.networking.k8s.io/v1", "policy.linkerd.io/v1alpha1"])
def test_method_matches_become_grpc_paths(api: str) -> None:
    rules = ("    - matches:\n"
             "        - method: {service: shop.Inventory, method: Get}\n"
             "        - method: {service: shop.Cart}\n"
             "        - method: {method: Ping}\n"
             "        - method: {type: RegularExpression, service: 'shop\\..*', method: 'Li.*'}\n")
    result = run(grpc_route(rules, api=api), TOPO)
    assert not [w for w in result.warnings if w.code == "unmodelled-kind"]
    uris = [r.matches[0].uri for r in result.policy.routes["api"]]
    assert uris == [StringMatch("exact", "/shop.Inventory/Get"),
                    StringMatch("path_prefix", "/shop.Cart"),
                    StringMatch("regex", "/[^/]+/Ping"),
                    StringMatch("regex", "/shop\\..*/Li.*")]


def test_grpc_retry_annotations_and_the_service_s_inherited_codes() -> None:
    text = grpc_route("    - backendRefs: [{name: api}]\n",
                      "{retry.linkerd.io/grpc: 'unavailable,cancelled', "
                      "retry.linkerd.io/limit: '3', timeout.linkerd.io/request: 2s}")
    (route,) = run(text, TOPO).policy.routes["api"]
    assert route.policy_retry == PolicyRetrySpec((), frozenset({14, 1}), limit=3)
    assert route.timeout == 2.0
    inherited = (SVC + "    retry.linkerd.io/grpc: internal\n    retry.linkerd.io/http: 5xx\n"
                 "---\n" + grpc_route("    - backendRefs: [{name: api}]\n"))
    (route,) = run(inherited, TOPO).policy.routes["api"]
    assert route.policy_retry == PolicyRetrySpec((), frozenset({13}))  # not the HTTP 5xx


def test_http_annotation_on_a_grpc_route_has_no_effect() -> None:
    text = grpc_route("    - backendRefs: [{name: api}]\n",
                      "{retry.linkerd.io/http: 5xx, retry.linkerd.io/limit: '2'}")
    result = run(text, TOPO)
    (route,) = result.policy.routes["api"]
    assert route.policy_retry == PolicyRetrySpec((), None, limit=2)
    assert find(result.warnings, "has no effect on a GRPCRoute").code == "no-effect"


def test_the_default_route_keeps_no_grpc_codes() -> None:
    (route,) = run(SVC + "    retry.linkerd.io/grpc: unavailable\n", TOPO).policy.routes["api"]
    assert route.policy_retry == PolicyRetrySpec()


def test_grpc_routes_win_over_http_routes_of_the_same_parent() -> None:
    http = ("apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n  name: h\n"
            "spec:\n  parentRefs: [{name: api, kind: Service, group: core}]\n"
            "  rules:\n    - backendRefs: [{name: web}]\n")
    result = run(http + "---\n" + grpc_route("    - backendRefs: [{name: api}]\n"), TOPO)
    (route,) = result.policy.routes["api"]
    assert route.backends[0].service == "api"
    assert find(result.warnings, "GRPCRoutes attach to it too").code == "overridden"


def test_bad_input_is_located() -> None:
    with pytest.raises(ScenarioError) as info:
        run(grpc_route("    - matches: [{method: {type: Exact}}]\n"), TOPO)
    assert "needs a service, a method or both" in str(info.value)
    assert info.value.location is not None and info.value.location.line == 9
    assert info.value.location.path == "GRPCRoute/g spec.rules[0].matches[0].method"
    with pytest.raises(ScenarioError) as info:
        run(grpc_route("    - matches: [{path: {value: /x}}]\n"), TOPO)
    assert "path" in str(info.value)
    dropped = run(grpc_route("    - backendRefs: [{name: api}]\n",
                             "{retry.linkerd.io/grpc: unavailble}"), TOPO)
    assert "api" not in dropped.policy.routes
    assert find(dropped.warnings, "unknown gRPC code 'unavailble'")
