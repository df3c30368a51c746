"""Flagger Canary manifests → FlaggerCanary specs, generated routes, located errors/warnings."""

from __future__ import annotations

from pathlib import Path

import pytest
from rollout_config_helpers import FIXTURES, error, find, fixture, line_of, load, policy, scenario

from meshsim.config import Scenario, load_scenario_text
from meshsim.errors import ScenarioError
from meshsim.model.rollout import FlaggerCanary, Version
from meshsim.model.routes import Backend, HeaderMatch, RouteMatch, StringMatch

VERSIONS = "podinfo: {latency: exponential(5ms), versions: {primary: {}, canary: {}}}"
SPLIT = (
    "podinfo: {latency: exponential(5ms)}\n"
    "podinfo-primary: {latency: exponential(5ms)}\n"
    "podinfo-canary: {latency: exponential(5ms)}"
)


def canary(analysis: str, service: str = "port: 9898", spec: str = "") -> str:
    """A Canary for podinfo; ``analysis`` and ``service`` are indented under their keys."""
    a = "".join(f"    {line}\n" for line in analysis.strip().splitlines())
    s = "".join(f"    {line}\n" for line in service.strip().splitlines())
    return (
        "apiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata: {name: podinfo}\nspec:\n"
        f"{spec}  targetRef: {{apiVersion: apps/v1, kind: Deployment, name: podinfo}}\n"
        f"  service:\n{s}  analysis:\n{a}"
    )


def only(scenario_: object) -> FlaggerCanary:
    rollouts = scenario_.model.rollouts  # type: ignore[attr-defined]
    assert len(rollouts) == 1 and isinstance(rollouts[0], FlaggerCanary)
    return rollouts[0]


# -- the docs' podinfo example ------------------------------------------------------------------


def test_podinfo_istio_spec_and_generated_route() -> None:
    s = fixture("flagger-podinfo-istio.yaml")
    c = only(s)
    assert (c.strategy, c.interval, c.threshold, c.step_weight, c.max_weight) == (
        "canary", 60.0, 5, 10.0, 50.0)
    assert (c.step_weight_promotion, c.progress_deadline, c.start) == (100.0, 60.0, 60.0)
    assert c.target.host == "podinfo"
    assert (c.target.primary, c.target.canary) == (Version("podinfo", "primary"),
                                                   Version("podinfo", "canary"))
    success, duration = c.checks
    assert (success.name, success.min, success.max) == ("request-success-rate", 99.0, None)
    assert success.measure.kind == "success_rate" and success.measure.scale == 100.0
    assert success.measure.of == Version("podinfo", "canary")
    assert (success.measure.window, success.measure.reporter) == (60.0, "destination")
    assert (duration.max, duration.measure.window, duration.measure.quantile) == (500.0, 30.0,
                                                                                  0.99)
    assert duration.measure.scale == 1000.0
    assert duration.measure.buckets[:4] == (0.0005, 0.001, 0.005, 0.01)  # Istio's, in seconds
    assert duration.measure.buckets[-1] == 3600.0

    (route,) = policy(s).routes["podinfo"]
    assert c.target.routes == (route.name,)
    assert route.backends == (Backend("podinfo", "primary", 100), Backend("podinfo", "canary", 0))
    assert route.retry is not None
    assert (route.retry.num_retries, route.retry.per_try_timeout) == (3, 1.0)
    assert route.retry.retry_on == {"gateway-error", "connect-failure", "refused-stream"}
    subsets = policy(s).subsets
    assert subsets[("podinfo", "canary")].labels == {"app": "podinfo", "version": "canary"}
    assert subsets[("podinfo", "primary")].labels == {"app": "podinfo", "version": "primary"}


def test_podinfo_istio_warnings_are_named_and_located() -> None:
    s = fixture("flagger-podinfo-istio.yaml")
    text = (FIXTURES / "flagger-podinfo-istio.yaml").read_text()
    lines = {w.location.path: (w.location.line, w.message) for w in s.warnings}
    assert lines["Canary/podinfo spec.autoscalerRef"][0] == line_of(text, "autoscalerRef:")
    assert "autoscaling is not modelled" in lines["Canary/podinfo spec.autoscalerRef"][1]
    assert lines["Canary/podinfo spec.service.targetPort"][0] == line_of(text, "targetPort:")
    assert "trafficPolicy" in lines["Canary/podinfo spec.service.trafficPolicy"][1]
    gateway = lines["Canary/podinfo spec.service.gateways[0]"]
    assert gateway[0] == line_of(text, "public-gateway") and "not split" in gateway[1]
    hooks = [w for w in s.warnings if w.code == "not-run"]
    # the load-test hook's hey runs are generated (test_config_rollout_webhooks.py)
    assert [w.location.line for w in hooks] == [line_of(text, "- name: acceptance-test")]
    assert "bash task runs synchronously" in hooks[0].message
    assert not [w for w in s.warnings if w.code == "not-applied"]
    assert all(w.location.file.endswith("flagger-podinfo-istio.yaml") for w in s.warnings)


def test_podinfo_linkerd_uses_flaggers_services_and_linkerd_buckets() -> None:
    s = fixture("flagger-podinfo-linkerd.yaml")
    c = only(s)
    assert (c.target.primary, c.target.canary) == (Version("podinfo-primary"),
                                                   Version("podinfo-canary"))
    assert c.step_weights == (5.0, 10.0, 15.0, 20.0, 25.0, 35.0, 45.0, 60.0, 75.0)
    assert c.max_weight == 75.0  # the last stepWeights entry
    assert (c.interval, c.start) == (30.0, 10.0)  # start: the end of the warm-up
    assert c.checks[1].measure.buckets[:6] == (0.001, 0.002, 0.003, 0.004, 0.005, 0.01)
    assert c.checks[1].measure.buckets[-1] == 50.0
    (route,) = policy(s).routes["podinfo"]
    assert route.name == "default" and c.target.routes == ("default",)
    assert route.backends == (Backend("podinfo-primary", None, 100),
                              Backend("podinfo-canary", None, 0))
    assert route.retry_budget is not None  # linkerd-smi's profile: the default budget


# -- defaults and strategies ---------------------------------------------------------------------


def test_defaults_are_flaggers(tmp_path: Path) -> None:
    text = scenario("istio", VERSIONS, canary("stepWeight: 20\nmetrics:\n"
                                              "  - {name: request-success-rate, "
                                              "thresholdRange: {min: 99}}"))
    c = only(load(tmp_path, text))
    assert (c.interval, c.threshold, c.max_weight, c.step_weight_promotion) == (60.0, 1, 100.0,
                                                                                100.0)
    assert (c.progress_deadline, c.skip_analysis, c.start) == (600.0, False, 15.0)
    assert c.checks[0].measure.window == 60.0  # metric interval 1m
    route = policy(load(tmp_path, text)).routes["podinfo"][0]
    assert route.retry is not None and route.retry.num_retries == 2  # Istio's default policy
    assert route.timeout == 0.0


def test_rollout_start_field(tmp_path: Path) -> None:
    text = scenario("istio", VERSIONS, canary("stepWeight: 20"), extra="  rollout: {start: 90s}\n")
    assert only(load(tmp_path, text)).start == 90.0
    late = scenario("istio", VERSIONS, canary("stepWeight: 20"), extra="  rollout: {start: 9m}\n")
    exc = error(tmp_path, late)
    assert exc.location.line == line_of(late, "rollout:")
    assert "spec.rollout.start: the rollout starts after the run" in str(exc)


def test_short_interval_is_raised_to_ten_seconds(tmp_path: Path) -> None:
    text = scenario("istio", VERSIONS, canary("interval: 5s\nstepWeight: 20"))
    s = load(tmp_path, text)
    assert only(s).interval == 10.0
    warning = find(s.warnings, "below 10s")
    assert warning.location.line == line_of(text, "interval: 5s")


def test_ab_testing_routes_matched_traffic_first(tmp_path: Path) -> None:
    analysis = (
        "interval: 1m\nthreshold: 10\niterations: 10\n"
        "match:\n"
        "  - headers: {x-canary: {exact: insider}}\n"
        "  - headers: {cookie: {regex: \"^(.*?;)?(canary=always)(;.*)?$\"}}\n"
    )
    s = load(tmp_path, scenario("istio", VERSIONS, canary(analysis)))
    c = only(s)
    assert (c.strategy, c.iterations) == ("ab", 10)
    matched, default = policy(s).routes["podinfo"]
    assert c.target.routes == (matched.name,)
    assert matched.matches == (
        RouteMatch(headers=(HeaderMatch("x-canary", StringMatch("exact", "insider")),)),
        RouteMatch(headers=(HeaderMatch("cookie", StringMatch(
            "regex", "^(.*?;)?(canary=always)(;.*)?$")),)),
    )
    assert default.matches == () and default.backends[0] == Backend("podinfo", "primary", 100)


def test_bluegreen_with_mirror(tmp_path: Path) -> None:
    s = load(tmp_path, scenario("istio", VERSIONS, canary("iterations: 10\nmirror: true\n"
                                                          "mirrorWeight: 50")))
    c = only(s)
    assert c.strategy == "bluegreen"
    assert c.target.mirror_routes == c.target.routes
    assert c.target.mirror_percent == 50.0


def test_user_routes_for_the_host_are_replaced_with_a_warning(tmp_path: Path) -> None:
    vs = ("---\napiVersion: networking.istio.io/v1beta1\nkind: VirtualService\n"
          "metadata: {name: mine}\nspec:\n  hosts: [podinfo]\n  http:\n"
          "    - route: [{destination: {host: podinfo, subset: primary}}]\n"
          "---\napiVersion: networking.istio.io/v1beta1\nkind: DestinationRule\n"
          "metadata: {name: mine}\nspec:\n  host: podinfo\n  subsets:\n"
          "    - {name: primary, labels: {version: primary}}\n")
    s = load(tmp_path, scenario("istio", VERSIONS, canary("stepWeight: 10") + vs))
    assert [r.name for r in policy(s).routes["podinfo"]] == ["podinfo.http[0]"]
    assert find(s.warnings, "replaced by Flagger's").code == "overridden"


# -- errors ----------------------------------------------------------------------------------------

ERRORS = [
    # (mesh, services, canary text, message fragment, line fragment, path)
    ("istio", VERSIONS, canary("stepWeight: 10", spec="  provider: linkerd\n"),
     "provider linkerd is for Linkerd but spec.mesh is istio", "provider:",
     "Canary/podinfo spec.provider"),
    ("istio", VERSIONS, canary("stepWeight: 10", spec="  provider: nginx\n"),
     "provider 'nginx' is not modelled", "provider:", "Canary/podinfo spec.provider"),
    ("istio", "podinfo: {latency: exponential(5ms)}", canary("stepWeight: 10"),
     "service 'podinfo' needs a version 'primary' (it has no versions)", "targetRef:",
     "Canary/podinfo spec.targetRef.name"),
    ("linkerd", VERSIONS, canary("stepWeight: 10"),
     "with mesh: linkerd declare services podinfo-primary and podinfo-canary", "targetRef:",
     "Canary/podinfo spec.targetRef.name"),
    ("istio", VERSIONS, canary("interval: 1m"),
     "analysis needs stepWeight or stepWeights", "analysis:", "Canary/podinfo spec.analysis"),
    ("istio", VERSIONS, canary("stepWeight: 10\nmetrics:\n  - name: errors\n"
                               "    templateRef: {name: error-rate}\n"
                               "    thresholdRange: {max: 1}"),
     "MetricTemplate default/error-rate is not among the manifests", "templateRef:",
     "Canary/podinfo spec.analysis.metrics[0].templateRef.name"),
    ("istio", VERSIONS, canary("stepWeight: 10\nmetrics:\n  - name: request-success-rate"),
     "needs thresholdRange min or max", "- name: request-success-rate",
     "Canary/podinfo spec.analysis.metrics[0]"),
    ("istio", VERSIONS, canary("stepWeight: 10\nstepWieght: 5"),
     "unknown field 'stepWieght'; did you mean 'stepWeight'?", "stepWieght",
     "Canary/podinfo spec.analysis.stepWieght"),
    ("istio", VERSIONS, canary("interval: soon\nstepWeight: 10"), "invalid duration",
     "interval: soon", "Canary/podinfo spec.analysis.interval"),
    ("linkerd", SPLIT, canary("iterations: 5\nmatch: [{headers: {x: {exact: y}}}]"),
     "A/B testing (analysis.match) with the linkerd provider is not built", "match:",
     "Canary/podinfo spec.analysis.match"),
]


@pytest.mark.parametrize(("mesh", "services", "manifest", "message", "at", "path"), ERRORS)
def test_errors_are_located(tmp_path: Path, mesh: str, services: str, manifest: str,
                            message: str, at: str, path: str) -> None:
    text = scenario(mesh, services, manifest)
    exc = error(tmp_path, text)
    assert message in exc.message
    assert (exc.location.file.endswith("s.yaml"), exc.location.line, exc.location.path) == (
        True, line_of(text, at), path)


def test_without_a_mesh_a_rollout_is_named_not_applied(tmp_path: Path) -> None:
    text = scenario("none", VERSIONS, canary("stepWeight: 10"))
    s = load(tmp_path, text)
    assert s.model.rollouts == ()
    (warning,) = s.warnings
    assert warning.code == "not-applied"
    assert "Canary/podinfo is loaded but not applied: a rollout needs a mesh" in warning.message
    assert warning.location.line == line_of(text, "apiVersion: flagger.app")


# -- the Canary manifest against router/istio.go, router/smi.go and scheduler.go (fluxcd/flagger) -

PODINFO = (
    "apiVersion: meshsim/v1alpha1\nkind: Scenario\nmetadata: {name: t}\nspec:\n"
    "  mesh: istio\n  duration: 300s\n  warmup: 15s\n  services:\n"
    "    frontend: {latency: exponential(2ms), calls: [podinfo]}\n"
    "    podinfo: {latency: exponential(5ms), versions: {primary: {}, canary: {}}}\n"
    "  workload:\n    - {name: users, target: frontend, rate: 10/s}\n---\n"
    "apiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata: {name: podinfo}\nspec:\n"
    "  targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}\n"
    "  service: {port: 9898}\n  analysis:\n"
)


def load_analysis(tmp_path: Path, analysis: str) -> Scenario:
    """The podinfo Canary with ``analysis`` (YAML, indented under it)."""
    text = PODINFO + "".join(f"    {line}\n" for line in analysis.strip().splitlines())
    return load_scenario_text(text, tmp_path, "s.yaml")


def test_flagger_mirror_weight_zero_mirrors_all_requests(tmp_path: Path) -> None:
    """router/istio.go sets mirrorPercentage only for mirrorWeight > 0: Istio mirrors 100 %."""
    c = only(load_analysis(tmp_path, "iterations: 3\nmirror: true\nmirrorWeight: 0"))
    assert c.target.mirror_routes and c.target.mirror_percent == 100.0


def test_flagger_iterations_win_over_step_weight(tmp_path: Path) -> None:
    """advanceCanary tests A/B (match and iterations), then blue/green (iterations), and only
    then the stepWeight canary."""
    s = load_analysis(tmp_path, "iterations: 4\nstepWeight: 10")
    assert only(s).strategy == "bluegreen"
    assert any("stepWeight has no effect with iterations" in w.message for w in s.warnings)


def test_flagger_match_with_step_weight_weighs_only_matched_requests(tmp_path: Path) -> None:
    """router/istio.go lays out the A/B routes whenever analysis.match is set: the canary
    weight applies to the matched route, the other requests go to the primary."""
    s = load_analysis(tmp_path, "stepWeight: 10\nmatch: [{headers: {x-canary: {exact: 'yes'}}}]")
    c = only(s)
    assert c.strategy == "canary"
    assert s.model.policy is not None
    matched, default = s.model.policy.routes["podinfo"]
    assert c.target.routes == (matched.name,) and matched.matches
    assert default.name not in c.target.routes and not default.matches


def test_flagger_canary_mirror_with_match_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        load_analysis(tmp_path, "stepWeight: 10\nmirror: true\nmatch: [{headers: {x: {exact: y}}}]")
    assert "never advances in Flagger" in info.value.message


def test_flagger_linkerd_canary_mirror_is_refused(tmp_path: Path) -> None:
    """router/smi.go: SetRoutes ignores the mirror and GetRoutes reports none, so runCanary
    asks for its mirror step on every tick and never shifts traffic."""
    text = (PODINFO.replace("mesh: istio", "mesh: linkerd").replace(
        "    podinfo: {latency: exponential(5ms), versions: {primary: {}, canary: {}}}\n",
        "    podinfo: {latency: exponential(5ms)}\n    podinfo-primary: {latency: "
        "exponential(5ms)}\n    podinfo-canary: {latency: exponential(5ms)}\n")
            + "    stepWeight: 10\n    mirror: true\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(text, tmp_path, "s.yaml")
    assert "never advances with the linkerd provider" in info.value.message


def test_flagger_ab_match_merges_into_the_service_match(tmp_path: Path) -> None:
    """router/istio.go mergeMatchConditions: the service match with the A/B match's headers
    (and sourceLabels) put in; the A/B match's uri is dropped, not ANDed."""
    text = (PODINFO.replace("  service: {port: 9898}\n",
                             "  service: {port: 9898, match: [{uri: {prefix: /api}}]}\n")
            + "    iterations: 3\n    match:\n"
              "      - {headers: {x-canary: {exact: 'yes'}}, uri: {prefix: /beta}}\n")
    s = load_scenario_text(text, tmp_path, "s.yaml")
    assert s.model.policy is not None
    matched, default = s.model.policy.routes["podinfo"]
    (merged,) = matched.matches
    assert merged.uri == StringMatch("prefix", "/api") and not merged.all_of
    assert [h.name for h in merged.headers] == ["x-canary"]
    assert default.matches == (RouteMatch(uri=StringMatch("prefix", "/api")),)
    assert any("mergeMatchConditions" in w.message for w in s.warnings)
