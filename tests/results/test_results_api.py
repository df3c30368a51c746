"""The ``Results`` object: construction, caching, identity and its notebook summary."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from meshsim.model import Expectation
from meshsim.results import Results


def test_constructor_and_identity(results: Results) -> None:
    assert results.seed == 7
    assert results.model.name == "unit"
    assert results.name == "unit-scenario"  # the scenario's name wins over the model's
    assert results.wall_time == 0.5
    assert (results.duration, results.warmup) == (10.0, 2.0)


def test_frames_are_computed_once(results: Results) -> None:
    for name in ("requests", "attempts", "calls", "events", "timeseries", "summary",
                 "workloads"):
        assert getattr(results, name) is getattr(results, name), name


def test_nothing_is_decoded_until_asked(results: Results) -> None:
    assert "attempts" not in vars(results)
    _ = results.summary
    assert "summary" in vars(results)
    assert "timeseries" not in vars(results)


def test_slo_returns_a_copy(standard_results: Callable[..., Results]) -> None:
    r = standard_results((Expectation("success_rate", "frontend", min=0.9),))
    frame = r.slo()
    frame.loc[:, "passed"] = True
    assert not r.passed
    assert not r.slo()["passed"].any()


def test_repr_is_a_short_summary(standard_results: Callable[..., Results]) -> None:
    r = standard_results((Expectation("success_rate", "frontend", min=0.3),
                          Expectation("p99", "frontend", max=0.1)))
    text = repr(r)
    assert "\n" not in text and len(text) < 200
    for part in ("unit-scenario", "seed=7", "6 requests", "40.00% ok", "SLOs 1/2 passed"):
        assert part in text


def test_repr_of_an_empty_run(empty_results: Results) -> None:
    assert "0 requests" in repr(empty_results)
    assert "no SLOs" in repr(empty_results)


def test_run_info(results: Results) -> None:
    info = results.run_info()
    assert info["seed"] == 7
    assert info["scenario_hash"] == "abc123"
    assert info["calls"] == 11
    assert info["slo"] == []
    assert info["passed"] is True


def test_attempt_count_without_attempt_records(standard, model_factory) -> None:
    r = Results(model_factory(record_attempts=False), standard(False).finish(), wall_time=1.0,
                scenario_meta={})
    assert r.attempt_count == 15  # the calls' own attempt counts
    assert r.run_info()["attempts"] == 15
    assert r.name == "unit"


@pytest.mark.parametrize("meta", [{}, {"name": "n"}])
def test_missing_hash_is_null(meta: dict[str, str], standard, model_factory) -> None:
    r = Results(model_factory(), standard().finish(), wall_time=1.0, scenario_meta=meta)
    assert r.run_info()["scenario_hash"] is None
