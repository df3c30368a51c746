"""Gateway API rollouts on Linkerd: Flagger's gatewayapi router and Argo's gatewayAPI plugin."""

from __future__ import annotations

from pathlib import Path

import pytest
from rollout_config_helpers import error, find, line_of, load, policy, scenario

from meshsim.model.rollout import ArgoRollout, FlaggerCanary, Version
from meshsim.model.routes import Backend, HeaderMatch, RouteMatch, StringMatch

SPLIT = (
    "podinfo: {latency: exponential(5ms)}\n"
    "podinfo-primary: {latency: exponential(5ms)}\n"
    "podinfo-canary: {latency: exponential(5ms)}"
)
REFS = "gatewayRefs:\n  - {name: podinfo, group: core, kind: Service, port: 9898}"
PRIMARY, CANARY = Version("podinfo-primary"), Version("podinfo-canary")
TEMPLATE = (
    "---\napiVersion: flagger.app/v1beta1\nkind: MetricTemplate\n"
    "metadata: {name: success-rate}\nspec:\n  provider: {type: prometheus}\n"
    "  query: |\n"
    "    sum(rate(response_total{deployment=~\"{{ target }}\",classification!=\"failure\","
    "direction=\"inbound\"}[{{ interval }}])) / sum(rate(response_total{deployment=~"
    "\"{{ target }}\",direction=\"inbound\"}[{{ interval }}])) * 100\n"
)
METRIC = ("metrics:\n  - name: success-rate\n    templateRef: {name: success-rate}\n"
          "    thresholdRange: {min: 99}\n    interval: 1m")


def canary(analysis: str, service: str = f"port: 9898\n{REFS}", spec: str = "") -> str:
    a = "".join(f"    {line}\n" for line in analysis.strip().splitlines())
    s = "".join(f"    {line}\n" for line in service.strip().splitlines())
    return (
        "apiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata: {name: podinfo}\nspec:\n"
        f"{spec}  targetRef: {{apiVersion: apps/v1, kind: Deployment, name: podinfo}}\n"
        f"  service:\n{s}  analysis:\n{a}"
    ) + TEMPLATE


def only(loaded: object) -> FlaggerCanary:
    (rollout,) = loaded.model.rollouts  # type: ignore[attr-defined]
    assert isinstance(rollout, FlaggerCanary)
    return rollout


# -- Flagger's gatewayapi router -----------------------------------------------------------------


@pytest.mark.parametrize("provider", ["", "  provider: gatewayapi:v1\n",
                                      "  provider: gatewayapi:v1beta1\n"])
def test_gateway_refs_make_a_policy_path_httproute(tmp_path: Path, provider: str) -> None:
    loaded = load(tmp_path, scenario("linkerd", SPLIT, canary(f"stepWeight: 10\n{METRIC}",
                                                             spec=provider)))
    c = only(loaded)
    assert (c.target.host, c.target.primary, c.target.canary) == ("podinfo", PRIMARY, CANARY)
    assert c.target.routes == ("default/podinfo/rule0",)
    (route,) = policy(loaded).routes["podinfo"]
    assert route.name == "default/podinfo/rule0"
    assert route.backends == (Backend("podinfo-primary", weight=100, port=9898),
                              Backend("podinfo-canary", weight=0, port=9898))
    assert route.matches == (RouteMatch(uri=StringMatch("path_prefix", "/")),)
    assert route.retry is None and route.retry_budget is None  # the policy path


def test_timeout_headers_and_service_match(tmp_path: Path) -> None:
    service = (f"port: 9898\n{REFS}\ntimeout: 3s\nretries: {{attempts: 3}}\n"
               "match:\n  - uri: {prefix: /api}\n"
               "headers:\n  request:\n    set: {x-flagger: canary}\n    remove: [x-debug]")
    loaded = load(tmp_path, scenario("linkerd", SPLIT, canary(f"stepWeight: 10\n{METRIC}",
                                                             service)))
    (route,) = policy(loaded).routes["podinfo"]
    assert route.timeout == 3.0
    assert route.matches == (RouteMatch(uri=StringMatch("path_prefix", "/api")),)
    assert route.set_headers == {"x-flagger": "canary"} and route.remove_headers == ("x-debug",)
    assert route.policy_retry is None
    find(loaded.warnings, "service.retries has no effect here")


def test_ab_match_weighs_the_matched_rule_and_sends_the_rest_to_the_primary(
        tmp_path: Path) -> None:
    analysis = f"iterations: 5\nmatch:\n  - headers: {{x-canary: {{exact: insider}}}}\n{METRIC}"
    loaded = load(tmp_path, scenario("linkerd", SPLIT, canary(analysis)))
    c = only(loaded)
    assert c.strategy == "ab" and c.target.routes == ("default/podinfo/rule0",)
    matched, rest = policy(loaded).routes["podinfo"]  # the header match ranks first
    assert matched.matches == (RouteMatch(
        uri=StringMatch("path_prefix", "/"),
        headers=(HeaderMatch("x-canary", StringMatch("exact", "insider")),)),)
    assert [b.service for b in matched.backends] == ["podinfo-primary", "podinfo-canary"]
    assert rest.name == "default/podinfo/rule1"
    assert [b.service for b in rest.backends] == ["podinfo-primary"]


def test_service_annotations_become_the_generated_routes_defaults(tmp_path: Path) -> None:
    svc = ("---\napiVersion: v1\nkind: Service\nmetadata:\n  name: podinfo\n  annotations:\n"
           "    timeout.linkerd.io/request: 2s\n")
    loaded = load(tmp_path, scenario("linkerd", SPLIT, canary(f"stepWeight: 10\n{METRIC}") + svc))
    (route,) = policy(loaded).routes["podinfo"]  # the annotations' "default" route is replaced
    assert route.name == "default/podinfo/rule0" and route.timeout == 2.0


def test_a_more_specific_user_httproute_keeps_its_requests(tmp_path: Path) -> None:
    user = ("---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
            "metadata: {name: health}\nspec:\n"
            "  parentRefs: [{name: podinfo, kind: Service, group: core}]\n"
            "  rules:\n  - matches: [{path: {type: Exact, value: /healthz}}]\n"
            "    backendRefs: [{name: podinfo-primary}]\n")
    loaded = load(tmp_path, scenario("linkerd", SPLIT, canary(f"stepWeight: 10\n{METRIC}") + user))
    names = [r.name for r in policy(loaded).routes["podinfo"]]
    assert names == ["default/health/rule0", "default/podinfo/rule0"]  # Exact ranks first
    find(loaded.warnings, "routes default/health/rule0 of another HTTPRoute")


def test_gateway_parent_is_warned_and_service_parent_used(tmp_path: Path) -> None:
    refs = (f"port: 9898\n{REFS}\n  - {{name: public, namespace: ingress}}")
    loaded = load(tmp_path, scenario("linkerd", SPLIT, canary(f"stepWeight: 10\n{METRIC}", refs)))
    assert only(loaded).target.host == "podinfo"
    w = find(loaded.warnings, "gatewayRef Gateway 'public' is not modelled")
    assert "Linkerd has no ingress gateway" in w.message


GATEWAY_ONLY = "port: 9898\ngatewayRefs:\n  - {name: public, namespace: ingress}"
ERRORS = [
    (canary(f"stepWeight: 10\n{METRIC}", GATEWAY_ONLY), "no gatewayRef is a Service",
     "gatewayRefs:", "Canary/podinfo spec.service.gatewayRefs"),
    (canary(f"stepWeight: 10\n{METRIC}", "port: 9898", "  provider: gatewayapi:v1\n"),
     "GatewayRefs must be specified", "service:", "Canary/podinfo spec.service"),
    (canary("stepWeight: 10\nmetrics:\n  - name: request-success-rate\n"
            "    thresholdRange: {min: 99}"),
     "built-in request-success-rate with the gatewayapi router queries Istio's metrics",
     "- name: request-success-rate", "Canary/podinfo spec.analysis.metrics[0].name"),
    (canary(f"stepWeight: 10\nmirror: true\n{METRIC}"), "mirror with stepWeight never advances",
     "mirror: true", "Canary/podinfo spec.analysis.mirror"),
    (canary(f"iterations: 5\nmatch:\n  - headers: {{x: {{prefix: a}}}}\n{METRIC}"),
     "Gateway API doesn't support the specified header matching selector", "prefix: a",
     "Canary/podinfo spec.analysis.match[0].headers.x"),
]


@pytest.mark.parametrize(("manifest", "message", "at", "path"), ERRORS)
def test_gatewayapi_errors_are_located(tmp_path: Path, manifest: str, message: str, at: str,
                                       path: str) -> None:
    text = scenario("linkerd", SPLIT, manifest)
    exc = error(tmp_path, text)
    assert message in exc.message
    assert exc.location.line == line_of(text, at)
    assert exc.location.path == path


def test_gatewayapi_router_on_istio_is_an_error(tmp_path: Path) -> None:
    versions = "podinfo: {latency: exponential(5ms), versions: {primary: {}, canary: {}}}"
    text = scenario("istio", versions, canary("stepWeight: 10", spec="  provider: gatewayapi:v1\n")
                    .split("---")[0])
    exc = error(tmp_path, text)
    assert "meshsim does not translate yet" in exc.message
    assert exc.location.path == "Canary/podinfo spec.provider"


def test_gateway_refs_with_the_linkerd_provider_have_no_effect(tmp_path: Path) -> None:
    text = canary("stepWeight: 10\nmetrics:\n  - name: request-success-rate\n"
                  "    thresholdRange: {min: 99}", spec="  provider: linkerd\n")
    loaded = load(tmp_path, scenario("linkerd", SPLIT, text))
    assert only(loaded).target.routes == ("default",)  # the TrafficSplit's profile route
    find(loaded.warnings, "gatewayRefs has no effect with the linkerd provider")


# -- Argo's gatewayAPI plugin --------------------------------------------------------------------

ARGO_SERVICES = (
    "podinfo: {latency: exponential(5ms)}\n"
    "podinfo-stable: {latency: exponential(5ms)}\n"
    "podinfo-canary: {latency: exponential(5ms)}"
)
HTTPROUTE = (
    "apiVersion: gateway.networking.k8s.io/v1beta1\nkind: HTTPRoute\n"
    "metadata: {name: argo-rollouts-http-route}\nspec:\n"
    "  parentRefs: [{name: podinfo, kind: Service, group: core, port: 9898}]\n"
    "  rules:\n"
    "    - matches: [{path: {type: PathPrefix, value: /}}]\n"
    "      backendRefs:\n"
    "        - {name: podinfo-stable, port: 9898}\n"
    "        - {name: podinfo-canary, port: 9898}\n---\n"
)


def rollout(plugin: str = "httpRoute: argo-rollouts-http-route") -> str:
    p = "".join(f"            {line}\n" for line in plugin.strip().splitlines())
    return (
        "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: rollouts-demo}\n"
        "spec:\n  strategy:\n    canary:\n      canaryService: podinfo-canary\n"
        "      stableService: podinfo-stable\n      trafficRouting:\n        plugins:\n"
        f"          argoproj-labs/gatewayAPI:\n{p}"
        "      steps:\n        - setWeight: 30\n        - pause: {}\n"
    )


def test_argo_plugin_weighs_the_users_httproute(tmp_path: Path) -> None:
    loaded = load(tmp_path, scenario("linkerd", ARGO_SERVICES, HTTPROUTE + rollout()))
    (r,) = loaded.model.rollouts
    assert isinstance(r, ArgoRollout)
    assert (r.target.host, r.target.primary, r.target.canary) == (
        "podinfo", Version("podinfo-stable"), Version("podinfo-canary"))
    assert r.target.routes == ("default/argo-rollouts-http-route/rule0",)
    (route,) = policy(loaded).routes["podinfo"]
    assert route.backends == (Backend("podinfo-stable", weight=100, port=9898),
                              Backend("podinfo-canary", weight=0, port=9898))
    assert [s.kind for s in r.steps] == ["setWeight", "pause"]
    assert r.steps[1].duration is None  # pause: {} waits for a promotion


def test_argo_plugin_http_routes_list_and_namespace(tmp_path: Path) -> None:
    plugin = "httpRoutes:\n  - name: argo-rollouts-http-route\nnamespace: default"
    loaded = load(tmp_path, scenario("linkerd", ARGO_SERVICES, HTTPROUTE + rollout(plugin)))
    assert loaded.model.rollouts[0].target.routes == ("default/argo-rollouts-http-route/rule0",)


ARGO_ERRORS = [
    (HTTPROUTE + rollout("httpRoute: nope"), "HTTPRoute default/nope", "httpRoute: nope",
     "Rollout/rollouts-demo spec.strategy.canary.trafficRouting.plugins."
     "argoproj-labs/gatewayAPI.httpRoute"),
    (HTTPROUTE.replace("podinfo-canary, port", "podinfo, port") + rollout(),
     "no rule of HTTPRoute/argo-rollouts-http-route has both backendRefs", "httpRoute: argo",
     "Rollout/rollouts-demo spec.strategy.canary.trafficRouting.plugins."
     "argoproj-labs/gatewayAPI.httpRoute"),
    (HTTPROUTE + rollout("httpRouteSelector: {matchLabels: {a: b}}"),
     "httpRouteSelector (discovering routes by label) is not built", "httpRouteSelector",
     "Rollout/rollouts-demo spec.strategy.canary.trafficRouting.plugins."
     "argoproj-labs/gatewayAPI.httpRouteSelector"),
]


@pytest.mark.parametrize(("manifests", "message", "at", "path"), ARGO_ERRORS)
def test_argo_plugin_errors_are_located(tmp_path: Path, manifests: str, message: str, at: str,
                                        path: str) -> None:
    text = scenario("linkerd", ARGO_SERVICES, manifests)
    exc = error(tmp_path, text)
    assert message in exc.message
    assert exc.location.line == line_of(text, at)
    assert exc.location.path == path


def test_argo_plugin_on_istio_is_an_error(tmp_path: Path) -> None:
    text = scenario("istio", ARGO_SERVICES, rollout())
    exc = error(tmp_path, text)
    assert "meshsim does not translate yet" in exc.message
    assert exc.location.line == line_of(text, "argoproj-labs/gatewayAPI:")


def test_plain_gatewayapi_provider_is_read_as_v1_with_a_warning(tmp_path: Path) -> None:
    text = scenario("linkerd", SPLIT, canary(f"stepWeight: 10\n{METRIC}",
                                             spec="  provider: gatewayapi\n"))
    loaded = load(tmp_path, text)
    assert only(loaded).target.routes == ("default/podinfo/rule0",)
    w = find(loaded.warnings, "meshsim reads plain gatewayapi as gatewayapi:v1")
    assert w.location.line == line_of(text, "provider: gatewayapi")
