"""Did the system come back after its faults? A verdict read off the requests, or "cannot tell".

Per workload, the share of requests issued each second that ended ok. The *baseline* is its
mean over the seconds between warm-up and the first fault (over the warm-up's seconds when the
first fault starts at or before its end; none at all when no request was issued before it).
A second after the last fault is *good* when even counting every request of it still open at
the end of the run as failed it reaches ``tolerance`` × baseline, *bad* when even counting them
as ok it falls short, and *unknown* otherwise: requests still open are data that does not exist,
and they decide nothing. Request ids are issued in time order, so the missing ones (open at the
end) are placed between the requests issued just before and after them.

Three outcomes: *recovered* when the known seconds after the last bad one hold for at least
``hold`` seconds; *collapsed* when the last known second is still bad (the signature of a
metastable failure: the trigger is gone and the load it induced keeps the system down);
*cannot tell* otherwise: no baseline, a fault lasting to the end of the run, fewer than
``hold`` seconds of known data after it, or a recovery too recent to have held.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from meshsim.model import Model
from meshsim.results.frames import is_ok
from meshsim.results.online import Online
from meshsim.units import format_duration

RECOVERED, COLLAPSED, CANNOT_TELL = "recovered", "collapsed", "cannot tell"
OUTCOMES = (RECOVERED, COLLAPSED, CANNOT_TELL)
COLUMNS = (
    "workload", "outcome", "recovered", "baseline", "baseline_source", "fault_end",
    "data_after", "recovery_time", "final_success", "verdict",
)


def _s(seconds: float) -> str:
    return "0s" if seconds == 0 else format_duration(float(seconds))


@dataclass(frozen=True)
class Verdict:
    """One workload's verdict; ``recovered`` is None when the data cannot tell."""

    workload: str
    outcome: str  # one of OUTCOMES
    baseline: float  # NaN when no request was issued before the first fault
    baseline_source: str  # "measured 20s-60s", "measured 0s-5s (inside the warm-up)" or ""
    fault_end: float
    data_after: float  # seconds of known per-second success after the last fault
    recovery_time: float
    final_success: float  # over the last known seconds after the fault (NaN when none)
    reason: str = ""  # why the data cannot tell

    @property
    def recovered(self) -> bool | None:
        return None if self.outcome == CANNOT_TELL else self.outcome == RECOVERED

    @property
    def sentence(self) -> str:
        ended = f"the last fault ended at {_s(self.fault_end)}"
        base = f"the {self.baseline:.1%} baseline {self.baseline_source}"
        if self.outcome == RECOVERED:
            return (
                f"{self.workload}: recovered {_s(self.recovery_time)} after {ended} "
                f"(success {self.final_success:.1%} over the last seconds vs {base})"
            )
        if self.outcome == COLLAPSED:
            return (
                f"{self.workload}: did not recover after {ended} (success "
                f"{self.final_success:.1%} over the last seconds of data vs {base})"
            )
        return f"{self.workload}: cannot tell whether it recovered after {ended}: {self.reason}"


@dataclass(frozen=True)
class Seconds:
    """One workload's requests by the second they were issued in."""

    ok: np.ndarray  # finished ok
    finished: np.ndarray  # finished, ok or not
    open: np.ndarray  # may have been issued in this second and had not finished at the end

    @property
    def issued(self) -> np.ndarray:
        return self.finished + self.open

    def share(self) -> np.ndarray:
        """Success of the finished requests of fully known seconds (NaN elsewhere)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where((self.finished > 0) & (self.open == 0), self.ok / self.finished,
                            np.nan)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Per second, success if every open request failed, and if every one succeeded."""
        n = self.issued
        with np.errstate(invalid="ignore", divide="ignore"):
            low = np.where(n > 0, self.ok / n, np.nan)
            high = np.where(n > 0, (self.ok + self.open) / n, np.nan)
        return low, high


def open_per_second(requests: pd.DataFrame, issued: int, horizon: float) -> np.ndarray:
    """How many requests still open at the end may have been issued in each second.

    Ids are handed out in issue order, so a missing id was issued between the starts of the
    nearest recorded ids around it; it is counted in every second of that span.
    """
    return open_counts(*open_requests(requests, issued, horizon), horizon)


def open_counts(low: np.ndarray, high: np.ndarray, horizon: float) -> np.ndarray:
    """Per second, how many open requests (issued between ``low`` and ``high``) may have
    been issued in it."""
    n = math.ceil(horizon)
    counts = np.zeros(n + 1, dtype=np.int64)
    if not len(low) or n == 0:
        return counts[:n]
    first = np.clip(np.floor(low).astype(np.int64), 0, n - 1)
    last = np.clip(np.ceil(high).astype(np.int64) - 1, first, n - 1)
    np.add.at(counts, first, 1)
    np.add.at(counts, last + 1, -1)
    return np.cumsum(counts)[:n]


def open_requests(
    requests: pd.DataFrame, issued: int, horizon: float
) -> tuple[np.ndarray, np.ndarray]:
    """For each request still open at the end, the earliest and latest time it may have been
    issued: the starts of the recorded requests whose ids are next to its own."""
    ids = requests["id"].to_numpy(dtype=np.int64)
    order = np.argsort(ids, kind="stable")
    ids, starts = ids[order], requests["start"].to_numpy(dtype=float)[order]
    missing = np.setdiff1d(np.arange(max(issued, 0), dtype=np.int64), ids, assume_unique=True)
    pos = np.searchsorted(ids, missing)
    low = np.where(pos > 0, starts[np.maximum(pos - 1, 0)], 0.0)
    high = np.where(pos < len(ids), starts[np.minimum(pos, len(ids) - 1)], horizon)
    return low.astype(float), high.astype(float)


def per_second(
    requests: pd.DataFrame, workload: str, horizon: float, still_open: np.ndarray
) -> Seconds:
    mine = requests[(requests["workload"] == workload).to_numpy()]
    n = math.ceil(horizon)
    second = np.minimum(mine["start"].to_numpy().astype(int), n - 1)
    finished = np.bincount(second, minlength=n).astype(float)
    ok = np.bincount(second, weights=is_ok(mine["status"]).astype(float), minlength=n)
    return Seconds(ok=ok, finished=finished, open=still_open.astype(float))


def per_second_success(requests: pd.DataFrame, workload: str, horizon: float) -> np.ndarray:
    """Share of the requests issued in each second that ended ok (NaN for an empty second)."""
    return per_second(requests, workload, horizon, np.zeros(math.ceil(horizon))).share()


def baseline(share: np.ndarray, warmup: float, first_fault: float) -> tuple[float, str]:
    """Mean success per second before the first fault, and where it was measured."""
    seconds = np.arange(len(share))
    before = seconds + 1 <= first_fault
    for mask, note in ((before & (seconds >= warmup), ""), (before, " (inside the warm-up)")):
        known = mask & ~np.isnan(share)
        if known.any():
            lo, hi = seconds[known][0], seconds[known][-1] + 1
            return float(np.mean(share[known])), f"measured {_s(lo)}-{_s(hi)}{note}"
    return math.nan, ""


def verdicts(
    model: Model, requests: pd.DataFrame, *, issued: int | None = None,
    tolerance: float = 0.95, hold: float = 10.0,
) -> list[Verdict]:
    """One verdict per workload, or none when no fault started during the run.

    ``issued`` is how many requests the run issued (``Recording.issued``): those missing from
    ``requests`` were still open at the end. Without it every issued request is taken to have
    finished.
    """
    if not any(f.at < model.duration for f in model.faults):
        return []
    horizon = model.duration
    total = len(requests) if issued is None else issued
    still_open = open_per_second(requests, total, horizon)
    return judge(model, lambda name: per_second(requests, name, horizon, still_open),
                 tolerance=tolerance, hold=hold)


def verdicts_online(
    model: Model, online: Online, *, issued: int, tolerance: float = 0.95, hold: float = 10.0,
) -> list[Verdict]:
    """:func:`verdicts` read off the run's online aggregates instead of its requests."""
    if not any(f.at < model.duration for f in model.faults):
        return []
    horizon = model.duration
    agg = online.aggregates
    still_open = open_counts(*agg.request_ids.open_requests(issued, horizon), horizon)
    keys, sums = agg.issued_ok.result(math.ceil(horizon))  # (client, ok) per second
    workload = online.workload_of(keys[:, 0]) if len(keys) else np.zeros(0, dtype=object)
    ok = keys[:, 1].astype(bool) if len(keys) else np.zeros(0, dtype=bool)

    def seconds(name: str) -> Seconds:
        mine = workload == name
        return Seconds(ok=sums[:, mine & ok, 0].sum(axis=1),
                       finished=sums[:, mine, 0].sum(axis=1), open=still_open.astype(float))

    return judge(model, seconds, tolerance=tolerance, hold=hold)


def judge(
    model: Model, seconds: Callable[[str], Seconds], *, tolerance: float, hold: float
) -> list[Verdict]:
    """One verdict per workload from its requests by second of issue."""
    faults = [f for f in model.faults if f.at < model.duration]
    first = min(f.at for f in faults)
    end = max(f.end for f in faults)
    return [_verdict(w.name, seconds(w.name), model, first, end, tolerance=tolerance, hold=hold)
            for w in model.workloads]


def _verdict(
    name: str, data: Seconds, model: Model, first: float, end: float, *, tolerance: float,
    hold: float,
) -> Verdict:
    level, source = baseline(data.share(), model.warmup, first)

    def cannot(reason: str, after: float = 0.0, final: float = math.nan) -> Verdict:
        return Verdict(name, CANNOT_TELL, level, source, end, after, math.nan, final, reason)

    if math.isnan(level):
        return cannot(f"no request was issued before the first fault at {_s(first)} to "
                      "compare with")
    if end >= model.duration:
        return cannot(f"it lasts until the end of the run ({_s(model.duration)})")
    low, high = data.bounds()
    good, bad = low >= tolerance * level, high < tolerance * level  # NaN compares False
    start = math.ceil(end)
    known = np.flatnonzero(good | bad)
    known = known[known >= start]
    data_end = int(known[-1]) + 1 if len(known) else start
    after = float(data_end - start)
    tail = slice(max(data_end - int(hold), start), data_end)
    issued = data.issued[tail].sum()
    final = float(data.ok[tail].sum() / issued) if issued else math.nan
    if after < hold:
        still_open = bool(data.open[data_end:].sum() > 0)
        return cannot(_too_short(after, data_end, model.duration, hold, still_open), after,
                      final)
    bad_after = np.flatnonzero(bad[start:data_end]) + start
    back = int(bad_after[-1]) + 1 if len(bad_after) else start
    if data_end - back >= hold:
        return Verdict(name, RECOVERED, level, source, end, after, max(float(back), end) - end,
                       final)
    if back == data_end:
        return Verdict(name, COLLAPSED, level, source, end, after, math.nan, final)
    return cannot(
        f"success is back to {tolerance:.0%} of the {level:.1%} baseline only for the last "
        f"{_s(data_end - back)} of data (from {_s(back)}); a verdict needs {_s(hold)}", after,
        final,
    )


def _too_short(after: float, data_end: int, duration: float, hold: float, still_open: bool
               ) -> str:
    why = ""
    if data_end < duration:
        why = (
            f"; requests issued from {_s(data_end)} on had not all finished when the run ended "
            f"at {_s(duration)}" if still_open else f"; no request was issued from {_s(data_end)}"
        )
    return f"only {_s(after)} of data after it{why}; a verdict needs {_s(hold)}"


def frame(verdict_list: list[Verdict]) -> pd.DataFrame:
    """One row per verdict (:data:`COLUMNS`); ``recovered`` is a nullable boolean: NA when
    the outcome is ``cannot tell``."""
    rows = [
        {
            "workload": v.workload, "outcome": v.outcome, "recovered": v.recovered,
            "baseline": v.baseline, "baseline_source": v.baseline_source,
            "fault_end": v.fault_end, "data_after": v.data_after,
            "recovery_time": v.recovery_time, "final_success": v.final_success,
            "verdict": v.sentence,
        }
        for v in verdict_list
    ]
    out = pd.DataFrame(rows, columns=list(COLUMNS))
    return out.astype({"recovered": "boolean"})
