"""Plots of a run over time, one line per service, with fault windows and the warm-up marked.

Figures are built on :class:`matplotlib.figure.Figure` with an Agg canvas and never through
``pyplot``: nothing global is touched, no window ever opens, and a figure is garbage collected
like any object. Notebooks still display the Figure ``Results.plot()`` returns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import PercentFormatter
from matplotlib.typing import ColorType

from meshsim.model import Fault
from meshsim.results.summary import service_totals

FAULT_COLOR = "tab:red"
PANELS = ("throughput", "success_rate", "latency")


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


def _colors(services: Sequence[str]) -> dict[str, ColorType]:
    import matplotlib as mpl

    cmap = mpl.colormaps["tab10" if len(services) <= 10 else "tab20"]
    return {name: cmap(i % cmap.N) for i, name in enumerate(services)}


def _decorate(ax: Axes, faults: Sequence[FaultWindow], warmup: float, labels: bool) -> None:
    for window in faults:
        ax.axvspan(window.start, window.end, color=FAULT_COLOR, alpha=0.12, lw=0)
        if labels:
            ax.annotate(
                window.label, xy=(window.start, 1.0), xycoords=("data", "axes fraction"),
                xytext=(2, -2), textcoords="offset points", va="top", fontsize=7,
                color=FAULT_COLOR,
            )
    if warmup > 0:
        ax.axvline(warmup, color="0.4", ls="--", lw=1)
    ax.grid(True, alpha=0.3)


def _legend(ax: Axes, colors: dict[str, ColorType], styles: Sequence[tuple[str, str]],
            faults: bool, warmup: bool) -> None:
    handles: list[Line2D | Patch] = [
        Line2D([], [], color=c, lw=2, label=s) for s, c in colors.items()
    ]
    handles += [Line2D([], [], color="black", ls=ls, label=label) for label, ls in styles]
    if faults:
        handles.append(Patch(color=FAULT_COLOR, alpha=0.2, label="fault"))
    if warmup:
        handles.append(Line2D([], [], color="0.4", ls="--", lw=1, label="warm-up end"))
    if not handles:
        return
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8,
              frameon=False)


def _series(ts: pd.DataFrame, bucket: float) -> dict[str, pd.DataFrame]:
    """Per service its total rows, timed at the middle of each bucket they average over."""
    totals = service_totals(ts).assign(time=lambda f: f["time"] + bucket / 2)
    return {str(name): part for name, part in totals.groupby("service", observed=True, sort=True)}


def _throughput(ax: Axes, series: dict[str, pd.DataFrame], colors: dict[str, ColorType]) -> list[
        tuple[str, str]]:
    for name, part in series.items():
        ax.plot(part["time"], part["completed"], color=colors[name], lw=1.4)
        ax.plot(part["time"], part["goodput"], color=colors[name], lw=1.2, ls="--")
    ax.set_ylabel("calls / s")
    ax.set_title("Throughput and goodput", loc="left", fontsize=10)
    ax.set_ylim(bottom=0)
    return [("throughput", "-"), ("goodput", "--")]


def _success(ax: Axes, series: dict[str, pd.DataFrame], colors: dict[str, ColorType]) -> list[
        tuple[str, str]]:
    for name, part in series.items():
        ax.plot(part["time"], part["success_rate"], color=colors[name], lw=1.4)
    ax.set_ylabel("success rate")
    ax.set_ylim(-0.02, 1.02)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_title("Success rate (non-5xx answers)", loc="left", fontsize=10)
    return []


def _latency(ax: Axes, series: dict[str, pd.DataFrame], colors: dict[str, ColorType]) -> list[
        tuple[str, str]]:
    positive = False
    for name, part in series.items():
        p50 = part["p50"].to_numpy() * 1e3
        p99 = part["p99"].to_numpy() * 1e3
        ax.plot(part["time"], p50, color=colors[name], lw=1.4)
        ax.plot(part["time"], p99, color=colors[name], lw=1.2, ls=":")
        positive = positive or bool(np.nanmax(np.r_[p99, 0.0]) > 0)
    if positive:
        ax.set_yscale("log")
    ax.set_ylabel("latency (ms)")
    ax.set_title("Latency p50 and p99 (log scale)", loc="left", fontsize=10)
    return [("p50", "-"), ("p99", ":")]


Panel = Callable[[Axes, dict[str, pd.DataFrame], dict[str, ColorType]], list[tuple[str, str]]]
_DRAW: dict[str, Panel] = {"throughput": _throughput, "success_rate": _success,
                           "latency": _latency}


def _figure(height: float, rows: int) -> tuple[Figure, list[Axes]]:
    fig = Figure(figsize=(11, height), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
    return fig, list(axes)


def plot_panels(
    timeseries: pd.DataFrame, faults: Sequence[FaultWindow], *, warmup: float, duration: float,
    panels: Sequence[str] = PANELS, title: str = "", bucket: float = 1.0,
) -> Figure:
    """A figure with one panel per name in ``panels`` (stacked, shared time axis)."""
    series = _series(timeseries, bucket)
    colors = _colors(list(series))
    fig, axes = _figure(2.0 + 2.6 * len(panels), len(panels))
    for i, (ax, name) in enumerate(zip(axes, panels, strict=True)):
        styles = _DRAW[name](ax, series, colors)
        _decorate(ax, faults, warmup, labels=i == 0)
        _legend(ax, colors if i == 0 else {}, styles, faults=bool(faults) and i == 0,
                warmup=warmup > 0 and i == 0)
        ax.set_xlim(0, max(duration, 1e-9))
    axes[-1].set_xlabel("simulated time (s)")
    if title:
        fig.suptitle(title, fontsize=12)
    return fig


def overview(
    timeseries: pd.DataFrame, faults: Sequence[FaultWindow], *, warmup: float, duration: float,
    title: str = "", bucket: float = 1.0,
) -> Figure:
    """Throughput and goodput, success rate and latency of every service over time."""
    return plot_panels(
        timeseries, faults, warmup=warmup, duration=duration, title=title, bucket=bucket
    )


def figures(
    timeseries: pd.DataFrame, faults: Sequence[FaultWindow], *, warmup: float, duration: float,
    title: str = "", bucket: float = 1.0,
) -> dict[str, Figure]:
    """The overview and each panel alone, by the file stem they are saved under."""
    out = {"overview": overview(
        timeseries, faults, warmup=warmup, duration=duration, title=title, bucket=bucket
    )}
    for name in PANELS:
        out[name] = plot_panels(
            timeseries, faults, warmup=warmup, duration=duration, panels=[name], title=title,
            bucket=bucket,
        )
    return out
