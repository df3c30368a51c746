"""HTTPRoute selection on the policy path, redirects and consumer routes (linkerd.md §3.5).

Upstream: linkerd2-proxy ``linkerd/http/route/src/lib.rs`` (best match, first wins a tie),
``http/match.rs`` (summary order: path, method, headers, query), ``http/match/path.rs``
(characters matched), ``http/filter/redirect.rs``; linkerd2 policy-controller outbound
index (producer and consumer routes) and ``grpc/src/outbound.rs`` ``timestamp_then_name``;
``service-profiles/src/proto.rs`` (zero-weight dstOverrides dropped).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from linkerd_helpers import find, run, service, topology

import meshsim
from meshsim.errors import ScenarioError
from meshsim.model.routes import RequestRedirect, Route, RouteMatch, StringMatch
from meshsim.sim.linkerd.routing import (
    best_match,
    modified_headers,
    path_match_length,
    redirect_location,
    routes_for_caller,
    select,
    takes_every_request,
)
from meshsim.sim.messages import Call

TOPO = topology(service("api"), service("v1"), service("v2"), service("v3"),
                service("client", namespace="other"))


def route(name: str, rules: str, *, stamp: str | None = None, namespace: str = "default",
          annotations: str = "") -> str:
    meta = f"  name: {name}\n  namespace: {namespace}\n"
    if stamp:
        meta += f"  creationTimestamp: '{stamp}'\n"
    if annotations:
        meta += f"  annotations: {annotations}\n"
    return ("apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n" + meta
            + "spec:\n  parentRefs: [{group: '', kind: Service, name: api, namespace: default}]\n"
            + "  rules:\n" + rules + "---\n")


def pick(text: str, path: str, *, method: str = "GET", headers: dict[str, str] | None = None,
         namespace: str = "default") -> str | None:
    """The backend of the route a caller in ``namespace`` takes (None: 404)."""
    table = routes_for_caller(run(text, TOPO).policy.routes["api"], namespace)
    chosen = best_match(table, method, path, headers or {})
    return None if chosen is None else chosen.backends[0].service


def rule(match: str, backend: str) -> str:
    return (f"    - matches: [{match}]\n"
            f"      backendRefs: [{{name: {backend}, namespace: default, port: 80}}]\n")


# -- ranking ---------------------------------------------------------------------------------


def test_a_regex_matching_the_whole_path_beats_a_shorter_prefix() -> None:
    text = route("r", rule("{path: {type: PathPrefix, value: /api}}", "v1")
                 + rule("{path: {type: RegularExpression, value: '/api/[a-z]+'}}", "v2"))
    assert pick(text, "/api/users") == "v2"  # 10 characters against 4
    assert pick(text, "/api/42") == "v1"  # the regex does not match
    # The characters matched outrank a method and headers.
    text = route("r", rule("{path: {type: PathPrefix, value: /api}, method: GET, "
                           "headers: [{name: h, value: '1'}]}", "v1")
                 + rule("{path: {type: RegularExpression, value: '/api/[a-z]+'}}", "v2"))
    assert pick(text, "/api/users", headers={"h": "1"}) == "v2"


def test_exact_and_prefix_of_equal_length_tie_and_the_older_route_wins() -> None:
    older = route("b-prefix", rule("{path: {type: PathPrefix, value: /foo}}", "v1"),
                  stamp="2024-01-01T00:00:00Z")
    newer = route("a-exact", rule("{path: {type: Exact, value: /foo}}", "v2"),
                  stamp="2024-01-02T00:00:00Z")
    assert pick(older + newer, "/foo") == "v1"
    assert pick(newer + older, "/foo") == "v1"  # file order plays no part


def test_a_rule_without_matches_ties_with_an_explicit_prefix_slash() -> None:
    catch_all = "    - backendRefs: [{name: v1, port: 80}]\n"
    older = route("z-any", catch_all, stamp="2024-01-01T00:00:00Z")
    newer = route("a-slash", rule("{path: {type: PathPrefix, value: /}}", "v2"),
                  stamp="2024-01-02T00:00:00Z")
    assert pick(older + newer, "/anything") == "v1"
    older2 = route("z-slash", rule("{path: {type: PathPrefix, value: /}}", "v2"),
                   stamp="2024-01-01T00:00:00Z")
    newer2 = route("a-any", catch_all, stamp="2024-01-02T00:00:00Z")
    assert pick(older2 + newer2, "/anything") == "v2"


def test_method_outranks_headers_which_outrank_query_parameters() -> None:
    text = route("r", rule("{method: GET}", "v1")
                 + rule("{headers: [{name: a, value: '1'}, {name: b, value: '2'}]}", "v2")
                 + rule("{queryParams: [{name: q, value: x}, {name: r, value: y}, "
                        "{name: s, value: z}]}", "v3"))
    both = {"a": "1", "b": "2"}
    assert pick(text, "/?q=x&r=y&s=z", headers=both) == "v1"
    assert pick(text, "/?q=x&r=y&s=z", method="POST", headers=both) == "v2"
    assert pick(text, "/?q=x&r=y&s=z", method="POST") == "v3"


def test_routes_with_a_creation_timestamp_come_before_those_without() -> None:
    stamped = route("z", rule("{path: {type: PathPrefix, value: /x}}", "v1"),
                    stamp="2030-01-01T00:00:00Z")
    unstamped = route("a", rule("{path: {type: PathPrefix, value: /x}}", "v2"))
    assert pick(unstamped + stamped, "/x") == "v1"
    by_name = route("b", rule("{path: {type: PathPrefix, value: /x}}", "v1")) + route(
        "a", rule("{path: {type: PathPrefix, value: /x}}", "v2"))
    assert pick(by_name, "/x") == "v2"  # no timestamps: by name


def test_path_match_lengths_follow_the_proxy() -> None:
    prefix = StringMatch("path_prefix", "/foo/")
    assert path_match_length(prefix, "/foo") == 4
    assert path_match_length(prefix, "/foo/bar") == 4
    assert path_match_length(prefix, "/foobar") is None
    assert path_match_length(StringMatch("path_prefix", "/"), "/foobar") == 1
    assert path_match_length(StringMatch("exact", "/foo"), "/foo") == 4
    assert path_match_length(StringMatch("exact", "/foo"), "/foo/") is None
    assert path_match_length(StringMatch("regex", r"/foo/\d+"), "/foo/4321") == 9
    assert path_match_length(StringMatch("regex", r"/foo/\d+"), "/foo/4/bar") is None


# -- consumer and producer routes ------------------------------------------------------------


def test_a_consumer_route_applies_only_to_its_namespace_beside_the_producer_routes() -> None:
    """outbound_api_gateway.rs ``producer_route`` (every namespace gets it) and
    ``consumer_route``, together: the consumer namespace gets both."""
    producer = route("producer", rule("{path: {type: PathPrefix, value: /p}}", "v1"))
    consumer = route("consumer", rule("{path: {type: PathPrefix, value: /c}}", "v2"),
                     namespace="other")
    text = producer + consumer
    assert pick(text, "/c", namespace="other") == "v2"
    assert pick(text, "/p", namespace="other") == "v1"  # producer routes still apply there
    assert pick(text, "/p") == "v1"
    assert pick(text, "/c") is None  # not a consumer: no route matches, 404


def test_consumer_and_producer_routes_tie_by_timestamp_then_name() -> None:
    producer = route("b-producer", rule("{path: {type: PathPrefix, value: /x}}", "v1"))
    consumer = route("a-consumer", rule("{path: {type: PathPrefix, value: /x}}", "v2"),
                     namespace="other")
    assert pick(producer + consumer, "/x", namespace="other") == "v2"  # "a-" sorts first
    assert pick(producer + consumer, "/x") == "v1"  # elsewhere only the producer route


def test_callers_outside_the_consumer_namespace_get_the_default_route() -> None:
    service_doc = ("apiVersion: v1\nkind: Service\nmetadata:\n  name: api\n  annotations:\n"
                   "    retry.linkerd.io/http: 5xx\n---\n")
    consumer = route("consumer", "    - backendRefs: [{name: v2, namespace: default, port: 80}]\n",
                     namespace="other")
    routes = run(service_doc + consumer, TOPO).policy.routes["api"]
    mine = routes_for_caller(routes, "default")
    assert [r.backends[0].service for r in mine] == ["api"]
    assert mine[0].policy_retry is not None and mine[0].policy_retry.codes == ((500, 599),)
    assert [r.backends[0].service for r in routes_for_caller(routes, "other")] == ["v2"]


# -- redirects -------------------------------------------------------------------------------


def redirect_of(**kwargs: object) -> str | None:
    r = Route("r", matches=(RouteMatch(uri=StringMatch("path_prefix", "/foo")),))
    return redirect_location(RequestRedirect(**kwargs), r, "api", "/foo/bar?a=b")  # type: ignore[arg-type]


def test_redirect_location_keeps_what_the_filter_does_not_replace() -> None:
    assert redirect_of(hostname="example.org") == "http://example.org/foo/bar?a=b"
    assert redirect_of(port=8080) == "http://api:8080/foo/bar?a=b"
    assert redirect_of(port=80) is None  # the request's own URI: the proxy ignores it
    assert redirect_of(scheme="https", port=443) == "https://api/foo/bar?a=b"
    assert redirect_of(hostname="example.org", port=80) == "http://example.org:80/foo/bar?a=b"
    assert redirect_of(path="/bar") == "http://api/bar"
    assert redirect_of(path="/qux", replace_prefix=True) == "http://api/qux/bar?a=b"


def test_redirect_location_and_the_port_the_request_carried() -> None:
    """redirect.rs tests ``port_default_is_omitted`` and the Host-override rule: a hostname
    alone keeps the request's non-default port."""
    def location(host: str, **kwargs: object) -> str | None:
        return redirect_location(RequestRedirect(**kwargs), Route("r"), host, "/foo")  # type: ignore[arg-type]

    assert location("api:8080", port=80) == "http://api/foo"
    assert location("api:8080", scheme="https", port=443) == "https://api/foo"
    assert location("api:8080", hostname="example.org") == "http://example.org:8080/foo"
    assert location("api:80", hostname="example.org") == "http://example.org/foo"
    assert location("api:8080", port=8080) is None


def test_redirect_filters_translate_with_the_crd_default_status() -> None:
    text = route("r", "    - matches: [{path: {type: PathPrefix, value: /old}}]\n"
                      "      filters:\n      - type: RequestRedirect\n"
                      "        requestRedirect: {hostname: example.org, port: 8443, "
                      "scheme: https}\n")
    (r,) = run(text, TOPO).policy.routes["api"]
    assert r.redirect == RequestRedirect(status=302, scheme="https", hostname="example.org",
                                         port=8443)


@pytest.mark.parametrize(("body", "fragment", "path"), [
    ("{statusCode: 305}", "statusCode must be one of 301, 302, 303, 307, 308",
     "requestRedirect.statusCode"),
    ("{scheme: ftp}", "unknown scheme 'ftp'", "requestRedirect.scheme"),
    ("{path: {type: ReplacePrefixMatch, replacePrefixMatch: /new}}",
     "ReplacePrefixMatch needs every match of the rule to be a PathPrefix match",
     "requestRedirect.path.type"),
])
def test_bad_redirects_are_located_errors(body: str, fragment: str, path: str) -> None:
    text = route("r", "    - matches: [{path: {type: Exact, value: /old}}]\n"
                      "      filters:\n      - type: RequestRedirect\n"
                      f"        requestRedirect: {body}\n")
    with pytest.raises(ScenarioError) as info:
        run(text, TOPO)
    assert fragment in str(info.value)
    assert info.value.location.path.endswith(path)


SCENARIO = """apiVersion: meshsim/v1alpha1
kind: Scenario
metadata: {name: redirect}
spec:
  mesh: linkerd
  duration: 2s
  services:
    front: {concurrency: 1, latency: constant(1ms), calls: [{service: api, path: PATH}]}
    api: {concurrency: 10, latency: constant(1ms)}
  workload:
    - {name: users, target: front, rate: 10/s, arrival: constant}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: move}
spec:
  parentRefs: [{group: '', kind: Service, name: api}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /old}}]
    filters:
    - {type: RequestRedirect, requestRedirect: {hostname: new.example, statusCode: 301}}
  - backendRefs: [{name: api, port: 80}]
"""


def test_the_client_proxy_answers_the_redirect(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO.replace("PATH", "/old/page"))
    results = meshsim.simulate(meshsim.load(path))
    hops = results.calls[results.calls["depth"] == 1]
    assert set(hops["status"]) == {301}
    assert set(hops["flags"].astype(str)) == {"redirect=http://new.example/old/page"}
    assert hops["ok"].all() and results.requests["ok"].all()
    assert len(results.requests) == 19  # all issued finished: one worker, freed each time
    assert (results.attempts["service"].astype(str) != "api").all()  # api is never reached
    path.write_text(SCENARIO.replace("PATH", "/other"))  # the catch-all rule: api answers
    hops = meshsim.simulate(meshsim.load(path)).calls
    assert set(hops[hops["depth"] == 1]["status"]) == {200}


# -- header modifier and zero-weight splits --------------------------------------------------


def test_header_modifier_names_compare_case_insensitively() -> None:
    r = Route("r", set_headers={"x-set": "new"}, remove_headers=("x-gone",))
    assert modified_headers({"X-Set": "old", "X-Gone": "1", "Keep": "k"}, r) == {
        "Keep": "k", "x-set": "new"}


SPLIT = """apiVersion: split.smi-spec.io/v1alpha2
kind: TrafficSplit
metadata: {name: ts}
spec:
  service: api
  backends:
    - {service: v1, weight: 0}
    - {service: v2, weight: 0}
---
"""


def test_a_traffic_split_with_every_weight_zero_sends_all_to_the_apex() -> None:
    text = SPLIT + route("r", rule("{path: {type: PathPrefix, value: /x}}", "v3"))
    result = run(text, TOPO)
    warning = find(result.warnings, "every backend has weight 0")
    assert warning.code == "no-effect"
    assert warning.location.path == "TrafficSplit/ts spec.backends"
    assert "all traffic to api goes to api itself, on the policy path" in warning.message
    # Without targets the service stays on the policy path: its HTTPRoute applies.
    assert pick(text, "/x") == "v3"


def test_dst_overrides_all_at_weight_zero_are_warned_where_they_are() -> None:
    profile = ("apiVersion: linkerd.io/v1alpha2\nkind: ServiceProfile\nmetadata:\n"
               "  name: api.default.svc.cluster.local\nspec:\n  dstOverrides:\n"
               "    - {authority: v1.default.svc.cluster.local, weight: 0}\n")
    result = run(profile, TOPO)
    warning = find(result.warnings, "every backend has weight 0")
    assert warning.location.path == ("ServiceProfile/api.default.svc.cluster.local "
                                     "spec.dstOverrides")
    assert "api" not in result.policy.routes  # no targets, no routes: the policy path


def test_the_location_keeps_the_host_the_caller_asked_for(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    text = SCENARIO.replace("hostname: new.example, statusCode: 301", "port: 8443")
    path.write_text(text.replace("path: PATH}", "path: /old, headers: {Host: api.example}}"))
    hops = meshsim.simulate(meshsim.load(path)).calls
    assert set(hops[hops["depth"] == 1]["flags"].astype(str)) == {
        "redirect=http://api.example:8443/old"}


def test_policy_test_consumer_route() -> None:
    """linkerd2 policy-test/tests/outbound_api_gateway.rs ``consumer_route``: a route in
    another namespace than its Service is returned only to callers in that namespace; the
    Service's own namespace and any other get the default route."""
    text = ("apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n"
            "  name: foo-route\n  namespace: other\nspec:\n"
            "  parentRefs: [{group: core, kind: Service, name: api, namespace: default, "
            "port: 4191}]\n"
            "  rules:\n  - matches: [{path: {type: Exact, value: /foo}, method: GET}]\n")
    routes = run(text, TOPO).policy.routes["api"]
    for namespace in ("default", "third"):
        (default,) = routes_for_caller(routes, namespace)
        assert default.fallback and default.backends[0].service == "api"
        assert best_match((default,), "POST", "/bar", {}) is default  # PathPrefix "/"
    (foo,) = routes_for_caller(routes, "other")
    assert foo.name == "other/foo-route/rule0"
    assert foo.backends[0].service == "api"  # no backendRefs: the parent Service
    assert best_match((foo,), "GET", "/foo", {}) is foo
    assert best_match((foo,), "GET", "/bar", {}) is None  # 404 for the consumer



def test_a_table_takes_every_request_the_same_way_only_without_a_choice() -> None:
    """The proxy remembers the route per service for such a table (``plan_for``): it must
    be the one ``select`` gives every request."""
    catch_all = Route("all")
    by_path = Route("v1", matches=(RouteMatch(uri=StringMatch("prefix", "/v1")),))
    best = [Route("all", best_match=True),
            Route("v1", best_match=True, matches=by_path.matches)]
    calls = [Call(1, 1, None, "api", m, p, h, 0, None, lambda c: None)  # type: ignore[arg-type]
             for m in ("GET", "POST") for p in ("/", "/v1/x")
             for h in ({}, {"x-user": "a"})]
    for table, every in [((catch_all, by_path), True), ((by_path, catch_all), False),
                         ((best[0],), True), (tuple(best), False), ((), False)]:
        assert takes_every_request(table) is every
        if every:
            assert all(select(table, c) is table[0] for c in calls)
    assert {id(select(best, c)) for c in calls} == {id(r) for r in best}  # a real choice
