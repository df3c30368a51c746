"""The summary tables (per service and subset, per workload) from the online aggregates.

Same rows, columns and meanings as :mod:`meshsim.results.summary` over the raw frames; counts are
exact, p50/p90/p99 within the sketch's relative error, ``mean_latency`` a sum over a count
(equal up to float rounding).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from meshsim.metrics.sketch import Sketches
from meshsim.results.online import (
    Online,
    as_counts,
    attempt_counts,
    edge_sketches,
    window_metrics,
)
from meshsim.results.stats import METRIC_COLUMNS
from meshsim.results.summary import (
    SUMMARY_COLUMNS,
    WORKLOAD_COLUMNS,
    _event_counts,
    _leaf_and_aggregate,
    service_keys,
)


def key_groups(
    rows: pd.DataFrame, keys: list[tuple[str, str]], multi: set[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Per row, its (service, subset) row of the output and, for services with several
    subsets and rows that are not mirror copies, the service's aggregate row (-1: none)."""
    index = {key: i for i, key in enumerate(keys)}
    service = rows["service"].astype(str).to_numpy()
    subset = rows["subset"].astype(str).to_numpy()
    mirror = rows["mirror"].to_numpy(dtype=bool)
    leaf = np.array([-1 if (s in multi and u == "") else index.get((s, u), -1)
                     for s, u in zip(service, subset, strict=True)], dtype=np.int64)
    total = np.array([index[(s, "")] if s in multi and not m else -1
                      for s, m in zip(service, mirror, strict=True)], dtype=np.int64)
    return leaf, total


def _both(frames: tuple[pd.DataFrame, pd.DataFrame], present: str) -> pd.DataFrame:
    """Leaf and aggregate rows are disjoint: take each row from the one that has it."""
    leaf, total = frames
    have = np.repeat(leaf[present].notna().to_numpy()[:, None], leaf.shape[1], axis=1)
    return leaf.where(have, total)


def summarize_online(
    online: Online, events: pd.DataFrame, *, start: float, end: float,
    services: Iterable[str] = (),
) -> pd.DataFrame:
    """:func:`meshsim.results.summary.summarize` over the aggregates of ``[start, end)``."""
    span = end - start
    window = online.aggregates.window(start, end)
    keys, multi = service_keys((online.pairs(),), services)
    index = pd.MultiIndex.from_tuples(keys, names=["service", "subset"]) if keys else \
        pd.MultiIndex.from_arrays([pd.Index([], dtype=str)] * 2, names=["service", "subset"])
    calls = online.window_calls(window)
    groups = key_groups(calls, keys, multi)
    metrics = _both(tuple(  # type: ignore[arg-type]
        window_metrics(online, window, calls, g, len(keys), span) for g in groups
    ), "requests")
    tries_rows = online.window_tries(window)
    tries = _both(tuple(  # type: ignore[arg-type]
        attempt_counts(tries_rows, g, len(keys)) for g in key_groups(tries_rows, keys, multi)
    ), "recorded")
    t = events["time"].to_numpy()
    ejects = events[((events["kind"] == "eject").to_numpy()) & (t >= start) & (t < end)]
    ejections = _leaf_and_aggregate(ejects, multi, _event_counts).reindex(index)

    out = metrics.set_axis(index)[list(METRIC_COLUMNS)].copy()
    out["overflows"] = tries["overflows"].to_numpy()
    out["ejections"] = ejections["ejections"]
    recorded = tries["recorded"].to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["attempt_success_rate"] = tries["attempts_ok"].to_numpy(dtype=np.float64) / recorded
    for name in ("requests", "retries", "timeouts", "overflows", "ejections", "attempts",
                 "denied", "client_errors"):
        out[name] = out[name].fillna(0).astype(np.int64)
    out["rps"] = out["rps"].fillna(0.0) if span > 0 else np.nan
    out = out.reset_index()
    out["aggregate"] = out["service"].isin(multi).to_numpy() & (out["subset"] == "").to_numpy()
    out = out.astype({"service": str, "subset": str})
    return out[list(SUMMARY_COLUMNS)]


def summarize_workloads_online(
    online: Online, *, start: float, end: float, workloads: Iterable[str] = ()
) -> pd.DataFrame:
    """:func:`meshsim.results.summary.summarize_workloads` over the aggregates."""
    names = sorted(set(workloads) | set(online.used_workloads()))
    window = online.aggregates.window(start, end)
    calls = online.window_calls(window)
    position = {name: i for i, name in enumerate(names)}
    workload = online.workload_of(_caller_codes(online, calls))
    group = np.array([position.get(w, -1) if top else -1 for w, top in
                      zip(workload, calls["top"].to_numpy(dtype=bool), strict=True)],
                     dtype=np.int64)
    out = window_metrics(online, window, calls, group, len(names), end - start)
    out.insert(0, "workload", pd.Index(names, dtype=str))
    out = as_counts(out)
    out["rps"] = out["rps"].fillna(0.0) if end > start else np.nan
    return out[list(WORKLOAD_COLUMNS)].reset_index(drop=True)


def _caller_codes(online: Online, calls: pd.DataFrame) -> np.ndarray:
    """The interned code of each row's caller."""
    table = online.aggregates.edges.table()
    return table[calls["edge"].to_numpy(), 0] if len(calls) else np.zeros(0, dtype=np.int64)


def latency_sketches(
    online: Online, *, start: float, end: float, services: Iterable[str] = (),
    workloads: Iterable[str] = (),
) -> dict[str, object]:
    """The summary window's latency sketches, JSON-ready: per ``service/subset`` row of the
    summary (``service`` alone for its aggregate or only row) and per workload. Sketches of
    several runs (seeds) merge by adding their bucket counts
    (:meth:`meshsim.metrics.sketch.Sketches.merge` after ``from_dict``)."""
    window = online.aggregates.window(start, end)
    calls = online.window_calls(window)
    keys, multi = service_keys((online.pairs(),), services)
    merged = Sketches(online.aggregates.window_latency[window].alpha)
    for group in key_groups(calls, keys, multi):
        merged.merge(edge_sketches(online, window, calls, group))
    names = sorted(set(workloads) | set(online.used_workloads()))
    position = {name: i for i, name in enumerate(names)}
    workload = online.workload_of(_caller_codes(online, calls))
    by_workload = np.array([position.get(w, -1) if top else -1 for w, top in
                            zip(workload, calls["top"].to_numpy(dtype=bool), strict=True)],
                           dtype=np.int64)
    per_workload = edge_sketches(online, window, calls, by_workload).to_dict()
    per_service = merged.to_dict()

    def label(key: tuple[str, str]) -> str:
        return key[0] if not key[1] else f"{key[0]}/{key[1]}"

    return {
        "alpha": per_service["alpha"], "min_value": per_service["min_value"],
        "window": [start, end],
        "services": {label(keys[int(g)]): s for g, s in per_service["sketches"].items()},
        "workloads": {names[int(g)]: s for g, s in per_workload["sketches"].items()},
    }
