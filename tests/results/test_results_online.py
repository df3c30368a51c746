"""Results read off the online aggregates equal those computed from the raw frames.

Counts exactly; p50/p90/p99 within the sketch's stated relative error (ALPHA); means within
float rounding. The frame-based functions stay the reference: they are what the aggregates
replace, run here on the same run's raw rows.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import meshsim
from meshsim.metrics.sketch import ALPHA, Sketches
from meshsim.model import Expectation
from meshsim.results import Results, recovery, refusals
from meshsim.results.online import online_requests, retries_after
from meshsim.results.slo import METRICS, RunFrames, check
from meshsim.results.stats import call_metrics
from meshsim.results.summary import summarize, summarize_workloads
from meshsim.results.timeseries import timeseries

QUANTILE_COLUMNS = ("p50", "p90", "p99")
ROUNDED = ("mean_latency",)  # a sum over a count, summed in another order


def _run(path: str, after: float, **changes: object) -> Results:
    """A short run of a shipped scenario: ``after`` seconds past its warm-up."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scenario = meshsim.load(path)
        model = scenario.with_duration(scenario.model.warmup + after).model
        return meshsim.simulate(replace(model, **changes), seed=3)


def _same(online: pd.DataFrame, frames: pd.DataFrame) -> None:
    assert list(online.columns) == list(frames.columns)
    assert len(online) == len(frames)
    for name in online.columns:
        got, want = online[name], frames[name]
        assert str(got.dtype) == str(want.dtype), name
        if name in QUANTILE_COLUMNS or name in ROUNDED:
            a, b = got.to_numpy(dtype=float), want.to_numpy(dtype=float)
            assert np.array_equal(np.isnan(a), np.isnan(b)), name
            rel = ALPHA if name in QUANTILE_COLUMNS else 1e-12
            assert a[~np.isnan(a)] == pytest.approx(b[~np.isnan(b)], rel=rel, abs=0), name
        else:
            pd.testing.assert_series_equal(got, want, check_names=False, obj=name)


RUNS = {
    "retry storm": ("scenarios/retry-storm.yaml", 10.0, {}),
    "mirroring": ("scenarios/istio/mirroring.yaml", 10.0, {}),
    "canary": ("scenarios/canary/shadow-canary.yaml", 15.0, {}),
    "no attempts": ("scenarios/retry-storm.yaml", 6.0, {"record_attempts": False}),
}


@pytest.fixture(scope="module", params=sorted(RUNS))
def run(request: pytest.FixtureRequest) -> Results:
    path, duration, changes = RUNS[request.param]
    return _run(path, duration, **changes)


def test_summary(run: Results) -> None:
    _same(run.summary, summarize(run.calls, run.attempts, run.events, start=run.warmup,
                                 end=run.duration, services=run.model.topology.services))


def test_workloads(run: Results) -> None:
    _same(run.workloads, summarize_workloads(
        run.requests, start=run.warmup, end=run.duration,
        workloads=[w.name for w in run.model.workloads]))


def test_timeseries(run: Results) -> None:
    assert run.online.aggregates.late_calls == 0  # calls arrive in end-time order
    _same(run.timeseries, timeseries(
        run.calls, run.attempts, run.recording.levels, horizon=run.horizon,
        bucket=run.recording.bucket, services=run.model.topology.services))


def test_refusals_and_attempt_count(run: Results) -> None:
    frames = refusals.refusals(run.requests, run.calls, start=run.warmup, end=run.duration,
                               workloads=run.model.workloads,
                               expectations=run.model.expectations)
    pd.testing.assert_frame_equal(run.refused, frames)
    rows = len(run.attempts) or int(run.calls["attempts"].sum())
    assert run.attempt_count == rows
    info = run.run_info()  # run.json's row counts
    assert (info["requests"], info["calls"]) == (len(run.requests), len(run.calls))


def test_open_requests(run: Results) -> None:
    issued = run.recording.issued
    for got, want in zip(run.online.aggregates.request_ids.open_requests(issued, run.duration),
                         recovery.open_requests(run.requests, issued, run.duration),
                         strict=True):
        assert np.array_equal(got, want)


def test_recovery_after_a_fault() -> None:
    """A fault, then requests still open at the end: the verdicts are those of the rows."""
    run = _run("scenarios/pod-crash.yaml", 60.0)
    assert len(run.recovery)
    frames = recovery.frame(recovery.verdicts(run.model, run.requests,
                                              issued=run.recording.issued))
    pd.testing.assert_frame_equal(run.recovery, frames)


@pytest.mark.parametrize("service", ["frontend", "reviews"])
def test_slo_values_match_the_rows(service: str) -> None:
    """Each metric an expectation can check against the same metric of the raw calls."""
    run = _run("scenarios/retry-storm.yaml", 8.0)
    frames = RunFrames(online=run.online, events=run.events, workloads=run.model.workloads,
                       warmup=run.warmup, duration=run.duration)
    calls = run.calls
    start = calls["start"].to_numpy()
    chosen = calls[(start >= run.warmup) & (start < run.duration)
                   & (calls["service"] == service).to_numpy()
                   & ~calls["mirror"].to_numpy(dtype=bool)]
    assert len(chosen)
    exact = call_metrics(chosen, [], run.duration - run.warmup).iloc[0]
    for metric in sorted(METRICS - {"overflows", "ejections"}):
        value = check(frames, Expectation(metric, service))["value"]
        rel = ALPHA if metric in QUANTILE_COLUMNS else 1e-12
        assert value == pytest.approx(float(exact[metric]), rel=rel, abs=0), metric


def _sketch(data: dict[str, object]) -> Sketches:
    return Sketches.from_dict({"alpha": ALPHA, "sketches": {"0": data}})


def test_latency_sketches_survive_json_and_merge_over_seeds() -> None:
    """The stored sketches give the summary's quantiles back, and two seeds' merged sketches
    the quantiles of both runs' latencies together."""
    runs = [_run("scenarios/retry-storm.yaml", 5.0), _run("scenarios/retry-storm.yaml", 5.0)]
    runs[1] = meshsim.simulate(replace(runs[0].model, seed=4))
    stored = [json.loads(json.dumps(run.latency_sketches())) for run in runs]
    row = runs[0].summary.set_index("service").loc["frontend"]
    _, _, values = _sketch(stored[0]["services"]["frontend"]).quantiles([0.5, 0.9, 0.99])
    assert values[0].tolist() == [row["p50"], row["p90"], row["p99"]]
    both = _sketch(stored[0]["workloads"]["users"])
    both.merge(_sketch(stored[1]["workloads"]["users"]))
    latencies = np.concatenate([
        run.requests[(run.requests["start"] >= run.warmup).to_numpy()
                     & (run.requests["workload"] == "users").to_numpy()]["latency"].to_numpy()
        for run in runs
    ])
    _, counts, values = both.quantiles([0.5, 0.9, 0.99])
    assert counts[0] == len(latencies)
    assert values[0] == pytest.approx(np.quantile(latencies, [0.5, 0.9, 0.99]), rel=ALPHA)


def test_retries_and_requests_after_warmup(run: Results) -> None:
    """What the what-if rows and the open-requests line read, against the rows."""
    attempts = run.attempts
    late = attempts["start"].to_numpy() >= run.warmup
    retried = attempts["retry"].to_numpy(dtype=bool) & ~attempts["mirror"].to_numpy(dtype=bool)
    assert retries_after(run.online, run.warmup, run.duration) == int((late & retried).sum())
    requests = run.requests
    _, after = online_requests(run.online, run.warmup, run.duration)
    chosen = requests[(requests["start"] >= run.warmup).to_numpy()]
    assert after["requests"] == len(chosen)
    assert after["success_rate"] == pytest.approx(chosen["ok"].mean(), rel=1e-12)
    agg = run.online.aggregates
    assert agg.request_rows == len(requests)
    assert agg.request_latency == pytest.approx(requests["latency"].sum(), rel=1e-12)
