"""Many seeded runs of one scenario under ``--set`` overrides, measured for what-if analysis.

:func:`meshsim.sweep` reports per-service summary metrics; a resilience map needs the recovery
verdict *and its time*, and the recommender needs every SLO's value against its bound and the
extra attempts the retry policy sent. :func:`run_all` runs a list of override sets for each seed
on a process pool (``workers=1`` inline), each worker loading the scenario from its path, and
returns one :func:`measure` row per (cell, seed) in a fixed order, whatever the worker count.
Seeds, scenarios and paths are checked as a sweep's are (:mod:`meshsim.experiments.plan`).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any

from meshsim import api
from meshsim.config import Scenario
from meshsim.experiments.execute import Task, execute
from meshsim.experiments.progress import Progress, progress_reporter
from meshsim.results import Results
from meshsim.results.online import online_requests, retries_after

__all__ = ["Progress", "measure", "run_all", "slo_margin"]


def extra_attempts(results: Results) -> tuple[int, int]:
    """(retries sent after warm-up on every hop and by app clients, user requests issued after
    warm-up).

    A retry is an attempt beyond a call's first; mirrored copies are not retries. Their ratio is
    the extra load the retry policy puts on the mesh per user request.
    """
    _, late = online_requests(results.online, results.warmup, results.duration)
    retries = retries_after(results.online, results.warmup, results.duration)
    if not any(w.client is not None for w in results.model.workloads):
        return retries, int(late["requests"])
    # An app client's tries are request rows of their own: its retries and hedges are extra
    # attempts too, and the user requests (distinct ids) are the denominator.
    users = results.user_requests
    late_users = users[(users["start"] >= results.warmup) & (users["start"] < results.duration)]
    return retries + int(late_users["tries"].sum() - len(late_users)), len(late_users)


def slo_margin(slo: Any) -> float:
    """The worst headroom over a run's SLOs, as a share of each bound (negative: violated).

    ``min: 0.99`` met with 0.995 has headroom (0.995 - 0.99) / 0.99; ``max: 500ms`` met with
    400 ms has (500 - 400) / 500. A missing value (no traffic) is -inf. No SLOs: +inf.
    """
    worst = math.inf
    for row in slo.itertuples():
        value = float(row.value)
        if math.isnan(value):
            return -math.inf
        if not math.isnan(row.min):
            worst = min(worst, (value - row.min) / max(abs(row.min), 1e-12))
        if not math.isnan(row.max):
            worst = min(worst, (row.max - value) / max(abs(row.max), 1e-12))
    return worst


def measure(results: Results) -> dict[str, Any]:
    """The what-if row of one run: recovery, end-to-end success, SLOs, retry load."""
    recovered, recovery_time, final_success, baseline = _recovery(results)
    _, late = online_requests(results.online, results.warmup, results.duration)
    success = float(late["success_rate"]) if late["requests"] else math.nan
    retries, issued = extra_attempts(results)
    slo = results.slo()
    return {
        "recovered": recovered,
        "recovery_time": recovery_time,
        "final_success": final_success,
        "baseline_success": baseline,
        "success_rate": success,
        "requests": issued,
        "retries": retries,
        "extra_attempts": retries / issued if issued else math.nan,
        "slo_passed": bool(slo["passed"].all()),
        "slo_margin": slo_margin(slo),
        "slo_failed": "; ".join(str(e) for e in slo.loc[~slo["passed"], "expectation"]),
    }


def _recovery(results: Results) -> tuple[bool | None, float, float, float]:
    """Recovered (None: cannot tell, or no faults), how fast, final and baseline success."""
    recovery = results.recovery
    if not len(recovery):
        return None, math.nan, math.nan, math.nan
    undecided = bool(recovery["recovered"].isna().any())  # "cannot tell" is not recovered
    recovered: bool | None = None if undecided else bool(recovery["recovered"].all())
    times = recovery["recovery_time"].to_numpy(dtype=float)
    return (
        recovered, float(times.max()) if recovered else math.nan,
        float(recovery["final_success"].min()), float(recovery["baseline"].min()),
    )


def measure_run(path: str, overrides: dict[str, object], seed: int) -> dict[str, Any]:
    """One run (top level so the pool pickles it by name): load, simulate, measure."""
    scenario = api.load(path, overrides or None)
    # An app client's cost is read per user request, from the request rows (kept only then).
    clients = any(w.client is not None for w in scenario.model.workloads)
    return measure(api.simulate(scenario, seed=seed, record="requests" if clients else "summary"))


def run_all(
    scenario: Scenario,
    cells: Sequence[Mapping[str, object]],
    seeds: Sequence[int],
    *,
    workers: int | None = None,
    progress: Progress = False,
) -> list[list[dict[str, Any]]]:
    """``rows[i][j]`` measures ``cells[i]`` (on top of the scenario's overrides) at ``seeds[j]``."""
    tasks = _tasks(scenario, cells, seeds)
    found: dict[Hashable, dict[str, Any]] = {}
    report, close = progress_reporter(progress, len(tasks), "runs")

    def finish(key: Hashable, row: dict[str, Any]) -> None:
        found[key] = row
        report(len(found), len(tasks))

    try:
        execute(measure_run, tasks, finish, workers=workers)
    finally:
        close()
    return [[found[(i, j)] for j in range(len(seeds))] for i in range(len(cells))]


def _tasks(
    scenario: Scenario, cells: Sequence[Mapping[str, object]], seeds: Sequence[int],
) -> list[Task]:
    """One task per (cell, seed), keyed ``(i, j)``: workers load the scenario from its path."""
    path = str(Path(scenario.path).resolve())
    return [
        ((i, j), (path, {**dict(scenario.overrides), **dict(cell)}, seed))
        for i, cell in enumerate(cells)
        for j, seed in enumerate(seeds)
    ]
