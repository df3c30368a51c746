"""Traffic split / distribution and inbound authorization (reference/linkerd.md §6, §7,
C13, C14).

Sources: linkerd2-proxy linkerd/app/integration/src/tests/profile_dst_overrides.rs,
linkerd/distribute/src/service/random.rs, linkerd/app/inbound/src/policy/http/tests.rs
(http_route), linkerd/app/inbound/src/policy/mod.rs tests (authenticated_suffix,
authenticated_identity, tls_unauthenticated, unauthenticated_allowed).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from types import SimpleNamespace

import pytest

from meshsim.config.linkerd.httproute import match_rank
from meshsim.config.linkerd.profiles import Profile
from meshsim.model.authz import (
    CLUSTER_NETWORKS,
    Authorization,
    InboundPolicy,
    Network,
    ServerPolicy,
    ServerRoute,
    default_authorizations,
    identity_of,
)
from meshsim.model.routes import Backend, RouteMatch, StringMatch
from meshsim.sim.linkerd.distribute import pick_backend
from meshsim.sim.linkerd.inbound import authorizer
from meshsim.sim.messages import POD_ADDRESS

# -- C13 -----------------------------------------------------------------------------------------


def split(overrides: list[tuple[str, int]], n: int = 100, seed: int = 7) -> Counter[str]:
    """Where ``n`` requests to the apex go, through the translator's profile route."""
    profile = Profile("apex", overrides=[Backend(name, weight=w) for name, w in overrides])
    route = profile.policy_routes()[-1]
    weighted = [(float(b.weight), b.service) for b in route.backends]
    rand = random.Random(seed).random
    return Counter(pick_backend(weighted, lambda _: True, rand) for _ in range(n))  # type: ignore[misc]


def test_c13_profile_dst_overrides() -> None:
    assert split([("leaf", 10000)]) == Counter({"leaf": 100})
    both = split([("leaf-a", 5000), ("leaf-b", 5000)])
    assert both["leaf-a"] > 0 and both["leaf-b"] > 0 and both["apex"] == 0
    assert split([("leaf-a", 0), ("leaf-b", 5000)]) == Counter({"leaf-b": 100})
    assert split([("leaf-a", 0), ("leaf-b", 0)]) == Counter({"apex": 100})
    assert split([]) == Counter({"apex": 100})


def test_unready_backend_weight_zeroed_for_the_pick() -> None:
    rand = random.Random(3).random
    weighted = [(1.0, "a"), (1.0, "b")]
    assert all(pick_backend(weighted, lambda k: k == "b", rand) == "b" for _ in range(50))
    # Nothing ready: the request still goes to a backend, whose shut queue load-sheds it (503).
    assert pick_backend(weighted, lambda _: False, rand) in ("a", "b")


def test_single_backend_ignores_weight() -> None:
    rand = random.Random(0).random
    assert pick_backend([(0.0, "only")], lambda _: True, rand) == "only"
    assert pick_backend([(0.0, "only")], lambda _: False, rand) == "only"  # its queue decides


def test_weighted_draw_follows_weights() -> None:
    rand = random.Random(11).random
    weighted = [(1.0, "a"), (3.0, "b")]
    counts = Counter(pick_backend(weighted, lambda _: True, rand) for _ in range(20000))
    assert counts["b"] / 20000 == pytest.approx(0.75, abs=0.02)


# -- C14 HTTP ------------------------------------------------------------------------------------

CLIENT_ID = "testsa.testns.serviceaccount.identity.linkerd.cluster.local"
MESHED = CLIENT_ID  # a meshed client's mTLS identity; None = an unmeshed client


def server_check(routes: tuple[ServerRoute, ...], authorizations: tuple[Authorization, ...] = (),
                 ) -> Callable[[str, str, str | None], int]:
    """The check a pod selected by one Server runs (:func:`meshsim.sim.linkerd.inbound.authorizer`):
    (method, path, client identity) → 200, 403 or 404. Callers come from POD_ADDRESS."""
    server = ServerPolicy("api-http", "default", {"app": "api"}, 8080, targets=(("api", None),),
                          authorizations=authorizations, routes=routes)
    sim = SimpleNamespace(recorder=SimpleNamespace(event=lambda *a, **k: None),
                          env=SimpleNamespace(now=0.0))
    pod = SimpleNamespace(service="api", version=None, name="api-0")
    check = authorizer(sim, InboundPolicy(servers=(server,)), pod)  # type: ignore[arg-type]
    assert check is not None

    def run(method: str, path: str, identity: str | None) -> int:
        proxy = SimpleNamespace(identity=identity, name="web-0")
        call = SimpleNamespace(proxy=proxy, method=method, path=path, headers={},
                               service="api")
        return check(SimpleNamespace(call=call))  # type: ignore[arg-type]

    return run


def method_route(method: str, *authorizations: Authorization) -> ServerRoute:
    return ServerRoute(method, (RouteMatch(method=StringMatch("exact", method)),),
                       authorizations)


def from_network(cidr: str) -> Authorization:
    return Authorization("net", unauthenticated=True, networks=(Network(cidr),))


def test_c14_http_route() -> None:
    here = f"{POD_ADDRESS}/32"
    check = server_check((method_route("GET", from_network(here)), method_route("POST")))
    assert check("GET", "/", None) == 200
    assert check("POST", "/", None) == 403
    assert check("DELETE", "/", None) == 404

    # Policy update: GET's network changes, POST goes away, DELETE gets the permit.
    check = server_check((method_route("GET", from_network("10.244.0.11/32")),
                          method_route("DELETE", from_network(here))))
    assert check("GET", "/", None) == 403
    assert check("POST", "/", None) == 404
    assert check("DELETE", "/", None) == 200


def test_http_route_precedence_exact_over_prefix() -> None:
    allow = Authorization("all", unauthenticated=True)
    routes = [
        ServerRoute("api", (RouteMatch(uri=StringMatch("path_prefix", "/api")),)),
        ServerRoute("health", (RouteMatch(uri=StringMatch("exact", "/api/health")),), (allow,)),
    ]
    routes.sort(key=lambda r: match_rank(r.matches[0]), reverse=True)  # the translator's order
    check = server_check(tuple(routes))
    assert check("GET", "/api/health", None) == 200
    assert check("GET", "/api/x", None) == 403
    assert check("GET", "/apix", None) == 404


# -- C14 TCP -------------------------------------------------------------------------------------

TEST_NET = (Network("192.0.2.0/24"),)
CLIENT_IP = "192.0.2.3"


def permitted(authorizations: tuple[Authorization, ...], address: str, identity: str | None,
              ) -> bool:
    """OR across authorizations, as the inbound check evaluates them."""
    return any(a.permits(identity, address) for a in authorizations)


def test_c14_unauthenticated_allowed() -> None:
    authz = (Authorization("a", unauthenticated=True, networks=TEST_NET),)
    assert permitted(authz, CLIENT_IP, None)
    assert not permitted(authz, "198.51.100.1", None)  # outside the network


def test_c14_authenticated_suffix() -> None:
    authz = (Authorization("a", identities=("*.cluster.local",), networks=TEST_NET),)
    assert permitted(authz, CLIENT_IP, CLIENT_ID)
    other = "testsa.testns.serviceaccount.identity.linkerd.cluster.example.com"
    assert not permitted(authz, CLIENT_IP, other)
    assert not permitted(authz, CLIENT_IP, None)


def test_c14_authenticated_identity() -> None:
    authz = (Authorization("a", identities=(CLIENT_ID,), networks=TEST_NET),)
    assert permitted(authz, CLIENT_IP, CLIENT_ID)
    other = "othersa.testns.serviceaccount.identity.linkerd.cluster.local"
    assert not permitted(authz, CLIENT_IP, other)


def test_c14_tls_unauthenticated() -> None:
    # meshsim's clients are meshed (an identity) or plaintext (None); passthrough TLS and TLS
    # without an identity are not modelled.
    authz = (Authorization("a", tls_unauthenticated=True, networks=TEST_NET),)
    assert permitted(authz, CLIENT_IP, CLIENT_ID)
    assert not permitted(authz, CLIENT_IP, None)


def test_or_across_authorizations_and_within_one() -> None:
    authz = (
        Authorization("a", identities=(CLIENT_ID,), networks=(Network("10.0.0.0/8"),)),
        Authorization("b", unauthenticated=True, networks=(Network("192.0.2.0/24"),)),
    )
    assert permitted(authz, "192.0.2.9", None)  # second grants
    assert permitted(authz, "10.1.1.1", CLIENT_ID)  # first grants
    assert not permitted(authz, "10.1.1.1", None)  # network ok, identity missing


def test_network_except() -> None:
    net = Network("10.0.0.0/8", excepts=("10.1.0.0/16",))
    assert net.contains("10.2.0.1") and not net.contains("10.1.0.1")
    assert not net.contains("fd00::1")


# -- §7.1 default policies and resource conversion -----------------------------------------------


def test_default_policies() -> None:
    outside = "8.8.8.8"
    inside = "10.4.0.7"
    cases: dict[str, list[tuple[str, str | None, bool]]] = {
        "all-unauthenticated": [(outside, None, True), (inside, MESHED, True)],
        "audit": [(outside, None, True)],
        "all-authenticated": [(outside, MESHED, True), (inside, None, False)],
        "cluster-authenticated": [(inside, MESHED, True), (outside, MESHED, False)],
        "cluster-unauthenticated": [(inside, None, True), (outside, None, False)],
    }
    for name, checks in cases.items():
        authz = default_authorizations(name)  # type: ignore[arg-type]
        assert authz
        for ip, identity, expected in checks:
            assert permitted(authz, ip, identity) is expected, (name, ip, identity)
    assert default_authorizations("deny") == ()


def test_server_with_no_authorizations_denies_everything() -> None:
    check = server_check(())
    assert check("GET", "/", MESHED) == 403


def test_server_authorization_defaults_to_cluster_networks() -> None:
    # A ServerAuthorization without networks: the translator gives it the cluster networks.
    sa = Authorization("sa", unauthenticated=True,
                       networks=tuple(Network(c) for c in CLUSTER_NETWORKS))
    assert permitted((sa,), "10.0.0.1", None)
    assert not permitted((sa,), "8.8.8.8", None)


def test_authorization_policy_defaults_to_all_networks() -> None:
    web = identity_of("web", "emojivoto")
    assert web == "web.emojivoto.serviceaccount.identity.linkerd.cluster.local"
    ap = Authorization("ap", identities=(web,))  # no network ref: every address
    assert permitted((ap,), "8.8.8.8", web)
    assert not permitted((ap,), "8.8.8.8", identity_of("vote", "emojivoto"))
    assert not permitted((ap,), "8.8.8.8", None)


def test_mesh_identity_patterns() -> None:
    any_id = Authorization("any", identities=("*",))
    assert any_id.permits("x.y.serviceaccount.identity.linkerd.other.domain")
    suffix = Authorization("suffix", identities=(
        "*.emojivoto.serviceaccount.identity.linkerd.cluster.local",))
    assert suffix.permits(identity_of("web", "emojivoto"))
    assert not suffix.permits(identity_of("web", "other"))
