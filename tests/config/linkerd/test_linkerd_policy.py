"""Defaults, precedence, annotations, errors with locations and warnings for unmodelled fields."""

from __future__ import annotations

import pytest
from linkerd_helpers import find, run, service, topology

from meshsim.errors import ScenarioError
from meshsim.model.linkerd import FailureAccrual, PolicyRetrySpec, TpsBudgetSpec
from meshsim.model.routes import Backend

TOPO = topology(service("web"), service("api"), service("api-v2"),
                service("pinned", labels={"linkerd.io/inject": "disabled"}))

SVC = "apiVersion: v1\nkind: Service\nmetadata:\n  name: api\n  annotations:\n"
SP = ("apiVersion: linkerd.io/v1alpha2\nkind: ServiceProfile\nmetadata:\n"
      "  name: api.default.svc.cluster.local\nspec:\n")
ROUTE = ("apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n  name: r\n"
         "spec:\n  parentRefs: [{name: api, kind: Service, group: core}]\n  rules:\n")


def svc(**annotations: str) -> str:
    return SVC + "".join(f"    {k}: {v!r}\n" for k, v in annotations.items())


def test_defaults_without_any_manifest() -> None:
    result = run("", TOPO)
    policy = result.policy
    assert policy.routes == {} and policy.default_retry is None
    assert policy.default_retry_budget == TpsBudgetSpec(10.0, 10, 0.2)
    backend = policy.default_backend
    assert backend.failure_accrual is None and backend.peak_ewma.default_rtt == 0.030
    assert backend.queue.failfast_timeout == 3.0 and backend.queue.capacity == 10_000
    # No Namespace manifests: everything injected except an opted-out pod.
    assert policy.sidecars == {"web": True, "api": True, "api-v2": True, "pinned": False}
    assert policy.inbound is not None and policy.inbound.default_for("web") == "all-unauthenticated"


def test_profile_without_budget_gets_the_default_budget() -> None:
    result = run(SP + "  routes:\n    - {name: r, condition: {method: GET}, isRetryable: true}\n",
                 TOPO)
    assert result.policy.routes["api"][0].retry_budget == TpsBudgetSpec()


def test_service_annotations_give_a_default_route_and_accrual() -> None:
    result = run(svc(**{"retry.linkerd.io/http": "5xx,429", "retry.linkerd.io/limit": "3",
                        "retry.linkerd.io/timeout": "300ms",
                        "timeout.linkerd.io/request": "5s",
                        "balancer.linkerd.io/failure-accrual": "consecutive"}), TOPO)
    (route,) = result.policy.routes["api"]
    assert route.policy_retry == PolicyRetrySpec(((500, 599), (429, 429)), limit=3, timeout=0.3)
    assert route.timeout == 5.0 and route.backends == (Backend("api"),)
    assert result.policy.backends["api"].failure_accrual == FailureAccrual(7, 1.0, 60.0, 0.5)


def test_limit_only_retries_no_status() -> None:
    result = run(svc(**{"retry.linkerd.io/limit": "0"}), TOPO)
    assert result.policy.routes["api"][0].policy_retry == PolicyRetrySpec((), limit=1)


def test_route_inherits_groups_wholesale() -> None:
    # linkerd.md C8 parent_retries_and_timeouts.
    text = svc(**{"retry.linkerd.io/http": "5xx", "timeout.linkerd.io/response": "10s"}) + \
        "---\n" + ROUTE.replace("  name: r\n", "  name: r\n  annotations: "
                                "{timeout.linkerd.io/request: 5s}\n") + \
        "    - backendRefs: [{name: api}]\n"
    (route,) = run(text, TOPO).policy.routes["api"]
    assert route.policy_retry == PolicyRetrySpec(((500, 599),))
    assert route.timeout == 5.0 and route.response_timeout == 0.0


def test_profile_path_wins_over_annotations_and_routes() -> None:
    text = svc(**{"retry.linkerd.io/http": "5xx",
                  "balancer.linkerd.io/failure-accrual": "consecutive"}) + "---\n" + SP + \
        "  dstOverrides:\n    - {authority: api-v2.default.svc.cluster.local:80, weight: 1}\n" \
        "---\n" + ROUTE + "    - backendRefs: [{name: api}]\n"
    result = run(text, TOPO)
    (route,) = result.policy.routes["api"]
    assert route.policy_retry is None and route.backends == (Backend("api-v2", weight=10000,
                                                                     port=80),)
    assert "api" not in result.policy.backends
    overridden = [w for w in result.warnings if w.code == "overridden"]
    assert len(overridden) == 3


def test_profile_without_routes_keeps_policy_path() -> None:
    text = SP + "  retryBudget: {retryRatio: 0.5, minRetriesPerSecond: 1, ttl: 5s}\n---\n" + \
        svc(**{"retry.linkerd.io/http": "5xx"})
    result = run(text, TOPO)
    assert result.policy.routes["api"][0].policy_retry is not None
    assert find(result.warnings, "retry budget is not used").code == "no-effect"


def test_invalid_retry_annotation_drops_the_group() -> None:
    result = run(svc(**{"retry.linkerd.io/http": "5xx,700", "timeout.linkerd.io/request": "2s"}),
                 TOPO)
    (route,) = result.policy.routes["api"]
    assert route.policy_retry is None and route.timeout == 2.0
    warning = find(result.warnings, "drops the retry annotations")
    assert warning.code == "dropped" and warning.location.line == 6
    assert warning.location.path == "Service/api metadata.annotations.retry.linkerd.io/http"


def test_invalid_route_annotation_skips_the_route() -> None:
    text = ROUTE.replace("  name: r\n", "  name: r\n  annotations: "
                         "{timeout.linkerd.io/request: 1.5s}\n") + \
        "    - backendRefs: [{name: api-v2}]\n"
    result = run(text, TOPO)
    assert "api" not in result.policy.routes
    assert find(result.warnings, "drops the whole route HTTPRoute/r").code == "dropped"


def test_backend_request_timeout_is_ignored() -> None:
    text = ROUTE + "    - timeouts: {request: 10s, backendRequest: 2s}\n"
    result = run(text, TOPO)
    assert result.policy.routes["api"][0].timeout == 10.0
    warning = find(result.warnings, "backendRequest is accepted but ignored")
    assert warning.location.path == "HTTPRoute/r spec.rules[0].timeouts.backendRequest"


def test_rejected_budget_disables_retries() -> None:
    text = SP + "  routes:\n    - {name: r, condition: {method: GET}, isRetryable: true}\n" \
        "  retryBudget: {retryRatio: 0.2, minRetriesPerSecond: 10, ttl: 1000s}\n"
    result = run(text, TOPO)
    assert result.policy.routes["api"][0].retry_budget is None
    assert find(result.warnings, "rejects the budget").code == "dropped"


def test_condition_composition() -> None:
    text = SP + "  routes:\n    - name: r\n      condition:\n        any:\n" \
        "          - {pathRegex: '/a'}\n          - {pathRegex: '/b'}\n" \
        "        not: {method: POST}\n"
    (route, _) = run(text, TOPO).policy.routes["api"]
    (match,) = route.matches
    assert len(match.any_of) == 2 and match.none_of[0].method is not None


ERRORS = [
    (SP.replace("api.default.svc.cluster.local", "api") + "  routes: []\n",
     "named after the FQDN", 4,
     "ServiceProfile/api metadata.name"),
    (SP.replace("api.default", "nope.default") + "  routes: []\n", "names no service", 4,
     "ServiceProfile/nope.default.svc.cluster.local metadata.name"),
    (SP + "  routes:\n    - {name: r, condition: {method: GET}, timeout: 5}\n",
     "invalid duration", 7, "ServiceProfile/api.default.svc.cluster.local spec.routes[0].timeout"),
    (SP + "  routes:\n    - {name: r, condition: {}}\n", "condition needs at least one", 7,
     "ServiceProfile/api.default.svc.cluster.local spec.routes[0].condition"),
    (SP + "  routes:\n    - {name: r, condition: {pathRegex: '/a(b'}}\n", "does not compile", 7,
     "ServiceProfile/api.default.svc.cluster.local spec.routes[0].condition.pathRegex"),
    (SP + "  routes:\n    - {name: r, condition: {method: GET}, isRetriable: true}\n",
     "unknown field 'isRetriable'; did you mean 'isRetryable'?", 7,
     "ServiceProfile/api.default.svc.cluster.local spec.routes[0].isRetriable"),
    ("apiVersion: split.smi-spec.io/v1alpha1\nkind: TrafficSplit\nmetadata: {name: ts}\n"
     "spec:\n  service: api\n  backends:\n    - {service: api-v3, weight: 900m}\n",
     "backend service 'api-v3'", 7, "TrafficSplit/ts spec.backends[0].service"),
    ("apiVersion: split.smi-spec.io/v1alpha1\nkind: TrafficSplit\nmetadata: {name: ts}\n"
     "spec:\n  service: api\n  backends:\n    - {service: api-v2, weight: 9x}\n",
     "invalid weight", 7, "TrafficSplit/ts spec.backends[0].weight"),
    (ROUTE.replace("name: api,", "name: apx,") + "    - {}\n", "parent Service 'apx'", 6,
     "HTTPRoute/r spec.parentRefs[0].name"),
    (ROUTE + "    - backendRefs: [{name: nope}]\n", "backend Service 'nope'", 8,
     "HTTPRoute/r spec.rules[0].backendRefs[0].name"),
    (ROUTE + "    - timeouts: {request: 1.5s}\n", "invalid duration", 8,
     "HTTPRoute/r spec.rules[0].timeouts.request"),
    ("apiVersion: policy.linkerd.io/v1beta1\nkind: ServerAuthorization\nmetadata: {name: a}\n"
     "spec:\n  server: {name: missing}\n  client: {unauthenticated: true}\n",
     "Server 'missing' does not exist", 5, "ServerAuthorization/a spec.server.name"),
    ("apiVersion: policy.linkerd.io/v1alpha1\nkind: AuthorizationPolicy\nmetadata: {name: p}\n"
     "spec:\n  targetRef: {group: policy.linkerd.io, kind: Server, name: gone}\n",
     "Server 'gone' does not exist", 5, "AuthorizationPolicy/p spec.targetRef.name"),
    ("apiVersion: v1\nkind: Service\nmetadata: {name: ghost}\n", "no service of the scenario",
     3, "Service/ghost metadata.name"),
    ("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: default\n  annotations:\n"
     "    linkerd.io/inject: enable\n", "unknown linkerd.io/inject 'enable'", 6,
     "Namespace/default metadata.annotations.linkerd.io/inject"),
]


@pytest.mark.parametrize(("text", "fragment", "line", "path"), ERRORS)
def test_errors_are_located(text: str, fragment: str, line: int, path: str) -> None:
    with pytest.raises(ScenarioError) as info:
        run(text, TOPO)
    error = info.value
    assert fragment in error.message, error.format()
    assert error.location.file == "linkerd.yaml"
    assert error.location.line == line, error.format()
    assert error.location.path == path


WARNINGS = [
    (SP + "  opaquePorts: '8080'\n", "opaquePorts is not modelled",
     "ServiceProfile/api.default.svc.cluster.local spec.opaquePorts"),
    (ROUTE + "    - filters:\n        - type: URLRewrite\n          urlRewrite: {}\n",
     "urlRewrite is not modelled", "HTTPRoute/r spec.rules[0].filters[0].urlRewrite"),
    (ROUTE.replace("spec:\n", "spec:\n  hostnames: [a.example]\n") + "    - {}\n",
     "hostnames is not modelled", "HTTPRoute/r spec.hostnames"),
    (svc(**{"timeout.linkerd.io/idle": "30s"}), "idle is not modelled",
     "Service/api metadata.annotations.timeout.linkerd.io/idle"),
    (svc(**{"config.linkerd.io/opaque-ports": "8080"}), "opaque-ports is not modelled",
     "Service/api metadata.annotations.config.linkerd.io/opaque-ports"),
    ("apiVersion: split.smi-spec.io/v1alpha4\nkind: TrafficSplit\nmetadata: {name: ts}\n"
     "spec:\n  service: api\n  backends: [{service: api-v2, weight: 1}]\n"
     "  matches: [{kind: HTTPRouteGroup, name: g}]\n", "matches is not modelled",
     "TrafficSplit/ts spec.matches"),
]


@pytest.mark.parametrize(("text", "fragment", "path"), WARNINGS)
def test_unmodelled_fields_warn(text: str, fragment: str, path: str) -> None:
    warning = find(run(text, TOPO).warnings, fragment)
    assert warning.location.path == path
    assert warning.location.line is not None
