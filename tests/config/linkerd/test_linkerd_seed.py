"""Every Linkerd example of the seed translates, as pasted, to the policy Linkerd would apply."""

from __future__ import annotations

import linkerd_seed as seed
from linkerd_helpers import find, run, service, topology

from meshsim.model.authz import Network, identity_of
from meshsim.model.linkerd import TpsBudgetSpec
from meshsim.model.routes import Backend, HeaderMatch, RouteMatch, StringMatch
from meshsim.sim.linkerd.retry import classify
from meshsim.sim.linkerd.routing import best_match

NS = "my-namespace"
TOPO = topology(
    service("my-service", namespace=NS), service("my-service-stable", namespace=NS),
    service("my-service-canary", namespace=NS), service("my-service-v1", namespace=NS),
    service("my-service-v2", namespace=NS), service("frontend", namespace=NS),
    service("web", namespace="my-app"),
)


def test_service_profile_with_retries() -> None:
    result = run(seed.PROFILE, TOPO)
    routes = result.policy.routes["my-service"]
    assert [r.name for r in routes] == [
        "GET /api/users", "POST /api/users", "GET /api/users/{id}", "default"]
    get, post, by_id, default = routes
    assert get.matches == (RouteMatch(uri=StringMatch("regex", "/api/users"),
                                      method=StringMatch("exact", "GET")),)
    assert get.is_retryable and not post.is_retryable and by_id.is_retryable
    assert not default.is_retryable and default.matches == ()
    assert by_id.timeout == 5.0 and get.timeout == 0.0
    assert len(get.response_classes) == 1 and get.response_classes[0].is_failure
    assert classify(503, get.response_classes)
    assert not classify(404, get.response_classes)
    budget = TpsBudgetSpec(ttl=10.0, min_retries_per_second=10, retry_ratio=0.2)
    assert all(r.retry_budget == budget for r in routes)
    assert all(r.backends == (Backend("my-service"),) for r in routes)
    assert all(r.retry is None and r.policy_retry is None for r in routes)
    assert result.warnings == []


def test_traffic_split_900m_100m() -> None:
    result = run(seed.SPLIT, TOPO)
    (default,) = result.policy.routes["my-service"]
    assert default.backends == (Backend("my-service-stable", weight=9000),
                                Backend("my-service-canary", weight=1000))
    assert default.retry_budget == TpsBudgetSpec()
    assert result.warnings == []


def test_server_and_server_authorizations() -> None:
    result = run(seed.AUTHZ, TOPO)
    inbound = result.policy.inbound
    assert inbound is not None and inbound.default == "all-unauthenticated"
    (server,) = inbound.servers
    assert server.name == "my-service-http" and server.port == "http"
    assert server.targets == (("my-service", None),)
    assert server.proxy_protocol == "HTTP/1" and server.access_policy == "deny"
    frontend, ingress = server.authorizations
    assert frontend.identities == (identity_of("frontend", NS),)
    assert not frontend.unauthenticated
    assert frontend.permits(identity_of("frontend", NS), "10.1.2.3")
    assert not frontend.permits(identity_of("web", "my-app"), "10.1.2.3")
    assert not frontend.permits(None, "10.1.2.3")
    assert not frontend.permits(identity_of("frontend", NS), "8.8.8.8")  # clusterNetworks
    assert ingress.unauthenticated and ingress.networks == (Network("10.0.0.0/8"),)
    assert ingress.permits(None, "10.9.9.9") and not ingress.permits(None, "192.168.0.1")
    assert inbound.server_for("my-service", None) is server
    assert inbound.server_for("frontend", None) is None
    assert result.warnings == []


def test_httproute_path_and_header_matching() -> None:
    result = run(seed.HTTPROUTE, TOPO)
    routes = result.policy.routes["my-service"]
    # Controller order (one route: rule then match order); the proxy ranks per request.
    assert [r.matches for r in routes] == [
        (RouteMatch(uri=StringMatch("path_prefix", "/api/v2")),),
        (RouteMatch(uri=StringMatch("path_prefix", "/"),
                    headers=(HeaderMatch("x-api-version", StringMatch("exact", "v2")),)),),
        (RouteMatch(uri=StringMatch("path_prefix", "/api")),),
    ]
    assert [r.backends for r in routes] == [
        (Backend("my-service-v2", weight=1, port=8080),),
        (Backend("my-service-v2", weight=1, port=8080),),
        (Backend("my-service-v1", weight=1, port=8080),),
    ]
    assert all(r.best_match for r in routes)

    def backend(path: str, headers: dict[str, str] | None = None) -> str:
        route = best_match(routes, "GET", path, headers or {})
        assert route is not None
        return route.backends[0].service

    # The /api/v2 prefix (7 characters) beats /api (4), which beats the header-only match
    # (its path defaults to the prefix "/": 1 character).
    assert backend("/api/v2/users") == "my-service-v2"
    assert backend("/api/users") == "my-service-v1"
    assert backend("/api/users", {"x-api-version": "v2"}) == "my-service-v1"
    assert backend("/other", {"x-api-version": "v2"}) == "my-service-v2"
    assert all(r.policy_retry is None and r.timeout == 0.0 for r in routes)
    warning = find(result.warnings, "parentRefs port is not modelled")
    assert warning.code == "approximated"
    assert warning.location.path == "HTTPRoute/my-route spec.parentRefs[0].port"


def test_namespace_inject_annotation() -> None:
    result = run(seed.NAMESPACE, TOPO)
    sidecars = result.policy.sidecars
    assert sidecars["web"] is True  # my-app is annotated
    # my-namespace has no manifest: taken as injected; the pasted my-app changes nothing there
    assert sidecars["my-service"] is True
    assert result.warnings == []


def test_all_seed_examples_together() -> None:
    text = "---".join([seed.NAMESPACE, seed.PROFILE, seed.SPLIT, seed.AUTHZ, seed.HTTPROUTE])
    result = run(text, TOPO)
    routes = result.policy.routes["my-service"]
    # The TrafficSplit fills the profile's dstOverrides; the profile path wins over HTTPRoute.
    assert routes[0].name == "GET /api/users"
    assert routes[0].backends[0] == Backend("my-service-stable", weight=9000)
    assert find(result.warnings, "profile path wins").code == "overridden"
