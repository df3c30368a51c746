"""Istio routing edge cases: pseudo-headers, withoutHeaders on a missing header, source matches
that leave a caller no route, overlapping wildcards, VirtualService precedence, split weights.

Each case is what istiod and Envoy do (``route/route.go``, ``push_context.go``,
``sidecar_simulation_test.go`` ``TestSidecarRoutes``, Envoy ``HeaderUtility::matchHeaders``),
checked on the translated routes and on the matcher the sidecars run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

import pytest
from istio_helpers import codes, find, run, service, topology

from meshsim.errors import ScenarioError
from meshsim.model.routes import Backend, Route
from meshsim.sim.envoy.routes import routes_for_proxy
from meshsim.sim.messages import Call
from meshsim.sim.proxy import Proxy
from meshsim.sim.routing import select_route

TOPO = topology(service("ratings"), service("reviews", namespace="prod"))


def vs(http: str, *, name: str = "vs", hosts: str = "[ratings]", meta: str = "",
       namespace: str = "default") -> str:
    return (
        "apiVersion: networking.istio.io/v1beta1\nkind: VirtualService\n"
        f"metadata: {{name: {name}, namespace: {namespace}{meta}}}\nspec:\n  hosts: {hosts}\n"
        "  http:\n" + "".join(f"    {line}\n" for line in http.strip().splitlines()) + "---\n"
    )


def call(method: str = "GET", path: str = "/", headers: Mapping[str, str] | None = None,
         service_name: str = "ratings") -> Call:
    return Call(1, 1, cast(Proxy, None), service_name, method, path, headers or {}, 0, None,
                lambda _: None)


def routed(text: str, request: Call, *, labels: Mapping[str, str] | None = None,
           namespace: str = "default", topo: object = TOPO) -> Route | None:
    """The route a sidecar with ``labels`` in ``namespace`` picks for ``request``."""
    policy = run(text, topo).policy  # type: ignore[arg-type]
    table = policy.routes[request.service]
    return select_route(routes_for_proxy(table, labels or {}, namespace), request)


def match_rule(match: str) -> str:
    return vs(f"- name: hit\n  match: [{match}]\n  route: [{{destination: {{host: ratings}}}}]")


# -- pseudo-headers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("match", "hit", "miss"),
    [
        ('{headers: {":method": {exact: GET}}}', call("GET"), call("POST")),
        ('{headers: {":path": {prefix: /api}}}', call(path="/api/v1?x=1"), call(path="/web")),
        ('{headers: {":path": {exact: "/a?b=1"}}}', call(path="/a?b=1"), call(path="/a")),
        ('{headers: {":authority": {exact: ratings}}}', call(),
         call(headers={"host": "other.example.com"})),
        ('{headers: {":scheme": {exact: http}}}', call(), None),
        ("{scheme: {exact: http}}", call(), None),
        ("{scheme: {exact: https}}", None, call()),
    ],
)
def test_pseudo_headers_match_what_envoy_sees(match: str, hit: Call | None,
                                              miss: Call | None) -> None:
    text = match_rule(match)
    if hit is not None:
        assert routed(text, hit) is not None
    if miss is not None:
        assert routed(text, miss) is None  # no route: 404 NR


def test_a_host_header_is_the_authority() -> None:
    text = match_rule("{authority: {exact: ratings.example.com}}")
    assert routed(text, call(headers={"Host": "ratings.example.com"})) is not None
    assert routed(text, call()) is None


# -- withoutHeaders and a missing header -------------------------------------------------------


@pytest.mark.parametrize(
    ("string_match", "missing", "empty", "jason"),
    [
        ("{regex: '.*'}", False, False, False),  # missing counts as "", which .* matches
        ("{exact: jason}", True, True, False),
        ("{regex: '*'}", True, False, False),  # presence match: no treat-missing-as-empty
        ("{}", True, False, False),
        ("{prefix: ''}", False, False, False),
    ],
)
def test_without_headers_treats_a_missing_header_as_empty_for_value_matches(
        string_match: str, missing: bool, empty: bool, jason: bool) -> None:
    text = match_rule(f"{{withoutHeaders: {{end-user: {string_match}}}}}")
    assert (routed(text, call()) is not None) is missing
    assert (routed(text, call(headers={"end-user": ""})) is not None) is empty
    assert (routed(text, call(headers={"end-user": "jason"})) is not None) is jason


def test_only_an_inverted_value_match_sees_a_missing_header_as_empty() -> None:
    assert routed(match_rule("{headers: {end-user: {regex: '.*'}}}"), call()) is None
    assert routed(match_rule("{withoutHeaders: {end-user: {regex: '.+'}}}"), call()) is not None
    assert routed(match_rule("{withoutHeaders: {end-user: {regex: '.?'}}}"), call()) is None


# -- source matches that leave a caller no route -----------------------------------------------

SOURCE_ONLY = vs("""
- name: from-frontend
  match: [{sourceLabels: {app: frontend}}]
  route: [{destination: {host: ratings}}]
  timeout: 2s
""")


def test_a_caller_left_without_routes_gets_the_default_route() -> None:
    other = routed(SOURCE_ONLY, call(), labels={"app": "other"})
    assert other is not None and other.name == "default|ratings"
    assert other.backends == (Backend("ratings"),) and other.timeout == 0.0
    assert other.retry is not None and other.retry.num_retries == 2  # the mesh default
    mine = routed(SOURCE_ONLY, call(), labels={"app": "frontend"})
    assert mine is not None and mine.name == "from-frontend" and mine.timeout == 2.0
    # A caller left with some routes gets no default: 404 for the rest.
    text = vs("""
- match: [{sourceLabels: {app: frontend}}]
  route: [{destination: {host: ratings}}]
- match: [{uri: {prefix: /api}}]
  route: [{destination: {host: ratings}}]
""")
    assert routed(text, call(path="/web"), labels={"app": "other"}) is None
    assert routed(text, call(path="/api"), labels={"app": "other"}) is not None


def test_source_namespace_alone_also_falls_back() -> None:
    text = vs("- match: [{sourceNamespace: web}]\n  route: [{destination: {host: ratings}}]")
    elsewhere = routed(text, call(), namespace="batch")
    assert elsewhere is not None and elsewhere.name == "default|ratings"


def test_the_next_virtual_service_serves_callers_the_first_leaves_without_routes() -> None:
    second = vs("- name: second\n  route: [{destination: {host: ratings}}]", name="second")
    result = run(SOURCE_ONLY + second, TOPO)
    table = result.policy.routes["ratings"]
    other = select_route(routes_for_proxy(table, {"app": "other"}, "default"), call())
    assert other is not None and other.name == "second"
    mine = select_route(routes_for_proxy(table, {"app": "frontend"}, "default"), call())
    assert mine is not None and mine.name == "from-frontend"
    warning = find(result.warnings, "only for callers that VirtualService/vs")
    assert warning.code == "duplicate-host" and "order of the files" in warning.message


# -- overlapping wildcard hosts ----------------------------------------------------------------

ENTRY = """\
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: foo}
spec:
  hosts: [foo.bar.example.com]
  resolution: DNS
  ports: [{number: 80, name: http, protocol: HTTP}]
---
"""
EXTERNAL = topology(service("ratings"), service("foo", external=True))


def wild(name: str, host: str, meta: str = "") -> str:
    return vs(f"- name: {name}\n  route: [{{destination: {{host: foo.bar.example.com}}}}]",
              name=name, hosts=f'["{host}"]', meta=meta)


@pytest.mark.parametrize("order", ["broad-first", "narrow-first"])
def test_the_most_specific_wildcard_wins_whatever_the_order(order: str) -> None:
    broad, narrow = wild("broad", "*.example.com"), wild("narrow", "*.bar.example.com")
    text = ENTRY + (broad + narrow if order == "broad-first" else narrow + broad)
    result = run(text, EXTERNAL)
    assert [r.name for r in result.policy.routes["foo"]] == ["narrow"]
    assert "more specific host '*.bar.example.com'" in find(
        result.warnings, "VirtualService/broad does not route foo").message


def test_an_exact_host_beats_an_older_wildcard_and_the_older_exact_host_wins() -> None:
    # TestSidecarRoutes "wildcard first then explicit" and "same namespace conflict".
    old = wild("old-wild", "*.example.com", ", creationTimestamp: 2020-01-01T00:00:00Z")
    exact = wild("exact", "foo.bar.example.com", ", creationTimestamp: 2024-01-01T00:00:00Z")
    older = wild("older", "foo.bar.example.com", ", creationTimestamp: 2023-01-01T00:00:00Z")
    routes = run(ENTRY + old + exact + older, EXTERNAL).policy.routes["foo"]
    assert [r.name for r in routes] == ["older"]


def test_a_gateway_picks_the_most_specific_wildcard_host() -> None:
    gateway = """\
apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: gw}
spec:
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
---
"""

    def bound(name: str, host: str) -> str:
        return vs(f"- name: {name}\n  route: [{{destination: {{host: ratings}}}}]", name=name,
                  hosts=f'["{host}"]').replace("  http:", "  gateways: [gw]\n  http:")

    text = gateway + bound("broad", "*.example.com") + bound("narrow", "*.bar.example.com") \
        + bound("exact", "a.bar.example.com")
    routes = run(text, TOPO).policy.gateways["default/gw"].routes
    assert list(routes) == ["a.bar.example.com", "*.bar.example.com", "*.example.com"]


# -- which VirtualService comes first ----------------------------------------------------------


def test_the_oldest_virtual_service_wins_by_creation_timestamp() -> None:
    newer = vs("- name: newer\n  route: [{destination: {host: ratings}}]", name="newer",
               meta=", creationTimestamp: '2024-05-02T00:00:00Z'")
    older = vs("- name: older\n  route: [{destination: {host: ratings}}]", name="older",
               meta=", creationTimestamp: 2024-05-01T00:00:00Z")
    result = run(newer + older, TOPO)
    assert [r.name for r in result.policy.routes["ratings"]] == ["older"]
    warning = find(result.warnings, "VirtualService/newer is ignored for ratings")
    assert "it is older (creationTimestamp 2024-05-01T00:00:00+00:00" in warning.message


def test_equal_timestamps_order_by_name_then_namespace() -> None:
    stamp = ", creationTimestamp: 2024-05-01T00:00:00Z"
    b = vs("- name: b\n  route: [{destination: {host: ratings}}]", name="b", meta=stamp)
    a = vs("- name: a\n  route: [{destination: {host: ratings}}]", name="a", meta=stamp)
    assert [r.name for r in run(b + a, TOPO).policy.routes["ratings"]] == ["a"]


def test_without_timestamps_file_order_is_apply_order_and_the_warning_says_so() -> None:
    first = vs("- name: first\n  route: [{destination: {host: ratings}}]", name="first")
    second = vs("- name: second\n  route: [{destination: {host: ratings}}]", name="second")
    result = run(first + second, TOPO)
    assert [r.name for r in result.policy.routes["ratings"]] == ["first"]
    message = find(result.warnings, "VirtualService/second is ignored").message
    assert "order of the files as the order they were applied in" in message


def test_a_timestamped_manifest_is_older_than_one_without() -> None:
    plain = vs("- name: plain\n  route: [{destination: {host: ratings}}]", name="plain")
    stamped = vs("- name: stamped\n  route: [{destination: {host: ratings}}]", name="stamped",
                 meta=", creationTimestamp: 2024-05-01T00:00:00Z")
    assert [r.name for r in run(plain + stamped, TOPO).policy.routes["ratings"]] == ["stamped"]


@pytest.mark.parametrize(
    ("stamp", "message"),
    [("yesterday", "RFC 3339"), ("[1]", "RFC 3339"),
     ("'0001-01-01T00:00:00+01:00'", "out of range")],
)
def test_a_bad_creation_timestamp_is_a_located_error(stamp: str, message: str) -> None:
    text = vs("- route: [{destination: {host: ratings}}]", meta=f", creationTimestamp: {stamp}")
    with pytest.raises(ScenarioError, match=message) as caught:
        run(text, TOPO)
    assert caught.value.location.path == "VirtualService/vs metadata.creationTimestamp"


# -- weights that do not add up to 100 ---------------------------------------------------------


def test_weights_not_adding_up_to_100_are_split_by_total_with_a_warning() -> None:
    text = vs("""
- route:
    - {destination: {host: ratings}, weight: 60}
    - {destination: {host: reviews.prod.svc.cluster.local}, weight: 60}
""")
    result = run(text, TOPO)
    (route,) = result.policy.routes["ratings"]
    assert [b.weight for b in route.backends] == [60, 60]
    warning = find(result.warnings, "add up to 120, not 100")
    assert warning.code == "weights" and "ratings 50%, reviews 50%" in warning.message
    with pytest.raises(ScenarioError, match="requires 100"):  # validation before Istio 1.15
        run(text, TOPO, version="1.14")


def test_a_weight_on_a_single_destination_is_a_warning() -> None:
    result = run(vs("- route: [{destination: {host: ratings}, weight: 30}]"), TOPO)
    assert find(result.warnings, "weight 30 has no effect").code == "weights"
    assert "weights" not in codes(run(vs("- route: [{destination: {host: ratings}}]"),
                                      TOPO).warnings)



def test_a_destination_resolves_to_the_most_specific_wildcard_service_entry() -> None:
    entries = "".join(
        "apiVersion: networking.istio.io/v1beta1\nkind: ServiceEntry\n"
        f"metadata: {{name: {name}}}\nspec:\n  hosts: ['{host}']\n  resolution: NONE\n"
        "  ports: [{number: 80, name: http, protocol: HTTP}]\n---\n"
        for name, host in (("broad", "*.example.org"), ("narrow", "*.hello.example.org"))
    )
    topo = topology(service("ratings"), service("broad", external=True),
                    service("narrow", external=True))
    text = entries + vs("- route: [{destination: {host: x.hello.example.org}}]")
    (route,) = run(text, topo).policy.routes["ratings"]
    assert route.backends == (Backend("narrow", None, 100),)


def test_query_parameter_names_are_case_sensitive_header_names_are_not() -> None:
    text = match_rule("{queryParams: {userId: {exact: a}}, headers: {X-User: {exact: b}}}")
    assert routed(text, call(path="/?userId=a", headers={"x-user": "b"})) is not None
    assert routed(text, call(path="/?userid=a", headers={"X-USER": "b"})) is None


def test_a_repeated_query_parameter_matches_on_its_first_value() -> None:
    text = match_rule("{queryParams: {v: {exact: '1'}}}")
    assert routed(text, call(path="/?v=1&v=2")) is not None
    assert routed(text, call(path="/?v=2&v=1")) is None


def test_an_unknown_pseudo_header_is_a_located_error_and_status_never_matches() -> None:
    with pytest.raises(ScenarioError, match="not a valid header name") as caught:
        run(match_rule('{headers: {":host": {exact: a}}}'), TOPO)
    assert caught.value.location.path == 'VirtualService/vs spec.http[0].match[0].headers.:host'
    assert routed(match_rule('{headers: {":status": {prefix: "2"}}}'), call()) is None
