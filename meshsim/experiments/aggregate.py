"""Aggregating a sweep: the runs frame in a fixed order, and mean, std and 95 % CI per point.

Rows are placed by (grid point, seed), never by completion order, so the frames are the same
inline, on a process pool or on Dask, and with or without the cache.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from meshsim.experiments.plan import SweepPlan

# Two-sided 95 % Student t quantiles (0.975) by degrees of freedom, used without scipy.
_T975 = {
    1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262,
    10: 2.228, 11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120, 17: 2.110,
    18: 2.101, 19: 2.093, 20: 2.086, 21: 2.080, 22: 2.074, 23: 2.069, 24: 2.064, 25: 2.060,
    26: 2.056, 27: 2.052, 28: 2.048, 29: 2.045, 30: 2.042, 40: 2.021, 60: 2.000, 120: 1.980,
}


@dataclass(frozen=True)
class SweepResult:
    """The outcome of :func:`sweep`: ``runs`` (a row per run) and ``points`` (a row per point)."""

    runs: pd.DataFrame
    points: pd.DataFrame
    grid: tuple[str, ...]
    metrics: tuple[str, ...]
    service: str
    executed: int  # runs actually simulated by this call (the rest came from the cache)

    def to_csv(self, path: str | Path, *, points: bool = False) -> Path:
        """Write the runs (or, with ``points=True``, the per-point aggregate) as CSV."""
        out = Path(path)
        (self.points if points else self.runs).to_csv(out, index=False)
        return out


def aggregate_sweep(plan: SweepPlan, rows: Mapping[Hashable, dict[str, Any]]) -> SweepResult:
    """The sweep's frames from one row per (point, seed), cached or just simulated."""
    runs = runs_frame(plan, rows)
    return SweepResult(
        runs=runs, points=points_frame(runs, plan), grid=plan.paths, metrics=plan.metrics,
        service=plan.service, executed=len(plan.tasks),
    )


def runs_frame(plan: SweepPlan, rows: Mapping[Hashable, dict[str, Any]]) -> pd.DataFrame:
    """One row per run: the point's values, the seed, the metrics and the verdicts."""
    records = [{**plan.points[i], "seed": seed, **rows[(i, seed)]} for i, seed in plan.keys]
    return pd.DataFrame.from_records(
        records, columns=[*plan.paths, "seed", *plan.metrics, "slo_passed", "recovered"]
    )


def points_frame(runs: pd.DataFrame, plan: SweepPlan) -> pd.DataFrame:
    """One row per grid point: per metric the mean, std and 95 % CI half-width over seeds."""
    per_point = len(plan.seeds)
    out = []
    for i, point in enumerate(plan.points):
        chunk = runs.iloc[i * per_point:(i + 1) * per_point]
        row: dict[str, Any] = {**point, "n_seeds": len(chunk)}
        for metric in plan.metrics:
            row.update(point_stats(metric, chunk[metric].to_numpy(dtype=float)))
        row["slo_pass_rate"] = float(chunk["slo_passed"].astype(float).mean())
        out.append(row)
    return pd.DataFrame.from_records(out)


def point_stats(metric: str, values: np.ndarray) -> dict[str, float]:
    """``<metric>_mean``, ``_std`` and ``_ci95`` over the seeds that measured it (not NaN)."""
    data = values[~np.isnan(values)]
    n = len(data)
    mean = float(data.mean()) if n else math.nan
    std = float(data.std(ddof=1)) if n > 1 else math.nan
    return {
        f"{metric}_mean": mean,
        f"{metric}_std": std,
        f"{metric}_ci95": t975(n - 1) * std / math.sqrt(n) if n > 1 else math.nan,
    }


def t975(df: int) -> float:
    """The 0.975 quantile of Student's t with ``df`` degrees of freedom (NaN when df < 1)."""
    if df < 1:
        return math.nan
    try:
        from scipy import stats  # type: ignore[import-not-found, import-untyped, unused-ignore]
    except ImportError:
        if df in _T975:
            return _T975[df]
        larger = [k for k in _T975 if k > df]
        return _T975[min(larger)] if larger else 1.960  # conservative: the next tabulated df
    return float(stats.t.ppf(0.975, df))
