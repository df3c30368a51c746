"""Progressive-delivery controllers against the upstream sources (found in review, now fixed).

Each test names the upstream function it follows: ``fluxcd/flagger`` ``pkg/controller/
scheduler.go`` / ``scheduler_metrics.go`` / ``pkg/metrics/observers/istio.go`` /
``pkg/router/istio.go`` and ``argoproj/argo-rollouts`` ``analysis/analysis.go`` /
``utils/analysis/helpers.go`` / ``metricproviders/prometheus/prometheus.go``.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from builders import deployment, model

from meshsim.config import Scenario, load_scenario_text
from meshsim.config.manifest.nodes import Node
from meshsim.config.manifests import Manifest
from meshsim.config.rollout.conditions import parse_condition
from meshsim.errors import ScenarioError
from meshsim.metrics import Recording
from meshsim.metrics.details import decode
from meshsim.model import Constant, Fault, FaultTarget, Model
from meshsim.model.clusters import CircuitBreakers, ClusterPolicy, Subset
from meshsim.model.policy import TrafficPolicy
from meshsim.model.rollout import (
    ArgoAnalysis,
    ArgoMetric,
    ArgoRollout,
    ArgoStep,
    Compare,
    Condition,
    FlaggerCanary,
    FlaggerCheck,
    Measure,
    Rollout,
    TrafficTarget,
    Version,
)
from meshsim.model.routes import Backend, Route, RouteMatch, StringMatch
from meshsim.sim import Simulation
from meshsim.sim.rollout.analysis import MetricResult, assess, evaluate
from meshsim.sim.rollout.flagger import FlaggerScheduler

MS = 1e-3
BIG = 2**32 - 1
PRIMARY, CANARY = Version("app", "primary"), Version("app", "canary")
TARGET = TrafficTarget("app", PRIMARY, CANARY, routes=("app",))
START, INTERVAL = 5.0, 10.0


# -- helpers -----------------------------------------------------------------------------------


def app_model(*rollouts: Rollout, duration: float, rate: float = 50.0,
              canary_errors: float = 0.0) -> Model:
    """Users → app; route ``app`` splits primary 100 / canary 0 until a controller acts."""
    deps = [
        deployment("app", version="primary", latency=Constant(5 * MS), concurrency=64,
                   replicas=2),
        deployment("app", version="canary", latency=Constant(5 * MS), concurrency=64,
                   errors=canary_errors),
    ]
    m = model(deps, rate=rate, duration=duration, mesh="istio", seed=3)
    route = Route("app", backends=(Backend("app", "primary", 100), Backend("app", "canary", 0)))
    subsets = {(v.service, v.subset or ""): Subset(v.service, v.subset or "",
                                                   {"version": v.subset or ""})
               for v in (PRIMARY, CANARY)}
    policy = TrafficPolicy(
        routes={"app": (route,)}, subsets=subsets,
        default_cluster=ClusterPolicy(circuit_breakers=CircuitBreakers(BIG, BIG, BIG, BIG)),
    )
    return replace(m, policy=policy, rollouts=rollouts)


def events(rec: Recording, kind: str) -> list[tuple[float, dict[str, str]]]:
    return [(e[0], decode(e[6])) for e in rec.events if e[1] == kind]


def flagger(**kw: object) -> FlaggerCanary:
    spec: dict[str, object] = {
        "name": "app", "target": TARGET, "strategy": "canary", "interval": INTERVAL,
        "threshold": 2, "step_weight": 25, "max_weight": 50, "start": START,
        "checks": (FlaggerCheck("request-success-rate",
                                Measure("success_rate", CANARY, window=10.0, scale=100.0),
                                min=99),),
    }
    spec.update(kw)
    return FlaggerCanary(**spec)  # type: ignore[arg-type]


def argo_metric(**kw: object) -> ArgoMetric:
    spec: dict[str, object] = {"name": "sr", "measure": Measure("success_rate", CANARY, 5.0),
                               "success": Compare(">=", 0.95)}
    spec.update(kw)
    return ArgoMetric(**spec)  # type: ignore[arg-type]


def argo(*steps: ArgoStep) -> ArgoRollout:
    return ArgoRollout(name="app", target=TARGET, steps=steps, start=START)


# -- Flagger: the scheduler --------------------------------------------------------------------


def test_flagger_detection_tick_moves_no_traffic() -> None:
    """checkCanaryStatus: the tick that detects the revision scales the canary up and returns;
    the first step comes one interval later (it was taken at detection)."""
    rec = Simulation(app_model(flagger(), duration=60)).run()
    (started, _), = events(rec, "canary-start")
    weights = [(t, float(d["weight"])) for t, d in events(rec, "canary-weight")]
    assert started == START
    assert weights[:2] == [(START + INTERVAL, 25.0), (START + 2 * INTERVAL, 50.0)]
    calls = rec.calls
    subset = np.asarray(rec.names, dtype=object)[calls["subset"]].astype(str)
    early = calls["start"] < START + INTERVAL - 0.1
    assert not (subset[early] == "canary").any()  # no live traffic before tick 1


def test_flagger_skip_analysis_promotes_on_the_tick_after_detection() -> None:
    rec = Simulation(app_model(flagger(skip_analysis=True), duration=30)).run()
    (when, _), = events(rec, "canary-promoted")
    assert when == START + INTERVAL


def test_flagger_canary_past_its_deadline_rolls_back_even_while_promoting() -> None:
    """IsCanaryReady runs before the Promoting branch: a non-retriable error rolls back in any
    phase. Ticks: 15 weight 25, 25 weight 50, 35 Promoting; the canary is down from 36."""
    down = Fault(START + 3 * INTERVAL + 1, 200.0, FaultTarget("app", "canary"), down=True)
    spec = flagger(progress_deadline=5.0)
    rec = Simulation(replace(app_model(spec, duration=80), faults=(down,))).run()
    assert [t for t, d in events(rec, "canary-phase") if d["phase"] == "Promoting"] == [35.0]
    (when, back), = events(rec, "canary-rolled-back")
    assert when == START + 5 * INTERVAL and back["reason"] == "progress-deadline"
    assert not events(rec, "canary-promoted")


class _FixedTraffic:
    """A query that always answers ``value`` (the scheduler's checks in isolation)."""

    def __init__(self, value: float) -> None:
        self.value_ = value

    def value(self, measure: Measure, now: float) -> float | None:
        return self.value_


@pytest.mark.parametrize(("p99_ms", "max_ms", "passed"), [
    (500.7, 500.0, True),   # int64(500.7) = 500ms, not > 500ms
    (501.0, 500.9, False),  # time.Duration(500.9) = 500ms < 501ms
    (499.2, 499.9, True),
])
def test_flagger_request_duration_compares_whole_milliseconds(
        p99_ms: float, max_ms: float, passed: bool) -> None:
    """GetRequestDuration: time.Duration(int64(value)) * time.Millisecond, and the bound is
    time.Duration(*tr.Max) * time.Millisecond: both truncated to whole milliseconds."""
    check = FlaggerCheck("request-duration", Measure("latency", CANARY, scale=1000.0),
                         max=max_ms)
    sim = Simulation(app_model(duration=1))
    scheduler = FlaggerScheduler(sim, flagger(checks=(check,)), _FixedTraffic(p99_ms))  # type: ignore[arg-type]
    assert scheduler._checks_pass(0.0) is passed


# -- Flagger: the Canary manifest --------------------------------------------------------------

SCENARIO = (
    "apiVersion: meshsim/v1alpha1\nkind: Scenario\nmetadata: {name: t}\nspec:\n"
    "  mesh: istio\n  duration: 300s\n  warmup: 15s\n  services:\n"
    "    frontend: {latency: exponential(2ms), calls: [podinfo]}\n"
    "    podinfo: {latency: exponential(5ms), versions: {primary: {}, canary: {}}}\n"
    "  workload:\n    - {name: users, target: frontend, rate: 10/s}\n---\n"
    "apiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata: {name: podinfo}\nspec:\n"
    "  targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}\n"
    "  service: {port: 9898}\n  analysis:\n"
)


def load(tmp_path: Path, analysis: str) -> Scenario:
    text = SCENARIO + "".join(f"    {line}\n" for line in analysis.strip().splitlines())
    return load_scenario_text(text, tmp_path, "s.yaml")


def only(s: Scenario) -> FlaggerCanary:
    (c,) = s.model.rollouts
    assert isinstance(c, FlaggerCanary)
    return c


def test_flagger_mirror_weight_zero_mirrors_all_requests(tmp_path: Path) -> None:
    """router/istio.go sets mirrorPercentage only for mirrorWeight > 0: Istio mirrors 100 %."""
    c = only(load(tmp_path, "iterations: 3\nmirror: true\nmirrorWeight: 0"))
    assert c.target.mirror_routes and c.target.mirror_percent == 100.0


def test_flagger_iterations_win_over_step_weight(tmp_path: Path) -> None:
    """advanceCanary tests A/B (match and iterations), then blue/green (iterations), and only
    then the stepWeight canary."""
    s = load(tmp_path, "iterations: 4\nstepWeight: 10")
    assert only(s).strategy == "bluegreen"
    assert any("stepWeight has no effect with iterations" in w.message for w in s.warnings)


def test_flagger_match_with_step_weight_weighs_only_matched_requests(tmp_path: Path) -> None:
    """router/istio.go lays out the A/B routes whenever analysis.match is set: the canary
    weight applies to the matched route, the other requests go to the primary."""
    s = load(tmp_path, "stepWeight: 10\nmatch: [{headers: {x-canary: {exact: 'yes'}}}]")
    c = only(s)
    assert c.strategy == "canary"
    assert s.model.policy is not None
    matched, default = s.model.policy.routes["podinfo"]
    assert c.target.routes == (matched.name,) and matched.matches
    assert default.name not in c.target.routes and not default.matches


def test_flagger_canary_mirror_with_match_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        load(tmp_path, "stepWeight: 10\nmirror: true\nmatch: [{headers: {x: {exact: y}}}]")
    assert "never advances in Flagger" in info.value.message


# -- Argo: the AnalysisRun ---------------------------------------------------------------------


def test_argo_error_retry_is_ten_seconds_whatever_the_interval() -> None:
    """generateMetricTasks: after an Error the next measurement is DefaultErrorRetryInterval
    (10 s) after it, not the metric's interval."""
    inline = ArgoAnalysis("inline", (argo_metric(interval=30.0, count=2),))
    rec = Simulation(app_model(argo(ArgoStep("analysis", analysis=inline)),
                               duration=70)).run()
    checks = events(rec, "canary-check")
    assert [(t, d["result"]) for t, d in checks] == [
        (START + 10 * i, "Error") for i in range(5)]


def test_argo_last_exceeded_limit_wins() -> None:
    """assessMetricFailureInconclusiveOrError tests failed, inconclusive, consecutive errors
    in that order, each overriding the previous phase."""
    m = argo_metric(interval=5.0, failure_limit=0, inconclusive_limit=0)
    assert assess(m, MetricResult(count=2, failed=1, consecutive_error=5)) == "Error"
    assert assess(m, MetricResult(count=2, failed=1, inconclusive=1)) == "Inconclusive"


def test_argo_no_requests_on_an_exported_series_is_nan_not_an_empty_vector() -> None:
    """prometheus.go hands the condition the vector Prometheus returns: once the canary has
    served requests its series exists, so an empty window is 0/0 = NaN (every comparison
    false: Failed with a successCondition alone), not an empty vector (an Error)."""
    inline = ArgoAnalysis("inline", (argo_metric(),))  # one measurement, failureLimit 0
    spec = argo(ArgoStep("setWeight", weight=50), ArgoStep("pause", duration=10),
                ArgoStep("setWeight", weight=0), ArgoStep("pause", duration=10),
                ArgoStep("analysis", analysis=inline))
    rec = Simulation(app_model(spec, duration=40)).run()
    (when, check), = events(rec, "canary-check")
    assert when == START + 20 and (check["value"], check["result"]) == ("NaN", "Failed")
    (_, back), = events(rec, "canary-rolled-back")
    assert back["reason"] == "analysis-failed"


# -- Argo: the AnalysisTemplate ----------------------------------------------------------------

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


def _condition(text: str) -> Condition:
    manifest = Manifest("argoproj.io/v1alpha1", "AnalysisTemplate", "t", "default",
                        {"c": text}, {}, "t.yaml", "rollout")
    parsed = parse_condition(Node.root(manifest)["c"], vector=True)
    assert parsed is not None
    return parsed


@pytest.mark.parametrize(("text", "empty", "nan", "value", "phases"), [
    # len([NaN]) is 1: a series without requests is not "no data" to len().
    ("len(result) == 0 || result[0] >= 0.95", None, math.nan, 0.99,
     ("Successful", "Failed", "Successful")),
    # isNaN(result[0]) on an empty vector indexes out of range: an Error.
    ("isNaN(result[0]) || result[0] >= 0.95", None, math.nan, 0.5,
     ("Error", "Successful", "Failed")),
])
def test_argo_len_and_isnan_tell_empty_from_nan(
        text: str, empty: None, nan: float, value: float, phases: tuple[str, str, str]) -> None:
    """prometheus.go: an empty vector is ``[]`` (``len`` 0, ``result[0]`` errors); a series
    with no requests in the window is ``[NaN]`` (``len`` 1, ``isNaN(result[0])`` true)."""
    m = argo_metric(success=_condition(text))
    assert (evaluate(m, empty), evaluate(m, nan), evaluate(m, value)) == phases


def test_flagger_linkerd_canary_mirror_is_refused(tmp_path: Path) -> None:
    """router/smi.go: SetRoutes ignores the mirror and GetRoutes reports none, so runCanary
    asks for its mirror step on every tick and never shifts traffic."""
    text = (SCENARIO.replace("mesh: istio", "mesh: linkerd").replace(
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
    text = (SCENARIO.replace("  service: {port: 9898}\n",
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
