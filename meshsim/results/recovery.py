"""Did the system come back after its faults? A verdict read off the time series.

Per workload: the baseline is the share of requests that succeed among those issued each
second between warm-up and the first fault. The run has *recovered* if, from some second
after the last fault ended, every second to the end of the run succeeds at no less than
``tolerance`` × baseline, for at least ``hold`` seconds; recovery time is that second minus
the fault's end. Anything else (still degraded at the end) is a collapse: the signature of a
metastable failure, where the trigger is gone and the load it induced keeps the system down.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from meshsim.model import Model
from meshsim.results.frames import is_ok

COLUMNS = (
    "workload", "baseline", "fault_end", "recovered", "recovery_time", "final_success",
    "verdict",
)


@dataclass(frozen=True)
class Verdict:
    workload: str
    baseline: float
    fault_end: float
    recovered: bool
    recovery_time: float
    final_success: float

    @property
    def sentence(self) -> str:
        if self.recovered:
            return (
                f"{self.workload}: recovered {self.recovery_time:.0f}s after the last fault "
                f"ended at {self.fault_end:g}s"
            )
        return (
            f"{self.workload}: did not recover after the last fault ended at "
            f"{self.fault_end:g}s (success {self.final_success:.1%} in the last seconds vs "
            f"{self.baseline:.1%} before the faults)"
        )


def per_second_success(requests: pd.DataFrame, workload: str, horizon: float) -> np.ndarray:
    """Share of the requests issued in each second that ended ok (NaN for an empty second)."""
    mine = requests[requests["workload"] == workload]
    n = int(np.ceil(horizon))
    second = np.minimum(mine["start"].to_numpy().astype(int), n - 1)
    issued = np.bincount(second, minlength=n).astype(float)
    ok = np.bincount(second, weights=is_ok(mine["status"]).astype(float), minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(issued > 0, ok / issued, np.nan)


def verdicts(
    model: Model, requests: pd.DataFrame, *, tolerance: float = 0.95, hold: float = 10.0,
    settle: float = 0.0,
) -> list[Verdict]:
    """One verdict per workload, or none when the scenario has no faults.

    Requests issued in the last ``settle`` seconds are ignored (they may not have finished;
    defaults to the longest workload timeout).
    """
    if not model.faults:
        return []
    first = min(f.at for f in model.faults)
    end = max(f.end for f in model.faults)
    horizon = model.duration
    settle = settle or max((w.timeout for w in model.workloads), default=0.0)
    out = []
    for workload in model.workloads:
        share = per_second_success(requests, workload.name, horizon)
        seconds = np.arange(len(share))
        before = share[(seconds >= model.warmup) & (seconds + 1 <= first)]
        baseline = float(np.nanmean(before)) if np.any(~np.isnan(before)) else 1.0
        usable = seconds + 1 <= horizon - settle
        after = (seconds >= np.floor(end)) & usable
        good = (share >= tolerance * baseline) | np.isnan(share)
        idx = np.flatnonzero(after)
        recovered, start = False, np.nan
        if len(idx):
            bad = idx[~good[idx]]
            start_second = idx[0] if len(bad) == 0 else bad[-1] + 1
            last = idx[-1] + 1
            if last - start_second >= min(hold, last - idx[0]) and start_second < last:
                recovered, start = True, max(float(start_second), end)
        tail = share[idx[-int(hold):]] if len(idx) else share[-int(hold):]
        final = float(np.nanmean(tail)) if np.any(~np.isnan(tail)) else float("nan")
        out.append(Verdict(
            workload.name, baseline, end, recovered,
            start - end if recovered else float("nan"), final,
        ))
    return out


def frame(verdict_list: list[Verdict]) -> pd.DataFrame:
    rows = [
        {
            "workload": v.workload, "baseline": v.baseline, "fault_end": v.fault_end,
            "recovered": v.recovered, "recovery_time": v.recovery_time,
            "final_success": v.final_success, "verdict": v.sentence,
        }
        for v in verdict_list
    ]
    return pd.DataFrame(rows, columns=list(COLUMNS))
