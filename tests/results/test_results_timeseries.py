"""The per-second time series: grid completeness, counts, percentiles, levels, aggregates."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from meshsim.metrics.sketch import ALPHA  # quantiles come from the latency sketch
from meshsim.model import Model
from meshsim.results import Results
from meshsim.results.timeseries import TIMESERIES_COLUMNS

CONTRACT = ["time", "service", "subset", "offered", "completed", "goodput", "success_rate",
            "p50", "p90", "p99", "retries", "in_flight", "queue_depth", "ejected"]


def series(results: Results, service: str, subset: str = "") -> pd.DataFrame:
    ts = results.timeseries
    mask = (ts["service"] == service) & (ts["subset"] == subset)
    return ts[mask.to_numpy()].set_index("time")


def test_columns_and_dtypes(results: Results, empty_results: Results) -> None:
    for r in (results, empty_results):
        ts = r.timeseries
        assert list(ts.columns) == list(TIMESERIES_COLUMNS)
        assert set(CONTRACT) <= set(ts.columns)
        assert str(ts["service"].dtype) == "category"
        assert ts["aggregate"].dtype == bool
        for name in CONTRACT[3:]:
            assert ts[name].dtype == np.float64, name


def test_every_second_for_every_service_and_subset(results: Results) -> None:
    ts = results.timeseries
    keys = set(zip(ts["service"].astype(str), ts["subset"].astype(str), strict=True))
    # ratings never saw a call but is a service of the model; reviews gets its aggregate row.
    assert keys == {("frontend", ""), ("ratings", ""), ("reviews", ""), ("reviews", "v1"),
                    ("reviews", "v2")}
    for _, part in ts.groupby(["service", "subset"], observed=True):
        assert part["time"].tolist() == [float(t) for t in range(10)]


def test_counts_per_second(results: Results) -> None:
    fe = series(results, "frontend")
    # calls to frontend end at 1.1, 2.2, 3.5 (503), 5.3 (404), 6.0 (status 0), 6.1 (500)
    assert fe["completed"].tolist() == [0, 1, 1, 1, 0, 1, 2, 0, 0, 0]
    assert fe["goodput"].tolist() == [0, 1, 1, 0, 0, 1, 0, 0, 0, 0]
    # attempts start at 1.0, 2.0, 3.0, 3.1 (retry), 3.3 (retry), 4.0, 5.0, 6.0
    assert fe["offered"].tolist() == [0, 1, 1, 3, 1, 1, 1, 0, 0, 0]
    assert fe["retries"].tolist() == [0, 0, 0, 2, 0, 0, 0, 0, 0, 0]
    assert fe.loc[5.0, "success_rate"] == 1.0
    assert fe.loc[6.0, "success_rate"] == 0.0
    assert np.isnan(fe.loc[0.0, "success_rate"])  # nothing finished: NaN, not 0 or 1
    assert series(results, "ratings")["offered"].sum() == 0


def test_percentiles_of_calls_finished_each_second(book_factory, model_factory) -> None:
    book = book_factory()
    latencies = [0.01 * k for k in range(1, 11)]  # 10 ms .. 100 ms, all finishing in second 3
    for i, lat in enumerate(latencies, start=1):
        book.request(i, 3.5 - lat, 3.5, 200)
    book.request(99, 5.0, 5.25, 200)  # a lone call in second 5
    results = Results(model_factory(), book.finish(), wall_time=0.0, scenario_meta={})
    fe = series(results, "frontend")
    assert fe.loc[3.0, "p50"] == pytest.approx(0.055, rel=ALPHA)
    assert fe.loc[3.0, "p90"] == pytest.approx(0.091, rel=ALPHA)
    assert fe.loc[3.0, "p99"] == pytest.approx(0.0991, rel=ALPHA)
    assert fe.loc[3.0, "p99"] == pytest.approx(np.quantile(latencies, 0.99), rel=ALPHA)
    assert fe.loc[5.0, ["p50", "p90", "p99"]].tolist() == pytest.approx([0.25] * 3)
    assert fe.loc[[0.0, 4.0, 9.0], "p50"].isna().all()
    assert fe.loc[3.0, "completed"] == 10


def test_time_weighted_levels(results: Results) -> None:
    fe = series(results, "frontend")
    # in flight 2 over [0.5, 1.5): a mean of 1 in second 0 and in second 1
    assert fe["in_flight"].tolist()[:3] == pytest.approx([1.0, 1.0, 0.0])
    assert series(results, "reviews", "v1").loc[2.0, "queue_depth"] == pytest.approx(1.0)
    assert series(results, "reviews", "v2").loc[2.0, "queue_depth"] == pytest.approx(2.0)
    # the aggregate row sums the subsets' levels
    assert series(results, "reviews").loc[2.0, "queue_depth"] == pytest.approx(3.0)
    assert series(results, "reviews").loc[3.0, "queue_depth"] == 0.0


def test_aggregate_row_is_the_sum_of_its_subsets(results: Results) -> None:
    agg = series(results, "reviews")
    v1, v2 = series(results, "reviews", "v1"), series(results, "reviews", "v2")
    for column in ("offered", "completed", "goodput", "retries"):
        np.testing.assert_array_equal(agg[column], v1[column] + v2[column])
    assert agg["completed"].sum() == 5
    assert agg["aggregate"].all() and not v1["aggregate"].any()
    assert not series(results, "frontend")["aggregate"].any()


def test_offered_falls_back_to_call_attempts(standard, model_factory) -> None:
    results = Results(model_factory(record_attempts=False), standard(False).finish(),
                      wall_time=0.0, scenario_meta={})
    fe = series(results, "frontend")
    assert fe.loc[3.0, "offered"] == 3.0  # call 3 made 3 attempts
    assert fe.loc[3.0, "retries"] == 2.0
    assert fe["completed"].sum() == 6


def test_empty_run_gives_a_zero_filled_grid(empty_results: Results) -> None:
    ts = empty_results.timeseries
    assert len(ts) == 3 * 10  # three model services, ten seconds
    assert (ts[["offered", "completed", "goodput", "retries"]] == 0).all().all()
    assert ts["success_rate"].isna().all()


# -- mirror copies -----------------------------------------------------------------------------
def _mirrored_book(book_factory: Callable[..., Any]) -> Any:
    """frontend calls reviews v1 (served) and mirrors each call to reviews v2 (a failing,
    slow shadow), in second 3."""
    book = book_factory()
    for k in range(4):
        start = 3.0 + 0.1 * k
        book.request(k + 1, start, start + 0.05, 200)
        book.call(10 + k, k + 1, "frontend-0", "reviews", "v1", start, start + 0.02, 200,
                  depth=1)
        book.attempt(k + 1, 10 + k, "frontend-0", "reviews", "v1", "reviews-v1-0", 1, start,
                     start + 0.02, 200)
        book.rec.call(20 + k, k + 1, book.i("frontend-0"), book.i("reviews"), book.i("v2"),
                      start, start + 0.3, 500, book.i(""), 1, 1, True)
        book.attempt(k + 1, 20 + k, "frontend-0", "reviews", "v2", "reviews-v2-0", 1, start,
                     start + 0.3, 500, mirror=True)
    return book


def test_mirror_copies_count_only_in_the_shadows_own_row(
    book_factory: Callable[..., Any], model_factory: Callable[..., Model]
) -> None:
    results = Results(model_factory(), _mirrored_book(book_factory).finish(), wall_time=0.0,
                      scenario_meta={})
    served, shadow, agg = (series(results, "reviews", "v1"), series(results, "reviews", "v2"),
                           series(results, "reviews"))
    # the shadow's own row shows its load and failures, and that they are mirror copies
    assert shadow.loc[3.0, ["completed", "goodput", "offered", "mirrored"]].tolist() == [
        4, 0, 4, 4]
    # what the callers were served: v1's calls only, all good
    for column in ("offered", "completed", "goodput", "success_rate"):
        np.testing.assert_array_equal(agg[column], served[column], err_msg=column)
    assert agg.loc[3.0, "success_rate"] == 1.0
    assert agg["mirrored"].sum() == 0


@pytest.mark.parametrize(("path", "service", "served", "shadow"), [
    ("scenarios/istio/mirroring.yaml", "my-service", "v1", "v2"),
    ("scenarios/canary/shadow-mirror.yaml", "podinfo", "primary", "canary"),
])
def test_mirroring_scenarios_do_not_inflate_what_callers_were_served(
    path: str, service: str, served: str, shadow: str
) -> None:
    import meshsim

    results = meshsim.simulate(path, duration=15.0)
    agg, main = series(results, service), series(results, service, served)
    copies = series(results, service, shadow)
    assert copies["mirrored"].sum() == copies["completed"].sum() > 0
    for column in ("completed", "goodput", "offered"):
        np.testing.assert_array_equal(agg[column], main[column], err_msg=column)
    workload = results.workloads.set_index("workload").loc["users"]
    summary = results.summary.set_index(["service", "subset"])
    # the service's throughput is the users' request rate, not that plus the copies
    assert summary.loc[(service, ""), "rps"] == pytest.approx(workload["rps"])
    assert summary.loc[(service, ""), "requests"] == summary.loc[(service, served), "requests"]
    assert summary.loc[(service, ""), "success_rate"] == pytest.approx(workload["success_rate"])


def test_overflows_and_local_replies_per_second(results: Results) -> None:
    rv = series(results, "reviews")
    # 503 UO attempts: reviews/v1 at 1.5 and reviews/v2 at 6.0; 504 UT on reviews/v1 at 7.0
    assert rv["overflows"].tolist() == [0, 1, 0, 0, 0, 0, 1, 0, 0, 0]
    assert rv["local_replies"].tolist() == [0, 1, 0, 0, 0, 0, 1, 1, 0, 0]
    assert series(results, "reviews", "v2")["overflows"].tolist()[6] == 1
    assert series(results, "frontend")["local_replies"].sum() == 0  # URX is the upstream's 503


def test_denied_calls_per_second(book_factory: Callable[..., Any],
                                 model_factory: Callable[..., Model]) -> None:
    book = book_factory()
    book.request(1, 2.0, 2.1, 403)  # an authorization policy refused it
    book.request(2, 2.2, 2.3, 403, "FI")  # an injected abort with status 403 is no denial
    book.request(3, 4.0, 4.1, 200)
    fe = series(Results(model_factory(), book.finish(), wall_time=0.0, scenario_meta={}),
                "frontend")
    assert fe["denied"].tolist() == [0, 0, 1, 0, 0, 0, 0, 0, 0, 0]
    assert fe.loc[2.0, "goodput"] == 2  # the meshes count a 403 as a success; so does goodput


def test_local_replies_made_before_any_attempt(book_factory: Callable[..., Any],
                                               model_factory: Callable[..., Model]) -> None:
    """An injected abort (FI) or a missing route (NR) is answered by the caller's proxy before
    any attempt leaves: the call has no attempt row, and still counts."""
    book = book_factory()
    book.request(1, 3.2, 3.2, 503, "FI", attempts=0)
    book.request(2, 3.4, 3.4, 404, "NR", attempts=0)
    book.request(3, 3.6, 3.7, 200, "DI")
    book.attempt(3, 3, "users-0", "frontend", "", "frontend-0", 1, 3.6, 3.7, 200)
    fe = series(Results(model_factory(), book.finish(), wall_time=0.0, scenario_meta={}),
                "frontend")
    assert fe.loc[3.0, "local_replies"] == 2
    assert fe.loc[3.0, "overflows"] == 0
    assert fe["local_replies"].sum() == 2
