"""Parameter sweeps: many seeded runs over a grid of ``--set`` overrides, as tidy DataFrames.

>>> result = meshsim.sweep("scenarios/retry-storm.yaml",
...                        grid={"spec.workload[0].rate": ["50/s", "100/s"]}, seeds=3)
>>> result.runs     # one row per (grid point, seed)
>>> result.points   # one row per grid point: mean, std, 95 % CI half-width per metric

Runs go to a :class:`~concurrent.futures.ProcessPoolExecutor` (``workers=1`` runs inline). Each
worker loads the scenario itself from its path and the overrides, so nothing big is pickled, and
rows come back in a fixed order (grid point, then seed), so the frame does not depend on workers.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from meshsim import api
from meshsim.config import Scenario

DEFAULT_METRICS: tuple[str, ...] = ("success_rate", "p99", "rps", "retry_ratio")
KNOWN_METRICS: frozenset[str] = frozenset({
    "requests", "rps", "success_rate", "p50", "p90", "p99", "retries", "retry_ratio", "timeouts",
    "overflows", "ejections", "attempts", "attempt_success_rate", "mean_latency",
})
_CACHE_VERSION = 1

# Two-sided 95 % Student t quantiles (0.975) by degrees of freedom, used without scipy.
_T975 = {
    1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262,
    10: 2.228, 11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120, 17: 2.110,
    18: 2.101, 19: 2.093, 20: 2.086, 21: 2.080, 22: 2.074, 23: 2.069, 24: 2.064, 25: 2.060,
    26: 2.056, 27: 2.052, 28: 2.048, 29: 2.045, 30: 2.042, 40: 2.021, 60: 2.000, 120: 1.980,
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


# -- one run (top level so the process pool can pickle it by name) -------------------------
def _run_one(
    path: str, overrides: dict[str, object], seed: int, service: str, workload: bool,
    metrics: tuple[str, ...],
) -> dict[str, Any]:
    scenario = api.load(path, overrides or None)
    results = api.simulate(scenario, seed=seed)
    if workload:
        frame = results.workloads
        rows = frame[frame["workload"] == service]
    else:
        frame = results.summary
        rows = frame[(frame["service"] == service) & (frame["subset"] == "")]
        if rows.empty:
            rows = frame[frame["service"] == service]
    row: dict[str, Any] = {}
    for metric in metrics:
        value = rows.iloc[0][metric] if len(rows) and metric in rows.columns else math.nan
        row[metric] = float(value) if value is not None else math.nan
    row["slo_passed"] = bool(results.passed)
    recovery = results.recovery
    row["recovered"] = bool(recovery["recovered"].all()) if len(recovery) else None
    return row


# -- the sweep --------------------------------------------------------------------------------
def sweep(
    scenario: Scenario | str | Path,
    grid: Mapping[str, Sequence[object]],
    seeds: Sequence[int] | int = 3,
    metrics: Sequence[str] = DEFAULT_METRICS,
    service: str | None = None,
    workers: int | None = None,
    progress: bool | Callable[[int, int], None] = False,
    cache_dir: Path | str | None = None,
) -> SweepResult:
    """Simulate every combination of ``grid`` values (``--set`` paths) for each seed.

    ``seeds`` is a list of seeds or a count ``n`` (seeds ``0..n-1``). ``service`` names a
    service (its summary row) or a workload (its end-to-end row); the default is the first
    workload's target. ``workers=1`` runs inline; otherwise a process pool of ``workers``
    (default: CPU count) processes. ``progress`` is ``True`` for a rich bar on stderr or a
    callable ``progress(done, total)``. With ``cache_dir`` each finished run is stored as a small
    JSON file and a later call skips it.
    """
    base = scenario if isinstance(scenario, Scenario) else api.load(scenario)
    path = str(Path(base.path).resolve())
    base_overrides: dict[str, object] = dict(base.overrides)
    meta = base.metadata()

    paths = tuple(str(p) for p in grid)
    values = [list(grid[p]) for p in grid]
    for p, vals in zip(paths, values, strict=True):
        if not p.strip() or any(ch.isspace() for ch in p):
            raise ValueError(f"grid path {p!r}: expected a --set path without spaces")
        if not vals:
            raise ValueError(f"grid path {p!r}: no values")
    seed_list = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    if not seed_list:
        raise ValueError("seeds: need at least one seed")
    metric_list = tuple(metrics)
    unknown = [m for m in metric_list if m not in KNOWN_METRICS]
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}; known: {sorted(KNOWN_METRICS)}")

    model = base.model
    services = set(model.topology.services)
    workload_names = {w.name for w in model.workloads}
    if service is None:
        if not model.workloads:
            raise ValueError("the scenario has no workload; pass service=")
        service = str(model.workloads[0].target)
    if service in services:
        use_workload = False
    elif service in workload_names:
        use_workload = True
    else:
        raise ValueError(
            f"service {service!r} is neither a service ({sorted(services)}) "
            f"nor a workload ({sorted(workload_names)})"
        )

    points = [dict(zip(paths, combo, strict=True)) for combo in itertools.product(*values)]
    for point in points:  # fail early, in this process, on a bad path or value
        base.with_overrides(point)

    cache = Path(cache_dir) if cache_dir is not None else None
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)

    tasks: list[tuple[int, int, dict[str, object], Path | None]] = []
    rows: dict[tuple[int, int], dict[str, Any]] = {}
    for i, point in enumerate(points):
        overrides = {**base_overrides, **point}
        for seed in seed_list:
            file = None
            if cache is not None:
                file = cache / f"{_cache_key(meta['sha256'], overrides, seed, service)}.json"
                cached = _read_cache(file, metric_list)
                if cached is not None:
                    rows[(i, seed)] = cached
                    continue
            tasks.append((i, seed, overrides, file))

    total, done = len(points) * len(seed_list), len(rows)
    report, close = _progress(progress, total)
    report(done, total)

    def finish(i: int, seed: int, file: Path | None, row: dict[str, Any]) -> None:
        nonlocal done
        rows[(i, seed)] = row
        if file is not None:
            _write_cache(file, row)
        done += 1
        report(done, total)

    try:
        if workers == 1 or len(tasks) <= 1:
            for i, seed, overrides, file in tasks:
                finish(i, seed, file, _run_one(
                    path, overrides, seed, service, use_workload, metric_list))
        elif tasks:
            n = workers or os.cpu_count() or 1
            with ProcessPoolExecutor(max_workers=min(n, len(tasks))) as pool:
                futures = {
                    pool.submit(
                        _run_one, path, overrides, seed, service, use_workload, metric_list
                    ): (i, seed, file)
                    for i, seed, overrides, file in tasks
                }
                for future in as_completed(futures):
                    i, seed, file = futures[future]
                    finish(i, seed, file, future.result())
    finally:
        close()

    records = []
    for i, point in enumerate(points):
        for seed in seed_list:
            records.append({**point, "seed": seed, **rows[(i, seed)]})
    runs = pd.DataFrame.from_records(
        records, columns=[*paths, "seed", *metric_list, "slo_passed", "recovered"]
    )
    return SweepResult(
        runs=runs,
        points=_aggregate(runs, paths, points, len(seed_list), metric_list),
        grid=paths, metrics=metric_list, service=service, executed=len(tasks),
    )


def _aggregate(
    runs: pd.DataFrame, paths: tuple[str, ...], points: list[dict[str, object]], per_point: int,
    metrics: tuple[str, ...],
) -> pd.DataFrame:
    out = []
    for i, point in enumerate(points):
        chunk = runs.iloc[i * per_point:(i + 1) * per_point]
        row: dict[str, Any] = {**point, "n_seeds": len(chunk)}
        for metric in metrics:
            data = chunk[metric].to_numpy(dtype=float)
            data = data[~np.isnan(data)]
            n = len(data)
            mean = float(data.mean()) if n else math.nan
            std = float(data.std(ddof=1)) if n > 1 else math.nan
            row[f"{metric}_mean"] = mean
            row[f"{metric}_std"] = std
            row[f"{metric}_ci95"] = t975(n - 1) * std / math.sqrt(n) if n > 1 else math.nan
        row["slo_pass_rate"] = float(chunk["slo_passed"].astype(float).mean())
        out.append(row)
    return pd.DataFrame.from_records(out)


# -- cache ------------------------------------------------------------------------------------
def _cache_key(sha256: str, overrides: Mapping[str, object], seed: int, service: str) -> str:
    blob = json.dumps(
        {"v": _CACHE_VERSION, "scenario": sha256, "overrides": dict(overrides), "seed": seed,
         "service": service},
        sort_keys=True, default=repr,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def _read_cache(file: Path, metrics: tuple[str, ...]) -> dict[str, Any] | None:
    try:
        row = json.loads(file.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(row, dict) or any(m not in row for m in metrics):
        return None  # a run cached with other metrics: run it again
    return row


def _write_cache(file: Path, row: Mapping[str, Any]) -> None:
    tmp = file.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(dict(row)))
    tmp.replace(file)  # atomic: an interrupted sweep never leaves half a file


# -- progress ---------------------------------------------------------------------------------
def _progress(
    progress: bool | Callable[[int, int], None], total: int
) -> tuple[Callable[[int, int], None], Callable[[], None]]:
    if callable(progress):
        return progress, lambda: None
    if not progress:
        return (lambda done, total: None), lambda: None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("sweep"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=Console(stderr=True), transient=True,
    )
    task = bar.add_task("sweep", total=total)
    bar.start()
    return (lambda done, total: bar.update(task, completed=done, total=total)), bar.stop
