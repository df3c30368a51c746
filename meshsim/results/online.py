"""The golden metrics read off the online aggregates (:mod:`meshsim.metrics.aggregates`).

The aggregates hold exact counts per *edge* (caller, service, subset, mirror copy or not, a
workload's request or not) and outcome (status, flags), and a latency sketch per edge. Here they
become small frames, one row per (edge, status, flags) with a count ``n`` beside the sums, on
which the same predicates as the raw frames' (:mod:`meshsim.results.stats`) give masks; a
metric is the count-weighted sum of its mask. Counts are exact; p50/p90/p99 come from the
merged sketches (within :data:`~meshsim.metrics.sketch.ALPHA` of the exact quantiles).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from meshsim.metrics.aggregates import Aggregates
from meshsim.metrics.sketch import Sketches
from meshsim.results.frames import decode_codes, is_ok
from meshsim.results.stats import (
    COUNT_COLUMNS,
    METRIC_COLUMNS,
    QUANTILES,
    client_errors,
    denied,
    flag_mask,
    timed_out,
)


@dataclass(frozen=True)
class Online:
    """A run's aggregates with the names their codes index and the clients' workloads."""

    aggregates: Aggregates
    names: Sequence[str]
    client_workload: dict[int, int]

    def decode(self, codes: np.ndarray) -> pd.Categorical:
        return decode_codes(np.asarray(codes, dtype=np.int64), self.names)

    def workload_of(self, callers: np.ndarray) -> np.ndarray:
        """Per client code, its workload's name ("" for a caller that is not a client)."""
        return np.asarray([self.names[self.client_workload.get(int(c), 0)] for c in callers],
                          dtype=object)

    def window_calls(self, window: int) -> pd.DataFrame:
        """One row per (edge, status, flags) of the calls starting in the window."""
        keys, sums = self.aggregates.window_calls[window].result()
        edges = self.aggregates.edges.table()[keys[:, 0]] if len(keys) else \
            np.zeros((0, 5), dtype=np.int64)
        return pd.DataFrame({
            "edge": keys[:, 0], "caller": self.decode(edges[:, 0]),
            "service": self.decode(edges[:, 1]), "subset": self.decode(edges[:, 2]),
            "mirror": edges[:, 3].astype(bool), "top": edges[:, 4].astype(bool),
            "status": keys[:, 1], "flags": self.decode(keys[:, 2]), "n": sums[:, 0],
            "attempts": sums[:, 1], "retries": sums[:, 2], "latency_sum": sums[:, 3],
        })

    def window_tries(self, window: int) -> pd.DataFrame:
        """One row per (caller, service, subset, mirror, status, flags) of the attempts
        starting in the window."""
        keys, sums = self.aggregates.window_tries[window].result()
        return pd.DataFrame({
            "caller": self.decode(keys[:, 0]), "service": self.decode(keys[:, 1]),
            "subset": self.decode(keys[:, 2]), "mirror": keys[:, 3].astype(bool),
            "status": keys[:, 4], "flags": self.decode(keys[:, 5]), "n": sums[:, 0],
            "retries": sums[:, 1],
        })

    def pairs(self) -> pd.DataFrame:
        """Every (service, subset) any call or attempt was recorded for."""
        table = self.aggregates.series.table()
        return pd.DataFrame({"service": self.decode(table[:, 0]),
                             "subset": self.decode(table[:, 1])})

    def used_workloads(self) -> list[str]:
        """The workloads with at least one recorded request, sorted."""
        keys, sums = self.aggregates.issued_ok.result(self.aggregates.issued_ok.sums.shape[0])
        used = sums[:, :, 0].sum(axis=0) > 0 if len(keys) else np.zeros(0, dtype=bool)
        return sorted(set(self.workload_of(keys[used, 0]).tolist())) if used.any() else []


def group_metrics(
    rows: pd.DataFrame, group: np.ndarray, n_groups: int, latency: Sketches, span: float
) -> pd.DataFrame:
    """:data:`METRIC_COLUMNS` for groups ``0..n_groups-1`` of ``rows`` (a window frame of
    :class:`Online`; ``group`` -1 leaves a row out); ``latency`` holds each group's sketch.
    A group without calls is all NaN, as a missing group of :func:`stats.call_metrics`."""
    keep = group >= 0
    g = group[keep]
    n = rows["n"].to_numpy(dtype=np.float64)[keep]

    def tally(weights: np.ndarray) -> np.ndarray:
        return np.bincount(g, weights=weights, minlength=n_groups)

    def counted(mask: np.ndarray) -> np.ndarray:
        return tally(n * mask[keep])

    requests = tally(n)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = pd.DataFrame({
            "requests": requests,
            "rps": requests / span if span > 0 else np.full(n_groups, np.nan),
            "success_rate": counted(is_ok(rows["status"])) / requests,
        })
        ids, _, values = latency.quantiles(list(QUANTILES.values()))
        for j, name in enumerate(QUANTILES):
            column = np.full(n_groups, np.nan)
            column[ids] = values[:, j]
            out[name] = column
        out["mean_latency"] = tally(rows["latency_sum"].to_numpy(dtype=np.float64)[keep]) / \
            requests
        out["attempts"] = tally(rows["attempts"].to_numpy(dtype=np.float64)[keep])
        out["retries"] = tally(rows["retries"].to_numpy(dtype=np.float64)[keep])
        out["retry_ratio"] = out["retries"] / requests
        out["timeouts"] = counted(timed_out(rows))
        out["denied"] = counted(denied(rows))
        out["denied_rate"] = out["denied"] / requests
        out["client_errors"] = counted(client_errors(rows))
        out["client_error_rate"] = out["client_errors"] / requests
    out = out[list(METRIC_COLUMNS)]
    out.loc[requests == 0, :] = np.nan
    return out


def edge_sketches(online: Online, window: int, rows: pd.DataFrame, group: np.ndarray
                  ) -> Sketches:
    """The window's latency sketches merged per group (each edge in one group)."""
    to = np.full(len(online.aggregates.edges) + 1, -1, dtype=np.int64)
    keep = group >= 0
    to[rows["edge"].to_numpy()[keep]] = group[keep]
    return online.aggregates.window_latency[window].regroup(lambda e: to[e])


def window_metrics(
    online: Online, window: int, rows: pd.DataFrame, group: np.ndarray, n_groups: int,
    span: float,
) -> pd.DataFrame:
    """:func:`group_metrics` with the groups' merged sketches."""
    latency = edge_sketches(online, window, rows, group)
    return group_metrics(rows, group, n_groups, latency, span)


def attempt_counts(rows: pd.DataFrame, group: np.ndarray, n_groups: int) -> pd.DataFrame:
    """Per group of a :meth:`Online.window_tries` frame: recorded attempts, those ok, and
    pool overflows (NaN for a group without attempts)."""
    keep = group >= 0
    n = rows["n"].to_numpy(dtype=np.float64)[keep]
    g = group[keep]
    recorded = np.bincount(g, weights=n, minlength=n_groups)
    out = pd.DataFrame({
        "recorded": recorded,
        "attempts_ok": np.bincount(g, weights=n * is_ok(rows["status"])[keep],
                                   minlength=n_groups),
        "overflows": np.bincount(g, weights=n * flag_mask(rows["flags"], "UO")[keep],
                                 minlength=n_groups),
    })
    out.loc[recorded == 0, :] = np.nan
    return out


def as_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """Count columns back to integers once the groups are complete (NaN to 0)."""
    for name in COUNT_COLUMNS:
        if name in frame:
            frame[name] = frame[name].fillna(0).astype(np.int64)
    return frame


def online_requests(online: Online, warmup: float, duration: float) -> tuple[int, pd.Series]:
    """All requests recorded, and the metrics of those issued after warm-up (none is issued
    at or after the end of the run)."""
    agg = online.aggregates
    total = agg.request_rows
    window = agg.window(warmup, duration)
    rows = online.window_calls(window)
    group = np.where(rows["top"].to_numpy(dtype=bool), 0, -1)
    metrics = window_metrics(online, window, rows, group, 1, float("inf"))
    return total, metrics.fillna({"requests": 0}).iloc[0]


def retries_after(online: Online, warmup: float, duration: float) -> int:
    """Retries (attempts beyond a call's first, mirror copies left out) sent on every hop
    from ``warmup`` on: none starts at or after the end of the run."""
    tries = online.window_tries(online.aggregates.window(warmup, duration))
    return int(tries["retries"].to_numpy()[~tries["mirror"].to_numpy(dtype=bool)].sum())
