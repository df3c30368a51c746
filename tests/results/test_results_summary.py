"""Summary per service/subset and per workload over the window after warm-up."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from meshsim.metrics.sketch import ALPHA  # quantiles come from the latency sketch
from meshsim.results import Results
from meshsim.results.summary import SUMMARY_COLUMNS, WORKLOAD_COLUMNS

CONTRACT = ["service", "subset", "requests", "rps", "success_rate", "p50", "p90", "p99",
            "retries", "retry_ratio", "timeouts", "overflows", "ejections"]


def row(summary: pd.DataFrame, service: str, subset: str = "") -> pd.Series:
    hit = summary[(summary["service"] == service).to_numpy() & (summary["subset"] == subset)]
    assert len(hit) == 1, (service, subset)
    return hit.iloc[0]


def test_columns(results: Results, empty_results: Results) -> None:
    for r in (results, empty_results):
        assert list(r.summary.columns) == list(SUMMARY_COLUMNS)
        assert set(CONTRACT) <= set(r.summary.columns)
        assert list(r.workloads.columns) == list(WORKLOAD_COLUMNS)
        for name in ("requests", "retries", "timeouts", "overflows", "ejections", "attempts"):
            assert r.summary[name].dtype == np.int64
        assert r.summary["aggregate"].dtype == bool


def test_frontend_after_warmup(results: Results) -> None:
    fe = row(results.summary, "frontend")
    # calls starting in [2, 10): 2, 3, 4, 5, 11 (call 1 at 1.0 is warm-up; 2 at 2.0 counts)
    assert fe["requests"] == 5
    assert fe["rps"] == pytest.approx(5 / 8)
    assert fe["success_rate"] == pytest.approx(2 / 5)
    latencies = [0.2, 0.5, 2.0, 0.3, 0.1]
    for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99)):
        assert fe[name] == pytest.approx(np.quantile(latencies, q), rel=ALPHA)
    assert fe["mean_latency"] == pytest.approx(np.mean(latencies))
    assert fe["attempts"] == 7
    assert fe["retries"] == 2
    assert fe["retry_ratio"] == pytest.approx(2 / 5)
    assert fe["attempt_success_rate"] == pytest.approx(2 / 7)
    assert not fe["aggregate"]


def test_warmup_is_excluded(standard, model_factory) -> None:
    with_warmup = Results(model_factory(), standard().finish(), wall_time=0, scenario_meta={})
    without = Results(model_factory(warmup=0.0), standard().finish(), wall_time=0,
                      scenario_meta={})
    assert row(with_warmup.summary, "frontend")["requests"] == 5
    assert row(without.summary, "frontend")["requests"] == 6
    assert row(without.summary, "frontend")["rps"] == pytest.approx(6 / 10)
    # the warm-up overflow (call 9 at 1.5) and ejection (at 1.0) only count without warm-up
    assert row(with_warmup.summary, "reviews", "v1")["overflows"] == 0
    assert row(without.summary, "reviews", "v1")["overflows"] == 1
    assert row(with_warmup.summary, "reviews", "v1")["ejections"] == 0
    assert row(without.summary, "reviews", "v1")["ejections"] == 1


def test_timeouts_overflows_ejections_and_retries(results: Results) -> None:
    v1, v2 = row(results.summary, "reviews", "v1"), row(results.summary, "reviews", "v2")
    assert v1["timeouts"] == 1  # call 10: flag UT
    assert v2["timeouts"] == 0  # URX and UO are not timeouts
    assert row(results.summary, "frontend")["timeouts"] == 1  # request 4: status 0
    assert v2["overflows"] == 1  # call 8's attempt: UO
    assert v2["ejections"] == 1  # at 6.5
    assert v2["retries"] == 2
    assert v2["retry_ratio"] == pytest.approx(1.0)
    assert v1["success_rate"] == pytest.approx(0.5)
    assert v2["success_rate"] == 0.0


def test_aggregate_row_for_a_service_with_subsets(results: Results) -> None:
    summary = results.summary
    agg = row(summary, "reviews", "")
    assert agg["aggregate"]
    assert agg["requests"] == 4
    assert agg["success_rate"] == pytest.approx(1 / 4)
    assert agg["retries"] == 2 and agg["retry_ratio"] == pytest.approx(0.5)
    assert (agg["timeouts"], agg["overflows"], agg["ejections"]) == (1, 1, 1)
    assert agg["p50"] == pytest.approx(np.quantile([0.1, 0.4, 0.001, 0.5], 0.5), rel=ALPHA)
    # services without several subsets have exactly one row and no aggregate
    assert (summary["service"] == "frontend").sum() == 1
    assert summary["aggregate"].sum() == 1


def test_services_without_traffic_get_an_empty_row(results: Results) -> None:
    ratings = row(results.summary, "ratings")
    assert ratings["requests"] == 0 and ratings["rps"] == 0.0
    assert np.isnan(ratings["success_rate"]) and np.isnan(ratings["p99"])


def test_workload_summary(results: Results) -> None:
    wl = results.workloads.set_index("workload")
    assert list(wl.index) == ["admins", "users"]
    users = wl.loc["users"]
    assert users["requests"] == 4  # 2, 3, 4, 5 (1 is warm-up)
    assert users["rps"] == pytest.approx(0.5)
    assert users["success_rate"] == pytest.approx(0.5)
    assert users["timeouts"] == 1
    assert users["p50"] == pytest.approx(np.quantile([0.2, 0.5, 2.0, 0.3], 0.5), rel=ALPHA)
    assert wl.loc["admins", "requests"] == 1
    assert wl.loc["admins", "success_rate"] == 0.0


def test_empty_run_lists_model_services_and_workloads(empty_results: Results) -> None:
    assert sorted(empty_results.summary["service"]) == ["frontend", "ratings", "reviews"]
    assert (empty_results.summary["requests"] == 0).all()
    assert sorted(empty_results.workloads["workload"]) == ["admins", "users"]
    assert (empty_results.workloads["requests"] == 0).all()


def test_a_call_without_any_attempt_is_not_a_negative_retry(book_factory, model_factory) -> None:
    book = book_factory()
    book.request(1, 3.0, 3.0, 503, "FI", attempts=0)  # aborted by fault injection
    book.request(2, 4.0, 4.1, 200, attempts=2)
    results = Results(model_factory(), book.finish(), wall_time=0, scenario_meta={})
    fe = row(results.summary, "frontend")
    assert (fe["requests"], fe["attempts"], fe["retries"]) == (2, 2, 1)
    assert fe["retry_ratio"] == pytest.approx(0.5)
