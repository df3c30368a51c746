"""Parameter sweeps: many seeded runs over a grid of ``--set`` overrides, as tidy DataFrames.

>>> result = meshsim.sweep("scenarios/retry-storm.yaml",
...                        grid={"spec.workload[0].rate": ["50/s", "100/s"]}, seeds=3)
>>> result.runs     # one row per (grid point, seed)
>>> result.points   # one row per grid point: mean, std, 95 % CI half-width per metric

A sweep is :func:`~meshsim.experiments.plan.plan_sweep` (validate, compile every point, look up
the cache), :func:`~meshsim.experiments.execute.execute` (inline, a process pool or Dask) and
:func:`~meshsim.experiments.aggregate.aggregate_sweep`. Each task carries the compiled model of
its grid point (a few kB), so workers need meshsim installed but not the scenario files, and
the frames do not depend on where the runs went.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from meshsim import api
from meshsim.config import Scenario
from meshsim.experiments.aggregate import SweepResult, aggregate_sweep
from meshsim.experiments.cache import write_cache
from meshsim.experiments.execute import DaskTarget, DaskUnavailable, execute
from meshsim.experiments.plan import DEFAULT_METRICS, KNOWN_METRICS, SweepPlan, plan_sweep
from meshsim.experiments.progress import progress_reporter
from meshsim.model import Model
from meshsim.results import Results

__all__ = [
    "DEFAULT_METRICS", "KNOWN_METRICS", "DaskUnavailable", "SweepResult", "run_point", "sweep",
]


def sweep(
    scenario: Scenario | str | Path,
    grid: Mapping[str, Sequence[object]],
    seeds: Sequence[int] | int = 3,
    metrics: Sequence[str] = DEFAULT_METRICS,
    service: str | None = None,
    workers: int | None = None,
    progress: bool | Callable[[int, int], None] = False,
    cache_dir: Path | str | None = None,
    dask: DaskTarget | None = None,
) -> SweepResult:
    """Simulate every combination of ``grid`` values (``--set`` paths) for each seed.

    ``seeds`` is a list of seeds or a count ``n`` (seeds ``0..n-1``). ``service`` names a
    service (its summary row) or a workload (its end-to-end row); the default is the first
    workload's target. ``workers=1`` runs inline; otherwise a process pool of ``workers``
    (default: CPU count) processes. ``dask`` sends the runs to a Dask cluster instead:
    ``"local"`` (a ``LocalCluster`` of ``workers`` single-threaded processes, started for this
    call), a scheduler address (``"tcp://host:8786"``) or a ``distributed.Client``; the frame
    is the same as on the pool. ``progress`` is ``True`` for a rich bar on stderr or a callable
    ``progress(done, total)``. With ``cache_dir`` each finished run is stored as a small JSON
    file and a later call skips it. Raises :class:`DaskUnavailable` when Dask is missing or the
    scheduler cannot be reached.
    """
    plan = plan_sweep(scenario, grid, seeds, metrics, service, cache_dir)
    rows = run_plan(plan, workers=workers, progress=progress, dask=dask)
    return aggregate_sweep(plan, rows)


def run_plan(
    plan: SweepPlan, *, workers: int | None, progress: bool | Callable[[int, int], None],
    dask: DaskTarget | None,
) -> dict[Hashable, dict[str, Any]]:
    """Every run's row by (point, seed): the cached ones, then each task's as it finishes
    (written to the cache as it comes, so an interrupted sweep resumes)."""
    rows = dict(plan.cached)
    report, close = progress_reporter(progress, plan.total)
    report(len(rows), plan.total)

    def finish(key: Hashable, row: dict[str, Any]) -> None:
        rows[key] = row
        file = plan.files[key]
        if file is not None:
            write_cache(file, row)
        report(len(rows), plan.total)

    try:
        execute(run_point, plan.tasks, finish, workers=workers, dask=dask)
    finally:
        close()
    return rows


# -- one run (top level so the process pool and Dask can pickle it by name) -----------------
def run_point(
    model: Model, seed: int, service: str, workload: bool, metrics: tuple[str, ...],
) -> dict[str, Any]:
    """One grid point at one seed: the reported row's metrics and the run's verdicts."""
    results = api.simulate(model, seed=seed, record="summary")
    rows = _reported_rows(results, service, workload)
    row: dict[str, Any] = {}
    for metric in metrics:
        value = rows.iloc[0][metric] if len(rows) and metric in rows.columns else math.nan
        row[metric] = float(value) if value is not None else math.nan
    row["slo_passed"] = bool(results.passed)
    recovery = results.recovery
    row["recovered"] = bool(recovery["recovered"].all()) if len(recovery) else None
    return row


def _reported_rows(results: Results, service: str, workload: bool) -> pd.DataFrame:
    """The workload's end-to-end row, or the service's summary row (all subsets if it has no
    service-wide row)."""
    if workload:
        frame = results.workloads
        return frame[frame["workload"] == service]
    frame = results.summary
    rows = frame[(frame["service"] == service) & (frame["subset"] == "")]
    return frame[frame["service"] == service] if rows.empty else rows
