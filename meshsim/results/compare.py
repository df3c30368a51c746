"""Two runs side by side: golden metrics with deltas, both SLO verdicts, overlaid time series.

A is the baseline and B the candidate (a manifest change, another mesh version, more replicas).
Each side is a :class:`~meshsim.results.Results` or a run directory written by ``meshsim run``
(read with :func:`~meshsim.results.store.load_run`), so a run from last week compares with one
simulated now. B *regresses* when, on a row both runs have, its success rate is lower by more
than ``Tolerance.success`` (absolute), its p50 or p99 is higher by more than
``Tolerance.latency`` (relative), or an SLO that held in A fails in B.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import PercentFormatter

from meshsim.results.slo import format_value
from meshsim.results.store import load_run

METRICS = ("success_rate", "p50", "p99", "rps", "retries", "overflows", "ejections")
KEYS = ("kind", "name", "subset")
STYLES = ("-", "--")  # A solid, B dashed
PANELS = (("success_rate", "success rate"), ("p99", "p99 latency (s)"), ("goodput", "goodput (/s)"))


class Run(Protocol):
    """What a comparison reads: satisfied by ``Results`` and ``StoredRun``."""

    @property
    def name(self) -> str: ...
    @property
    def seed(self) -> int: ...
    @property
    def summary(self) -> pd.DataFrame: ...
    @property
    def workloads(self) -> pd.DataFrame: ...
    @property
    def timeseries(self) -> pd.DataFrame: ...
    @property
    def passed(self) -> bool: ...
    def slo(self) -> pd.DataFrame: ...


@dataclass(frozen=True)
class Tolerance:
    """How much worse B may be before it counts as a regression."""

    success: float = 0.005  # absolute drop in success rate (0.5 percentage points)
    latency: float = 0.10  # relative rise in p50 or p99 (10 %)


@dataclass(frozen=True)
class Comparison:
    """The outcome of :func:`compare`."""

    labels: tuple[str, str]
    table: pd.DataFrame  # KEYS, then <metric>_a, <metric>_b, <metric>_delta per metric
    slo: pd.DataFrame  # expectation, value_a, passed_a, value_b, passed_b, outcome_a, ...
    passed: tuple[bool, bool]
    regressions: tuple[str, ...]
    tolerance: Tolerance = field(default_factory=Tolerance)
    timeseries: tuple[pd.DataFrame, pd.DataFrame] = field(
        default=(pd.DataFrame(), pd.DataFrame()), repr=False
    )

    @property
    def regressed(self) -> bool:
        return bool(self.regressions)

    def plot(self) -> Figure:
        """Success rate, p99 and goodput over time per service: A solid, B dashed."""
        return overlay(self.timeseries, self.labels)

    def save_plot(self, path: str | Path) -> Path:
        out = Path(path)
        self.plot().savefig(out, dpi=110)
        return out


# -- the table ------------------------------------------------------------------------------------
def _rows(run: Run) -> pd.DataFrame:
    """One row per service/subset and per workload, with :data:`METRICS` (NaN where absent)."""
    summary = run.summary.copy()
    summary.insert(0, "kind", "service")
    summary = summary.rename(columns={"service": "name"})
    workloads = run.workloads.copy()
    if len(workloads):
        workloads.insert(0, "kind", "workload")
        workloads = workloads.rename(columns={"workload": "name"})
        workloads["subset"] = ""
    frame = pd.concat([summary, workloads], ignore_index=True) if len(workloads) else summary
    for metric in METRICS:
        if metric not in frame.columns:
            frame[metric] = math.nan
    frame["subset"] = frame["subset"].fillna("").astype(str)
    return frame[[*KEYS, *METRICS]]


def side_by_side(a: Run, b: Run) -> pd.DataFrame:
    """Rows of both runs (outer join on kind, name, subset) with A, B and B − A per metric."""
    joined = _rows(a).merge(_rows(b), on=list(KEYS), how="outer", suffixes=("_a", "_b"), sort=False)
    columns: list[str] = list(KEYS)
    for metric in METRICS:
        joined[f"{metric}_a"] = joined[f"{metric}_a"].astype(float)
        joined[f"{metric}_b"] = joined[f"{metric}_b"].astype(float)
        joined[f"{metric}_delta"] = joined[f"{metric}_b"] - joined[f"{metric}_a"]
        columns += [f"{metric}_a", f"{metric}_b", f"{metric}_delta"]
    order = {"workload": 0, "service": 1}
    joined = joined.sort_values(
        ["kind", "name", "subset"], key=lambda s: s.map(order) if s.name == "kind" else s,
        kind="stable",
    )
    return joined[columns].reset_index(drop=True)


def slo_side_by_side(a: Run, b: Run) -> pd.DataFrame:
    """Each expectation's value and verdict in A and in B (matched by label and position)."""
    def tidy(frame: pd.DataFrame) -> pd.DataFrame:
        if "outcome" not in frame:  # a run stored before SLOs could say "cannot tell"
            frame = frame.assign(outcome=frame["passed"].map({True: "pass", False: "fail"}))
        frame = frame[["expectation", "metric", "value", "passed", "outcome"]].copy()
        frame["nth"] = frame.groupby("expectation").cumcount()
        frame["order"] = range(len(frame))
        return frame

    joined = tidy(a.slo()).merge(
        tidy(b.slo()), on=["expectation", "nth"], how="outer", suffixes=("_a", "_b"), sort=False
    )
    joined = joined.sort_values(["order_a", "order_b"], kind="stable", na_position="last")
    joined["metric"] = joined["metric_a"].fillna(joined["metric_b"])
    columns = ["expectation", "metric", "value_a", "passed_a", "value_b", "passed_b",
               "outcome_a", "outcome_b"]
    return joined[columns].reset_index(drop=True)


def regressions(table: pd.DataFrame, slo: pd.DataFrame, tolerance: Tolerance) -> list[str]:
    """Where B is worse than A beyond ``tolerance``, one sentence each."""
    found: list[str] = []
    for row in table.to_dict("records"):
        what = row["name"] + (f"/{row['subset']}" if row["subset"] else "")
        what = f"workload {what}" if row["kind"] == "workload" else what
        a, b = row["success_rate_a"], row["success_rate_b"]
        if _both(a, b) and b < a - tolerance.success:
            found.append(
                f"{what}: success rate {format_value('success_rate', a)} → "
                f"{format_value('success_rate', b)} (tolerance {tolerance.success * 100:.2g} pp)"
            )
        for metric in ("p50", "p99"):
            a, b = row[f"{metric}_a"], row[f"{metric}_b"]
            if _both(a, b) and b > a * (1 + tolerance.latency):
                found.append(
                    f"{what}: {metric} {format_value(metric, a)} → {format_value(metric, b)} "
                    f"(tolerance +{tolerance.latency:.0%})"
                )
    for row in slo.to_dict("records"):
        a, b = row["passed_a"], row["passed_b"]
        if _both(a, b) and bool(a) and not bool(b):
            found.append(f"SLO {row['expectation']}: passed in A, fails in B")
    return found


def _both(a: Any, b: Any) -> bool:
    return not (pd.isna(a) or pd.isna(b))


def compare(
    a: Run | str | Path, b: Run | str | Path, *, labels: tuple[str, str] | None = None,
    tolerance: Tolerance | None = None,
) -> Comparison:
    """Compare run A (baseline) with run B: ``Results``, stored runs, or run directory paths."""
    run_a = load_run(a) if isinstance(a, str | Path) else a
    run_b = load_run(b) if isinstance(b, str | Path) else b
    tol = tolerance or Tolerance()
    table, slo = side_by_side(run_a, run_b), slo_side_by_side(run_a, run_b)
    return Comparison(
        labels=labels or (f"A: {run_a.name} seed {run_a.seed}",
                          f"B: {run_b.name} seed {run_b.seed}"),
        table=table, slo=slo, passed=(bool(run_a.passed), bool(run_b.passed)),
        regressions=tuple(regressions(table, slo, tol)), tolerance=tol,
        timeseries=(run_a.timeseries, run_b.timeseries),
    )


# -- the plot -----------------------------------------------------------------------------------
def _service_rows(ts: pd.DataFrame) -> pd.DataFrame:
    return ts[ts["subset"].fillna("").astype(str) == ""] if len(ts) else ts


def overlay(series: tuple[pd.DataFrame, pd.DataFrame], labels: tuple[str, str]) -> Figure:
    """Three panels (success rate, p99, goodput); a colour per service, A solid and B dashed."""
    figure = Figure(figsize=(10, 8), layout="constrained")
    FigureCanvasAgg(figure)
    axes: list[Axes] = list(figure.subplots(len(PANELS), 1, sharex=True))
    frames = tuple(_service_rows(ts) for ts in series)
    services = sorted({str(s) for ts in frames if len(ts) for s in ts["service"].unique()})
    colors = {s: f"C{i % 10}" for i, s in enumerate(services)}
    for ax, (column, title) in zip(axes, PANELS, strict=True):
        for ts, style in zip(frames, STYLES, strict=True):
            if not len(ts):
                continue
            for service, rows in ts.groupby("service", sort=True, observed=True):
                ax.plot(rows["time"], rows[column], linestyle=style, color=colors[str(service)],
                        linewidth=1.2)
        ax.set_ylabel(title)
        ax.grid(alpha=0.3)
    axes[0].yaxis.set_major_formatter(PercentFormatter(1.0))
    axes[-1].set_xlabel("simulated time (s)")
    handles = [Line2D([], [], color=colors[s], label=s) for s in services] + [
        Line2D([], [], color="black", linestyle="-", label="A"),
        Line2D([], [], color="black", linestyle="--", label="B"),
    ]
    figure.legend(handles=handles, loc="outside lower center", fontsize="small",
                  ncol=min(len(handles), 5))
    short = (label if len(label) <= 120 else label[:117] + "..." for label in labels)
    figure.suptitle("\n".join(short), fontsize="medium")
    return figure
