"""Planning a sweep: validate the grid, compile every point, and find the runs still to do.

Everything that can fail on bad input fails here, in the calling process, before a single run
starts: a grid path or value, a seed list, a metric name, the reported service. Workers then
get a ready model per point instead of files they may not be able to read.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from meshsim import api
from meshsim.config import Scenario
from meshsim.experiments.cache import cache_key, open_cache, read_cache
from meshsim.experiments.execute import Task
from meshsim.model import Model

DEFAULT_METRICS: tuple[str, ...] = ("success_rate", "p99", "rps", "retry_ratio")
KNOWN_METRICS: frozenset[str] = frozenset({
    "requests", "rps", "success_rate", "p50", "p90", "p99", "retries", "retry_ratio", "timeouts",
    "overflows", "ejections", "attempts", "attempt_success_rate", "mean_latency",
})

Key = tuple[int, int]  # (grid point index, seed)
Point = dict[str, object]  # one value per grid path


@dataclass(frozen=True)
class SweepPlan:
    """The runs of a sweep: ``tasks`` to simulate, ``cached`` rows found, in a fixed order."""

    paths: tuple[str, ...]
    points: list[Point]
    seeds: list[int]
    metrics: tuple[str, ...]
    service: str
    use_workload: bool
    tasks: list[Task]  # ((point, seed), (model, seed, service, use_workload, metrics))
    cached: dict[Hashable, dict[str, Any]]  # rows a previous sweep left in the cache
    files: dict[Hashable, Path | None]  # where each task's row goes in the cache (None: no cache)

    @property
    def total(self) -> int:
        return len(self.points) * len(self.seeds)

    @property
    def keys(self) -> list[Key]:
        """Every run's key, grid point first, then seed: the order of the runs frame."""
        return [(i, seed) for i in range(len(self.points)) for seed in self.seeds]


def plan_sweep(
    scenario: Scenario | str | Path,
    grid: Mapping[str, Sequence[object]],
    seeds: Sequence[int] | int,
    metrics: Sequence[str],
    service: str | None,
    cache_dir: Path | str | None,
) -> SweepPlan:
    """Validate the inputs of :func:`meshsim.sweep`, compile each point, and look up the cache."""
    base = scenario_of(scenario)
    paths, points = grid_points(grid)
    seed_values = seed_list(seeds)
    metric_list = known_metrics(metrics)
    service, use_workload = reported_target(base.model, service)
    models = [point_model(base, point) for point in points]
    cache = open_cache(cache_dir)
    plan = SweepPlan(paths, points, seed_values, metric_list, service, use_workload, [], {}, {})
    _split_cached(plan, base, models, cache)
    return plan


MESH = "mesh"  # a grid path of its own: the scenario translated to each mesh (meshsim translate)


def point_model(base: Scenario, point: Point) -> Model:
    """The model of one grid point; a ``mesh`` value runs the scenario's translation to that
    mesh (the other ``--set`` values applied to it), so ``--grid mesh=istio,linkerd`` compares
    one intent under both meshes."""
    overrides = dict(point)
    mesh = overrides.pop(MESH, None)
    scenario = base
    if mesh is not None and str(mesh) != base.spec.mesh:
        translation = api.translate(base, str(mesh))
        scenario = api.load_translation(
            translation, base.path.with_name(f"{base.path.stem}-{mesh}.yaml"))
    return scenario.with_overrides(overrides).model if overrides else scenario.model


def grid_points(grid: Mapping[str, Sequence[object]]) -> tuple[tuple[str, ...], list[Point]]:
    """The grid's paths and every combination of their values, in order (last path fastest)."""
    paths = tuple(str(p) for p in grid)
    values = [list(grid[p]) for p in grid]
    for path, vals in zip(paths, values, strict=True):
        check_path(path, vals, label="grid path ")
    return paths, [dict(zip(paths, combo, strict=True)) for combo in itertools.product(*values)]


def _split_cached(plan: SweepPlan, base: Scenario, models: list[Model], cache: Path | None) -> None:
    """Each run's row from the cache, keyed by scenario sha256, overrides, seed and service,
    or a task to simulate it."""
    sha = base.metadata()["sha256"] if cache is not None else ""
    for point, seed in plan.keys:
        file = None
        if cache is not None:
            overrides = {**dict(base.overrides), **plan.points[point]}
            file = cache / f"{cache_key(sha, overrides, seed, plan.service)}.json"
        _place(plan, (point, seed), models[point], file)


def _place(plan: SweepPlan, key: Key, model: Model, file: Path | None) -> None:
    """Take the run's row from the cache, or make it a task whose row is cached in ``file``."""
    cached = read_cache(file, plan.metrics) if file is not None else None
    if cached is not None:
        plan.cached[key] = cached
        return
    plan.files[key] = file
    plan.tasks.append((key, (model, key[1], plan.service, plan.use_workload, plan.metrics)))


def scenario_of(scenario: Scenario | str | Path) -> Scenario:
    """A loaded scenario as given, or the one at a path."""
    return scenario if isinstance(scenario, Scenario) else api.load(scenario)


def seed_list(seeds: Sequence[int] | int) -> list[int]:
    """A count ``n`` means seeds ``0..n-1``; a sequence is taken as given."""
    out = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    if not out:
        raise ValueError("seeds: need at least one seed")
    return out


def check_path(path: str, values: Sequence[object], label: str = "") -> None:
    """A ``--set`` path to vary must be one word and come with at least one value."""
    if not path.strip() or any(ch.isspace() for ch in path):
        raise ValueError(f"{label}{path!r}: expected a --set path without spaces")
    if not list(values):
        raise ValueError(f"{label}{path!r}: no values")


def known_metrics(metrics: Sequence[str]) -> tuple[str, ...]:
    metric_list = tuple(metrics)
    unknown = [m for m in metric_list if m not in KNOWN_METRICS]
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}; known: {sorted(KNOWN_METRICS)}")
    return metric_list


def reported_target(model: Model, service: str | None) -> tuple[str, bool]:
    """The service or workload a sweep reports, and whether it is a workload."""
    services = set(model.topology.services)
    workload_names = {w.name for w in model.workloads}
    if service is None:
        if not model.workloads:
            raise ValueError("the scenario has no workload; pass service=")
        service = str(model.workloads[0].target)
    if service in services:
        return service, False
    if service in workload_names:
        return service, True
    raise ValueError(
        f"service {service!r} is neither a service ({sorted(services)}) "
        f"nor a workload ({sorted(workload_names)})"
    )
