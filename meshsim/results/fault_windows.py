"""When faults were active in a run: ``fault-start``/``fault-end`` events paired into windows.

Apart from the plots because it reads the event log, not a figure: :meth:`Results.fault_windows`
returns these windows, and the plots shade them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from meshsim.model import Fault


@dataclass(frozen=True)
class FaultWindow:
    """A span of simulated time during which a fault was active, and what it was."""

    start: float
    end: float
    label: str



def fault_windows(
    events: pd.DataFrame, end: float, faults: Sequence[Fault] = ()
) -> list[FaultWindow]:
    """Pair ``fault-start``/``fault-end`` events per target; a fault still open ends with the
    run. Without any fault events, the model's fault timeline stands in."""
    kinds = events["kind"].astype(str)
    rows = events[kinds.isin(["fault-start", "fault-end"]).to_numpy()].sort_values(
        "time", kind="stable"
    )
    if rows.empty:
        return [FaultWindow(f.at, min(f.end, end), str(f.target)) for f in faults]
    opened: dict[tuple[str, str, str], list[tuple[float, str]]] = {}
    windows: list[FaultWindow] = []
    for time, kind, service, subset, pod, detail in zip(
        rows["time"], rows["kind"].astype(str), rows["service"].astype(str),
        rows["subset"].astype(str), rows["pod"].astype(str), rows["detail"].astype(str),
        strict=True,
    ):
        key = (service, subset, pod)
        if kind == "fault-start":
            target = pod or (f"{service}/{subset}" if subset else service)
            opened.setdefault(key, []).append(
                (float(time), f"{target} ({detail})" if detail else target)
            )
        elif opened.get(key):
            start, label = opened[key].pop(0)
            windows.append(FaultWindow(start, float(time), label))
    for pending in opened.values():
        windows.extend(FaultWindow(start, end, label) for start, label in pending)
    return sorted(windows, key=lambda w: (w.start, w.end))
