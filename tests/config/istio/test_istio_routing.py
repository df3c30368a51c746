"""VirtualService routing: hosts, matches, order, destinations and per-route policy."""

from __future__ import annotations

import pytest
from istio_helpers import codes, find, run, service, topology

from meshsim.model.routes import (
    Backend,
    FaultInjection,
    HeaderMatch,
    Mirror,
    RouteMatch,
    StringMatch,
)

TOPO = topology(
    service("reviews", "v1", "v2", namespace="prod"),
    service("ratings"),
    service("details", namespace="prod"),
)
SUBSETS = """\
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: reviews, namespace: prod}
spec:
  host: reviews
  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]
"""


def vs(http: str, *, hosts: str = "[ratings]", name: str = "vs", namespace: str = "default",
       extra: str = "") -> str:
    return (
        "apiVersion: networking.istio.io/v1beta1\nkind: VirtualService\n"
        f"metadata: {{name: {name}, namespace: {namespace}}}\nspec:\n  hosts: {hosts}\n{extra}"
        "  http:\n" + "".join(f"    {line}\n" for line in http.strip().splitlines())
    )


TO_RATINGS = "route: [{destination: {host: ratings}}]"
RULE = "- " + TO_RATINGS
FQDN_RULE = "- route: [{destination: {host: ratings.default.svc.cluster.local}}]"


# -- hosts ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "namespace", "kubernetes_form"),
    [("reviews", "prod", False), ("reviews.prod", "default", True),
     ("reviews.prod.svc", "default", True), ("reviews.prod.svc.cluster.local", "default", False)],
)
def test_host_forms(host: str, namespace: str, kubernetes_form: bool) -> None:
    http = f"- route: [{{destination: {{host: {host}}}}}]"
    result = run(vs(http, hosts=f"[{host}]", namespace=namespace), TOPO)
    (route,) = result.policy.routes["reviews"]
    assert route.backends == (Backend("reviews", None, 100),)
    assert ("host-form" in codes(result.warnings)) is kubernetes_form


def test_a_short_name_resolves_in_the_manifests_namespace() -> None:
    result = run(vs(RULE, hosts="[reviews]"), TOPO)  # default/reviews does not exist
    assert "reviews" not in result.policy.routes
    warning = find(result.warnings, "matches no service")
    assert "reviews.default.svc.cluster.local" in warning.message
    assert "did you mean 'reviews.prod.svc.cluster.local'" in warning.message


def test_a_wildcard_host_routes_every_service_it_covers_unless_one_has_its_own() -> None:
    own = vs("- route: [{destination: {host: reviews}}]", hosts="[reviews]", name="own",
             namespace="prod")
    wild = vs("- route: [{destination: {host: details.prod.svc.cluster.local}}]",
              hosts='["*.prod.svc.cluster.local"]', name="wild")
    policy = run(wild + "---\n" + own, TOPO).policy
    assert policy.routes["details"][0].name == "wild.http[0]"
    assert policy.routes["reviews"][0].name == "own.http[0]"
    assert "ratings" not in policy.routes


def test_the_first_virtual_service_for_a_host_wins() -> None:
    first = vs(RULE, name="first")
    second = vs("- route: [{destination: {host: ratings}}]\n  timeout: 1s", name="second")
    result = run(first + "---\n" + second, TOPO)
    (route,) = result.policy.routes["ratings"]
    assert route.name == "first.http[0]" and route.timeout == 0.0
    warning = find(result.warnings, "keeps only the first")
    assert warning.code == "duplicate-host"
    assert "VirtualService/first" in warning.message and "istio.yaml:1" in warning.message
    assert warning.location.path == "VirtualService/second spec.hosts[0]"
    assert warning.location.line == 13


# -- matches and order -------------------------------------------------------------------------


def test_every_match_kind() -> None:
    http = """
- match:
    - uri: {regex: "/r/[0-9]+"}
      method: {exact: POST}
      authority: {prefix: ratings}
      headers:
        X-Canary: {exact: "yes"}
        x-any: {}
        x-star: {regex: "*"}
      withoutHeaders:
        x-debug: {exact: "1"}
        x-trace: {}
      queryParams:
        beta: {prefix: t}
      port: 9080
      sourceLabels: {app: frontend}
      sourceNamespace: web
    - uri: {exact: /Health}
      ignoreUriCase: true
  route: [{destination: {host: ratings}}]
"""
    first, second = run(vs(http), TOPO).policy.routes["ratings"]
    assert first.matches == (RouteMatch(
        uri=StringMatch("regex", "/r/[0-9]+"),
        method=StringMatch("exact", "POST"),
        headers=(
            HeaderMatch("x-any", StringMatch("present")),
            HeaderMatch("x-canary", StringMatch("exact", "yes")),
            HeaderMatch("x-debug", StringMatch("exact", "1"), invert=True,
                        treat_missing_as_empty=True),
            HeaderMatch("x-star", StringMatch("present")),
            HeaderMatch("x-trace", StringMatch("present"), invert=True),
        ),
        query=(HeaderMatch("beta", StringMatch("prefix", "t")),),
        authority=StringMatch("prefix", "ratings"),
        port=9080,
        source_labels={"app": "frontend"},
        source_namespace="web",
    ),)
    assert second.matches == (RouteMatch(uri=StringMatch("exact", "/Health", ignore_case=True)),)
    assert (first.name, second.name) == ("vs.http[0].match[0]", "vs.http[0].match[1]")


def test_rules_keep_their_order_and_stop_after_the_first_catch_all() -> None:
    http = """
- name: canary
  match: [{name: beta, headers: {x-beta: {exact: "1"}}}, {uri: {prefix: /}}, {uri: {exact: /x}}]
  route: [{destination: {host: ratings}}]
  timeout: 1s
- name: never
  route: [{destination: {host: ratings}}]
"""
    routes = run(vs(http), TOPO).policy.routes["ratings"]
    assert [r.name for r in routes] == ["canary.beta", "canary.match[1]"]
    assert all(r.timeout == 1.0 for r in routes)


def test_a_catch_all_for_some_callers_only_does_not_stop_generation() -> None:
    http = """
- match: [{sourceLabels: {app: frontend}}]
  route: [{destination: {host: ratings}}]
  timeout: 1s
- route: [{destination: {host: ratings}}]
"""
    first, second = run(vs(http), TOPO).policy.routes["ratings"]
    assert first.matches[0].source_labels == {"app": "frontend"}
    assert second.matches == () and second.timeout == 0.0


def test_ignore_uri_case_on_a_regex_has_no_effect() -> None:
    http = "- match: [{uri: {regex: /a.*}, ignoreUriCase: true}]\n  " + TO_RATINGS
    result = run(vs(http), TOPO)
    assert result.policy.routes["ratings"][0].matches[0].uri == StringMatch("regex", "/a.*")
    assert find(result.warnings, "no effect on a regex").code == "no-effect"


# -- destinations ------------------------------------------------------------------------------


def test_weights_drop_zero_and_keep_order() -> None:
    http = """
- route:
    - {destination: {host: reviews, subset: v1}, weight: 0}
    - {destination: {host: reviews, subset: v2, port: {number: 9080}}, weight: 30}
    - {destination: {host: details}, weight: 70}
"""
    (route,) = run(vs(http, hosts="[reviews]", namespace="prod") + SUBSETS, TOPO).policy.routes[
        "reviews"]
    assert route.backends == (Backend("reviews", "v2", 30, 9080), Backend("details", None, 70))


def test_a_single_destination_takes_everything_whatever_its_weight() -> None:
    http = "- route: [{destination: {host: ratings}, weight: 20}]"
    (route,) = run(vs(http), TOPO).policy.routes["ratings"]
    assert route.backends == (Backend("ratings", None, 100),)


def test_header_operations_on_route_and_weighted_destinations() -> None:
    http = """
- headers:
    request:
      set: {X-Route: r}
      add: {x-added: a}
      remove: [x-secret]
    response: {set: {x-resp: "1"}}
  route:
    - destination: {host: reviews, subset: v1}
      weight: 50
      headers: {request: {set: {x-dest: v1}}}
    - {destination: {host: reviews, subset: v2}, weight: 50}
"""
    result = run(vs(http, hosts="[reviews]", namespace="prod") + SUBSETS, TOPO)
    (route,) = result.policy.routes["reviews"]
    assert route.set_headers == {"x-route": "r", "x-added": "a"}
    assert route.remove_headers == ("x-secret",)
    assert route.backends[0].set_headers == {"x-dest": "v1"}
    assert find(result.warnings, "response header").location.path.endswith("headers.response")


def test_a_single_destinations_headers_join_the_route() -> None:
    http = "- route: [{destination: {host: ratings}, headers: {request: {set: {x-a: b}}}}]"
    (route,) = run(vs(http), TOPO).policy.routes["ratings"]
    assert route.set_headers == {"x-a": "b"}
    assert route.backends == (Backend("ratings", None, 100),)


# -- retries, timeouts, faults, mirrors, local answers -------------------------------------------


def test_attempts_zero_disables_retries_and_says_what_is_lost() -> None:
    http = RULE + "\n  retries: {attempts: 0, perTryTimeout: 1s}"
    result = run(vs(http), TOPO)
    assert result.policy.routes["ratings"][0].retry is None
    assert "perTryTimeout has no effect" in find(result.warnings, "no retry policy").message


def test_retry_on_without_codes_clears_the_default_503() -> None:
    http = RULE + "\n  retries: {attempts: 1, retryOn: 5xx}"
    retry = run(vs(http), TOPO, "1.22").policy.routes["ratings"][0].retry
    assert retry is not None
    assert retry.retry_on == {"5xx"} and retry.retriable_status_codes == frozenset()


def test_retries_without_retry_on_keep_the_release_default_codes() -> None:
    http = RULE + "\n  retries: {attempts: 5}"
    retry = run(vs(http), TOPO, "1.22").policy.routes["ratings"][0].retry
    assert retry is not None and retry.retriable_status_codes == {503}
    assert retry.num_retries == 5


def test_fault_without_percentage_never_fires() -> None:
    http = RULE + "\n  fault: {abort: {httpStatus: 500}, delay: {fixedDelay: 2s}}"
    result = run(vs(http), TOPO)
    fault = result.policy.routes["ratings"][0].fault
    assert fault == FaultInjection(delay_percent=0.0, delay=2.0, abort_percent=0.0,
                                   abort_status=500)
    assert codes(result.warnings) == ["no-effect", "no-effect"]


def test_deprecated_integer_delay_percent() -> None:
    http = RULE + "\n  fault: {delay: {fixedDelay: 150ms, percent: 25}}"
    fault = run(vs(http), TOPO).policy.routes["ratings"][0].fault
    assert fault == FaultInjection(delay_percent=25.0, delay=0.15)


def test_mirror_percentages() -> None:
    http = """
- route: [{destination: {host: reviews, subset: v1}}]
  mirror: {host: reviews, subset: v2}
  mirrorPercentage: {value: 12.5}
  mirrors:
    - {destination: {host: details}}
    - {destination: {host: ratings.default.svc.cluster.local}, percentage: {value: 0}}
"""
    (route,) = run(vs(http, hosts="[reviews]", namespace="prod") + SUBSETS, TOPO).policy.routes[
        "reviews"]
    assert route.mirrors == (Mirror("reviews", "v2", 12.5), Mirror("details", None, 100.0))


def test_an_explicit_zero_mirror_percentage_turns_the_mirror_off() -> None:
    http = RULE + "\n  mirror: {host: details.prod.svc.cluster.local}\n" \
           "  mirrorPercent: 0"
    assert run(vs(http), TOPO).policy.routes["ratings"][0].mirrors == ()


@pytest.mark.parametrize(("action", "status"), [
    ("redirect: {uri: /new}", 301), ("redirect: {uri: /new, redirectCode: 307}", 307),
    ("directResponse: {status: 418}", 418),
])
def test_local_answers(action: str, status: int) -> None:
    http = f"- match: [{{uri: {{prefix: /old}}}}]\n  {action}\n  timeout: 1s\n- {TO_RATINGS}"
    result = run(vs(http), TOPO)
    local, rest = result.policy.routes["ratings"]
    assert local.direct_status == status and local.backends == () and local.retry is None
    assert rest.direct_status is None
    assert find(result.warnings, "timeout has no effect").code == "no-effect"


# -- gateways ------------------------------------------------------------------------------------

GATEWAY = """\
apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: edge, namespace: ingress}
spec:
  selector: {istio: ingressgateway}
  servers:
    - port: {number: 80, name: http, protocol: HTTP}
      hosts: ["*.example.com", "prod/shop.example.org"]
---
"""


def test_a_virtual_service_listing_mesh_and_a_gateway_programs_both() -> None:
    text = GATEWAY + vs(RULE, hosts="[ratings, api.example.com]",
                        extra="  gateways: [ingress/edge, mesh]\n")
    result = run(text, TOPO)
    assert result.policy.routes["ratings"][0].backends == (Backend("ratings", None, 100),)
    gateway = result.policy.gateways["ingress/edge"]
    assert list(gateway.routes) == ["api.example.com"]
    assert find(result.warnings, "'ratings' matches no server host").code == "unused"


def test_a_match_naming_a_gateway_is_left_out_of_the_sidecars() -> None:
    http = """
- match: [{uri: {prefix: /admin}, gateways: [ingress/edge]}]
  directResponse: {status: 403}
- route: [{destination: {host: ratings}}]
"""
    text = GATEWAY + vs(http, hosts="[ratings, api.example.com]")
    policy = run(text, TOPO).policy
    (mesh_route,) = policy.routes["ratings"]
    assert mesh_route.direct_status is None
    edge = policy.gateways["ingress/edge"].routes["api.example.com"]
    assert [r.direct_status for r in edge] == [403, None]
    assert edge[0].matches[0].gateways == ("ingress/edge",)


def test_gateway_namespace_filters_and_merged_hosts() -> None:
    catch_all = vs(FQDN_RULE, hosts="[shop.example.org]", name="all", namespace="prod",
                   extra="  gateways: [ingress/edge]\n")
    specific = vs("- match: [{uri: {prefix: /cart}}]\n  " + FQDN_RULE[2:],
                  hosts="[shop.example.org]", name="cart", namespace="prod",
                  extra="  gateways: [ingress/edge]\n")
    elsewhere = vs(RULE, hosts="[shop.example.org]", name="other",
                   extra="  gateways: [ingress/edge]\n")
    result = run(GATEWAY + catch_all + "---\n" + specific + "---\n" + elsewhere, TOPO)
    routes = result.policy.gateways["ingress/edge"].routes["shop.example.org"]
    assert [r.name for r in routes] == ["cart.http[0]", "all.http[0]"]  # catch-all moved last
    assert find(result.warnings, "matches no server host").location.path.startswith(
        "VirtualService/other")
