"""SLO checks: values, pass/fail, windows, subsets, workload names and no traffic."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from meshsim.metrics.sketch import ALPHA  # quantiles come from the latency sketch
from meshsim.model import Expectation
from meshsim.results import Results
from meshsim.results.slo import SLO_COLUMNS

Build = Callable[..., Results]


def one(build: Build, exp: Expectation) -> dict[str, object]:
    frame = build((exp,)).slo()
    assert len(frame) == 1
    return frame.iloc[0].to_dict()


def test_columns(standard_results: Build) -> None:
    frame = standard_results((Expectation("p99", "frontend", max=1.0),)).slo()
    assert list(frame.columns) == list(SLO_COLUMNS)
    assert frame["passed"].dtype == bool
    empty = standard_results().slo()
    assert empty.empty and list(empty.columns) == list(SLO_COLUMNS)


def test_pass_and_fail_on_the_same_value(standard_results: Build) -> None:
    ok = one(standard_results, Expectation("success_rate", "frontend", min=0.4))
    bad = one(standard_results, Expectation("success_rate", "frontend", min=0.41))
    assert ok["value"] == pytest.approx(0.4) and ok["passed"]
    assert bad["value"] == pytest.approx(0.4) and not bad["passed"]
    assert bad["description"].startswith("FAIL success_rate of frontend in [2s, 10s)")
    assert "40%" in bad["description"]
    assert (ok["window_start"], ok["window_end"]) == (2.0, 10.0)
    assert ok["min"] == 0.4 and math.isnan(ok["max"])


def test_latency_bounds(standard_results: Build) -> None:
    p99 = one(standard_results, Expectation("p99", "frontend", max=1.0))
    assert p99["value"] == pytest.approx(np.quantile([0.2, 0.5, 2.0, 0.3, 0.1], 0.99), rel=ALPHA)
    assert not p99["passed"]
    p50 = one(standard_results, Expectation("p50", "frontend", max=0.3))
    assert p50["value"] == pytest.approx(0.3, rel=ALPHA) and p50["passed"]
    at = one(standard_results, Expectation("p50", "frontend", max=p50["value"]))
    assert at["passed"]  # bounds are inclusive
    mean = one(standard_results, Expectation("mean_latency", "frontend", max=0.7))
    assert mean["value"] == pytest.approx(0.62) and mean["passed"]


def test_no_traffic_cannot_tell(standard_results: Build) -> None:
    idle = one(standard_results, Expectation("success_rate", "ratings", min=0.0))
    assert math.isnan(idle["value"]) and not idle["passed"]
    assert idle["outcome"] == "cannot tell" and idle["note"] == "no requests in the window"
    assert idle["description"].startswith("CANNOT TELL success_rate of ratings")
    late = one(standard_results, Expectation("rps", "frontend", window=(8.0, 10.0), min=0.0))
    assert not late["passed"] and late["outcome"] == "cannot tell"
    assert not standard_results((Expectation("success_rate", "ratings", min=0.0),)).passed


def test_explicit_window_and_subset(standard_results: Build) -> None:
    # calls to frontend starting in [5, 7): 5 (404, ok) and 11 (500)
    win = one(standard_results, Expectation("success_rate", "frontend", window=(5.0, 7.0)))
    assert win["value"] == pytest.approx(0.5)
    assert (win["window_start"], win["window_end"]) == (5.0, 7.0)
    v1 = one(standard_results, Expectation("success_rate", "reviews", subset="v1", min=0.5))
    assert v1["value"] == pytest.approx(0.5) and v1["passed"] and v1["subset"] == "v1"
    whole = one(standard_results, Expectation("success_rate", "reviews"))
    assert whole["value"] == pytest.approx(0.25)


def test_count_and_ratio_metrics(standard_results: Build) -> None:
    def value(metric: str, service: str, subset: str | None = None) -> float:
        return float(one(standard_results, Expectation(metric, service, subset))["value"])

    assert value("rps", "frontend") == pytest.approx(5 / 8)
    assert value("retry_ratio", "reviews", "v2") == pytest.approx(1.0)
    assert value("timeouts", "reviews") == 1
    assert value("overflows", "reviews") == 1
    assert value("ejections", "reviews", "v2") == 1
    assert value("ejections", "reviews", "v1") == 0  # the v1 ejection was during warm-up


def test_workload_name_uses_its_requests(standard_results: Build) -> None:
    users = one(standard_results, Expectation("success_rate", "users", min=0.5))
    assert users["value"] == pytest.approx(0.5) and users["passed"]  # frontend sees 0.4
    assert "workload users" in users["description"]
    admins = one(standard_results, Expectation("success_rate", "admins"))
    assert admins["value"] == 0.0
    # ejections a workload sees are those made by its own client proxies
    assert one(standard_results, Expectation("ejections", "users"))["value"] == 1
    assert one(standard_results, Expectation("ejections", "admins"))["value"] == 0
    assert one(standard_results, Expectation("timeouts", "users"))["value"] == 1


def test_passed_means_every_expectation_held(standard_results: Build) -> None:
    good = Expectation("success_rate", "frontend", min=0.3)
    bad = Expectation("p99", "frontend", max=0.1)
    assert standard_results((good,)).passed
    assert not standard_results((good, bad)).passed
    assert standard_results(()).passed
    frame = standard_results((good, bad)).slo()
    assert frame["passed"].tolist() == [True, False]


def test_label_is_kept(standard_results: Build) -> None:
    exp = Expectation("success_rate", "frontend", min=0.3, label="frontend mostly ok")
    assert one(standard_results, exp)["expectation"] == "frontend mostly ok"


def test_a_window_the_run_does_not_cover_cannot_tell() -> None:
    """``simulate(duration=...)`` may end a run inside (or before) an SLO window: the window
    stays as written and the check neither passes nor fails."""
    import meshsim

    scenario = meshsim.load("scenarios/pod-crash.yaml")
    results = meshsim.simulate(scenario, duration=50.0)
    slo = results.slo()
    cut = slo.iloc[1]  # window [40s, 60s) on a 50 s run
    assert (cut["window_start"], cut["window_end"]) == (40.0, 60.0)
    assert cut["outcome"] == "cannot tell" and not cut["passed"] and not results.passed
    assert "the run ends at 50s, inside the window" in cut["note"]
    assert "over [40s, 50s) only" in cut["note"] and not math.isnan(cut["value"])
    results = meshsim.simulate(scenario, duration=30.0)
    late = results.slo().iloc[1]  # starts at 40 s: nothing to evaluate
    assert (late["window_start"], late["window_end"]) == (40.0, 60.0)
    assert late["outcome"] == "cannot tell" and math.isnan(late["value"])
    assert late["note"] == "the run ends at 30s, before this window starts"


def test_a_count_over_its_max_fails_even_in_a_cut_window(standard_results: Build) -> None:
    # standard runs end at 10 s; a timeout already counted cannot be taken back
    over = Expectation("timeouts", "reviews", window=(2.0, 20.0), max=0)
    under = Expectation("timeouts", "reviews", window=(2.0, 20.0), max=5)
    assert one(standard_results, over)["outcome"] == "fail"
    assert one(standard_results, under)["outcome"] == "cannot tell"


def test_a_service_slo_leaves_out_mirror_copies() -> None:
    """An SLO on a whole service judges what its callers were served: the mirror copies sent
    to a failing shadow subset are the shadow's own load (the summary row agrees)."""
    import meshsim

    scenario = meshsim.load("scenarios/istio/mirroring.yaml").with_overrides({"spec.expect": [
        {"metric": "success_rate", "service": "my-service", "min": 0.0},
        {"metric": "rps", "service": "my-service", "min": 0.0},
    ]})
    results = meshsim.simulate(scenario, duration=15.0)
    slo = results.slo().set_index("metric")["value"]
    row = results.summary.set_index(["service", "subset"]).loc[("my-service", "")]
    shadow = results.summary.set_index(["service", "subset"]).loc[("my-service", "v2")]
    assert shadow["success_rate"] < 0.95  # the copies fail: counting them would show here
    assert slo["success_rate"] == pytest.approx(row["success_rate"]) == pytest.approx(1.0)
    assert slo["rps"] == pytest.approx(row["rps"])


STUCK = """\
apiVersion: meshsim/v1alpha1
kind: Scenario
metadata: {name: stuck}
spec:
  mesh: none
  duration: 12s
  warmup: 2s
  services:
    backend: {replicas: 2, concurrency: 1000, latency: constant(5ms)}
  workload:
    - {name: users, target: backend, rate: 100/s, arrival: constant, timeout: 0}
  faults:
    - {at: 4s, for: 8s, target: backend-0, latency: +100s}
  expect:
    - {metric: success_rate, service: backend, min: 0.99}
    - {metric: p99, service: backend, max: 100ms}
    - {metric: success_rate, service: backend, window: [2s, 4s], min: 0.99}
"""


def test_requests_never_answered_do_not_make_a_pass(tmp_path: Path) -> None:
    """From 4 s every other request waits on backend-0 past the end of the run (no timeout):
    the finished ones are all fast and ok, so without the open ones the SLOs would pass."""
    import meshsim
    from meshsim.config.scenario import load_scenario_text

    results = meshsim.simulate(load_scenario_text(STUCK, base_dir=tmp_path))
    assert results.recording.in_flight_at_end > 300
    share, p99, before = results.slo().to_dict("records")
    assert share["value"] == 1.0 and share["outcome"] == "cannot tell" and not results.passed
    assert "were still open when the run ended, older than any that finished" in share["note"]
    assert p99["outcome"] == "cannot tell" and p99["value"] < 0.1
    assert before["outcome"] == "pass"  # nothing issued before the fault is still open


def test_an_slo_on_a_workload_judges_its_end_to_end_requests() -> None:
    """The format reference says ``service`` may name a workload: the SLO then reads the
    workload's end-to-end requests (and agrees with the workloads frame)."""
    import meshsim

    scenario = meshsim.load("scenarios/istio/mirroring.yaml").with_overrides({"spec.expect": [
        {"metric": "success_rate", "service": "users", "min": 0.0},
        {"metric": "rps", "service": "users", "min": 0.0},
    ]})
    results = meshsim.simulate(scenario, duration=15.0)
    slo = results.slo().set_index("metric")["value"]
    row = results.workloads.set_index("workload").loc["users"]
    assert slo["success_rate"] == pytest.approx(row["success_rate"])
    assert slo["rps"] == pytest.approx(row["rps"])
    with pytest.raises(meshsim.ScenarioError, match="is a workload: its end-to-end requests"):
        meshsim.load("scenarios/istio/mirroring.yaml").with_overrides({"spec.expect": [
            {"metric": "rps", "service": "users", "subset": "v1", "min": 0.0}]})
