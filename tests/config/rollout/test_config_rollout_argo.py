"""Argo Rollouts manifests → ArgoRollout specs, the weighed VirtualService routes, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from rollout_config_helpers import FIXTURES, error, fixture, line_of, load, policy

from meshsim.config import load_scenario_text
from meshsim.errors import ScenarioError
from meshsim.model.rollout import ArgoRollout, ArgoStep, Compare, Version
from meshsim.model.routes import Backend

SUBSET = (FIXTURES / "argo-istio-subset.yaml").read_text()


def only(scenario_: object) -> ArgoRollout:
    rollouts = scenario_.model.rollouts  # type: ignore[attr-defined]
    assert len(rollouts) == 1 and isinstance(rollouts[0], ArgoRollout)
    return rollouts[0]


def test_subset_level_rollout_from_the_docs() -> None:
    s = fixture("argo-istio-subset.yaml")
    r = only(s)
    assert r.target.host == "rollout-example"
    assert (r.target.primary, r.target.canary) == (Version("rollout-example", "stable"),
                                                   Version("rollout-example", "canary"))
    assert r.target.routes == ("primary",)
    kinds = [(st.kind, st.weight, st.duration) for st in r.steps]
    assert kinds == [("setWeight", 5.0, None), ("pause", 0.0, 600.0), ("setWeight", 20.0, None),
                     ("pause", 0.0, 30.0), ("analysis", 0.0, None), ("setWeight", 40.0, None),
                     ("pause", 0.0, None)]  # pause: {} waits for a human
    assert r.start == 20.0 and r.background_start_step == 2
    assert r.background is not None and r.background == r.steps[4].analysis
    (metric,) = r.background.metrics
    assert (metric.name, metric.interval, metric.count, metric.failure_limit) == (
        "success-rate", 300.0, 0, 3)
    assert metric.consecutive_error_limit == 4 and metric.failure is None
    assert metric.success == Compare(">=", 0.95)
    m = metric.measure
    assert (m.kind, m.of, m.window, m.reporter, m.scale) == (
        "success_rate", Version("rollout-example"), 300.0, "source", 1.0)
    (route,) = policy(s).routes["rollout-example"]
    assert route.backends == (Backend("rollout-example", "stable", 100),
                              Backend("rollout-example", "canary", 0))
    # Argo's pod-template-hash makes each DestinationRule subset select one version
    assert policy(s).subsets[("rollout-example", "canary")].labels == {
        "app": "rollout-example", "version": "canary"}


def test_subset_rollout_warnings() -> None:
    s = fixture("argo-istio-subset.yaml")
    located = sorted((w.location.line, w.location.path) for w in s.warnings)
    assert located == [
        (line_of(SUBSET, "replicas: 4"), "Rollout/rollout-example spec.replicas"),
        (line_of(SUBSET, "address:"),
         "AnalysisTemplate/success-rate spec.metrics[0].provider.prometheus.address"),
    ]
    assert not [w for w in s.warnings if w.code == "not-applied"]


def test_smi_rollout_on_linkerd() -> None:
    s = fixture("argo-smi-linkerd.yaml")
    r = only(s)
    assert r.target.host == "rollout-example"
    assert (r.target.primary, r.target.canary) == (Version("rollout-example-stable"),
                                                   Version("rollout-example-canary"))
    assert r.steps[1] == ArgoStep("pause", duration=60.0)
    analysis = r.steps[2].analysis
    assert analysis is not None
    success, latency = analysis.metrics
    assert success.measure.of == Version("rollout-example-canary")
    assert (success.measure.reporter, success.count, success.failure_limit) == (
        "destination", 4, 1)
    assert latency.measure.kind == "latency" and latency.measure.quantile == 0.95
    assert latency.measure.scale == 1000.0 and latency.measure.buckets[0] == 0.001
    assert latency.failure == Compare(">", 250.0)
    (route,) = policy(s).routes["rollout-example"]
    assert route.backends == (Backend("rollout-example-stable", None, 100),
                              Backend("rollout-example-canary", None, 0))


# -- errors: each one line, at the field -----------------------------------------------------------


def _replace(old: str, new: str) -> str:
    assert old in SUBSET
    return SUBSET.replace(old, new, 1)


ERRORS = [
    # (scenario text, message fragment, line fragment, path)
    (_replace("            - primary", "            - main"),
     "VirtualService/rollout-vsvc has no http route named 'main' (its routes: 'primary')",
     "- main",
     "Rollout/rollout-example spec.strategy.canary.trafficRouting.istio.virtualService.routes[0]"),
    (_replace("name: rollout-vsvc\n            routes", "name: other-vsvc\n            routes"),
     "VirtualService 'other-vsvc' is not among the manifests (VirtualServices: rollout-vsvc)",
     "name: other-vsvc",
     "Rollout/rollout-example spec.strategy.canary.trafficRouting.istio.virtualService.name"),
    (_replace("canarySubsetName: canary", "canarySubsetName: preview"),
     "service 'rollout-example' needs a version 'preview' (it has stable, canary)",
     "canarySubsetName: preview",
     "Rollout/rollout-example spec.strategy.canary.trafficRouting.istio.destinationRule"
     ".canarySubsetName"),
    (_replace("      - setWeight: 40", "      - experiment: {duration: 1h}"),
     "experiment: experiments (baseline and canary ReplicaSets side by side) are not built",
     "- experiment:", "Rollout/rollout-example spec.strategy.canary.steps[5].experiment"),
    (_replace("      - setWeight: 40", "      - setMirrorRoute: {name: m}"),
     "mirror routes are not built", "- setMirrorRoute",
     "Rollout/rollout-example spec.strategy.canary.steps[5].setMirrorRoute"),
    (_replace("successCondition: result[0] >= 0.95", "successCondition: result[0] ~ 0.95"),
     "cannot read condition 'result[0] ~ 0.95'", "successCondition:",
     "AnalysisTemplate/success-rate spec.metrics[0].successCondition"),
    (_replace('response_code!~"5.*"', 'response_code!~"4.*"'),
     "cannot read this query: the numerator's response_code!~\"4.*\" is not a 5xx",
     "query:", "AnalysisTemplate/success-rate spec.metrics[0].provider.prometheus.query"),
    (_replace("istio_requests_total{reporter", "http_requests_total{reporter"),
     "metric http_requests_total is not one meshsim measures", "query:",
     "AnalysisTemplate/success-rate spec.metrics[0].provider.prometheus.query"),
    (_replace("        - templateName: success-rate", "        - templateName: error-rate"),
     "AnalysisTemplate 'error-rate' is not among the manifests (AnalysisTemplates: "
     "default/success-rate)", "templateName: error-rate",
     "Rollout/rollout-example spec.strategy.canary.analysis.templates[0].templateName"),
    (_replace("          value: rollout-example.default.svc.cluster.local\n      trafficRouting",
              "          valueFrom: {podTemplateHashValue: Latest}\n      trafficRouting"),
     "argument 'service-name' is used at", "- name: service-name",
     "Rollout/rollout-example spec.strategy.canary.analysis.args[0]"),
    (_replace("  strategy:\n    canary:\n", "  strategy:\n    blueGreen: {activeService: a}\n"
              "    canary:\n"),
     "the blueGreen strategy is not built", "blueGreen:",
     "Rollout/rollout-example spec.strategy.blueGreen"),
    (_replace("    prometheus:\n        address", "    datadog: {query: x}\n"
              "      prometheus:\n        address"),
     "provider datadog is not built", "provider:",
     "AnalysisTemplate/success-rate spec.metrics[0].provider"),
]


@pytest.mark.parametrize(("text", "message", "at", "path"), ERRORS)
def test_errors_are_located(tmp_path: Path, text: str, message: str, at: str, path: str) -> None:
    exc = error(tmp_path, text)
    assert message in exc.message
    assert (exc.location.line, exc.location.path) == (line_of(text, at), path)


def test_route_without_the_canary_destination(tmp_path: Path) -> None:
    text = _replace("    - destination:\n        host: rollout-example\n        subset: canary\n"
                    "      weight: 0\n", "")
    exc = error(tmp_path, text)
    assert "route 'primary' of VirtualService/rollout-vsvc must have a destination " \
        "rollout-example subset canary" in exc.message
    assert exc.location.line == line_of(text, "            - primary")


def test_without_traffic_routing_the_versions_must_hold_spec_replicas(tmp_path: Path) -> None:
    """A basic canary (test_config_rollout_argo_basic.py) scales pods from pools."""
    start = SUBSET.index("      trafficRouting:")
    end = SUBSET.index("      steps:")
    text = SUBSET[:start] + SUBSET[end:]
    exc = error(tmp_path, text)
    assert "spec.replicas is 4 but spec.services.rollout-example.versions.stable.replicas " \
        "is 3" in exc.message
    assert exc.location.path == "Rollout/rollout-example spec.replicas"


def test_istio_routing_on_linkerd_is_an_error(tmp_path: Path) -> None:
    text = (FIXTURES / "argo-smi-linkerd.yaml").read_text().replace("mesh: linkerd",
                                                                     "mesh: istio")
    exc = error(tmp_path, text)
    assert "trafficRouting.smi needs spec.mesh: linkerd (it is istio)" in exc.message
    assert exc.location.line == line_of(text, "smi:")


HOST_LEVEL = """\
apiVersion: meshsim/v1alpha1
kind: Scenario
metadata: {name: host-level}
spec:
  mesh: istio
  duration: 300s
  services:
    frontend: {latency: exponential(2ms), calls: [app]}
    app: {latency: exponential(5ms)}
    app-stable: {latency: exponential(5ms)}
    app-canary: {latency: exponential(5ms)}
  workload:
    - {name: users, target: frontend, rate: 10/s}
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: app}
spec:
  strategy:
    canary:
      canaryService: app-canary
      stableService: app-stable
      trafficRouting:
        istio:
          virtualService: {name: app-vsvc}
      steps:
      - setWeight: 25
      - pause: {duration: 1h}
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: app-vsvc}
spec:
  hosts: [app]
  http:
  - route:
    - {destination: {host: app-stable}, weight: 100}
    - {destination: {host: app-canary}, weight: 0}
"""


def test_host_level_rollout_takes_the_only_route(tmp_path: Path) -> None:
    s = load(tmp_path, HOST_LEVEL)
    r = only(s)
    assert (r.target.host, r.target.primary, r.target.canary) == (
        "app", Version("app-stable"), Version("app-canary"))
    assert r.target.routes == ("app-vsvc.http[0]",)  # routes omitted: the VirtualService's one
    assert r.steps[1].duration == 3600.0
    assert policy(s).routes["app"][0].backends == (Backend("app-stable", None, 100),
                                                   Backend("app-canary", None, 0))


def test_two_controllers_for_one_service(tmp_path: Path) -> None:
    second = HOST_LEVEL.split("---\n")[1].replace("metadata: {name: app}",
                                                  "metadata: {name: app-two}")
    text = HOST_LEVEL + "---\n" + second
    exc = error(tmp_path, text)
    assert "app is already rolled out by Rollout/app" in exc.message
    assert exc.location.line == line_of(text, "apiVersion: argoproj.io", 2)


# -- the AnalysisTemplate against helpers.go and prometheus.go (argoproj/argo-rollouts) -----------

ARGO = (
    "apiVersion: meshsim/v1alpha1\nkind: Scenario\nmetadata: {name: t}\nspec:\n"
    "  mesh: istio\n  duration: 300s\n  warmup: 15s\n  services:\n"
    "    frontend: {latency: exponential(2ms), calls: [api]}\n"
    "    api: {latency: exponential(5ms), versions: {stable: {}, canary: {}}}\n"
    "  workload:\n    - {name: users, target: frontend, rate: 10/s}\n---\n"
    "apiVersion: networking.istio.io/v1beta1\nkind: VirtualService\nmetadata: {name: api}\n"
    "spec:\n  hosts: [api]\n  http:\n    - name: primary\n      route:\n"
    "        - {destination: {host: api, subset: stable}, weight: 100}\n"
    "        - {destination: {host: api, subset: canary}, weight: 0}\n---\n"
    "apiVersion: networking.istio.io/v1beta1\nkind: DestinationRule\nmetadata: {name: api}\n"
    "spec:\n  host: api\n  subsets:\n    - {name: stable, labels: {version: stable}}\n"
    "    - {name: canary, labels: {version: canary}}\n---\n"
    "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: api}\nspec:\n"
    "  strategy:\n    canary:\n      trafficRouting:\n        istio:\n"
    "          virtualService: {name: api, routes: [primary]}\n"
    "          destinationRule: {name: api, canarySubsetName: canary, "
    "stableSubsetName: stable}\n"
    "      steps:\n        - setWeight: 20\n        - analysis: {templates: [{templateName: sr}]}\n"
    "---\napiVersion: argoproj.io/v1alpha1\nkind: AnalysisTemplate\nmetadata: {name: sr}\n"
    "spec:\n  metrics:\n    - name: sr\n"
)
QUERY = (
    "      provider:\n        prometheus:\n          query: >-\n"
    "            sum(rate(istio_requests_total{destination_service_name=\"api\","
    "destination_version=\"canary\",response_code!~\"5.*\"}[1m])) /\n"
    "            sum(rate(istio_requests_total{destination_service_name=\"api\","
    "destination_version=\"canary\"}[1m]))\n"
)


def argo_error(tmp_path: Path, fields: str) -> str:
    body = "".join(f"      {line}\n" for line in fields.strip().splitlines())
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(ARGO + body + QUERY, tmp_path, "s.yaml")
    return info.value.message


def test_argo_template_accepted_as_written(tmp_path: Path) -> None:
    """The control: the same template with result[0] and valid limits loads."""
    body = "successCondition: result[0] >= 0.95\ninterval: 10s\ncount: 3\nfailureLimit: 1\n"
    text = ARGO + "".join(f"      {line}\n" for line in body.splitlines()) + QUERY
    (r,) = load_scenario_text(text, tmp_path, "s.yaml").model.rollouts
    assert isinstance(r, ArgoRollout)


@pytest.mark.parametrize(("fields", "message"), [
    ("successCondition: result[0] >= 0.95\nfailureLimit: -1", "failureLimit must be >= 0"),
    ("successCondition: result[0] >= 0.95\ncount: 3", "interval must be specified"),
    ("successCondition: result[0] >= 0.95\ninterval: 5s\ncount: 2\nfailureLimit: 3",
     "count must be >= failureLimit"),
])
def test_argo_metrics_validate_metric_rejects(tmp_path: Path, fields: str, message: str) -> None:
    """helpers.go ValidateMetric: such an AnalysisRun ends Error at once ("analysis spec
    invalid"), so meshsim refuses the template with the reason."""
    assert message in argo_error(tmp_path, fields)


def test_argo_bare_result_on_a_vector_is_refused(tmp_path: Path) -> None:
    """prometheus.go evaluates a Vector as []float64: ``result >= 0.95`` cannot compile, so
    every measurement is an Error (argo-rollouts#363; the docs write result[0])."""
    assert "write result[0]" in argo_error(tmp_path, "successCondition: result >= 0.95")


@pytest.mark.parametrize(("duration", "seconds"), [
    ("1h30m", 5400.0), ("1.5m", 90.0), ("2500ms", 2.0), ("45", 45.0), ("10m", 600.0)])
def test_argo_pause_takes_go_durations_in_whole_seconds(
        tmp_path: Path, duration: str, seconds: float) -> None:
    """RolloutPause.DurationSeconds: an integer string is seconds, else time.ParseDuration,
    truncated by int32(d.Seconds())."""
    body = "successCondition: result[0] >= 0.95\n"
    text = (ARGO.replace("        - setWeight: 20\n",
                         f"        - setWeight: 20\n        - pause: {{duration: {duration}}}\n")
            + "".join(f"      {line}\n" for line in body.splitlines()) + QUERY)
    (r,) = load_scenario_text(text, tmp_path, "s.yaml").model.rollouts
    assert isinstance(r, ArgoRollout)
    assert r.steps[1] == ArgoStep("pause", duration=seconds)
