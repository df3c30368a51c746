"""How a number reads wherever meshsim prints it: ``12.5ms``, ``99.50%``, ``400.0/s``, and the
SLO verdict lines (``p99 frontend [30s, 300s]: 123ms ≤ 500ms``).

Plain strings, no terminal styling, so the terminal (``meshsim.cli.render``) and the HTML
report (:mod:`meshsim.results.report`) print the same text for the same value.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

import pandas as pd

from meshsim.units import format_duration

# Metrics whose values are seconds of latency, shares in [0, 1], rates, or counts.
LATENCY_METRICS = frozenset({"p50", "p75", "p90", "p95", "p99", "p999", "mean_latency", "latency"})
SHARE_METRICS = frozenset({"success_rate", "retry_ratio", "error_rate", "denied_rate",
                           "client_error_rate"})
RATE_METRICS = frozenset({"rps", "goodput", "offered"})


def missing(value: Any) -> bool:
    if value is None or value is pd.NA:
        return True
    try:
        return bool(math.isnan(value))
    except TypeError:
        return False


def count(value: Any) -> str:
    return "-" if missing(value) else f"{int(value):,}"


def format_metric(metric: str, value: Any) -> str:
    """A value of ``metric`` in the unit a reader expects: ``12.5ms``, ``99.50%``, ``400.0/s``."""
    if missing(value):
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if not isinstance(value, int | float):
        return str(value)
    if metric in LATENCY_METRICS or metric.endswith("_latency"):
        return format_duration(float(value))
    if metric in SHARE_METRICS or metric.endswith("_rate") or metric.endswith("_ratio"):
        return f"{float(value):.2%}"
    if metric in RATE_METRICS:
        return f"{float(value):,.1f}/s"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{float(value):.4g}"


def moment(seconds: float) -> str:
    """A point in simulated time: ``0s``, ``1.5s``, ``250ms`` (``format_duration`` says ``0us``)."""
    return "0s" if seconds == 0 else format_duration(seconds)


def subset_label(value: Any, aggregate: Any = False) -> str:
    """A subset name; ``(all)`` on a service's row over all its subsets, ``-`` when unversioned."""
    if not missing(aggregate) and bool(aggregate):
        return "(all)"
    return "-" if missing(value) or value == "" else str(value)


def _cell(row: Mapping[Any, Any], key: str) -> Any:
    return row.get(key)


def count_share(n: Any, share: Any) -> str:
    """``12 (3.4%)``; a bare count when it is 0 or the share is unknown."""
    text = count(n)
    if not missing(n) and n and not missing(share):
        text += f" ({float(share):.1%})"
    return text


def _bound(metric: str, value: Any, low: Any, high: Any, passed: bool) -> str:
    if missing(value):
        return "no data"
    shown = format_metric(metric, value)
    lo = None if missing(low) else format_metric(metric, low)
    hi = None if missing(high) else format_metric(metric, high)
    if lo is not None and hi is not None:
        return f"{lo} ≤ {shown} ≤ {hi}" if passed else f"{shown} outside [{lo}, {hi}]"
    if lo is not None:
        return f"{shown} ≥ {lo}" if passed else f"{shown} < min {lo}"
    if hi is not None:
        return f"{shown} ≤ {hi}" if passed else f"{shown} > max {hi}"
    return shown


def slo_verdicts(slo: pd.DataFrame) -> Iterator[tuple[bool, str]]:
    """``(passed, 'p99 frontend [30s, 300s]: 123ms ≤ 500ms')`` per expectation."""
    for row in slo.to_dict("records"):
        metric = str(_cell(row, "metric"))
        target = str(_cell(row, "service"))
        subset = _cell(row, "subset")
        if not missing(subset) and subset != "":
            target += f"/{subset}"
        start, end = _cell(row, "window_start"), _cell(row, "window_end")
        window = ""
        if not missing(start) and not missing(end):
            window = f" [{moment(float(start))}, {moment(float(end))}]"
        passed = bool(_cell(row, "passed"))
        bound = _bound(metric, _cell(row, "value"), _cell(row, "min"), _cell(row, "max"), passed)
        yield passed, f"{metric} {target}{window}: {bound}"


def slo_lines(slo: pd.DataFrame) -> Iterator[tuple[str, str]]:
    """``(outcome, line)`` per expectation; one that cannot tell says why instead of a bound:
    ``p99 frontend [100s, 180s]: cannot tell: the run ends at 30s, before this window starts``."""
    rows = slo.to_dict("records")
    for (passed, line), row in zip(slo_verdicts(slo), rows, strict=True):
        outcome = row.get("outcome")
        if missing(outcome) or not outcome:
            outcome = "pass" if passed else "fail"
        if outcome == "cannot tell":
            line = f"{line.rsplit(': ', 1)[0]}: cannot tell: {row.get('note') or 'no data'}"
        yield str(outcome), line


# The golden-metrics table, like `linkerd viz stat`: one row per service and subset.
# SUCCESS is the meshes' non-5xx share, so a denied call is a success there: DENIED (403s from
# authorization policy, like `linkerd viz authz`'s UNAUTHORIZED) always follows it, and 4XX
# (every 4xx answer, denials included) joins when some 4xx is not a denial (404 no route,
# an injected abort), so the common table stays narrow.
GOLDEN_HEADERS = (
    "SERVICE",
    "SUBSET",
    "SUCCESS",
    "DENIED",
    "RPS",
    "P50",
    "P90",
    "P99",
    "RETRIES",
    "TIMEOUTS",
    "OVERFLOWS",
)
CLIENT_ERRORS_HEADER = "4XX"


def other_client_errors(frame: pd.DataFrame) -> bool:
    """Whether some 4xx answer in ``frame`` is not a denial (then the 4XX column shows)."""
    if "client_errors" not in frame.columns or "denied" not in frame.columns:
        return False
    return bool((frame["client_errors"].fillna(0) > frame["denied"].fillna(0)).any())

# The workloads table: what each workload's users saw end to end, denials beside success.
WORKLOAD_HEADERS = (
    "WORKLOAD", "REQUESTS", "RPS", "SUCCESS", "DENIED", "P50", "P90", "P99", "TIMEOUTS", "MEAN",
    "ATTEMPTS", "RETRIES",
)


def golden_cells(summary: pd.DataFrame) -> tuple[tuple[str, ...], list[list[str]]]:
    """The golden-metrics table's headers and cells, one row per service and subset."""
    four_xx = other_client_errors(summary)
    headers = GOLDEN_HEADERS[:4] + (CLIENT_ERRORS_HEADER,) * four_xx + GOLDEN_HEADERS[4:]
    rows = []
    for row in summary.to_dict("records"):
        rps = _cell(row, "rps")
        cells = [
            str(_cell(row, "service")),
            subset_label(_cell(row, "subset"), _cell(row, "aggregate")),
            format_metric("success_rate", _cell(row, "success_rate")),
            count_share(_cell(row, "denied"), _cell(row, "denied_rate")),
        ]
        if four_xx:
            cells.append(count_share(_cell(row, "client_errors"), _cell(row, "client_error_rate")))
        rows.append([
            *cells,
            "-" if missing(rps) else f"{float(rps):,.1f}",
            *(format_metric(p, _cell(row, p)) for p in ("p50", "p90", "p99")),
            count_share(_cell(row, "retries"), _cell(row, "retry_ratio")),
            count(_cell(row, "timeouts")),
            count(_cell(row, "overflows")),
        ])
    return headers, rows


def workload_cells(workloads: pd.DataFrame) -> tuple[tuple[str, ...], list[list[str]]]:
    """The workloads table's headers and cells: what each workload's users saw end to end."""
    four_xx = other_client_errors(workloads)
    headers = WORKLOAD_HEADERS[:5] + (CLIENT_ERRORS_HEADER,) * four_xx + WORKLOAD_HEADERS[5:]
    rows = []
    for row in workloads.to_dict("records"):
        cells = [
            str(_cell(row, "workload")),
            count(_cell(row, "requests")),
            format_metric("rps", _cell(row, "rps")),
            format_metric("success_rate", _cell(row, "success_rate")),
            count_share(_cell(row, "denied"), _cell(row, "denied_rate")),
        ]
        if four_xx:
            cells.append(count_share(_cell(row, "client_errors"), _cell(row, "client_error_rate")))
        rows.append([
            *cells,
            *(format_metric(p, _cell(row, p)) for p in ("p50", "p90", "p99")),
            count(_cell(row, "timeouts")),
            format_metric("mean_latency", _cell(row, "mean_latency")),
            count(_cell(row, "attempts")),
            count_share(_cell(row, "retries"), _cell(row, "retry_ratio")),
        ])
    return headers, rows


def rollout_line(row: Any) -> str:
    """``podinfo (flagger): rolled back at 100s, 80s after it started, canary weight ≤ 10%; ...``"""
    decided = " when the run ended: no decision yet;" if row.decided_at != row.decided_at else (
        f" at {format_duration(row.decided_at)}, {format_duration(row.time_to_decision)} after "
        "it started,"
    )
    return (
        f"{row.rollout} ({row.controller}): {row.outcome}{decided} canary weight reached "
        f"{row.max_weight:g}%; {row.failed_checks} of {row.checks} checks failed; "
        f"{row.canary_failed} of {row.canary_requests} canary requests failed, "
        f"{row.users_hurt} users hurt"
    )
