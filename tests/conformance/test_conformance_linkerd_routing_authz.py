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

import pytest

from meshsim.config.linkerd.profiles import Profile
from meshsim.model.routes import Backend
from meshsim.sim.linkerd import (
    Authorization,
    ClientTls,
    InboundRoute,
    Network,
    Server,
    TlsAuthenticated,
    TlsUnauthenticated,
    Unauthenticated,
    authorization_policy,
    authorize_http,
    authorize_tcp,
    default_policy,
    mesh_identities,
    server_authorization,
)
from meshsim.sim.linkerd.authz import identity
from meshsim.sim.linkerd.distribute import pick_backend

pytestmark = pytest.mark.conformance

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

CLIENT = "192.168.3.3"


def test_c14_http_route() -> None:
    get = InboundRoute(
        (Authorization((Network("192.168.3.3/32"),), Unauthenticated()),), method="GET"
    )
    post = InboundRoute((), method="POST")
    routes = (get, post)
    assert authorize_http(routes, "GET", "/", CLIENT, None) == 200
    assert authorize_http(routes, "POST", "/", CLIENT, None) == 403
    assert authorize_http(routes, "DELETE", "/", CLIENT, None) == 404

    # Policy update: GET's network changes, POST goes away, DELETE gets the permit.
    get2 = InboundRoute(
        (Authorization((Network("192.168.3.4/32"),), Unauthenticated()),), method="GET"
    )
    delete = InboundRoute(
        (Authorization((Network("192.168.3.3/32"),), Unauthenticated()),), method="DELETE"
    )
    routes = (get2, delete)
    assert authorize_http(routes, "GET", "/", CLIENT, None) == 403
    assert authorize_http(routes, "POST", "/", CLIENT, None) == 404
    assert authorize_http(routes, "DELETE", "/", CLIENT, None) == 200


def test_http_route_precedence_exact_over_prefix() -> None:
    allow = (authorization_policy(),)
    routes = (
        InboundRoute((), path_prefix="/api"),
        InboundRoute(allow, path_exact="/api/health"),
    )
    assert authorize_http(routes, "GET", "/api/health", CLIENT, None) == 200
    assert authorize_http(routes, "GET", "/api/x", CLIENT, None) == 403
    assert authorize_http(routes, "GET", "/apix", CLIENT, None) == 404


# -- C14 TCP -------------------------------------------------------------------------------------

TEST_NET = (Network("192.0.2.0/24"),)
CLIENT_IP = "192.0.2.3"
CLIENT_ID = "testsa.testns.serviceaccount.identity.linkerd.cluster.local"


def test_c14_unauthenticated_allowed() -> None:
    authz = (Authorization(TEST_NET, Unauthenticated()),)
    assert authorize_tcp(authz, CLIENT_IP, None)
    assert not authorize_tcp(authz, "198.51.100.1", None)  # outside the network


def test_c14_authenticated_suffix() -> None:
    authz = (Authorization(TEST_NET, TlsAuthenticated(suffixes=("cluster.local",))),)
    assert authorize_tcp(authz, CLIENT_IP, ClientTls(CLIENT_ID))
    other = "testsa.testns.serviceaccount.identity.linkerd.cluster.example.com"
    assert not authorize_tcp(authz, CLIENT_IP, ClientTls(other))
    assert not authorize_tcp(authz, CLIENT_IP, None)


def test_c14_authenticated_identity() -> None:
    authz = (Authorization(TEST_NET, TlsAuthenticated(frozenset({CLIENT_ID}))),)
    assert authorize_tcp(authz, CLIENT_IP, ClientTls(CLIENT_ID))
    other = "othersa.testns.serviceaccount.identity.linkerd.cluster.local"
    assert not authorize_tcp(authz, CLIENT_IP, ClientTls(other))


def test_c14_tls_unauthenticated() -> None:
    authz = (Authorization(TEST_NET, TlsUnauthenticated()),)
    assert authorize_tcp(authz, CLIENT_IP, ClientTls(None))  # proxy-terminated, no identity
    assert not authorize_tcp(authz, CLIENT_IP, ClientTls(None, terminated=False))  # passthrough
    assert not authorize_tcp(authz, CLIENT_IP, None)


def test_or_across_authorizations_and_within_one() -> None:
    authz = (
        Authorization((Network("10.0.0.0/8"),), TlsAuthenticated(frozenset({CLIENT_ID}))),
        Authorization((Network("192.0.2.0/24"),), Unauthenticated()),
    )
    assert authorize_tcp(authz, "192.0.2.9", None)  # second grants
    assert authorize_tcp(authz, "10.1.1.1", ClientTls(CLIENT_ID))  # first grants
    assert not authorize_tcp(authz, "10.1.1.1", None)  # network ok, identity missing


def test_network_except() -> None:
    net = Network("10.0.0.0/8", except_=("10.1.0.0/16",))
    assert net.contains("10.2.0.1") and not net.contains("10.1.0.1")
    assert not net.contains("fd00::1")


# -- §7.1 default policies and resource conversion -----------------------------------------------


def test_default_policies() -> None:
    meshed = ClientTls(CLIENT_ID)
    outside = "8.8.8.8"
    inside = "10.4.0.7"
    cases: dict[str, list[tuple[str, ClientTls | None, bool]]] = {
        "all-unauthenticated": [(outside, None, True), (inside, meshed, True)],
        "audit": [(outside, None, True)],
        "all-authenticated": [(outside, meshed, True), (inside, None, False)],
        "cluster-authenticated": [(inside, meshed, True), (outside, meshed, False)],
        "cluster-unauthenticated": [(inside, None, True), (outside, None, False)],
    }
    for name, checks in cases.items():
        authz = default_policy(name)  # type: ignore[arg-type]
        assert authz is not None
        for ip, tls, expected in checks:
            assert authorize_tcp(authz, ip, tls) is expected, (name, ip, tls)
    assert default_policy("deny") is None


def test_server_with_no_authorizations_denies_everything() -> None:
    server = Server()
    assert authorize_http(server.http_routes(), "GET", "/", CLIENT, ClientTls(CLIENT_ID)) == 403


def test_server_authorization_defaults_to_cluster_networks() -> None:
    sa = server_authorization(Unauthenticated())
    assert authorize_tcp((sa,), "10.0.0.1", None)
    assert not authorize_tcp((sa,), "8.8.8.8", None)


def test_authorization_policy_defaults_to_all_networks() -> None:
    ap = authorization_policy(mesh_identities(service_accounts=[("web", "emojivoto")]))
    web = identity("web", "emojivoto")
    assert web == "web.emojivoto.serviceaccount.identity.linkerd.cluster.local"
    assert authorize_tcp((ap,), "8.8.8.8", ClientTls(web))
    assert not authorize_tcp((ap,), "8.8.8.8", ClientTls(identity("vote", "emojivoto")))
    assert not authorize_tcp((ap,), "8.8.8.8", None)


def test_mesh_identity_patterns() -> None:
    any_id = mesh_identities(["*"])
    assert any_id.matches("x.y.serviceaccount.identity.linkerd.other.domain")
    suffix = mesh_identities(["*.emojivoto.serviceaccount.identity.linkerd.cluster.local"])
    assert suffix.matches(identity("web", "emojivoto"))
    assert not suffix.matches(identity("web", "other"))
