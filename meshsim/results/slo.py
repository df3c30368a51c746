"""Check a scenario's expectations (``spec.expect``) against what the run recorded.

Each expectation looks at the calls to one service (or one subset of it) that start in its
window, by default [warmup, duration). When the name is a workload's rather than a service's,
it looks at that workload's end-to-end requests instead, which is what its users saw.

Each check has one of three outcomes: ``pass``, ``fail`` or ``cannot tell``. It cannot tell when
its window holds no call, when the run ends before the window starts, or when the run ends
inside the window (the value over the part that ran is shown, but a window that was not fully
observed neither passes nor fails, except a count already above its ``max``, which can only
grow). ``cannot tell`` is not a pass: ``passed`` is False and ``meshsim run`` exits 1.

Requests still open when the run ended are in no frame. Those older than every call of the
window that finished are not the run's last work in progress but requests it never answered: a
pass on a workload, or on a service a workload calls directly, must also hold with them counted
as failed and as slow as their age; otherwise it cannot tell.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from meshsim.model import Expectation, Workload
from meshsim.results.clients import UserSelection, user_selection
from meshsim.results.online import Online
from meshsim.results.online_slo import OnlineSelection, online_value
from meshsim.results.stats import METRIC_COLUMNS
from meshsim.units import format_duration

SLO_COLUMNS = (
    "expectation", "metric", "service", "subset", "window_start", "window_end", "value", "min",
    "max", "passed", "description", "outcome", "note",
)
PASS, FAIL, CANNOT_TELL = "pass", "fail", "cannot tell"
LATENCY_METRICS = frozenset({"p50", "p90", "p99", "mean_latency"})
COUNT_METRICS = frozenset({"timeouts", "overflows", "ejections", "denied", "client_errors"})
SHARE_METRICS = frozenset({"success_rate", "denied_rate", "client_error_rate"})
# What a workload with an app client is judged on per user request (the others, overflows
# and ejections, are the mesh's and stay per try).
USER_METRICS = frozenset(METRIC_COLUMNS) - {"requests", "attempts", "retries"}
METRICS = frozenset({*METRIC_COLUMNS, "overflows", "ejections"}) - {"requests", "attempts",
                                                                     "retries"}


@dataclass(frozen=True)
class RunFrames:
    """The aggregates, events and bounds an SLO check reads."""

    online: Online  # the run's aggregates: every value is read off them
    events: pd.DataFrame
    workloads: Sequence[Workload]
    warmup: float
    duration: float
    # requests still open at the end: earliest and latest time each may have been issued
    # (:func:`meshsim.results.recovery.open_requests`); empty when not known
    still_open: tuple[np.ndarray, np.ndarray] = field(
        default_factory=lambda: (np.zeros(0), np.zeros(0))
    )
    # workloads with an app client, judged on their user requests (``user_rows``)
    per_user: frozenset[str] = frozenset()
    user_rows: pd.DataFrame | None = None


def format_value(metric: str, value: float) -> str:
    """A metric value the way a person reads it: ``99.87%``, ``45.2ms``, ``120/s``, ``3``."""
    if value != value:  # NaN
        return "-"
    if metric in SHARE_METRICS:
        return f"{value * 100:.5g}%"
    if metric in LATENCY_METRICS:
        return format_duration(value)
    if metric == "rps":
        return f"{value:.4g}/s"
    if metric in COUNT_METRICS:
        return f"{value:.0f}"
    return f"{value:.3g}"


def _bounds(metric: str, low: float | None, high: float | None) -> str:
    parts = []
    if low is not None:
        parts.append(f">= {format_value(metric, low)}")
    if high is not None:
        parts.append(f"<= {format_value(metric, high)}")
    return " and ".join(parts) or "any value"


def _within(exp: Expectation, value: float) -> bool:
    return (exp.min is None or value >= exp.min) and (exp.max is None or value <= exp.max)


def _judge(
    frames: RunFrames, exp: Expectation, start: float, end: float
) -> tuple[float, str, str]:
    """Value, outcome and, when it cannot tell, why."""
    run_end = frames.duration
    if start >= run_end:
        return math.nan, CANNOT_TELL, (
            f"the run ends at {format_duration(run_end)}, before this window starts"
        )
    if exp.metric not in METRICS:
        return math.nan, FAIL, f"unknown metric {exp.metric!r}"
    seen_end = min(end, run_end)
    selected: OnlineSelection | UserSelection
    if exp.service in frames.per_user and exp.metric in USER_METRICS \
            and frames.user_rows is not None:
        selected = user_selection(frames.user_rows, exp.service, start, seen_end)
        value = math.nan if selected.empty else selected.metric(exp.metric)
    else:
        value, selected = online_value(frames.online, frames.events, frames.workloads, exp,
                                       start, seen_end)
    if selected.empty or math.isnan(value):
        return math.nan, CANNOT_TELL, "no requests in the window"
    if end <= run_end + 1e-9:
        if not _within(exp, value):
            return value, FAIL, ""
        return value, *_despite_open(frames, exp, selected, start, seen_end)
    if exp.metric in COUNT_METRICS and exp.max is not None and value > exp.max:
        return value, FAIL, ""  # a count only grows with the window
    shown = format_value(exp.metric, value)
    return value, CANNOT_TELL, (
        f"the run ends at {format_duration(run_end)}, inside the window "
        f"({shown} over [{format_duration(start)}, {format_duration(run_end)}) only)"
    )


def _never_answered(
    frames: RunFrames, exp: Expectation, selected: OnlineSelection | UserSelection,
    start: float, end: float,
) -> np.ndarray:
    """Ages at the end of the open requests that may have been issued in [start, end), reached
    ``exp.service`` and are older than every call of the window that finished."""
    first, last = frames.still_open
    direct = any(exp.service in (w.name, w.target) for w in frames.workloads)
    if not direct or exp.metric in COUNT_METRICS or not len(first):
        return np.zeros(0)
    ages = frames.duration - last[(last >= start) & (first < end)]
    return ages[ages > selected.max_latency()]


def _despite_open(
    frames: RunFrames, exp: Expectation, selected: OnlineSelection | UserSelection,
    start: float, end: float,
) -> tuple[str, str]:
    """A pass, unless requests never answered could turn it into a failure."""
    ages = _never_answered(frames, exp, selected, start, end)
    if not len(ages):
        return PASS, ""
    worst = selected.with_failed(ages, exp.metric)
    if _within(exp, worst):
        return PASS, ""
    return CANNOT_TELL, (
        f"{len(ages):,} requests issued in the window were still open when the run ended, "
        f"older than any that finished (up to {format_duration(float(ages.max()))}); counted as "
        f"failed they give {format_value(exp.metric, worst)}"
    )


def check(frames: RunFrames, exp: Expectation) -> dict[str, object]:
    """One expectation: a row of :data:`SLO_COLUMNS` (the window as written)."""
    start, end = exp.window if exp.window is not None else (frames.warmup, frames.duration)
    is_workload = any(w.name == exp.service for w in frames.workloads)
    target = f"workload {exp.service}" if is_workload else (
        exp.service if exp.subset is None else f"{exp.service}/{exp.subset}"
    )
    label = exp.label or f"{exp.metric} of {target} {_bounds(exp.metric, exp.min, exp.max)}"
    where = f"{exp.metric} of {target} in [{format_duration(start)}, {format_duration(end)})"
    value, outcome, note = _judge(frames, exp, start, end)
    if outcome == CANNOT_TELL:
        description = f"CANNOT TELL {where}: {note}"
    elif note:
        description = f"FAIL {where}: {note}"
    else:
        description = (
            f"{outcome.upper()} {where} = {format_value(exp.metric, value)} "
            f"(expected {_bounds(exp.metric, exp.min, exp.max)})"
        )
    return {
        "expectation": label, "metric": exp.metric, "service": exp.service,
        "subset": exp.subset or "", "window_start": float(start), "window_end": float(end),
        "value": value, "min": np.nan if exp.min is None else float(exp.min),
        "max": np.nan if exp.max is None else float(exp.max), "passed": outcome == PASS,
        "description": description, "outcome": outcome, "note": note,
    }


def evaluate(frames: RunFrames, expectations: Sequence[Expectation]) -> pd.DataFrame:
    """All expectations, one row each, in the order they were written."""
    rows = [check(frames, exp) for exp in expectations]
    if not rows:
        return pd.DataFrame({
            name: pd.Series([], dtype=dtype) for name, dtype in (
                ("expectation", str), ("metric", str), ("service", str), ("subset", str),
                ("window_start", float), ("window_end", float), ("value", float),
                ("min", float), ("max", float), ("passed", bool), ("description", str),
                ("outcome", str), ("note", str),
            )
        })
    frame = pd.DataFrame(rows, columns=list(SLO_COLUMNS))
    return frame.astype({"passed": bool, "value": float, "min": float, "max": float})
