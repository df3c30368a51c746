"""Formatting of results for the terminal: golden-metrics table, workloads, SLO verdicts.

Pure functions from DataFrames to rich renderables and strings; no I/O, no simulation.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

import pandas as pd
from rich.table import Table
from rich.text import Text

from meshsim.units import format_duration

# Metrics whose values are seconds of latency, shares in [0, 1], rates, or counts.
LATENCY_METRICS = frozenset({"p50", "p75", "p90", "p95", "p99", "p999", "mean_latency", "latency"})
SHARE_METRICS = frozenset({"success_rate", "retry_ratio", "error_rate", "denied_rate",
                           "client_error_rate"})
RATE_METRICS = frozenset({"rps", "goodput", "offered"})

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


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA:
        return True
    try:
        return bool(math.isnan(value))
    except TypeError:
        return False


def _count(value: Any) -> str:
    return "-" if _missing(value) else f"{int(value):,}"


def format_metric(metric: str, value: Any) -> str:
    """A value of ``metric`` in the unit a reader expects: ``12.5ms``, ``99.50%``, ``400.0/s``."""
    if _missing(value):
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


def _subset(value: Any, aggregate: Any = False) -> str:
    """A subset name; ``(all)`` on a service's row over all its subsets, ``-`` when unversioned."""
    if not _missing(aggregate) and bool(aggregate):
        return "(all)"
    return "-" if _missing(value) or value == "" else str(value)


def _cell(row: Mapping[Any, Any], key: str) -> Any:
    return row.get(key)


def _count_share(count: Any, share: Any) -> str:
    """``12 (3.4%)``; a bare count when it is 0 or the share is unknown."""
    text = _count(count)
    if not _missing(count) and count and not _missing(share):
        text += f" ({float(share):.1%})"
    return text


def other_client_errors(frame: pd.DataFrame) -> bool:
    """Whether some 4xx answer in ``frame`` is not a denial (then the 4XX column shows)."""
    if "client_errors" not in frame.columns or "denied" not in frame.columns:
        return False
    return bool((frame["client_errors"].fillna(0) > frame["denied"].fillna(0)).any())


def _add_columns(table: Table, headers: tuple[str, ...], text: tuple[str, ...]) -> None:
    for header in headers:
        numeric = header not in text
        table.add_column(header, justify="right" if numeric else "left", no_wrap=True)


def golden_table(summary: pd.DataFrame) -> Table:
    """One row per service and subset: success, denials, throughput, latency, retries, failures."""
    table = Table(box=None, header_style="bold", pad_edge=False)
    four_xx = other_client_errors(summary)
    headers = GOLDEN_HEADERS[:4] + (CLIENT_ERRORS_HEADER,) * four_xx + GOLDEN_HEADERS[4:]
    _add_columns(table, headers, ("SERVICE", "SUBSET"))
    for row in summary.to_dict("records"):
        rps = _cell(row, "rps")
        cells = [
            str(_cell(row, "service")),
            _subset(_cell(row, "subset"), _cell(row, "aggregate")),
            format_metric("success_rate", _cell(row, "success_rate")),
            _count_share(_cell(row, "denied"), _cell(row, "denied_rate")),
        ]
        if four_xx:
            cells.append(_count_share(_cell(row, "client_errors"), _cell(row, "client_error_rate")))
        table.add_row(
            *cells,
            "-" if _missing(rps) else f"{float(rps):,.1f}",
            *(format_metric(p, _cell(row, p)) for p in ("p50", "p90", "p99")),
            _count_share(_cell(row, "retries"), _cell(row, "retry_ratio")),
            _count(_cell(row, "timeouts")),
            _count(_cell(row, "overflows")),
        )
    return table


def place_table(frame: pd.DataFrame) -> Table:
    """Multi-cluster runs: the attempts' golden metrics per service, cluster and zone."""
    table = Table(box=None, header_style="bold", pad_edge=False)
    for header in ("SERVICE", "CLUSTER", "ZONE", "ATTEMPTS", "RPS", "SUCCESS", "P50", "P99"):
        table.add_column(header)
    for row in frame.to_dict("records"):
        table.add_row(str(row["service"]), str(row["cluster"]), str(row["zone"]) or "-",
                      f"{int(row['attempts']):,}", f"{float(row['rps']):,.1f}",
                      format_metric("success_rate", row["success_rate"]),
                      format_metric("p50", row["p50"]), format_metric("p99", row["p99"]))
    return table


# The workloads table: what each workload's users saw end to end, denials beside success.
WORKLOAD_HEADERS = (
    "WORKLOAD", "REQUESTS", "RPS", "SUCCESS", "DENIED", "P50", "P90", "P99", "TIMEOUTS", "MEAN",
    "ATTEMPTS", "RETRIES",
)


def workloads_table(workloads: pd.DataFrame) -> Table:
    """One row per workload; DENIED (and 4XX when some 4xx is no denial) as in the golden table."""
    table = Table(box=None, header_style="bold", pad_edge=False)
    four_xx = other_client_errors(workloads)
    headers = WORKLOAD_HEADERS[:5] + (CLIENT_ERRORS_HEADER,) * four_xx + WORKLOAD_HEADERS[5:]
    _add_columns(table, headers, ("WORKLOAD",))
    for row in workloads.to_dict("records"):
        cells = [
            str(_cell(row, "workload")),
            _count(_cell(row, "requests")),
            format_metric("rps", _cell(row, "rps")),
            format_metric("success_rate", _cell(row, "success_rate")),
            _count_share(_cell(row, "denied"), _cell(row, "denied_rate")),
        ]
        if four_xx:
            cells.append(_count_share(_cell(row, "client_errors"), _cell(row, "client_error_rate")))
        table.add_row(
            *cells,
            *(format_metric(p, _cell(row, p)) for p in ("p50", "p90", "p99")),
            _count(_cell(row, "timeouts")),
            format_metric("mean_latency", _cell(row, "mean_latency")),
            _count(_cell(row, "attempts")),
            _count_share(_cell(row, "retries"), _cell(row, "retry_ratio")),
        )
    return table


# Shorter headers for the workloads table; other columns are upper-cased.
HEADERS = {"success_rate": "SUCCESS", "mean_latency": "MEAN", "retry_ratio": "RETRY%"}


def frame_table(frame: pd.DataFrame) -> Table:
    """Any small frame, each column formatted by its name (used for the workloads table)."""
    table = Table(box=None, header_style="bold", pad_edge=False)
    for name in frame.columns:
        column = frame[name]
        numeric = pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
        header = HEADERS.get(str(name), str(name).upper())
        table.add_column(header, justify="right" if numeric else "left", no_wrap=True)
    for row in frame.to_dict("records"):
        table.add_row(*(format_metric(str(name), row[name]) for name in frame.columns))
    return table


def _bound(metric: str, value: Any, low: Any, high: Any, passed: bool) -> str:
    if _missing(value):
        return "no data"
    shown = format_metric(metric, value)
    lo = None if _missing(low) else format_metric(metric, low)
    hi = None if _missing(high) else format_metric(metric, high)
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
        if not _missing(subset) and subset != "":
            target += f"/{subset}"
        start, end = _cell(row, "window_start"), _cell(row, "window_end")
        window = ""
        if not _missing(start) and not _missing(end):
            window = f" [{moment(float(start))}, {moment(float(end))}]"
        passed = bool(_cell(row, "passed"))
        bound = _bound(metric, _cell(row, "value"), _cell(row, "min"), _cell(row, "max"), passed)
        yield passed, f"{metric} {target}{window}: {bound}"


def verdict_text(passed: bool, line: str, *, unicode: bool = True) -> Text:
    marks = ("✘", "✔") if unicode else ("FAIL", "ok")
    mark = marks[passed]
    return Text.assemble((mark, "bold green" if passed else "bold red"), " ", line)


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready records: NaN → null, numpy scalars → Python, timestamps → ISO strings."""
    import json

    result: list[dict[str, Any]] = json.loads(
        frame.to_json(orient="records", date_format="iso", double_precision=15)
    )
    return result


# -- three outcomes: pass, fail, cannot tell ------------------------------------------------
OUTCOME_MARKS = {
    "pass": ("✔", "ok", "bold green"),
    "fail": ("✘", "FAIL", "bold red"),
    "cannot tell": ("?", "CANNOT TELL", "bold yellow"),
}


def slo_lines(slo: pd.DataFrame) -> Iterator[tuple[str, str]]:
    """``(outcome, line)`` per expectation; one that cannot tell says why instead of a bound:
    ``p99 frontend [100s, 180s]: cannot tell: the run ends at 30s, before this window starts``."""
    rows = slo.to_dict("records")
    for (passed, line), row in zip(slo_verdicts(slo), rows, strict=True):
        outcome = row.get("outcome")
        if _missing(outcome) or not outcome:
            outcome = "pass" if passed else "fail"
        if outcome == "cannot tell":
            line = f"{line.rsplit(': ', 1)[0]}: cannot tell: {row.get('note') or 'no data'}"
        yield str(outcome), line


def outcome_text(outcome: str, line: str, *, unicode: bool = True) -> Text:
    """A verdict line with its mark: ✔ pass, ✘ fail, ? cannot tell."""
    mark, ascii_mark, style = OUTCOME_MARKS.get(outcome, OUTCOME_MARKS["fail"])
    return Text.assemble((mark if unicode else ascii_mark, style), " ", line)


def backlog_table(backlog: pd.DataFrame) -> Table:
    """Per service: worker slots, then requests queued and in flight at the end and at peak."""
    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column("SERVICE", no_wrap=True)
    for header in ("SLOTS", "QUEUED", "IN FLIGHT", "PEAK QUEUED", "PEAK IN FLIGHT"):
        table.add_column(header, justify="right", no_wrap=True)
    for row in backlog.to_dict("records"):
        table.add_row(
            str(row["service"]), _count(row["slots"]),
            _count(round(row["queued_end"])), _count(round(row["in_flight_end"])),
            f"{_count(round(row['queued_peak']))} at {moment(float(row['queued_peak_at']))}",
            f"{_count(round(row['in_flight_peak']))} at "
            f"{moment(float(row['in_flight_peak_at']))}",
        )
    return table
