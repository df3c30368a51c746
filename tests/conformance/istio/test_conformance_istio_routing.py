"""Istio routing conformance: cases from Istio's own test suites, run as meshsim scenarios.

Each test names its upstream file and case. Upstream checks what an echo server saw (status,
which workload answered, headers); here the same manifests and requests run through meshsim and
the ``calls`` frame says which service (and subset) answered each hop and with what status.
Destinations that upstream points at arbitrary hostnames (``arbitrary.example.com``) are
scenario services here; ports are not modelled (every service has one). docs/conformance-istio.md
lists the cases that are out of scope and why.

Sources (istio/istio):

* ``tests/integration/pilot/common/routing.go`` (``virtualServiceCases``, ``gatewayCases``)
* ``tests/integration/pilot/common/mirror.go`` with ``testdata/traffic-mirroring-template.yaml``
* ``pilot/pkg/networking/core/sidecar_simulation_test.go`` (``TestSidecarRoutes``)
* ``pilot/pkg/networking/core/route/route_test.go`` (``TestBuildHTTPRoutes``)
* ``pilot/pkg/networking/core/route/route.go`` (``TranslateRouteMatch``: method, authority and
  scheme become ``:method``/``:authority``/``:scheme`` header matchers)
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

import meshsim

Outcome = tuple[str, str, int]  # (service that answered, subset, status)


def scenario(services: str, workloads: str, manifests: str, *, seconds: str = "2s") -> str:
    return f"""\
apiVersion: meshsim/v1alpha1
kind: Scenario
metadata: {{name: istio-conformance}}
spec:
  mesh: istio
  duration: {seconds}
  seed: 1
  services:
{_indent(services, 4)}
  workload:
{_indent(workloads, 4)}
---
{manifests.strip()}
"""


def _indent(text: str, width: int) -> str:
    return "\n".join(" " * width + line for line in text.strip().splitlines())


def simulate(text: str, tmp_path: Path) -> meshsim.Results:
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    return meshsim.simulate(meshsim.load(path))


def outcomes(results: meshsim.Results, caller: str) -> Counter[Outcome]:
    """What the hops made by ``caller``'s proxies got (mirror copies left out)."""
    calls = results.calls
    mine = calls[calls["caller"].astype(str).str.startswith(f"{caller}-") & ~calls["mirror"]]
    return Counter(zip(mine["service"].astype(str), mine["subset"].astype(str),
                       mine["status"].astype(int), strict=True))


def only(results: meshsim.Results, caller: str) -> Outcome:
    """The one outcome every hop of ``caller`` had."""
    found = outcomes(results, caller)
    assert len(found) == 1 and sum(found.values()) >= 20, found
    return next(iter(found))


def user(name: str, target: str = "b", *, path: str = "/foo", method: str = "GET",
         headers: str = "{}", rate: str = "20/s") -> str:
    return (f"- {{name: {name}, target: {target}, rate: {rate}, clients: 1, arrival: constant, "
            f"request: {{method: {method}, path: '{path}', headers: {headers}}}}}")


def svc(name: str, extra: str = "") -> str:
    return f"{name}: {{concurrency: 16, latency: constant(1ms){extra}}}"


B = svc("b")


def vs(http: str, *, hosts: str = "[b]", name: str = "vs", namespace: str = "default",
       meta: str = "", gateways: str = "") -> str:
    return (
        "apiVersion: networking.istio.io/v1alpha3\nkind: VirtualService\n"
        f"metadata: {{name: {name}, namespace: {namespace}{meta}}}\nspec:\n  hosts: {hosts}\n"
        + (f"  gateways: {gateways}\n" if gateways else "")
        + "  http:\n" + _indent(http, 4) + "\n---\n"
    )


ABORT_403_THEN_B = """
- match:
  - withoutHeaders:
      end-user: {match}
  route: [{{destination: {{host: b}}}}]
  fault: {{abort: {{percentage: {{value: 100}}, httpStatus: 403}}}}
- route: [{{destination: {{host: b}}}}]
"""


def without_headers(match: str, tmp_path: Path) -> meshsim.Results:
    workloads = "\n".join([
        user("jason", headers="{end-user: jason}"),
        user("notjason", headers="{end-user: not-jason}"),
        user("empty", headers="{end-user: ''}"),
        user("none"),
    ])
    return simulate(scenario(B, workloads, vs(ABORT_403_THEN_B.format(match=match))), tmp_path)


# -- routing.go virtualServiceCases ------------------------------------------------------------


def test_routing_go_without_headers(tmp_path: Path) -> None:
    """routing.go virtualServiceCases "without headers": children "end-user is jason" (200),
    "end-user is not jason" (403), "do not have end-user header" (403)."""
    results = without_headers("{exact: jason}", tmp_path)
    assert only(results, "jason")[2] == 200
    assert only(results, "notjason")[2] == 403
    assert only(results, "none")[2] == 403


def test_routing_go_without_headers_regex_convert_to_present_match(tmp_path: Path) -> None:
    """routing.go virtualServiceCases "without headers regex convert to present_match":
    "have end-user header and value" 200, "... but value is empty" 200, "do not have end-user
    header" 403 (regex ``*`` is a presence match)."""
    results = without_headers("{regex: '*'}", tmp_path)
    assert only(results, "jason")[2] == 200
    assert only(results, "empty")[2] == 200
    assert only(results, "none")[2] == 403


def test_routing_go_without_headers_regex_match_any_string(tmp_path: Path) -> None:
    """routing.go virtualServiceCases "without headers regex match any string": every child is
    200, the request without the header too (treat_missing_header_as_empty: "" matches .*)."""
    results = without_headers("{regex: '.*'}", tmp_path)
    for caller in ("jason", "empty", "none"):
        assert only(results, caller)[2] == 200


def test_routing_go_fault_abort(tmp_path: Path) -> None:
    """routing.go virtualServiceCases "fault abort": 100 % abort with 418."""
    http = """
- route: [{destination: {host: b}}]
  fault: {abort: {percentage: {value: 100}, httpStatus: 418}}
"""
    results = simulate(scenario(B, user("a"), vs(http)), tmp_path)
    assert only(results, "a")[2] == 418


def test_routing_go_catch_all_route_short_circuit_the_other_routes(tmp_path: Path) -> None:
    """routing.go virtualServiceCases "catch all route short circuit the other routes": a
    ``uri: {regex: .*}`` match is a catch-all, so the rule after it never applies."""
    http = """
- match: [{uri: {regex: .*}}]
  route: [{destination: {host: b}}]
  fault: {abort: {percentage: {value: 100}, httpStatus: 418}}
- route: [{destination: {host: c}}]
"""
    results = simulate(scenario(B + "\n" + svc("c"), user("a"), vs(http)), tmp_path)
    assert only(results, "a")[2] == 418


def test_routing_go_retry_conditions(tmp_path: Path) -> None:
    """routing.go virtualServiceCases "retry conditions": the config is accepted and calls
    succeed (retryRemoteLocalities adds the previous_priorities retry priority)."""
    http = """
- route: [{destination: {host: b}}]
  retries:
    attempts: 3
    perTryTimeout: 2s
    retryOn: gateway-error,connect-failure,refused-stream,reset-before-request
    retryRemoteLocalities: true
"""
    results = simulate(scenario(B, user("a"), vs(http)), tmp_path)
    assert only(results, "a") == ("b", "", 200)


def test_routing_go_redirect_port_and_scheme(tmp_path: Path) -> None:
    """routing.go virtualServiceCases "redirect port and scheme": /foo is answered 301 by the
    caller's sidecar (the Location header is not modelled)."""
    http = """
- match: [{uri: {exact: /foo}}]
  redirect: {derivePort: FROM_REQUEST_PORT, scheme: https}
"""
    results = simulate(scenario(B, user("a"), vs(http)), tmp_path)
    assert only(results, "a")[2] == 301


@pytest.mark.parametrize("split", [(50, 25, 25), (80, 10, 10)], ids=["shifting-50", "shifting-80"])
def test_routing_go_shifting(split: tuple[int, int, int], tmp_path: Path) -> None:
    """routing.go virtualServiceCases "shifting-50" and "shifting-80": weights over three
    services; upstream allows 10 of 100 calls off, here 6 points of 800."""
    services = "\n".join(svc(n) for n in ("b", "c", "d"))
    http = "- route:\n" + "\n".join(
        f"  - {{destination: {{host: {n}}}, weight: {w}}}" for n, w in zip("bcd", split,
                                                                          strict=True))
    results = simulate(scenario(services, user("a", rate="400/s"), vs(http)), tmp_path)
    found = outcomes(results, "a")
    total = sum(found.values())
    for name, weight in zip("bcd", split, strict=True):
        assert found[(name, "", 200)] / total == pytest.approx(weight / 100, abs=0.06)


# -- routing.go gatewayCases -------------------------------------------------------------------


def test_routing_go_gateway_wildcard_hostname(tmp_path: Path) -> None:
    """routing.go gatewayCases "wildcard hostname", child "no port": a Gateway for
    ``*.example.com`` and a VirtualService for ``*.example.com`` route foo.example.com."""
    manifests = """
apiVersion: networking.istio.io/v1alpha3
kind: Gateway
metadata: {name: gateway}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*.example.com"]}]
---
""" + vs("- route: [{destination: {host: b}}]", hosts='["*.example.com"]', gateways="[gateway]")
    results = simulate(scenario(B, user("a", target="foo.example.com"), manifests), tmp_path)
    assert only(results, "gateway") == ("b", "", 200)


# -- mirror.go ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "percent", "threshold"),
    [("mirror-percent-absent", None, 0.0), ("mirror-50", 50.0, 10.0), ("mirror-10", 10.0, 5.0),
     ("mirror-0", 0.0, 0.0)],
)
def test_mirror_go(case: str, percent: float | None, threshold: float, tmp_path: Path) -> None:
    """mirror.go RunMirroringTests: the mirrored share of calls to b seen at c is the
    percentage (absent = 100 %) within upstream's threshold."""
    share = "" if percent is None else f"\n  mirrorPercentage: {{value: {percent}}}"
    http = f"- route: [{{destination: {{host: b}}}}]\n  mirror: {{host: c}}{share}"
    services = B + "\n" + svc("c")
    results = simulate(scenario(services, user("a", rate="200/s"), vs(http, name=case)), tmp_path)
    calls = results.calls[results.calls["caller"].astype(str).str.startswith("a-")]
    sent = int((~calls["mirror"]).sum())
    mirrored = int((calls["mirror"] & (calls["service"].astype(str) == "c")).sum())
    expected = 100.0 if percent is None else percent
    assert abs(100.0 * mirrored / sent - expected) <= max(threshold, 0.0)


# -- sidecar_simulation_test.go TestSidecarRoutes ----------------------------------------------

KNOWN = "\n".join([
    svc("known"), svc("alt-known"), svc("not-default", ", namespace: not-default"),
])
OLDER, BASE, NEWER = (", creationTimestamp: 2020-01-01T00:00:00Z",
                      ", creationTimestamp: 2021-01-01T00:00:00Z",
                      ", creationTimestamp: 2022-01-01T00:00:00Z")


def sidecar_routes(manifests: str, dests: tuple[str, ...], tmp_path: Path,
                   proxy_namespace: str = "default") -> meshsim.Results:
    """A caller in ``proxy_namespace`` calling known and alt-known, as TestSidecarRoutes'
    proxy resolves them."""
    services = "\n".join([
        KNOWN, *(svc(d) for d in dests),
        svc("client", f", namespace: {proxy_namespace}, calls: [known, alt-known]"),
    ])
    return simulate(scenario(services, user("u", target="client"), manifests), tmp_path)


def answered(results: meshsim.Results, called: str) -> set[str]:
    """Which services answered the client's calls to ``called`` (calls are made in order)."""
    calls = results.calls
    client = calls[calls["caller"].astype(str).str.startswith("client-") & ~calls["mirror"]]
    order = ("known", "alt-known")
    picked = client.groupby("request_id", observed=True)["service"].agg(list)
    return {str(services[order.index(called)]) for services in picked if len(services) == 2}


def route_to(dest: str, **kwargs: str) -> str:
    return vs(f"- route: [{{destination: {{host: {dest}}}}}]", **kwargs)


@pytest.mark.parametrize(
    ("case", "vs_namespace", "proxy_namespace"),
    [("simple port 80", "default", "default"), ("producer rule port 80", "default", "not-default"),
     ("consumer rule port 80", "not-default", "not-default"),
     ("arbitrary rule port 80", "arbitrary", "not-default")],
)
def test_sidecar_routes_one_rule(case: str, vs_namespace: str, proxy_namespace: str,
                                 tmp_path: Path) -> None:
    """TestSidecarRoutes "simple port 80", "producer rule port 80", "consumer rule port 80",
    "arbitrary rule port 80": a VirtualService for known applies to sidecars whatever its
    namespace (exportTo not set)."""
    manifests = route_to("alt-known.default.svc.cluster.local", name="vs", namespace=vs_namespace,
                         hosts="[known.default.svc.cluster.local]")
    results = sidecar_routes(manifests, (), tmp_path, proxy_namespace)
    assert answered(results, "known") == {"alt-known"}
    assert answered(results, "alt-known") == {"alt-known"}


def test_sidecar_routes_multiple_rules_80(tmp_path: Path) -> None:
    """TestSidecarRoutes "multiple rules 80": three VirtualServices for known in three
    namespaces; the oldest (arbitrary) wins for the sidecar, whatever the file order."""
    host = "[known.default.svc.cluster.local]"
    manifests = (route_to("not-default-dest.default.svc.cluster.local", name="vs",
                          namespace="not-default", hosts=host, meta=NEWER)
                 + route_to("default-dest", name="vs", namespace="default", hosts=host, meta=BASE)
                 + route_to("arbitrary-dest.default.svc.cluster.local", name="vs",
                            namespace="arbitrary", hosts=host, meta=OLDER))
    results = sidecar_routes(manifests, ("arbitrary-dest", "default-dest", "not-default-dest"),
                             tmp_path, "not-default")
    assert answered(results, "known") == {"arbitrary-dest"}


@pytest.mark.parametrize(
    ("case", "wild_meta", "explicit_meta", "wild_namespace"),
    [("wildcard first then explicit", OLDER, NEWER, "default"),
     ("explicit first then wildcard", NEWER, OLDER, "default"),
     ("wildcard and explicit cross namespace", OLDER, NEWER, "not-default")],
)
def test_sidecar_routes_wildcard_and_explicit(case: str, wild_meta: str, explicit_meta: str,
                                              wild_namespace: str, tmp_path: Path) -> None:
    """TestSidecarRoutes "wildcard first then explicit", "explicit first then wildcard",
    "wildcard and explicit cross namespace": the exact host wins for known whatever the
    creation times; alt-known takes the wildcard."""
    manifests = (route_to("wild.default.svc.cluster.local", name="wild", namespace=wild_namespace,
                          hosts='["*.cluster.local"]', meta=wild_meta)
                 + route_to("explicit", name="explicit", hosts="[known]", meta=explicit_meta))
    # The wildcard covers every service, a calling one too: the callers are workload clients
    # (sidecars in default, as the upstream proxy).
    services = "\n".join([KNOWN, svc("wild"), svc("explicit")])
    workloads = "\n".join([user("k", target="known"), user("a", target="alt-known")])
    results = simulate(scenario(services, workloads, manifests), tmp_path)
    assert only(results, "k") == ("explicit", "", 200)
    assert only(results, "a") == ("wild", "", 200)


def test_sidecar_routes_wildcard_random(tmp_path: Path) -> None:
    """TestSidecarRoutes "wildcard random" (and "wildcard and explicit unknown"): hosts that
    match no service leave every service its default route."""
    manifests = (route_to("wild", name="random", hosts='["*.unknown.example.com"]')
                 + route_to("wild", name="tld", hosts='["*.tld", "example.tld"]'))
    results = sidecar_routes(manifests, ("wild",), tmp_path)
    assert answered(results, "known") == {"known"}
    assert answered(results, "alt-known") == {"alt-known"}


@pytest.mark.parametrize(
    ("case", "old_namespace", "new_namespace", "file_order"),
    [("same namespace conflict", "default", "default", "new-first"),
     ("cross namespace conflict", "not-default", "default", "new-first"),
     ("same namespace conflict", "default", "default", "old-first")],
)
def test_sidecar_routes_conflict_oldest_wins(case: str, old_namespace: str, new_namespace: str,
                                             file_order: str, tmp_path: Path) -> None:
    """TestSidecarRoutes "same namespace conflict" and "cross namespace conflict": two
    VirtualServices for known; the oldest by creationTimestamp wins for the sidecar."""
    host = "[known.default.svc.cluster.local]"
    old = route_to("old-dest.default.svc.cluster.local", name="old", namespace=old_namespace,
                   hosts=host, meta=OLDER)
    new = route_to("new-dest.default.svc.cluster.local", name="new", namespace=new_namespace,
                   hosts=host, meta=NEWER)
    manifests = new + old if file_order == "new-first" else old + new
    results = sidecar_routes(manifests, ("old-dest", "new-dest"), tmp_path)
    assert answered(results, "known") == {"old-dest"}


@pytest.mark.parametrize(
    ("case", "first", "second", "winner"),
    [("same name prefix", ("vs-b", "default"), ("vs", "default"), "vs-in-default"),
     ("same name, namespaces", ("vs", "zz"), ("vs", "aa"), "vs-in-aa"),
     ("name before namespace", ("a", "zz"), ("b", "aa"), "a-in-zz")],
)
def test_sidecar_routes_conflict_same_creation_time(
        case: str, first: tuple[str, str], second: tuple[str, str], winner: str,
        tmp_path: Path) -> None:
    """TestSidecarRoutes "same namespace conflict" / "cross namespace conflict" with both
    VirtualServices created in the same second: pilot/pkg/model ``sortConfigByCreationTime``
    then orders by name, then namespace (``cmp.Compare``), so ``vs`` comes before ``vs-b``
    (comparing ``name.namespace`` strings would put ``vs-b.default`` first: '-' < '.')."""
    host = "[known.default.svc.cluster.local]"

    def claim(name: str, namespace: str) -> str:
        return route_to(f"{name}-in-{namespace}.default.svc.cluster.local", name=name,
                        namespace=namespace, hosts=host, meta=BASE)

    manifests = claim(*first) + claim(*second)
    dests = tuple(f"{name}-in-{namespace}" for name, namespace in (first, second))
    results = sidecar_routes(manifests, dests, tmp_path)
    assert answered(results, "known") == {winner}


def test_sidecar_routes_multi_host(tmp_path: Path) -> None:
    """TestSidecarRoutes "multi-host import single" (without the Sidecar resource, which
    meshsim does not model): a VirtualService with two hosts routes both."""
    manifests = route_to("dest", hosts="[known.default.svc.cluster.local, "
                                       "alt-known.default.svc.cluster.local]")
    results = sidecar_routes(manifests, ("dest",), tmp_path)
    assert answered(results, "known") == {"dest"} == answered(results, "alt-known")


# -- route_test.go TestBuildHTTPRoutes ---------------------------------------------------------


def match_table(rules: str, workloads: list[str], tmp_path: Path,
                services: str = B + "\n" + svc("c")) -> meshsim.Results:
    """``rules`` route matches to c; anything else gets 404 NR (no catch-all)."""
    return simulate(scenario(services, "\n".join(workloads), vs(rules)), tmp_path)


def test_route_test_catch_all_route(tmp_path: Path) -> None:
    """route_test.go "for virtual service with catch all route": matches "non-catch-all"
    (prefix /route/v1) and "catch-all" (prefix /), and nothing after the catch-all applies."""
    rules = """
- name: route
  match: [{name: non-catch-all, uri: {prefix: /route/v1}}, {name: catch-all, uri: {prefix: /}}]
  route: [{destination: {host: c}}]
- route: [{destination: {host: b}}]
  fault: {abort: {percentage: {value: 100}, httpStatus: 418}}
"""
    results = match_table(rules, [user("v1", path="/route/v1/x"), user("other", path="/x")],
                          tmp_path)
    assert only(results, "v1") == ("c", "", 200) == only(results, "other")


def test_route_test_regex_matching_on_uri(tmp_path: Path) -> None:
    r"""route_test.go "for virtual service with regex matching on URI": ``\/(.?)\/status``
    must match the whole path (RE2 full match)."""
    rules = r"""
- match: [{uri: {regex: '\/(.?)\/status'}}]
  route: [{destination: {host: c}}]
"""
    results = match_table(rules, [user("hit", path="/a/status"), user("miss", path="/ab/status"),
                                  user("tail", path="/a/status/x")], tmp_path)
    assert only(results, "hit") == ("c", "", 200)
    assert only(results, "miss")[2] == 404 and only(results, "tail")[2] == 404


def test_route_test_regex_matching_on_header(tmp_path: Path) -> None:
    r"""route_test.go "for virtual service with regex matching on header":
    ``Bearer .+?\..+?\..+?`` on Authorization."""
    rules = r"""
- match: [{headers: {Authorization: {regex: 'Bearer .+?\..+?\..+?'}}}]
  route: [{destination: {host: c}}]
"""
    results = match_table(rules, [user("jwt", headers="{authorization: 'Bearer a.b.c'}"),
                                  user("basic", headers="{authorization: 'Basic abc'}")],
                          tmp_path)
    assert only(results, "jwt") == ("c", "", 200)
    assert only(results, "basic")[2] == 404


def test_route_test_regex_matching_on_without_header(tmp_path: Path) -> None:
    r"""route_test.go "for virtual service with regex matching on without_header": inverted,
    with treat_missing_header_as_empty, so a request without the header matches."""
    rules = r"""
- match: [{withoutHeaders: {Authorization: {regex: 'BAR .+?\..+?\..+?'}}}]
  route: [{destination: {host: c}}]
"""
    results = match_table(rules, [user("bar", headers="{authorization: 'BAR a.b.c'}"),
                                  user("other", headers="{authorization: 'Basic abc'}"),
                                  user("none")], tmp_path)
    assert only(results, "bar")[2] == 404
    assert only(results, "other") == ("c", "", 200) == only(results, "none")


@pytest.mark.parametrize(
    ("case", "field", "match", "without", "with_empty"),
    [("for virtual service with presence matching on header", "headers", "{}", 404, 200),
     ("for virtual service with regex matching for all cases on header", "headers",
      "{regex: '*'}", 404, 200),
     ("for virtual service with presence matching on header and without_header",
      "withoutHeaders", "{}", 200, 404)],
)
def test_route_test_presence_matching(case: str, field: str, match: str, without: int,
                                      with_empty: int, tmp_path: Path) -> None:
    """route_test.go presence cases: an empty StringMatch or regex ``*`` on FOO-HEADER is a
    present_match (an empty value is present); withoutHeaders inverts it without
    treat_missing_header_as_empty."""
    rules = f"""
- match: [{{{field}: {{FOO-HEADER: {match}}}}}]
  route: [{{destination: {{host: c}}}}]
"""
    results = match_table(rules, [user("none"), user("empty", headers="{foo-header: ''}")],
                          tmp_path)
    assert only(results, "none")[2] == without
    assert only(results, "empty")[2] == with_empty


@pytest.mark.parametrize(
    ("case", "match", "hit", "miss"),
    [("for virtual service with exact matching on query parameter", "{exact: foo}",
      "/?token=foo", "/?token=foo-bar"),
     ("for virtual service with prefix matching on query parameter", "{prefix: foo-}",
      "/?token=foo-bar", "/?token=foo"),
     ("for virtual service with regex matching on query parameter",
      r"{regex: 'BAR .+?\..+?\..+?'}", "/?token=BAR%20a.b.c", "/?token=BAR"),
     ("for virtual service with regex matching for all cases on query parameter",
      "{regex: '*'}", "/?token=", "/?other=1")],
)
def test_route_test_query_parameters(case: str, match: str, hit: str, miss: str,
                                     tmp_path: Path) -> None:
    """route_test.go query parameter cases on ``token``: exact, prefix, regex, and regex ``*``
    as a present_match."""
    rules = f"""
- match: [{{queryParams: {{token: {match}}}}}]
  route: [{{destination: {{host: c}}}}]
"""
    results = match_table(rules, [user("hit", path=hit), user("miss", path=miss)], tmp_path)
    assert only(results, "hit") == ("c", "", 200)
    assert only(results, "miss")[2] == 404


def test_route_test_source_namespace_matching(tmp_path: Path) -> None:
    """route_test.go "for virtual service with source namespace matching": a proxy in foo
    gets the route named foo, one in bar the route named bar."""
    rules = """
- name: foo
  match: [{sourceNamespace: foo}]
  route: [{destination: {host: c}}]
- name: bar
  match: [{sourceNamespace: bar}]
  route: [{destination: {host: d}}]
"""
    services = "\n".join([B, svc("c"), svc("d"), svc("in-foo", ", namespace: foo, calls: [b]"),
                          svc("in-bar", ", namespace: bar, calls: [b]")])
    workloads = "\n".join([user("f", target="in-foo"), user("g", target="in-bar")])
    results = simulate(scenario(services, workloads, vs(rules)), tmp_path)
    assert only(results, "in-foo") == ("c", "", 200)
    assert only(results, "in-bar") == ("d", "", 200)


def test_route_test_direct_response_code(tmp_path: Path) -> None:
    """route_test.go "for direct response code": status 200 answered by the sidecar (the body
    is not modelled)."""
    rules = "- directResponse: {status: 200, body: {string: hello}}"
    results = simulate(scenario(B, user("a"), vs(rules)), tmp_path)
    calls = results.calls
    assert only(results, "a")[2] == 200
    assert len(results.attempts[results.attempts["caller"].astype(str) == "a-0"]) == 0
    assert len(calls) > 0


def test_route_test_overlapping_wildcard_hosts(tmp_path: Path) -> None:
    """route_test.go "for virtualservices and services with overlapping wildcard hosts":
    services ``*.example.org`` and ``goodbye.hello.example.org``; VirtualServices
    ``*.example.org`` and ``*.hello.example.org`` each take one service, the most specific."""
    entries = """
apiVersion: networking.istio.io/v1alpha3
kind: ServiceEntry
metadata: {name: wildcard}
spec:
  hosts: ["*.example.org"]
  resolution: NONE
  ports: [{number: 80, name: http, protocol: HTTP}]
---
apiVersion: networking.istio.io/v1alpha3
kind: ServiceEntry
metadata: {name: nested}
spec:
  hosts: [goodbye.hello.example.org]
  resolution: DNS
  ports: [{number: 80, name: http, protocol: HTTP}]
---
"""
    manifests = entries + vs(
        "- route: [{destination: {host: goodbye.hello.example.org}}]\n"
        "  fault: {abort: {percentage: {value: 100}, httpStatus: 418}}",
        name="wildcard", hosts='["*.example.org"]',
    ) + vs(
        "- route: [{destination: {host: goodbye.hello.example.org}}]\n"
        "  fault: {abort: {percentage: {value: 100}, httpStatus: 419}}",
        name="nested-wildcard", hosts='["*.hello.example.org"]',
    )
    services = "\n".join([
        svc("wildcard", ", external: true"), svc("goodbye", ", external: true"),
        svc("caller", ", calls: [goodbye]"), svc("other", ", calls: [wildcard]"),
    ])
    workloads = "\n".join([user("u", target="caller"), user("v", target="other")])
    results = simulate(scenario(services, workloads, manifests), tmp_path)
    assert only(results, "caller")[2] == 419  # *.hello.example.org, declared second
    assert only(results, "other")[2] == 418


# -- route.go TranslateRouteMatch: pseudo-header matchers --------------------------------------


@pytest.mark.parametrize(
    ("match", "hit", "miss"),
    [('{headers: {":method": {exact: GET}}}', user("hit"), user("miss", method="POST")),
     ("{method: {exact: GET}}", user("hit"), user("miss", method="POST")),
     ('{headers: {":authority": {exact: b}}}', user("hit"),
      user("miss", headers="{host: b.example.com}")),
     ('{headers: {":path": {prefix: /api}}}', user("hit", path="/api/x?y=1"),
      user("miss", path="/web")),
     ('{headers: {":scheme": {exact: http}}}', user("hit"), None),
     ("{scheme: {exact: https}}", None, user("miss"))],
)
def test_route_go_pseudo_header_matchers(match: str, hit: str | None, miss: str | None,
                                         tmp_path: Path) -> None:
    """route.go TranslateRouteMatch: method, authority and scheme are ``:method``,
    ``:authority`` and ``:scheme`` header matchers, and headers may name pseudo-headers
    (``:path`` carries the query string); meshsim's sidecars speak plain http."""
    rules = f"- match: [{match}]\n  route: [{{destination: {{host: c}}}}]"
    results = match_table(rules, [w for w in (hit, miss) if w is not None], tmp_path)
    if hit is not None:
        assert only(results, "hit") == ("c", "", 200)
    if miss is not None:
        assert only(results, "miss")[2] == 404


# -- source matches that leave a caller no route -----------------------------------------------


def test_route_go_source_labels_leave_other_callers_the_default_route(tmp_path: Path) -> None:
    """route.go buildSidecarVirtualHostsForVirtualService: when sourceMatchHTTP drops every
    route for a proxy the VirtualService gives it no virtual host, and
    BuildSidecarVirtualHostWrapper adds the service's default route (its own cluster)."""
    rules = """
- match: [{sourceLabels: {app: frontend}}]
  route: [{destination: {host: c}}]
"""
    services = "\n".join([B, svc("c"), svc("frontend", ", calls: [b]"),
                          svc("batch", ", calls: [b]")])
    workloads = "\n".join([user("f", target="frontend"), user("g", target="batch")])
    results = simulate(scenario(services, workloads, vs(rules)), tmp_path)
    assert only(results, "frontend") == ("c", "", 200)
    assert only(results, "batch") == ("b", "", 200)  # not 404 NR


# -- pilot/pkg/model/sidecar_test.go -----------------------------------------------------------


def test_sidecar_test_compute_wildcard_host_virtual_service_index_most_specific(
        tmp_path: Path) -> None:
    """sidecar_test.go TestComputeWildcardHostVirtualServiceIndex "most specific": exact host
    first, else the most specific wildcard, of equal wildcards the oldest (barwild over
    barwild2); a wildcard service host takes the equal wildcard. Upstream feeds foo and foo2
    unsorted to check that the index keeps the caller's order; istiod sorts them by
    creationTimestamp first, so with foo2 older, foo2 routes foo.example.com."""
    hosts = {"foo": "foo.example.com", "baz": "baz.example.com", "qux": "qux.bar.example.com",
             "barstar": "*.bar.example.com"}
    entries = "".join(
        "apiVersion: networking.istio.io/v1alpha3\nkind: ServiceEntry\n"
        f"metadata: {{name: {name}}}\nspec:\n  hosts: ['{host}']\n  resolution: NONE\n"
        "  ports: [{number: 80, name: http, protocol: HTTP}]\n---\n"
        for name, host in hosts.items()
    )
    stamps = {"oldest": "2024-01-01T10:00:00Z", "older": "2024-01-01T11:00:00Z",
              "older+30m": "2024-01-01T11:30:00Z", "newer": "2024-01-01T12:00:00Z"}
    claims = [("foo", "foo.example.com", "newer", 450), ("foo2", "foo.example.com",
              "older+30m", 451), ("wild", "*.example.com", "older", 452),
              ("barwild", "*.bar.example.com", "oldest", 453),
              ("barwild2", "*.bar.example.com", "older", 454)]
    manifests = entries + "".join(
        vs("- route: [{destination: {host: foo.example.com}}]\n"
           f"  fault: {{abort: {{percentage: {{value: 100}}, httpStatus: {code}}}}}",
           name=name, hosts=f"['{host}']", meta=f", creationTimestamp: {stamps[when]}")
        for name, host, when, code in claims
    )
    services = "\n".join(svc(name, ", external: true") for name in hosts)
    workloads = "\n".join(user(f"to-{name}", target=name) for name in hosts)
    results = simulate(scenario(services, workloads, manifests), tmp_path)
    codes = {name: only(results, f"to-{name}")[2] for name in hosts}
    assert codes == {"foo": 451, "baz": 452, "qux": 453, "barstar": 453}
