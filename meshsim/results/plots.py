"""Plots of a run over time, one line per service, with fault windows and the warm-up marked.

This module lays out the figures and draws the traffic panels: throughput and goodput, success
rate and latency. A service with subsets also gets a line per subset, named at its end, on the
throughput and success-rate panels, so a failing canary is not hidden under the service's
total. When proxies answered calls instead of the app or ejected endpoints, a fourth panel
(:mod:`.plot_proxy_answers`) shows those. How each service is drawn is :mod:`.plot_style`;
the rows the panels read, :mod:`.plot_data`; the fault windows, :mod:`.fault_windows`.

Figures are built on :class:`matplotlib.figure.Figure` with an Agg canvas and never through
``pyplot``: nothing global is touched, no window ever opens, and a figure is garbage collected
like any object. Notebooks still display the Figure ``Results.plot()`` returns.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import PercentFormatter

from meshsim.results.fault_windows import FaultWindow
from meshsim.results.plot_data import PanelData, panel_data, times
from meshsim.results.plot_proxy_answers import has_proxy_answers, proxy_answers_panel
from meshsim.results.plot_style import (
    FAULT_COLOR,
    GOODPUT,
    SUBSET_DASHES,
    DurationTicks,
    Handle,
    decorate,
    legend,
)

PANELS = ("throughput", "success_rate", "latency")
LOCAL_REPLIES = "local_replies"


# -- panels -----------------------------------------------------------------------------------
def _subset_lines(ax: Axes, data: PanelData, column: str) -> tuple[list[Handle], float]:
    """A thin line per subset of each service with subsets, in the service's colour and the
    subset's dash pattern, labelled ``service/subset`` (in the legend and at the line's end);
    and the lowest value drawn."""
    handles: list[Handle] = []
    lowest = math.inf
    for name, subsets in data.subsets.items():
        color = data.styles[name].color
        handles.append(Line2D([], [], color=color, lw=2, label=f"{name} (all subsets)"))
        for j, (subset, rows) in enumerate(subsets.items()):
            mirror = _is_mirror(rows)
            label = f"{name}/{subset}" + (" (mirror copies)" if mirror else "")
            dashes = SUBSET_DASHES[j % len(SUBSET_DASHES)]
            values = rows[column].to_numpy(dtype=float)
            ax.plot(times(rows), values, color=color, lw=1.2, ls=dashes, label=label,
                    gid=f"{name}/{subset}" + (" (mirror)" if mirror else ""))
            lowest = min(lowest, float(np.nanmin(np.r_[values, np.inf])))
            handles.append(Line2D([], [], color=color, lw=1.2, ls=dashes, label=label))
    return handles, lowest


def _name_line_ends(ax: Axes, gap: float = 8.0) -> None:
    """Each subset line's name at its last point (its ``gid``), names of lines ending at the
    same value kept ``gap`` points apart: the subsets read without the legend."""
    ends = []
    for drawn in ax.get_lines():
        name = drawn.get_gid()
        x, y = (np.asarray(v, dtype=float) for v in drawn.get_data())
        finite = np.flatnonzero(np.isfinite(y))
        if name and len(finite):
            at = int(finite[-1])
            height = float(ax.transData.transform((x[at], y[at]))[1])
            ends.append((height, float(x[at]), float(y[at]), str(name), drawn.get_color()))
    points = 72.0 / ax.figure.dpi
    top = float(ax.transAxes.transform((0.0, 1.0))[1]) * points
    ends.sort(key=lambda e: (e[0], e[3]))
    # Name baselines in points, each just above its line's end and ``gap`` above the one
    # below; the whole stack moves down if its top would leave the axes.
    baselines: list[float] = []
    for height, *_ in ends:
        below = baselines[-1] + gap if baselines else -math.inf
        baselines.append(max(height * points + 2, below))
    overflow = max(0.0, baselines[-1] + gap - top) if baselines else 0.0
    for (height, end_x, end_y, name, color), baseline in zip(ends, baselines, strict=True):
        ax.annotate(name, xy=(end_x, end_y), xytext=(-2, baseline - overflow - height * points),
                    textcoords="offset points", ha="right", va="bottom", fontsize=7, color=color,
                    bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none",
                          "alpha": 0.7})


def _throughput(ax: Axes, data: PanelData) -> list[Handle]:
    for name, part in data.services.items():
        style = data.styles[name]
        ax.plot(times(part), part["completed"], **style.kwargs(), label=f"{name} throughput")
        ax.plot(times(part), part["goodput"], **style.secondary(GOODPUT),
                label=f"{name} goodput")
    subsets, _ = _subset_lines(ax, data, "completed")
    ax.set_ylabel("calls / s")
    ax.set_title("Throughput and goodput", loc="left", fontsize=10)
    ax.set_ylim(bottom=0)
    _name_line_ends(ax)
    return [Line2D([], [], color="black", label="throughput"),
            Line2D([], [], color="black", ls=GOODPUT, lw=0.9, label="goodput"),
            *(h for h in subsets if "(all subsets)" not in str(h.get_label()))]


def _is_mirror(part: pd.DataFrame) -> bool:
    """A subset that only received mirror copies (its answers went nowhere)."""
    if "mirrored" not in part:
        return False
    completed = float(part["completed"].sum())
    return completed > 0 and float(part["mirrored"].sum()) >= completed


def _success_limits(ax: Axes, lowest: float) -> None:
    """From just under the lowest rate drawn to 100 %: a 98 % canary must not sit on the
    100 % line of a 0-100 % axis."""
    if math.isnan(lowest):
        lowest = 0.0
    pad = max(0.002, 0.06 * (1.0 - lowest))
    bottom = max(-0.02, min(0.99, lowest - pad))
    ax.set_ylim(bottom, 1.0 + max(0.001, 0.02 * (1.0 - bottom)))


def _success(ax: Axes, data: PanelData) -> list[Handle]:
    lowest = math.inf
    for name, part in data.services.items():
        rate = part["success_rate"].to_numpy(dtype=float)
        ax.plot(times(part), rate, **data.styles[name].kwargs(), label=name)
        lowest = min(lowest, float(np.nanmin(np.r_[rate, np.inf])))
    handles, low = _subset_lines(ax, data, "success_rate")
    lowest = min(lowest, low)
    _success_limits(ax, lowest if math.isfinite(lowest) else math.nan)
    _name_line_ends(ax)
    ax.set_ylabel("success rate")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_title("Success rate (non-5xx answers)", loc="left", fontsize=10)
    return handles


def _latency(ax: Axes, data: PanelData) -> list[Handle]:
    positive = False
    for name, part in data.services.items():
        style = data.styles[name]
        p50 = part["p50"].to_numpy(dtype=float)
        p99 = part["p99"].to_numpy(dtype=float)
        ax.plot(times(part), p50, **style.kwargs(), label=f"{name} p50")
        ax.plot(times(part), p99, **style.secondary(":"), label=f"{name} p99")
        positive = positive or bool(np.nanmax(np.r_[p99, 0.0]) > 0)
    if positive:
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(DurationTicks())
        ax.yaxis.set_minor_formatter(DurationTicks(minor=True))
        ax.set_title("Latency p50 and p99 (log scale)", loc="left", fontsize=10)
    else:
        ax.set_title("Latency p50 and p99", loc="left", fontsize=10)
    ax.set_ylabel("latency")
    return [Line2D([], [], color="black", label="p50"),
            Line2D([], [], color="black", ls=":", label="p99")]


Panel = Callable[[Axes, PanelData], list[Handle]]
_DRAW: dict[str, Panel] = {"throughput": _throughput, "success_rate": _success,
                           "latency": _latency, LOCAL_REPLIES: proxy_answers_panel}


def _figure(height: float, rows: int) -> tuple[Figure, list[Axes]]:
    fig = Figure(figsize=(11, height), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
    return fig, list(axes)


def panel_names(timeseries: pd.DataFrame, events: pd.DataFrame | None = None) -> list[str]:
    """The panels a run's overview has: :data:`PANELS`, and the local replies and ejections
    when there were any."""
    data = panel_data(timeseries, 1.0, events)
    return [*PANELS, LOCAL_REPLIES] if has_proxy_answers(data) else list(PANELS)


def plot_panels(
    timeseries: pd.DataFrame, faults: Sequence[FaultWindow], *, warmup: float, duration: float,
    panels: Sequence[str] | None = None, title: str = "", bucket: float = 1.0,
    events: pd.DataFrame | None = None,
) -> Figure:
    """A figure with one panel per name in ``panels`` (stacked, shared time axis; default
    :func:`panel_names`). ``events`` gives the ejection marks."""
    data = panel_data(timeseries, bucket, events)
    if panels is None:
        panels = [*PANELS, LOCAL_REPLIES] if has_proxy_answers(data) else list(PANELS)
    fig, axes = _figure(2.0 + 2.6 * len(panels), len(panels))
    for i, (ax, name) in enumerate(zip(axes, panels, strict=True)):
        handles = _DRAW[name](ax, data)
        decorate(ax, faults, warmup, labels=i == 0)
        if i == 0:
            handles = [*(s.handle(n) for n, s in data.styles.items()), *handles]
            if faults:
                handles.append(Patch(color=FAULT_COLOR, alpha=0.2, label="fault"))
            if warmup > 0:
                handles.append(Line2D([], [], color="0.4", ls="--", lw=1, label="warm-up end"))
        legend(ax, handles)
        ax.set_xlim(0, max(duration, 1e-9))
    axes[-1].set_xlabel("simulated time (s)")
    if title:
        fig.suptitle(title, fontsize=12)
    return fig


def overview(
    timeseries: pd.DataFrame, faults: Sequence[FaultWindow], *, warmup: float, duration: float,
    title: str = "", bucket: float = 1.0, events: pd.DataFrame | None = None,
) -> Figure:
    """Throughput and goodput, success rate (per subset too) and latency of every service
    over time, and the proxies' own answers and ejections when there were any."""
    return plot_panels(
        timeseries, faults, warmup=warmup, duration=duration, title=title, bucket=bucket,
        events=events,
    )


def figures(
    timeseries: pd.DataFrame, faults: Sequence[FaultWindow], *, warmup: float, duration: float,
    title: str = "", bucket: float = 1.0, events: pd.DataFrame | None = None,
) -> dict[str, Figure]:
    """The overview and each of its panels alone, by the file stem they are saved under."""
    out = {"overview": overview(
        timeseries, faults, warmup=warmup, duration=duration, title=title, bucket=bucket,
        events=events,
    )}
    for name in panel_names(timeseries, events):
        out[name] = plot_panels(
            timeseries, faults, warmup=warmup, duration=duration, panels=[name], title=title,
            bucket=bucket, events=events,
        )
    return out
