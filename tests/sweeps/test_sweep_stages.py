"""The sweep's stages on their own: plan (validate, compile, cache lookup), execute, aggregate."""

from __future__ import annotations

import math
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from meshsim.experiments.aggregate import aggregate_sweep, point_stats, t975
from meshsim.experiments.cache import CacheUnavailable, cache_key, read_cache, write_cache
from meshsim.experiments.execute import execute
from meshsim.experiments.plan import SweepPlan, check_path, plan_sweep, seed_list
from meshsim.model import Model

SCENARIO = """\
apiVersion: meshsim/v1alpha1
kind: Scenario
metadata:
  name: stages-tiny
spec:
  mesh: none
  duration: 5s
  warmup: 1s
  services:
    api:
      replicas: 1
      concurrency: 2
      latency: constant(10ms)
  workload:
    - name: users
      target: api
      rate: 50/s
"""
GRID = {"spec.services.api.replicas": [1, 3]}
METRICS = ("success_rate", "p99")


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(SCENARIO)
    return path


def _replicas(model: Model) -> int:
    return sum(d.replicas for d in model.topology.services["api"].deployments)


def _plan(scenario: Path, cache_dir: Path | None = None) -> SweepPlan:
    return plan_sweep(scenario, GRID, [5, 6], METRICS, None, cache_dir)


# -- plan -------------------------------------------------------------------------------------
def test_plan_compiles_one_model_per_point_and_orders_runs_point_then_seed(
    scenario: Path,
) -> None:
    plan = _plan(scenario)
    assert plan.paths == ("spec.services.api.replicas",)
    assert plan.points == [{"spec.services.api.replicas": 1}, {"spec.services.api.replicas": 3}]
    assert plan.keys == [(0, 5), (0, 6), (1, 5), (1, 6)] and plan.total == 4
    assert [key for key, _ in plan.tasks] == plan.keys
    assert plan.cached == {} and set(plan.files.values()) == {None}
    (_, first), (_, last) = plan.tasks[0], plan.tasks[-1]
    assert first[1:] == (5, "api", False, METRICS)
    assert _replicas(first[0]) == 1 and _replicas(last[0]) == 3


def test_plan_takes_cached_rows_and_runs_only_the_rest(scenario: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    files = _plan(scenario, cache).files
    row = {"success_rate": 1.0, "p99": 0.01, "slo_passed": True, "recovered": None}
    cached_file = files[(1, 6)]
    assert cached_file is not None and cached_file.parent == cache
    write_cache(cached_file, row)
    plan = _plan(scenario, cache)
    assert plan.cached == {(1, 6): row}
    assert [key for key, _ in plan.tasks] == [(0, 5), (0, 6), (1, 5)]
    assert (1, 6) not in plan.files


def test_plan_says_which_input_is_wrong_before_any_run(scenario: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="grid path 'a b': expected a --set path"):
        plan_sweep(scenario, {"a b": [1]}, 1, METRICS, None, None)
    with pytest.raises(ValueError, match="grid path 'x': no values"):
        plan_sweep(scenario, {"x": []}, 1, METRICS, None, None)
    with pytest.raises(ValueError, match="need at least one seed"):
        plan_sweep(scenario, GRID, [], METRICS, None, None)
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(CacheUnavailable, match="cannot create the cache directory"):
        plan_sweep(scenario, GRID, 1, METRICS, None, blocker / "cache")


def test_seed_list_and_check_path_are_the_helpers_whatif_shares() -> None:
    assert seed_list(3) == [0, 1, 2] and seed_list([7, "8"]) == [7, 8]  # type: ignore[list-item]
    with pytest.raises(ValueError, match=r"^'a b': expected"):
        check_path("a b", [1])


# -- execute ----------------------------------------------------------------------------------
def _collect(workers: int | None, tasks: list[tuple[Hashable, tuple[Any, ...]]]) -> list[Any]:
    done: list[tuple[Hashable, Any]] = []
    execute(pow, tasks, lambda key, value: done.append((key, value)), workers=workers)
    return done


def test_execute_inline_keeps_task_order_and_the_pool_the_same_results() -> None:
    tasks: list[tuple[Hashable, tuple[Any, ...]]] = [(k, (k, 2)) for k in range(5)]
    assert _collect(1, tasks) == [(k, k * k) for k in range(5)]
    assert sorted(_collect(2, tasks)) == [(k, k * k) for k in range(5)]
    assert _collect(2, []) == []


# -- aggregate --------------------------------------------------------------------------------
def test_point_stats_leave_out_seeds_without_a_value() -> None:
    stats = point_stats("p99", np.array([1.0, 2.0, 3.0, math.nan]))
    assert stats["p99_mean"] == 2.0 and stats["p99_std"] == 1.0
    assert stats["p99_ci95"] == pytest.approx(t975(2) / math.sqrt(3))
    lone = point_stats("p99", np.array([4.0]))
    assert lone["p99_mean"] == 4.0 and math.isnan(lone["p99_std"]) and math.isnan(lone["p99_ci95"])
    assert math.isnan(t975(0)) and t975(1) == pytest.approx(12.706, abs=1e-3)


def test_aggregate_places_rows_by_key_whatever_order_they_came_in(scenario: Path) -> None:
    plan = _plan(scenario)
    rows = {
        key: {"success_rate": 1.0, "p99": float(i), "slo_passed": i % 2 == 0, "recovered": None}
        for i, key in enumerate(plan.keys)
    }
    result = aggregate_sweep(plan, dict(reversed(rows.items())))
    assert result.runs["p99"].tolist() == [0.0, 1.0, 2.0, 3.0]
    assert result.runs["seed"].tolist() == [5, 6, 5, 6]
    assert result.points["p99_mean"].tolist() == [0.5, 2.5]
    assert result.points["slo_pass_rate"].tolist() == [0.5, 0.5]
    assert result.executed == 4 and result.service == "api"
    assert isinstance(result.points, pd.DataFrame)


# -- cache ------------------------------------------------------------------------------------
def test_cache_key_covers_seed_and_service_and_a_stale_row_is_ignored(tmp_path: Path) -> None:
    key = cache_key("sha", {"a": 1}, 0, "api")
    assert key == cache_key("sha", {"a": 1}, 0, "api")
    others = {cache_key("sha", {"a": 1}, 1, "api"), cache_key("sha", {"a": 1}, 0, "db")}
    assert len({key, *others}) == 3
    file = tmp_path / f"{key}.json"
    assert read_cache(file, METRICS) is None
    write_cache(file, {"success_rate": 1.0})
    assert read_cache(file, ("success_rate",)) == {"success_rate": 1.0}
    assert read_cache(file, METRICS) is None  # cached without p99: run it again
