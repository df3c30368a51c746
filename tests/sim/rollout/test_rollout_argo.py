"""Argo Rollouts' canary steps and AnalysisRuns in the engine."""

from __future__ import annotations

import math

import numpy as np
import pytest
from rollout_helpers import (
    CANARY,
    TARGET,
    app_model,
    binomial_ok,
    even_app_model,
    events,
    names,
    run,
)

from meshsim.config.manifest.nodes import Node
from meshsim.config.manifests import Manifest
from meshsim.config.rollout.conditions import parse_condition
from meshsim.model.rollout import (
    AllOf,
    ArgoAnalysis,
    ArgoMetric,
    ArgoRollout,
    ArgoStep,
    Compare,
    Condition,
    Measure,
    Not,
)
from meshsim.sim import Simulation
from meshsim.sim.rollout.analysis import MetricResult, assess, evaluate
from meshsim.sim.rollout.conditions import holds, render

T0 = 5.0
RATE = Measure("success_rate", CANARY, window=5.0)


def metric(**kw: object) -> ArgoMetric:
    spec: dict[str, object] = {"name": "success-rate", "measure": RATE,
                               "success": Compare(">=", 0.95), "interval": 5.0}
    spec.update(kw)
    return ArgoMetric(**spec)  # type: ignore[arg-type]


def rollout(*steps: ArgoStep, **kw: object) -> ArgoRollout:
    return ArgoRollout(name="app", target=TARGET, steps=steps, start=T0, **kw)  # type: ignore[arg-type]


def test_steps_pause_and_inline_analysis_then_promotion() -> None:
    inline = ArgoAnalysis("inline", (metric(count=2),))
    spec = rollout(
        ArgoStep("setWeight", weight=20), ArgoStep("pause", duration=10),
        ArgoStep("setWeight", weight=50), ArgoStep("analysis", analysis=inline),
        ArgoStep("setWeight", weight=80), ArgoStep("pause", duration=10),
    )
    rec = run(app_model(spec, rate=50, duration=50))
    weights = [(t, float(d["weight"]), d["step"]) for t, d in events(rec, "canary-weight")]
    # The analysis measures at T0+10 and T0+15 (count 2, interval 5) and blocks step 3.
    assert weights == [(T0, 20, "0"), (T0 + 10, 50, "2"), (T0 + 15, 80, "4"),
                       (T0 + 25, 0, "6")]
    checks = events(rec, "canary-check")
    assert [(t, d["result"]) for t, d in checks] == [(T0 + 10, "Successful"),
                                                      (T0 + 15, "Successful")]
    assert checks[0][1]["success"] == "result>=0.95"
    (when, _), = events(rec, "canary-promoted")
    assert when == T0 + 25
    assert [d["phase"] for _, d in events(rec, "canary-phase")] == ["Healthy"]


def test_failing_background_analysis_aborts_to_stable() -> None:
    background = ArgoAnalysis("bg", (metric(failure_limit=1, initial_delay=2.0),))
    spec = rollout(ArgoStep("setWeight", weight=20), ArgoStep("pause", duration=30),
                   ArgoStep("setWeight", weight=60), background=background)
    rec = run(app_model(spec, rate=50, duration=40, canary_errors=0.5))
    checks = events(rec, "canary-check")
    # failureLimit 1: the second failed measurement fails the metric and the run.
    assert [(t, d["result"], d["failed_checks"]) for t, d in checks] == [
        (T0 + 2, "Failed", "1"), (T0 + 7, "Failed", "2")]
    (when, back), = events(rec, "canary-rolled-back")
    assert when == T0 + 7
    assert (back["weight"], back["reason"], back["analysis"], back["metric"]) == (
        "20", "analysis-failed", "bg", "success-rate")
    assert [(t, float(d["weight"])) for t, d in events(rec, "canary-weight")] == [
        (T0, 20), (T0 + 7, 0)]
    assert [d["phase"] for _, d in events(rec, "canary-phase")] == ["Degraded"]
    att = rec.attempts
    to_canary = names(rec, att["pod"]) == "app-canary-0"
    assert not np.any(to_canary & (att["start"] > T0 + 7))


def test_no_traffic_errors_until_the_consecutive_error_limit() -> None:
    """Weight 0: every measurement has no value, an Error; the fifth one ends the run.

    After an Error the next measurement waits DefaultErrorRetryInterval (10 s), not the
    metric's interval (analysis.go ``generateMetricTasks``)."""
    inline = ArgoAnalysis("inline", (metric(interval=5.0, count=3),))
    spec = rollout(ArgoStep("analysis", analysis=inline), ArgoStep("setWeight", weight=50))
    rec = run(app_model(spec, rate=20, duration=50))
    checks = events(rec, "canary-check")
    assert [(d["value"], d["result"]) for _, d in checks] == [("none", "Error")] * 5
    assert [t for t, _ in checks] == [T0 + 10 * i for i in range(5)]
    (_, back), = events(rec, "canary-rolled-back")
    assert back["reason"] == "analysis-error"


def test_indefinite_pause_holds_the_weight_to_the_end() -> None:
    spec = rollout(ArgoStep("setWeight", weight=30), ArgoStep("pause"),
                   ArgoStep("setWeight", weight=100))
    rec = run(app_model(spec, rate=100, duration=45))
    (when, paused), = events(rec, "canary-paused")
    assert when == T0 and paused["until"] == "end"
    assert [float(d["weight"]) for _, d in events(rec, "canary-weight")] == [30]
    # Live weights: the canary's share of calls after T0 is binomial around 30 %.
    calls = rec.calls
    after = calls["start"] > T0
    subset = names(rec, calls["subset"])[after]
    assert binomial_ok(int(np.sum(subset == "canary")), len(subset), 0.30)
    # Before the rollout starts the route's own weights (100/0) hold: weight 0 never picked.
    assert not np.any(names(rec, calls["subset"])[~after] == "canary")


def test_measurement_and_metric_assessment_follow_argo() -> None:
    both = metric(success=Compare(">=", 0.95), failure=Compare("<", 0.9))
    assert evaluate(both, 0.92) == "Inconclusive"
    assert evaluate(both, 0.5) == "Failed" and evaluate(both, 0.99) == "Successful"
    assert evaluate(metric(success=None, failure=Compare("<", 0.9)), 0.92) == "Successful"
    assert evaluate(metric(success=None), 0.1) == "Successful"
    assert evaluate(both, None) == "Error"
    m = metric(count=3, failure_limit=1, inconclusive_limit=0, consecutive_error_limit=4)
    assert assess(m, MetricResult(count=3, failed=1)) == "Successful"
    assert assess(m, MetricResult(count=2, failed=2)) == "Failed"
    assert assess(m, MetricResult(count=1, inconclusive=1)) == "Inconclusive"
    assert assess(m, MetricResult(consecutive_error=4)) == "Running"
    assert assess(m, MetricResult(consecutive_error=5)) == "Error"
    band = AllOf((Compare(">", 0.5), Not(Compare(">=", 0.9))))
    assert holds(band, 0.7) and not holds(band, 0.95) and not holds(band, float("nan"))
    assert render(band) == "(result>0.5&&!result>=0.9)"


def test_no_data_is_an_error_unless_a_condition_asks_about_it() -> None:
    """Argo: ``result[0]`` of an empty vector errors; ``len(result) == 0`` handles it."""
    import math

    from meshsim.model.rollout import AnyOf, ArgoMetric, Compare, Measure, Version
    from meshsim.sim.rollout.analysis import evaluate

    measure = Measure(kind="success_rate", of=Version("api", "canary"))
    plain = ArgoMetric(name="sr", measure=measure, success=Compare(">=", 0.95))
    assert evaluate(plain, None) == "Error"
    assert evaluate(plain, 0.99) == "Successful"
    assert evaluate(plain, 0.5) == "Failed"
    no_data = Compare("==", -math.inf)  # len(result) == 0: the empty vector is -inf
    tolerant = ArgoMetric(
        name="sr", measure=measure, success=AnyOf((no_data, Compare(">=", 0.95))),
    )
    assert evaluate(tolerant, None) == "Successful"
    assert evaluate(tolerant, 0.5) == "Failed"


# -- AnalysisRuns against analysis.go, helpers.go and prometheus.go (argoproj/argo-rollouts) ------


def bare_metric(**kw: object) -> ArgoMetric:
    """One measurement (no interval or count) named ``sr``, at >= 0.95."""
    spec: dict[str, object] = {"name": "sr", "measure": Measure("success_rate", CANARY, 5.0),
                               "success": Compare(">=", 0.95)}
    spec.update(kw)
    return ArgoMetric(**spec)  # type: ignore[arg-type]


def test_argo_error_retry_is_ten_seconds_whatever_the_interval() -> None:
    """generateMetricTasks: after an Error the next measurement is DefaultErrorRetryInterval
    (10 s) after it, not the metric's interval."""
    inline = ArgoAnalysis("inline", (bare_metric(interval=30.0, count=2),))
    rec = Simulation(even_app_model(rollout(ArgoStep("analysis", analysis=inline)),
                               duration=70)).run()
    checks = events(rec, "canary-check")
    assert [(t, d["result"]) for t, d in checks] == [
        (T0 + 10 * i, "Error") for i in range(5)]


def test_argo_last_exceeded_limit_wins() -> None:
    """assessMetricFailureInconclusiveOrError tests failed, inconclusive, consecutive errors
    in that order, each overriding the previous phase."""
    m = bare_metric(interval=5.0, failure_limit=0, inconclusive_limit=0)
    assert assess(m, MetricResult(count=2, failed=1, consecutive_error=5)) == "Error"
    assert assess(m, MetricResult(count=2, failed=1, inconclusive=1)) == "Inconclusive"


def test_argo_no_requests_on_an_exported_series_is_nan_not_an_empty_vector() -> None:
    """prometheus.go hands the condition the vector Prometheus returns: once the canary has
    served requests its series exists, so an empty window is 0/0 = NaN (every comparison
    false: Failed with a successCondition alone), not an empty vector (an Error)."""
    inline = ArgoAnalysis("inline", (bare_metric(),))  # one measurement, failureLimit 0
    spec = rollout(ArgoStep("setWeight", weight=50), ArgoStep("pause", duration=10),
                ArgoStep("setWeight", weight=0), ArgoStep("pause", duration=10),
                ArgoStep("analysis", analysis=inline))
    rec = Simulation(even_app_model(spec, duration=40)).run()
    (when, check), = events(rec, "canary-check")
    assert when == T0 + 20 and (check["value"], check["result"]) == ("NaN", "Failed")
    (_, back), = events(rec, "canary-rolled-back")
    assert back["reason"] == "analysis-failed"


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
    m = bare_metric(success=_condition(text))
    assert (evaluate(m, empty), evaluate(m, nan), evaluate(m, value)) == phases
