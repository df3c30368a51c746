"""Per second of simulated time, per service and subset: load, outcomes, latency and levels.

Counts are binned with numpy (one ``bincount`` per column, one sort for the percentiles), so a
run with millions of attempts turns into a time series in well under a second. Every bucket
from 0 to the end of the run is present for every service and subset, counts zero-filled.
Rates are per second (a count divided by the bucket width, which is 1 s by default). A
service with several subsets also gets an aggregate row per second with ``subset=""``.

A mirror copy (``mirror`` true) is load on the shadow it was sent to, and counts in that
service's (or subset's) own row only: never in a service's aggregate row, whose throughput,
goodput and success rate are those the callers were served (Envoy discards the shadow's answer).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from meshsim.results.frames import empty_categorical
from meshsim.results.stats import QUANTILES, category_mask, denied, flag_mask
from meshsim.results.summary import service_keys

TIMESERIES_COLUMNS = (
    "time", "service", "subset", "offered", "completed", "goodput", "success_rate", "p50", "p90",
    "p99", "retries", "in_flight", "queue_depth", "ejected", "overflows", "local_replies",
    "denied", "mirrored", "aggregate",
)
LEVEL_NAMES = ("in_flight", "queue_depth", "ejected")
# Response flags of an answer the caller's proxy made itself instead of the upstream's
# (Envoy's local replies): pool overflow, no healthy host, connect failure or reset, timeout,
# no route, no cluster, injected abort.
LOCAL_REPLY_FLAGS = ("UO", "UH", "UF", "UC", "UR", "UT", "NR", "NC", "FI")


class _Bins:
    """Maps frame rows to (series key, time bucket) cells of the output grid."""

    def __init__(self, keys: list[tuple[str, str]], multi: set[str], n: int, bucket: float):
        self.keys = keys
        self.index = {key: i for i, key in enumerate(keys)}
        self.multi = multi
        self.n = n
        self.bucket = bucket

    @property
    def cells(self) -> int:
        return len(self.keys) * self.n

    def key_ids(self, frame: pd.DataFrame) -> list[np.ndarray]:
        """Per row, its leaf key id, and for services with subsets its aggregate key id
        (-1 where a row has none)."""
        service = _categorical(frame["service"])
        subset = _categorical(frame["subset"])
        s_names = [str(c) for c in service.cat.categories]
        u_names = [str(c) for c in subset.cat.categories]
        leaf = np.full((len(s_names) + 1, len(u_names) + 1), -1, dtype=np.int64)
        agg = np.full(len(s_names) + 1, -1, dtype=np.int64)
        for i, s in enumerate(s_names):
            if s in self.multi:
                agg[i] = self.index[(s, "")]
            for j, u in enumerate(u_names):
                if not (s in self.multi and u == ""):
                    leaf[i, j] = self.index.get((s, u), -1)
        s_codes = service.cat.codes.to_numpy()
        u_codes = subset.cat.codes.to_numpy()
        if not (agg >= 0).any():  # no service with subsets here: skip the aggregate pass
            return [leaf[s_codes, u_codes]]
        return [leaf[s_codes, u_codes], np.where(_mirrored(frame), -1, agg[s_codes])]

    def cell_ids(self, key_ids: np.ndarray, times: np.ndarray) -> np.ndarray:
        """Grid cell per row, -1 for rows without a key or outside [0, n * bucket]; a row at
        the very end of the run counts in the last bucket."""
        b = np.minimum((times / self.bucket).astype(np.int64), self.n - 1)
        valid = (key_ids >= 0) & (times >= 0) & (times <= self.n * self.bucket)
        return np.where(valid, key_ids * self.n + b, -1)

    def locate(self, frame: pd.DataFrame, time_column: str) -> list[np.ndarray]:
        """Per row, its leaf cell and its aggregate cell (-1 where it has none)."""
        times = frame[time_column].to_numpy(dtype=np.float64)
        return [self.cell_ids(ids, times) for ids in self.key_ids(frame)]

    def count(self, cells: list[np.ndarray], weights: np.ndarray | None = None) -> np.ndarray:
        """Rows (or the sum of ``weights``) per cell, leaf and aggregate keys alike."""
        total = np.zeros(self.cells)
        for ids in cells:
            keep = ids >= 0
            w = None if weights is None else weights[keep]
            total += np.bincount(ids[keep], weights=w, minlength=self.cells)
        return total

    def quantiles(self, cells: list[np.ndarray], values: np.ndarray) -> dict[str, np.ndarray]:
        """Linear-interpolated quantiles of ``values`` per cell (NaN where a cell is empty)."""
        all_cells = np.concatenate(cells)
        vals = np.concatenate([values] * len(cells))
        keep = all_cells >= 0
        all_cells, vals = all_cells[keep], vals[keep]
        # Sort by value, then stably by cell: each cell's values end up contiguous and sorted
        # (two passes are much faster than a lexsort on millions of rows).
        by_value = np.argsort(vals)
        order = by_value[np.argsort(all_cells[by_value], kind="stable")]
        vals = vals[order]
        counts = np.bincount(all_cells, minlength=self.cells)
        starts = np.cumsum(counts) - counts
        out: dict[str, np.ndarray] = {}
        has = counts > 0
        for name, q in QUANTILES.items():
            result = np.full(self.cells, np.nan)
            pos = q * (counts[has] - 1)
            lo = np.floor(pos).astype(np.int64)
            hi = np.minimum(lo + 1, counts[has] - 1)
            base = starts[has]
            low, high = vals[base + lo], vals[base + hi]
            result[has] = low + (pos - lo) * (high - low)
            out[name] = result
        return out


def _mirrored(frame: pd.DataFrame) -> np.ndarray:
    """Rows that are mirror copies (none when the frame has no ``mirror`` column)."""
    if "mirror" not in frame:
        return np.zeros(len(frame), dtype=bool)
    return frame["mirror"].to_numpy(dtype=bool)


def _local_replies(frame: pd.DataFrame) -> np.ndarray:
    """Rows whose flags say the caller's proxy answered itself (:data:`LOCAL_REPLY_FLAGS`)."""
    wanted = set(LOCAL_REPLY_FLAGS)
    return category_mask(frame["flags"], lambda label: not wanted.isdisjoint(label.split(",")))


def _categorical(values: pd.Series) -> pd.Series:
    return values if isinstance(values.dtype, pd.CategoricalDtype) else values.astype("category")


def _levels(
    levels: Mapping[tuple[str, str, str], np.ndarray], bins: _Bins, name: str
) -> np.ndarray:
    """Per cell, the time-weighted mean of level ``name``: a subset row takes its own level, a
    service's only or aggregate row the sum over all the service's subsets."""
    out = np.zeros(bins.cells)
    by_service: dict[str, list[tuple[str, str]]] = {}
    for s, u in bins.keys:
        by_service.setdefault(s, []).append((s, u))
    for (level, service, subset), series in levels.items():
        if level != name or service not in by_service:
            continue
        values = np.asarray(series, dtype=np.float64)[: bins.n]
        hits = by_service[service]
        if service in bins.multi:
            hits = [(service, "")]
            if subset and (service, subset) in bins.index:
                hits.append((service, subset))
        for key in hits:
            start = bins.index[key] * bins.n
            out[start : start + len(values)] += values
    return out


def timeseries(
    calls: pd.DataFrame, attempts: pd.DataFrame,
    levels: Mapping[tuple[str, str, str], np.ndarray], *, horizon: float, bucket: float = 1.0,
    services: Iterable[str] = (),
) -> pd.DataFrame:
    """The per-bucket time series from time 0 to ``horizon`` seconds.

    ``offered`` and ``retries`` count attempts by the time they start; when attempts were not
    recorded they fall back to each call's attempts at the call's start. ``completed``,
    ``goodput``, ``success_rate`` and the percentiles use calls by the time they finish, as do
    ``denied`` (403s of an authorization policy, counted as goodput like the meshes do) and
    ``mirrored`` (the mirror copies among ``completed``). ``overflows`` (503 UO) and
    ``local_replies`` count attempts by start (calls, without attempts) that the caller's proxy
    answered itself (:data:`LOCAL_REPLY_FLAGS`); ``local_replies`` also counts the calls it
    answered before any attempt (an injected abort, no route).
    """
    n = max(1, math.ceil(horizon / bucket - 1e-9))
    level_pairs = pd.DataFrame(
        [(service, subset) for _, service, subset in levels], columns=["service", "subset"],
        dtype=str,
    )
    keys, multi = service_keys((calls, attempts, level_pairs), services)
    bins = _Bins(keys, multi, n, bucket)

    finished = bins.locate(calls, "end")
    completed = bins.count(finished)
    goodput = bins.count(finished, calls["ok"].to_numpy(dtype=np.float64))
    refused = bins.count(finished, denied(calls).astype(np.float64))
    mirrored = bins.count(finished, _mirrored(calls).astype(np.float64))
    tried = attempts if len(attempts) or not len(calls) else calls
    started = bins.locate(tried, "start")
    if tried is attempts:
        offered = bins.count(started)
        retries = bins.count(started, attempts["retry"].to_numpy(dtype=np.float64))
    else:
        tries = calls["attempts"].to_numpy(dtype=np.float64)
        offered = bins.count(started, tries)
        retries = bins.count(started, tries - 1.0)
    overflows = bins.count(started, flag_mask(tried["flags"], "UO").astype(np.float64))
    local = bins.count(started, _local_replies(tried).astype(np.float64))
    if tried is attempts:  # answers made before any attempt left (FI, NR, NC, UH) have no row
        untried = calls[calls["attempts"].to_numpy() == 0]
        local += bins.count(bins.locate(untried, "start"),
                            _local_replies(untried).astype(np.float64))
    with np.errstate(invalid="ignore", divide="ignore"):
        success = goodput / completed
    pcts = bins.quantiles(finished, calls["latency"].to_numpy(dtype=np.float64))

    counts = {"offered": offered, "completed": completed, "goodput": goodput,
              "retries": retries, "overflows": overflows, "local_replies": local,
              "denied": refused, "mirrored": mirrored}
    return assemble(bins, levels, counts, success, pcts)


def assemble(
    bins: _Bins, levels: Mapping[tuple[str, str, str], np.ndarray],
    counts: Mapping[str, np.ndarray], success: np.ndarray, pcts: Mapping[str, np.ndarray],
) -> pd.DataFrame:
    """The frame of :data:`TIMESERIES_COLUMNS` from per-cell counts (rates per second once
    divided by the bucket), success rates and percentiles, and the levels."""
    keys, multi, n, bucket = bins.keys, bins.multi, bins.n, bins.bucket
    key_services = [s for s, _ in keys]
    key_subsets = [u for _, u in keys]
    data: dict[str, object] = {
        "time": np.tile(np.arange(n, dtype=np.float64) * bucket, len(keys)),
        "service": pd.Categorical(np.repeat(np.asarray(key_services, dtype=object), n)),
        "subset": pd.Categorical(np.repeat(np.asarray(key_subsets, dtype=object), n)),
        "offered": counts["offered"] / bucket,
        "completed": counts["completed"] / bucket,
        "goodput": counts["goodput"] / bucket,
        "success_rate": success,
        **pcts,
        "retries": counts["retries"] / bucket,
    }
    for name in LEVEL_NAMES:
        data[name] = _levels(levels, bins, name)
    for name in ("overflows", "local_replies", "denied", "mirrored"):
        data[name] = counts[name] / bucket
    data["aggregate"] = np.repeat(
        np.array([s in multi and u == "" for s, u in keys], dtype=bool), n
    )
    if not keys:
        data["service"] = empty_categorical()
        data["subset"] = empty_categorical()
    frame = pd.DataFrame(data)
    return frame[list(TIMESERIES_COLUMNS)]
