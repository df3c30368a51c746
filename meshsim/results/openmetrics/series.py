"""Cumulative series sampled at scrape times: what a Prometheus scrape of a sidecar sees.

A counter's value at scrape ``t`` counts the rows that ended by ``t`` (a proxy records a
response when it completes; ``request_total`` counts at the start); a histogram's buckets
count those with latency ``<= le``. Every series is written from the first scrape (value 0)
so ``increase()`` over a window that starts before a series' first request loses nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

Labels = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Series:
    """One label set: its rows' event times (sorted) and latencies in milliseconds."""

    labels: Labels
    times: np.ndarray
    latency_ms: np.ndarray


def scrape_times(horizon: float, interval: float) -> np.ndarray:
    """0, interval, 2 interval, ... up to the first scrape at or after ``horizon``."""
    steps = int(np.ceil(horizon / interval - 1e-9))
    return np.arange(steps + 1, dtype=np.float64) * interval


def group_series(
    frame: pd.DataFrame, keys: Sequence[str], labels_of: object, *, time: str = "end",
) -> list[Series]:
    """Rows of ``frame`` grouped by the categorical ``keys``; ``labels_of(row_of_keys)``
    (a callable taking a dict) gives each group's labels, or None to leave it out. Groups
    with equal labels merge into one series."""
    if frame.empty:
        return []
    group = frame.groupby(list(keys), observed=True, sort=False).ngroup().to_numpy()
    firsts = frame.assign(_g=group).drop_duplicates("_g").sort_values("_g")
    merged: dict[Labels, list[int]] = {}
    for g, row in zip(firsts["_g"], firsts[list(keys)].to_dict(orient="records"), strict=True):
        labels = labels_of(row)  # type: ignore[operator]
        if labels is not None:
            merged.setdefault(labels, []).append(int(g))
    times = frame[time].to_numpy(dtype=np.float64)
    latency = frame["latency"].to_numpy(dtype=np.float64) * 1e3
    out = []
    order = np.argsort(group, kind="stable")
    bounds = np.searchsorted(group[order], np.arange(group.max() + 2))
    for labels, groups in sorted(merged.items()):
        rows = np.concatenate([order[bounds[g]:bounds[g + 1]] for g in groups])
        by_time = rows[np.argsort(times[rows], kind="stable")]
        out.append(Series(labels, times[by_time], latency[by_time]))
    return out


def counts(series: Series, at: np.ndarray) -> np.ndarray:
    """Rows that happened by each scrape time."""
    return np.searchsorted(series.times, at, side="right")


def histogram(
    series: Series, at: np.ndarray, buckets: Sequence[float],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(bucket counts [scrape, le incl. +Inf], count, sum in ms) at each scrape time."""
    done = counts(series, at)
    le = np.asarray([*buckets, np.inf])
    inside = series.latency_ms[:, None] <= le[None, :]
    cum = np.vstack([np.zeros((1, len(le)), dtype=np.int64), np.cumsum(inside, axis=0)])
    sums = np.concatenate([[0.0], np.cumsum(series.latency_ms)])
    return cum[done], done, sums[done]
