"""Many seeded runs of one scenario under ``--set`` overrides, measured for what-if analysis.

:func:`meshsim.sweep` reports per-service summary metrics; a resilience map needs the recovery
verdict *and its time*, and the recommender needs every SLO's value against its bound and the
extra attempts the retry policy sent. :func:`run_all` runs a list of override sets for each seed
on a process pool (``workers=1`` inline), each worker loading the scenario from its path, and
returns one :func:`measure` row per (cell, seed) in a fixed order, whatever the worker count.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np

from meshsim import api
from meshsim.config import Scenario
from meshsim.experiments.progress import progress_reporter
from meshsim.results import Results

Progress = bool | Callable[[int, int], None]


def seed_list(seeds: Sequence[int] | int) -> list[int]:
    """A count ``n`` means seeds ``0..n-1``; a sequence is taken as given."""
    out = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    if not out:
        raise ValueError("seeds: need at least one seed")
    return out


def base_scenario(scenario: Scenario | str | Path) -> Scenario:
    return scenario if isinstance(scenario, Scenario) else api.load(scenario)


def check_path(path: str, values: Sequence[object]) -> None:
    if not path.strip() or any(ch.isspace() for ch in path):
        raise ValueError(f"{path!r}: expected a --set path without spaces")
    if not list(values):
        raise ValueError(f"{path!r}: no values")


def extra_attempts(results: Results) -> tuple[int, int]:
    """(retries sent after warm-up on every hop, end-to-end requests issued after warm-up).

    A retry is an attempt beyond a call's first; mirrored copies are not retries. Their ratio is
    the extra load the retry policy puts on the mesh per user request.
    """
    attempts = results.attempts
    late = attempts["start"].to_numpy() >= results.warmup
    retried = attempts["retry"].to_numpy(dtype=bool) & ~attempts["mirror"].to_numpy(dtype=bool)
    requests = int((results.requests["start"].to_numpy() >= results.warmup).sum())
    return int((late & retried).sum()), requests


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
    recovery = results.recovery
    if len(recovery):
        undecided = bool(recovery["recovered"].isna().any())  # "cannot tell" is not recovered
        recovered: bool | None = None if undecided else bool(recovery["recovered"].all())
        times = recovery["recovery_time"].to_numpy(dtype=float)
        recovery_time = float(times.max()) if recovered else math.nan
        final_success = float(recovery["final_success"].min())
        baseline = float(recovery["baseline"].min())
    else:
        recovered, recovery_time, final_success, baseline = None, math.nan, math.nan, math.nan
    requests = results.requests
    late = requests[requests["start"].to_numpy() >= results.warmup]
    success = float(np.mean(late["ok"].to_numpy(dtype=bool))) if len(late) else math.nan
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


def _run_one(path: str, overrides: dict[str, object], seed: int) -> dict[str, Any]:
    """One run (top level so the pool pickles it by name): load, simulate, measure."""
    return measure(api.simulate(api.load(path, overrides or None), seed=seed))


def run_all(
    scenario: Scenario,
    cells: Sequence[Mapping[str, object]],
    seeds: Sequence[int],
    *,
    workers: int | None = None,
    progress: Progress = False,
) -> list[list[dict[str, Any]]]:
    """``rows[i][j]`` measures ``cells[i]`` (on top of the scenario's overrides) at ``seeds[j]``."""
    path = str(Path(scenario.path).resolve())
    tasks = [
        (i, j, {**dict(scenario.overrides), **dict(cell)}, seed)
        for i, cell in enumerate(cells)
        for j, seed in enumerate(seeds)
    ]
    rows: list[list[dict[str, Any]]] = [[{} for _ in seeds] for _ in cells]
    report, close = progress_reporter(progress, len(tasks), "runs")
    done = 0
    try:
        if workers == 1 or len(tasks) <= 1:
            for i, j, overrides, seed in tasks:
                rows[i][j] = _run_one(path, overrides, seed)
                done += 1
                report(done, len(tasks))
        else:
            n = min(workers or os.cpu_count() or 1, len(tasks))
            with ProcessPoolExecutor(max_workers=n) as pool:
                futures = {
                    pool.submit(_run_one, path, overrides, seed): (i, j)
                    for i, j, overrides, seed in tasks
                }
                for future in as_completed(futures):
                    i, j = futures[future]
                    rows[i][j] = future.result()
                    done += 1
                    report(done, len(tasks))
    finally:
        close()
    return rows
