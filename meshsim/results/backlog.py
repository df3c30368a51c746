"""Where the backlog sits: per service, requests queued and in flight, at the end and at peak.

A metastable failure lives in a queue: the trigger is gone and the work waiting somewhere keeps
the system down. Which queue it is decides the fix (a bounded queue, fewer retry layers, a
budget), and it is often not the service that was slowed. The levels come from the time series
(time-weighted means per second, summed over the service's pods); ``in_flight`` counts every
request a pod holds, waiting or in a worker slot, so ``in_flight - queued`` is the busy slots.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from meshsim.model import Service

COLUMNS = (
    "service", "slots", "queued_end", "in_flight_end", "queued_peak", "queued_peak_at",
    "in_flight_peak", "in_flight_peak_at",
)


def slots(service: Service) -> int:
    """Worker slots over all the service's pods."""
    return sum(d.replicas * d.concurrency for d in service.deployments)


def backlog(timeseries: pd.DataFrame, services: Mapping[str, Service]) -> pd.DataFrame:
    """One row per service (:data:`COLUMNS`), the largest backlog at the end first."""
    rows = []
    per_service = timeseries[(timeseries["subset"].astype(str) == "").to_numpy()]
    for name, part in per_service.groupby("service", observed=True, sort=False):
        if not len(part):
            continue
        part = part.sort_values("time")
        queued, held = part["queue_depth"].to_numpy(float), part["in_flight"].to_numpy(float)
        times = part["time"].to_numpy(float)
        service = services.get(str(name))
        rows.append({
            "service": str(name), "slots": slots(service) if service else 0,
            "queued_end": float(queued[-1]), "in_flight_end": float(held[-1]),
            "queued_peak": float(queued.max()), "queued_peak_at": float(times[queued.argmax()]),
            "in_flight_peak": float(held.max()), "in_flight_peak_at": float(times[held.argmax()]),
        })
    frame = pd.DataFrame.from_records(rows, columns=list(COLUMNS))
    return frame.sort_values(["queued_end", "queued_peak"], ascending=False, kind="stable",
                             ignore_index=True)
