"""Resilience maps: where in (base load × trigger) a system recovers, and where it collapses.

A metastable failure needs two things: enough base load that the retries a trigger induces
keep the system saturated, and a trigger big or long enough to start them. The map runs the
scenario over a grid of one load path and one trigger path (``--set`` paths, e.g.
``spec.workload[0].rate`` × ``spec.faults[0].for``), several seeds per cell, and reads
each run's recovery verdict (:attr:`meshsim.Results.recovery`): recovered, and how fast, or
collapsed (still degraded when the run ends).

>>> rmap = meshsim.resilience_map("scenarios/retry-storm.yaml",
...     load=("spec.workload[0].rate", ["400/s", "800/s"]),
...     trigger=("spec.faults[0].for", ["1s", "5s"]), seeds=3)
>>> rmap.cells[["load", "trigger", "p_collapse", "recovery_time_median"]]
>>> rmap.plot()
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from meshsim.config import Scenario
from meshsim.experiments.plan import check_path, scenario_of, seed_list
from meshsim.experiments.whatif.runs import Progress, run_all
from meshsim.results.maps import collapse_heatmap

RUN_COLUMNS = (
    "load", "trigger", "seed", "recovered", "recovery_time", "final_success",
    "baseline_success", "success_rate", "extra_attempts", "slo_passed",
)
CELL_COLUMNS = (
    "load", "trigger", "runs", "collapsed", "undecided", "p_collapse", "p_collapse_low",
    "p_collapse_high", "recovery_time_median", "recovery_time_max", "success_rate_mean",
)
Axis = tuple[str, Sequence[object]]


@dataclass(frozen=True)
class ResilienceMap:
    """``runs``: one row per (load, trigger, seed); ``cells``: one row per (load, trigger)."""

    runs: pd.DataFrame
    cells: pd.DataFrame
    load_path: str
    trigger_path: str
    scenario_name: str

    def plot(self) -> Figure:
        """Heat map of P(collapse) per cell, annotated with the median recovery time."""
        return collapse_heatmap(
            self.cells, load_label=self.load_path, trigger_label=self.trigger_path,
            title=f"{self.scenario_name}: resilience map",
        )

    def to_csv(self, path: str | Path, *, cells: bool = False) -> Path:
        """Write the runs (or, with ``cells=True``, the per-cell aggregate) as CSV."""
        out = Path(path)
        (self.cells if cells else self.runs).to_csv(out, index=False)
        return out


def resilience_map(
    scenario: Scenario | str | Path,
    load: Axis,
    trigger: Axis,
    seeds: Sequence[int] | int = 3,
    workers: int | None = None,
    progress: Progress = False,
) -> ResilienceMap:
    """Run every (load, trigger) value pair for each seed and read the recovery verdicts.

    ``load`` and ``trigger`` are ``(--set path, values)``. The scenario must have faults (the
    trigger): without them there is nothing to recover from. ``workers=1`` runs inline,
    otherwise a process pool (default: CPU count). ``progress`` is ``True`` for a bar on
    stderr or a callable ``progress(done, total)``.
    """
    base = scenario_of(scenario)
    (load_path, _), (trigger_path, _) = load, trigger
    _check_axes(load, trigger)
    seed_values = seed_list(seeds)
    pairs, cells = _cells(base, load, trigger)
    measured = run_all(base, cells, seed_values, workers=workers, progress=progress)
    records = [
        {"load": lv, "trigger": tv, "seed": seed, **row}
        for (lv, tv), rows in zip(pairs, measured, strict=True)
        for seed, row in zip(seed_values, rows, strict=True)
    ]
    runs = pd.DataFrame.from_records(records)[list(RUN_COLUMNS)]
    return ResilienceMap(
        runs=runs, cells=aggregate(runs), load_path=load_path, trigger_path=trigger_path,
        scenario_name=base.name,
    )


def _check_axes(load: Axis, trigger: Axis) -> None:
    for path, values in (load, trigger):
        check_path(path, values)
    if load[0] == trigger[0]:
        raise ValueError(f"load and trigger are the same path {load[0]!r}")


def _cells(
    base: Scenario, load: Axis, trigger: Axis,
) -> tuple[list[tuple[object, object]], list[dict[str, object]]]:
    """Every (load, trigger) value pair and its overrides; each must compile and have faults."""
    (load_path, load_values), (trigger_path, trigger_values) = load, trigger
    pairs = [(lv, tv) for lv in load_values for tv in trigger_values]
    cells = [{load_path: lv, trigger_path: tv} for lv, tv in pairs]
    for cell in cells:  # fail early, in this process, on a bad path or value
        if not base.with_overrides(cell).model.faults:
            raise ValueError(
                f"{base.name}: no faults with {cell}; a resilience map needs a trigger "
                "(spec.faults)"
            )
    return pairs, cells


def aggregate(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (load, trigger) in the order first seen: P(collapse) with a Wilson 95 % band.

    Recovery times are over the runs that recovered (NaN when none did). A run whose verdict
    is "cannot tell" (``recovered`` missing) is counted as ``undecided`` and left out of
    P(collapse): too little data after the trigger is no evidence of a collapse.
    """
    out: list[dict[str, Any]] = []
    for (load, trigger), chunk in runs.groupby(["load", "trigger"], sort=False):
        verdict = chunk["recovered"]
        judged = verdict.notna().to_numpy()
        recovered = judged & verdict.fillna(False).astype(bool).to_numpy()
        n, decided = len(chunk), int(judged.sum())
        collapsed = decided - int(recovered.sum())
        low, high = wilson(collapsed, decided)
        times = chunk.loc[recovered, "recovery_time"].to_numpy(dtype=float)
        out.append({
            "load": load, "trigger": trigger, "runs": n, "collapsed": collapsed,
            "undecided": n - decided,
            "p_collapse": collapsed / decided if decided else math.nan,
            "p_collapse_low": low, "p_collapse_high": high,
            "recovery_time_median": float(np.median(times)) if len(times) else math.nan,
            "recovery_time_max": float(times.max()) if len(times) else math.nan,
            "success_rate_mean": float(chunk["success_rate"].mean()),
        })
    return pd.DataFrame.from_records(out, columns=list(CELL_COLUMNS))


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for k successes in n trials: honest at k = 0 or k = n."""
    if n == 0:
        return math.nan, math.nan
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)
