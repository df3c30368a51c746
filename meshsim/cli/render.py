"""Formatting of results for the terminal: golden-metrics table, workloads, SLO verdicts.

Pure functions from DataFrames to rich renderables and strings; no I/O, no simulation.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from rich.table import Table
from rich.text import Text

from meshsim.results.formatting import (  # noqa: F401  (re-exported: the CLI's formatting)
    CLIENT_ERRORS_HEADER,
    GOLDEN_HEADERS,
    LATENCY_METRICS,
    RATE_METRICS,
    SHARE_METRICS,
    WORKLOAD_HEADERS,
    format_metric,
    golden_cells,
    moment,
    other_client_errors,
    slo_lines,
    slo_verdicts,
    workload_cells,
)
from meshsim.results.formatting import count as _count


def _add_columns(table: Table, headers: tuple[str, ...], text: tuple[str, ...]) -> None:
    for header in headers:
        numeric = header not in text
        table.add_column(header, justify="right" if numeric else "left", no_wrap=True)


def golden_table(summary: pd.DataFrame) -> Table:
    """One row per service and subset: success, denials, throughput, latency, retries, failures."""
    table = Table(box=None, header_style="bold", pad_edge=False)
    headers, rows = golden_cells(summary)
    _add_columns(table, headers, ("SERVICE", "SUBSET"))
    for cells in rows:
        table.add_row(*cells)
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


def workloads_table(workloads: pd.DataFrame) -> Table:
    """One row per workload; DENIED (and 4XX when some 4xx is no denial) as in the golden table."""
    table = Table(box=None, header_style="bold", pad_edge=False)
    headers, rows = workload_cells(workloads)
    _add_columns(table, headers, ("WORKLOAD",))
    for cells in rows:
        table.add_row(*cells)
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
