"""Parameter sweeps: many seeded runs over a grid of ``--set`` overrides, as tidy DataFrames.

>>> result = meshsim.sweep("scenarios/retry-storm.yaml",
...                        grid={"spec.workload[0].rate": ["50/s", "100/s"]}, seeds=3)
>>> result.runs     # one row per (grid point, seed)
>>> result.points   # one row per grid point: mean, std, 95 % CI half-width per metric

Runs go to a :class:`~concurrent.futures.ProcessPoolExecutor` (``workers=1`` runs inline) or,
with ``dask=``, to a Dask cluster (``"local"`` starts a ``LocalCluster``; an address such as
``"tcp://scheduler:8786"`` or a ``distributed.Client`` uses an existing one). Each task carries the
compiled model of its grid point (a few kB), so workers need meshsim installed but not the
scenario files, and rows come back in a fixed order (grid point, then seed), so the frame does
not depend on where the runs went.

:func:`check` runs one scenario over many seeds the same way and states, per SLO, whether it
holds with a given confidence (:mod:`meshsim.results.check` says how).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import math
import os
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from meshsim import api
from meshsim.config import Scenario
from meshsim.errors import MeshsimError
from meshsim.model import Model
from meshsim.results.check import CheckReport, assess

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


# -- one run (top level so the process pool and Dask can pickle it by name) -----------------
def _run_one(
    model: Model, seed: int, service: str, workload: bool, metrics: tuple[str, ...],
) -> dict[str, Any]:
    results = api.simulate(model, seed=seed)
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


def _slo_one(model: Model, seed: int) -> list[dict[str, Any]]:
    """The SLO rows of one seed's run, as plain records (small to send back)."""
    results = api.simulate(model, seed=seed)
    refused = "; ".join(results.refused["message"])  # every call answered 4xx: fails each SLO
    return [{**{str(k): v for k, v in row.items()}, "refused": refused}
            for row in results.slo().to_dict("records")]


# -- where runs go: inline, a process pool, or a Dask cluster ---------------------------------
class DaskUnavailable(MeshsimError):
    """``dask=`` was given but Dask is not installed or the scheduler cannot be reached."""


class CacheUnavailable(MeshsimError):
    """``cache_dir=`` names a path that cannot be a directory (a file, no permission)."""


DaskTarget = Any  # "local", a scheduler address, or a distributed.Client
DASK_CONNECT_TIMEOUT = "5s"  # how long to wait for a scheduler before saying it is unreachable


@contextmanager
def _dask_client(target: DaskTarget, workers: int | None) -> Iterator[Any]:
    """A client on ``target``; a ``LocalCluster`` (one thread per worker process) for "local".

    A client passed in stays open; one made here is closed with its cluster afterwards.
    """
    if not isinstance(target, str):
        yield target
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise DaskUnavailable(
            "--dask needs Dask: pip install 'meshsim[dask]' (or dask[distributed])"
        ) from None
    if target == "local":
        n = workers or os.cpu_count() or 1
        with LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=":0", worker_dashboard_address=None,  # a free port: never clash
            silence_logs=logging.ERROR,
        ) as cluster, Client(cluster) as client:
            yield client
        return
    try:
        client = Client(target, timeout=DASK_CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DaskUnavailable(f"--dask {target}: cannot reach the scheduler ({reason})") from None
    with client:
        yield client


def _execute(
    fn: Callable[..., Any], tasks: Sequence[tuple[Hashable, tuple[Any, ...]]],
    finish: Callable[[Hashable, Any], None], *, workers: int | None, dask: DaskTarget | None,
) -> None:
    """Call ``fn(*args)`` for every task and ``finish(key, result)`` as each one completes."""
    if dask is not None:
        if not tasks:
            return
        with _dask_client(dask, workers) as client:
            from distributed import as_completed as dask_completed

            futures = {client.submit(fn, *args, pure=False): key for key, args in tasks}
            for future in dask_completed(list(futures)):
                finish(futures[future], future.result())
    elif workers == 1 or len(tasks) <= 1:
        for key, args in tasks:
            finish(key, fn(*args))
    elif tasks:
        n = workers or os.cpu_count() or 1
        with ProcessPoolExecutor(max_workers=min(n, len(tasks))) as pool:
            pending = {pool.submit(fn, *args): key for key, args in tasks}
            for future in as_completed(pending):
                finish(pending[future], future.result())


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
    base = _scenario(scenario)
    base_overrides: dict[str, object] = dict(base.overrides)
    meta = base.metadata()

    paths = tuple(str(p) for p in grid)
    values = [list(grid[p]) for p in grid]
    for p, vals in zip(paths, values, strict=True):
        if not p.strip() or any(ch.isspace() for ch in p):
            raise ValueError(f"grid path {p!r}: expected a --set path without spaces")
        if not vals:
            raise ValueError(f"grid path {p!r}: no values")
    seed_list = _seeds(seeds)
    metric_list = tuple(metrics)
    unknown = [m for m in metric_list if m not in KNOWN_METRICS]
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}; known: {sorted(KNOWN_METRICS)}")
    service, use_workload = _reported(base.model, service)

    points = [dict(zip(paths, combo, strict=True)) for combo in itertools.product(*values)]
    # Compile every point here: a bad path or value fails early, in this process, and workers
    # get a ready model instead of files they may not be able to read.
    models = [base.with_overrides(point).model for point in points]

    cache = Path(cache_dir) if cache_dir is not None else None
    if cache is not None:
        try:
            cache.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CacheUnavailable(f"--cache-dir {cache}: cannot create the cache directory "
                                f"({exc.strerror or exc})") from None

    tasks: list[tuple[Hashable, tuple[Any, ...]]] = []
    files: dict[Hashable, Path | None] = {}
    rows: dict[Hashable, dict[str, Any]] = {}
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
            files[(i, seed)] = file
            tasks.append(((i, seed), (models[i], seed, service, use_workload, metric_list)))

    total, done = len(points) * len(seed_list), len(rows)
    report, close = progress_reporter(progress, total)
    report(done, total)

    def finish(key: Hashable, row: dict[str, Any]) -> None:
        nonlocal done
        rows[key] = row
        file = files[key]
        if file is not None:
            _write_cache(file, row)
        done += 1
        report(done, total)

    try:
        _execute(_run_one, tasks, finish, workers=workers, dask=dask)
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


def _scenario(scenario: Scenario | str | Path) -> Scenario:
    return scenario if isinstance(scenario, Scenario) else api.load(scenario)


def _seeds(seeds: Sequence[int] | int) -> list[int]:
    seed_list = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    if not seed_list:
        raise ValueError("seeds: need at least one seed")
    return seed_list


def _reported(model: Model, service: str | None) -> tuple[str, bool]:
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


# -- many seeds against the SLOs ----------------------------------------------------------------
def check(
    scenario: Scenario | str | Path,
    seeds: Sequence[int] | int = 10,
    confidence: float = 0.95,
    *,
    duration: float | None = None,
    workers: int | None = None,
    progress: bool | Callable[[int, int], None] = False,
    dask: DaskTarget | None = None,
) -> CheckReport:
    """Run ``scenario`` once per seed and judge each ``spec.expect`` SLO over all of them.

    An SLO passes when its metric's one-sided Student-t confidence bound on the mean over the
    seeds (at ``confidence``) lies on the right side of its threshold, and the metric had
    traffic on every seed (see :func:`meshsim.results.check.assess`). Runs go where
    :func:`sweep`'s go (``workers``, ``dask``); ``duration`` shortens every run.
    """
    base = _scenario(scenario)
    seed_list = _seeds(seeds)
    if len(seed_list) < 2:
        raise ValueError("seeds: need at least 2 seeds to state a confidence")
    if not 0.5 < confidence < 1:
        raise ValueError(f"confidence {confidence}: expected a value in (0.5, 1), e.g. 0.95")
    if duration is not None:  # the spec.duration override, cut as meshsim.config.shorten says
        base = base.with_duration(duration)
    model = base.model
    per_seed: dict[Hashable, list[dict[str, Any]]] = {}
    total = len(seed_list) if model.expectations else 0
    report, close = progress_reporter(progress, total)
    report(0, total)

    def finish(key: Hashable, rows: list[dict[str, Any]]) -> None:
        per_seed[key] = rows
        report(len(per_seed), total)

    tasks = [(seed, (model, seed)) for seed in seed_list] if model.expectations else []
    try:
        _execute(_slo_one, tasks, finish, workers=workers, dask=dask)
    finally:
        close()
    frame = pd.DataFrame.from_records(
        [{"seed": seed, **row} for seed in seed_list for row in per_seed.get(seed, [])]
    )
    return assess(base.name, frame, confidence, file=str(base.path), seeds=len(seed_list))


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
def progress_reporter(
    progress: bool | Callable[[int, int], None], total: int, label: str = "sweep"
) -> tuple[Callable[[int, int], None], Callable[[], None]]:
    """``(report(done, total), close())``: the caller's callback, nothing, or a rich bar on
    stderr (``progress=True``) for the runs of a sweep, map or recommendation."""
    if callable(progress):
        return progress, lambda: None
    if not progress:
        return (lambda done, total: None), lambda: None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=Console(stderr=True), transient=True,
    )
    task = bar.add_task(label, total=total)
    bar.start()
    return (lambda done, total: bar.update(task, completed=done, total=total)), bar.stop
