"""The data-plane cost table of a run (``Results.proxy_cost``) and its totals.

Rows come from the engine's proxy CPU queues (:mod:`meshsim.sim.proxy_cpu`), one per proxy
instance (sidecar, node ztunnel, waypoint), over the whole run (warm-up included: a proxy
costs CPU and memory whether or not the summary looks).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

COLUMNS = ("proxy", "role", "service", "workers", "cpu_limit", "requests", "rps",
           "cpu_seconds", "cpu_cores", "utilization", "memory_mb", "connections", "handshakes",
           "wait_mean", "wait_max")


def proxy_cost_frame(rows: Sequence[Mapping[str, object]] | None) -> pd.DataFrame:
    """The rows as a frame with :data:`COLUMNS` (empty when the run modelled no cost)."""
    return pd.DataFrame(list(rows or []), columns=list(COLUMNS))


def totals(frame: pd.DataFrame, duration: float) -> dict[str, float]:
    """Sum over every proxy: what the data plane cost the run."""
    if frame.empty:
        return {"proxies": 0.0, "cpu_seconds": 0.0, "cpu_cores": 0.0, "memory_mb": 0.0}
    seconds = float(frame["cpu_seconds"].sum())
    return {"proxies": float(len(frame)), "cpu_seconds": seconds,
            "cpu_cores": seconds / duration, "memory_mb": float(frame["memory_mb"].sum())}


def by_service(frame: pd.DataFrame) -> pd.DataFrame:
    """Per service (and role): proxies, requests, CPU seconds, mean cores, memory, worst wait."""
    if frame.empty:
        return pd.DataFrame(columns=["service", "role", "proxies", "requests", "cpu_seconds",
                                     "cpu_cores", "memory_mb", "wait_max"])
    grouped = frame.groupby(["service", "role"], sort=True)
    out = grouped.agg(proxies=("proxy", "count"), requests=("requests", "sum"),
                      cpu_seconds=("cpu_seconds", "sum"), cpu_cores=("cpu_cores", "sum"),
                      memory_mb=("memory_mb", "sum"), wait_max=("wait_max", "max"))
    return out.reset_index()
