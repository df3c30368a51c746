"""The per-bucket time series from the online aggregates.

Same rows and columns as :func:`meshsim.results.timeseries.timeseries` over the raw frames: the
counts per (service, subset, mirror copy) and outcome per bucket are spread over the series'
own row and, for services with subsets and rows that are not mirror copies, the service's
aggregate row. p50/p90/p99 are those the aggregates computed from each bucket's sketch.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from meshsim.results.frames import is_ok
from meshsim.results.online import Online
from meshsim.results.stats import QUANTILES, denied, flag_mask
from meshsim.results.summary import service_keys
from meshsim.results.timeseries import _Bins, _local_replies, assemble


class _Spread:
    """Sums of cube columns per series key into the grid's cells, leaf and aggregate rows."""

    def __init__(self, online: Online, bins: _Bins) -> None:
        table = online.aggregates.series.table()
        names = online.names
        index = bins.index
        self.n = bins.n
        self.rows = len(bins.keys)
        self.targets = []
        leaf, total = [], []
        for service, subset, mirror in table.tolist():
            s, u = names[service], names[subset]
            leaf.append(-1 if (s in bins.multi and u == "") else index.get((s, u), -1))
            total.append(index[(s, "")] if s in bins.multi and not mirror else -1)
        self.targets = [np.asarray(leaf, dtype=np.int64), np.asarray(total, dtype=np.int64)]
        self.mirror = table[:, 2].astype(bool) if len(table) else np.zeros(0, dtype=bool)

    def __call__(self, series: np.ndarray, sums: np.ndarray, weights: np.ndarray
                 ) -> np.ndarray:
        """``sums`` is buckets × cube keys; each key's column times its weight goes to its
        series' cells. Flattened like :class:`_Bins` cells (key-major)."""
        out = np.zeros((self.rows, self.n))
        for target in self.targets:
            to = target[series] if len(series) else np.zeros(0, dtype=np.int64)
            keep = to >= 0
            if keep.any():
                np.add.at(out, to[keep], (sums[:, keep] * weights[keep]).T)
        return out.ravel()


def _outcomes(online: Online, keys: np.ndarray, status: int | None, flags: int) -> pd.DataFrame:
    """A frame of the cube keys' status and flags for the predicates of ``stats``."""
    return pd.DataFrame({
        "status": keys[:, status] if status is not None else np.zeros(len(keys), dtype=np.int64),
        "flags": online.decode(keys[:, flags]),
    })


def timeseries_online(
    online: Online, levels: Mapping[tuple[str, str, str], np.ndarray], *, horizon: float,
    bucket: float = 1.0, services: Iterable[str] = (),
) -> pd.DataFrame:
    """:func:`meshsim.results.timeseries.timeseries` over the aggregates."""
    agg = online.aggregates
    n = max(1, math.ceil(horizon / bucket - 1e-9))
    level_pairs = pd.DataFrame(
        [(service, subset) for _, service, subset in levels], columns=["service", "subset"],
        dtype=str,
    )
    keys, multi = service_keys((online.pairs(), level_pairs), services)
    bins = _Bins(keys, multi, n, bucket)
    spread = _Spread(online, bins)

    ended_keys, ended = agg.ended.result(n)  # series, status, flags
    outcome = _outcomes(online, ended_keys, 1, 2)
    calls = ended[:, :, 0]
    completed = spread(ended_keys[:, 0], calls, np.ones(len(ended_keys)))
    goodput = spread(ended_keys[:, 0], calls, is_ok(outcome["status"]).astype(float))
    refused = spread(ended_keys[:, 0], calls, denied(outcome).astype(float))
    mirrored = spread(ended_keys[:, 0], calls,
                      spread.mirror[ended_keys[:, 0]].astype(float) if len(ended_keys)
                      else np.zeros(0))

    started_keys, started = agg.started.result(n)  # series, flags, untried
    start_flags = _outcomes(online, started_keys, None, 1)["flags"]
    start_local = _local_replies(pd.DataFrame({"flags": start_flags})).astype(float)
    if agg.attempt_rows:
        tried_keys, tried = agg.tried.result(n)  # series, flags
        flags = pd.DataFrame({"flags": online.decode(tried_keys[:, 1])})
        ones = np.ones(len(tried_keys))
        offered = spread(tried_keys[:, 0], tried[:, :, 0], ones)
        retries = spread(tried_keys[:, 0], tried[:, :, 1], ones)
        overflows = spread(tried_keys[:, 0], tried[:, :, 0],
                           flag_mask(flags["flags"], "UO").astype(float))
        local = spread(tried_keys[:, 0], tried[:, :, 0], _local_replies(flags).astype(float))
        untried = started_keys[:, 2].astype(float) if len(started_keys) else np.zeros(0)
        local += spread(started_keys[:, 0], started[:, :, 0], start_local * untried)
    else:  # attempts not recorded: each call's attempts at its start
        ones = np.ones(len(started_keys))
        offered = spread(started_keys[:, 0], started[:, :, 1], ones)
        retries = spread(started_keys[:, 0], started[:, :, 1] - started[:, :, 0], ones)
        overflows = spread(started_keys[:, 0], started[:, :, 0],
                           flag_mask(start_flags, "UO").astype(float))
        local = spread(started_keys[:, 0], started[:, :, 0], start_local)
    with np.errstate(invalid="ignore", divide="ignore"):
        success = goodput / completed
    counts = {"offered": offered, "completed": completed, "goodput": goodput,
              "retries": retries, "overflows": overflows, "local_replies": local,
              "denied": refused, "mirrored": mirrored}
    return assemble(bins, levels, counts, success, _percentiles(online, bins))


def _percentiles(online: Online, bins: _Bins) -> dict[str, np.ndarray]:
    """Per cell, p50/p90/p99 of the calls that ended in it (NaN for an empty cell)."""
    found = online.aggregates.series_latency(bins.n)
    names = online.names
    cell = np.full(len(found.bucket), -1, dtype=np.int64)
    for i, (b, service, subset) in enumerate(
        zip(found.bucket.tolist(), found.service.tolist(), found.subset.tolist(), strict=True)
    ):
        s = names[service]
        if subset < 0:
            key = bins.index.get((s, "")) if s in bins.multi else None
        else:
            u = names[subset]
            key = None if (s in bins.multi and u == "") else bins.index.get((s, u))
        if key is not None:
            cell[i] = key * bins.n + b
    keep = cell >= 0
    out = {}
    for j, name in enumerate(QUANTILES):
        column = np.full(bins.cells, np.nan)
        column[cell[keep]] = found.values[keep, j]
        out[name] = column
    return out
