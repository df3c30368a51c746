"""An expectation's value from the online aggregates (:mod:`meshsim.results.slo` asks).

The calls (or a workload's requests) an expectation looks at are the rows of its window's
aggregates for that service, subset or workload; their counts are exact and the latency
quantiles come from their edges' merged sketches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from meshsim.metrics.sketch import Sketches
from meshsim.model import Expectation, Workload
from meshsim.results.online import Online, edge_sketches, group_metrics
from meshsim.results.stats import flag_mask, in_names

_CALL_COLUMNS = ("status", "flags", "n", "attempts", "retries", "latency_sum")


@dataclass(frozen=True)
class OnlineSelection:
    """The calls an expectation looks at, as aggregate rows and one merged sketch."""

    rows: pd.DataFrame  # window rows of the chosen edges (:meth:`Online.window_calls`)
    latency: Sketches  # their latencies, group 0
    span: float

    @property
    def empty(self) -> bool:
        return not float(self.rows["n"].sum())

    def max_latency(self) -> float:
        _, _, high = self.latency.extremes()
        return float(high[0]) if len(high) else float("nan")

    def metric(self, name: str) -> float:
        group = np.zeros(len(self.rows), dtype=np.int64)
        return float(group_metrics(self.rows, group, 1, self.latency, self.span)[name].iloc[0])

    def with_failed(self, ages: np.ndarray, name: str) -> float:
        """``name`` with the requests of ``ages`` counted as failed (status 0) and that slow."""
        failed = pd.DataFrame({
            "status": [0], "flags": pd.Categorical([""]), "n": [float(len(ages))],
            "attempts": [float(len(ages))], "retries": [0.0],
            "latency_sum": [float(np.sum(ages))],
        })
        rows = pd.concat([self.rows[list(_CALL_COLUMNS)], failed], ignore_index=True)
        rows["flags"] = rows["flags"].astype(str).astype("category")
        latency = self.latency.regroup(lambda g: g)
        latency.add(np.zeros(len(ages), dtype=np.int64), np.asarray(ages, dtype=float))
        group = np.zeros(len(rows), dtype=np.int64)
        return float(group_metrics(rows, group, 1, latency, self.span)[name].iloc[0])


def online_value(
    online: Online, events: pd.DataFrame, workloads: Sequence[Workload], exp: Expectation,
    start: float, end: float,
) -> tuple[float, OnlineSelection]:
    """The metric's value over ``[start, end)`` and the calls (or requests) behind it."""
    window = online.aggregates.window(start, end)
    rows = online.window_calls(window)
    tries = online.window_tries(window)
    clients: set[str] | None = None
    for workload in workloads:
        if workload.name == exp.service:
            clients = set(workload.client_names())
    if clients is not None:
        callers = online.aggregates.edges.table()[rows["edge"].to_numpy(), 0] if len(rows) \
            else np.zeros(0, dtype=np.int64)
        chosen = rows["top"].to_numpy(dtype=bool) & (online.workload_of(callers) == exp.service)
        try_mask = in_names(tries["caller"], clients)
        event_mask = in_names(events["proxy"], clients)
    else:
        chosen = (rows["service"] == exp.service).to_numpy()
        try_mask = (tries["service"] == exp.service).to_numpy()
        event_mask = (events["service"] == exp.service).to_numpy()
        if exp.subset is not None:
            chosen = chosen & (rows["subset"] == exp.subset).to_numpy()
            try_mask = try_mask & (tries["subset"] == exp.subset).to_numpy()
            event_mask = event_mask & (events["subset"] == exp.subset).to_numpy()
        else:  # a mirror copy is the shadow's own load, not what the service's callers got
            chosen = chosen & ~rows["mirror"].to_numpy(dtype=bool)
            try_mask = try_mask & ~tries["mirror"].to_numpy(dtype=bool)
    group = np.where(chosen, 0, -1)
    selected = OnlineSelection(rows[chosen].reset_index(drop=True),
                               edge_sketches(online, window, rows, group), end - start)
    if exp.metric == "overflows":
        n = tries["n"].to_numpy(dtype=np.float64)
        return float((n * (flag_mask(tries["flags"], "UO") & try_mask)).sum()), selected
    if exp.metric == "ejections":
        t = events["time"].to_numpy()
        hits = event_mask & (events["kind"] == "eject").to_numpy() & (t >= start) & (t < end)
        return float(hits.sum()), selected
    return selected.metric(exp.metric), selected
