"""Plots of a run over time, one line per service, with fault windows and the warm-up marked.

Every service keeps one colour, marker and width in every panel. Services drawn first are
drawn wider and markers are staggered between services, so lines that coincide (shards at
the same rate, two services at 100 %) still show each service. A service with subsets also
gets a line per subset, named at its end, on the throughput and success-rate panels, so a
failing canary is not hidden under the service's total. When proxies answered calls instead
of the app (503 UO overflows, other local replies, 403 denials) or ejected endpoints, a fourth
panel shows those per service with the ejections marked.

Figures are built on :class:`matplotlib.figure.Figure` with an Agg canvas and never through
``pyplot``: nothing global is touched, no window ever opens, and a figure is garbage collected
like any object. Notebooks still display the Figure ``Results.plot()`` returns.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import Formatter, PercentFormatter
from matplotlib.typing import ColorType

from meshsim.model import Fault
from meshsim.results.summary import service_totals
from meshsim.units import format_duration

FAULT_COLOR = "tab:red"
PANELS = ("throughput", "success_rate", "latency")
LOCAL_REPLIES = "local_replies"
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">", "h", "p", "d", "8")
# Dash patterns of a service's subsets (the service's own line is solid, goodput dash-dot).
SUBSET_DASHES: tuple[tuple[float, tuple[float, ...]], ...] = (
    (0, (6, 2)), (0, (1, 1.5)), (0, (6, 1.5, 1, 1.5, 1, 1.5)), (0, (2.5, 2.5)), (0, (12, 3)),
)
GOODPUT = "-."
MARKS_PER_LINE = 14
EJECTION_MARKS = {"eject": ("v", 0.87, "ejected"), "uneject": ("^", 0.79, "returned")}

Handle = Line2D | Patch


@dataclass(frozen=True)
class FaultWindow:
    """A span of simulated time during which a fault was active, and what it was."""

    start: float
    end: float
    label: str


@dataclass(frozen=True)
class LineStyle:
    """How one service is drawn in every panel."""

    color: ColorType
    marker: str  # "" when there is one service: nothing to tell apart
    width: float
    markevery: tuple[int, int]  # (first, step): staggered between services

    def kwargs(self) -> dict[str, Any]:
        """A service's main line in a panel: its width and staggered markers."""
        return {"color": self.color, "lw": self.width, "marker": self.marker or None,
                "markevery": self.markevery, "ms": 4.5}

    def secondary(self, ls: Any) -> dict[str, Any]:
        """A second line of the same service (goodput, p99): thinner, no markers."""
        return {"color": self.color, "lw": max(0.9, self.width * 0.6), "ls": ls}

    def handle(self, label: str) -> Line2D:
        return Line2D([], [], color=self.color, lw=2, marker=self.marker or None, ms=5,
                      label=label)


@dataclass(frozen=True)
class _Data:
    """What the panels draw: per service its total rows, per service with subsets each
    subset's rows, the styles, and the ejection events."""

    services: dict[str, pd.DataFrame]
    subsets: dict[str, dict[str, pd.DataFrame]]
    styles: dict[str, LineStyle]
    ejections: pd.DataFrame


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


class DurationTicks(Formatter):
    """Log-axis tick labels as durations (``1ms``, ``20ms``, ``1s``) for values in seconds,
    never ``2×10²``. Minor ticks are labelled at 2 and 5 times a decade on an axis spanning
    under two decades, and every one on an axis too short to hold a decade tick."""

    def __init__(self, minor: bool = False) -> None:
        self.minor = minor

    def __call__(self, x: float, pos: int | None = None) -> str:
        if not x > 0:
            return ""
        if self.minor:
            low, high = sorted(self.axis.get_view_interval()) if self.axis else (x, x)
            decades = math.log10(high / low) if low > 0 else math.inf
            coefficient = round(x / 10 ** math.floor(math.log10(x) + 1e-9))
            if decades > 2 or (decades > 0.6 and coefficient not in (2, 5)):
                return ""
        return format_duration(x)


def _styles(services: Sequence[str], points: int) -> dict[str, LineStyle]:
    import matplotlib as mpl

    cmap = mpl.colormaps["tab10" if len(services) <= 10 else "tab20"]
    n = len(services)
    step = max(1, points // MARKS_PER_LINE)
    return {
        name: LineStyle(
            color=cmap(i % cmap.N), marker=MARKERS[i % len(MARKERS)] if n > 1 else "",
            width=1.3 + 1.5 * (n - 1 - i) / (n - 1) if n > 1 else 1.5,
            markevery=((i * step) // n, step),
        )
        for i, name in enumerate(services)
    }


def _decorate(ax: Axes, faults: Sequence[FaultWindow], warmup: float, labels: bool) -> None:
    for window in faults:
        ax.axvspan(window.start, window.end, color=FAULT_COLOR, alpha=0.12, lw=0,
                   label=f"fault: {window.label}")
        if labels:
            ax.annotate(
                window.label, xy=(window.start, 1.0), xycoords=("data", "axes fraction"),
                xytext=(2, -2), textcoords="offset points", va="top", fontsize=7,
                color=FAULT_COLOR,
            )
    if warmup > 0:
        ax.axvline(warmup, color="0.4", ls="--", lw=1, label="warm-up end")
    ax.grid(True, alpha=0.3)


def _legend(ax: Axes, handles: Sequence[Handle]) -> None:
    if handles:
        ax.legend(handles=list(handles), loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  fontsize=8, frameon=False)


def _time(part: pd.DataFrame) -> np.ndarray:
    return part["time"].to_numpy(dtype=float)


def _data(ts: pd.DataFrame, bucket: float, events: pd.DataFrame | None) -> _Data:
    """Per service its total rows (timed at the middle of each bucket they average over) and,
    for services with subsets, each subset's rows."""
    ts = ts.assign(time=ts["time"] + bucket / 2)
    totals = service_totals(ts)
    services = {str(name): part
                for name, part in totals.groupby("service", observed=True, sort=True)}
    leaves = ts[~ts["aggregate"].to_numpy(dtype=bool)]
    multi = set(ts.loc[ts["aggregate"].to_numpy(dtype=bool), "service"].astype(str))
    subsets: dict[str, dict[str, pd.DataFrame]] = {}
    for (service, subset), part in leaves.groupby(["service", "subset"], observed=True,
                                                  sort=True):
        if str(service) in multi:
            subsets.setdefault(str(service), {})[str(subset)] = part
    points = max((len(part) for part in services.values()), default=0)
    ejections = events if events is not None else pd.DataFrame(columns=["time", "kind"])
    kinds = ejections["kind"].astype(str).isin(list(EJECTION_MARKS)).to_numpy()
    return _Data(services, subsets, _styles(list(services), points), ejections[kinds])


# -- panels -----------------------------------------------------------------------------------
def _subset_lines(ax: Axes, data: _Data, column: str) -> tuple[list[Handle], float]:
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
            ax.plot(_time(rows), values, color=color, lw=1.2, ls=dashes, label=label,
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


def _throughput(ax: Axes, data: _Data) -> list[Handle]:
    for name, part in data.services.items():
        style = data.styles[name]
        ax.plot(_time(part), part["completed"], **style.kwargs(), label=f"{name} throughput")
        ax.plot(_time(part), part["goodput"], **style.secondary(GOODPUT),
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


def _success(ax: Axes, data: _Data) -> list[Handle]:
    lowest = math.inf
    for name, part in data.services.items():
        rate = part["success_rate"].to_numpy(dtype=float)
        ax.plot(_time(part), rate, **data.styles[name].kwargs(), label=name)
        lowest = min(lowest, float(np.nanmin(np.r_[rate, np.inf])))
    handles, low = _subset_lines(ax, data, "success_rate")
    lowest = min(lowest, low)
    _success_limits(ax, lowest if math.isfinite(lowest) else math.nan)
    _name_line_ends(ax)
    ax.set_ylabel("success rate")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_title("Success rate (non-5xx answers)", loc="left", fontsize=10)
    return handles


def _latency(ax: Axes, data: _Data) -> list[Handle]:
    positive = False
    for name, part in data.services.items():
        style = data.styles[name]
        p50 = part["p50"].to_numpy(dtype=float)
        p99 = part["p99"].to_numpy(dtype=float)
        ax.plot(_time(part), p50, **style.kwargs(), label=f"{name} p50")
        ax.plot(_time(part), p99, **style.secondary(":"), label=f"{name} p99")
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


def _proxy_answers(part: pd.DataFrame) -> list[tuple[str, np.ndarray]]:
    """Per kind of answer a proxy made instead of the app, its rate over time (kinds the
    frame has no column for are left out)."""
    def column(name: str) -> np.ndarray | None:
        return part[name].to_numpy(dtype=float) if name in part else None

    overflows, local, refused = column("overflows"), column("local_replies"), column("denied")
    out = []
    if overflows is not None:
        out.append(("overflows", overflows))
    if local is not None:
        out.append(("other", local - (overflows if overflows is not None else 0.0)))
    if refused is not None:
        out.append(("denied", refused))
    return out


# How each kind of proxy answer is drawn: line style, line label suffix, legend text.
ANSWER_STYLES = {
    "overflows": ("-", "503 UO overflows", "503 UO (pool overflow)"),
    "other": ("--", "other local replies", "local replies other than UO\n(UH UF UC UT NR NC FI)"),
    "denied": (":", "403 denied", "403 denied (authorization)"),
}


def _has_local_replies(data: _Data) -> bool:
    """Whether any proxy answered a call itself (or denied it) or ejected an endpoint."""
    replied = any(float(values.sum()) > 0 for part in data.services.values()
                  for _, values in _proxy_answers(part))
    return replied or len(data.ejections) > 0


def _local_replies(ax: Axes, data: _Data) -> list[Handle]:
    handles: dict[str, Handle] = {}
    top = 0.0
    for name, part in data.services.items():
        style = data.styles[name]
        for kind, values in _proxy_answers(part):
            if not values.sum() > 0:
                continue
            ls, suffix, legend = ANSWER_STYLES[kind]
            ax.plot(_time(part), values, **style.kwargs(), ls=ls, label=f"{name} {suffix}")
            handles[kind] = Line2D([], [], color="black", ls=ls, label=legend)
            top = max(top, float(np.nanmax(values)))
    ax.set_ylim(0, max(top, 1.0) * 1.45)  # room above the lines for the ejection marks
    handles.update(_ejection_marks(ax, data))
    ax.set_ylabel("answers / s")
    ax.set_title("Answered by a proxy instead of the app, and endpoint ejections", loc="left",
                 fontsize=10)
    return list(handles.values())


def _ejection_marks(ax: Axes, data: _Data) -> dict[str, Handle]:
    """A mark per eject (filled, upper row) and uneject (hollow, lower row) event, in the
    colour of the service whose endpoint it was."""
    handles: dict[str, Handle] = {}
    rows = data.ejections
    for kind, (marker, height, word) in EJECTION_MARKS.items():
        chosen = rows[(rows["kind"].astype(str) == kind).to_numpy()]
        for service, part in chosen.groupby(chosen["service"].astype(str), sort=True):
            style = data.styles.get(str(service))
            color = style.color if style else "black"
            times = part["time"].to_numpy(dtype=float)
            ax.plot(times, np.full(len(times), height), ls="none", marker=marker, ms=7,
                    color=color, mfc=color if kind == "eject" else "none",
                    transform=ax.get_xaxis_transform(), clip_on=False,
                    label=f"{service} endpoint {word}")
            handles[kind] = Line2D([], [], ls="none", marker=marker, color="black", ms=6,
                                   mfc="black" if kind == "eject" else "none",
                                   label=f"endpoint {word} ({kind})")
    _name_ejected(ax, rows[(rows["kind"].astype(str) == "eject").to_numpy()])
    return handles


def _name_ejected(ax: Axes, ejects: pd.DataFrame, gap: float = 5.0, most: int = 12) -> None:
    """Beside each burst of ejections of one endpoint, its name and how many client proxies
    ejected it (``ratings-0 ×3``); left out when there are too many bursts to read."""
    bursts: list[tuple[float, str, int]] = []
    for pod, part in ejects.groupby(ejects["pod"].astype(str), sort=True):
        times = np.sort(part["time"].to_numpy(dtype=float))
        starts = np.flatnonzero(np.diff(times, prepend=-math.inf) > gap)
        counts = np.diff(np.r_[starts, len(times)])
        bursts += [(float(times[i]), str(pod), int(c)) for i, c in zip(starts, counts,
                                                                       strict=True)]
    if not bursts or len(bursts) > most:
        return
    for time, pod, count in bursts:
        text = pod if count == 1 else f"{pod} ×{count}"
        ax.annotate(text, xy=(time, EJECTION_MARKS["eject"][1]),
                    xycoords=("data", "axes fraction"), xytext=(6, 0),
                    textcoords="offset points", va="center", fontsize=7)


Panel = Callable[[Axes, _Data], list[Handle]]
_DRAW: dict[str, Panel] = {"throughput": _throughput, "success_rate": _success,
                           "latency": _latency, LOCAL_REPLIES: _local_replies}


def _figure(height: float, rows: int) -> tuple[Figure, list[Axes]]:
    fig = Figure(figsize=(11, height), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
    return fig, list(axes)


def panel_names(timeseries: pd.DataFrame, events: pd.DataFrame | None = None) -> list[str]:
    """The panels a run's overview has: :data:`PANELS`, and the local replies and ejections
    when there were any."""
    data = _data(timeseries, 1.0, events)
    return [*PANELS, LOCAL_REPLIES] if _has_local_replies(data) else list(PANELS)


def plot_panels(
    timeseries: pd.DataFrame, faults: Sequence[FaultWindow], *, warmup: float, duration: float,
    panels: Sequence[str] | None = None, title: str = "", bucket: float = 1.0,
    events: pd.DataFrame | None = None,
) -> Figure:
    """A figure with one panel per name in ``panels`` (stacked, shared time axis; default
    :func:`panel_names`). ``events`` gives the ejection marks."""
    data = _data(timeseries, bucket, events)
    if panels is None:
        panels = [*PANELS, LOCAL_REPLIES] if _has_local_replies(data) else list(PANELS)
    fig, axes = _figure(2.0 + 2.6 * len(panels), len(panels))
    for i, (ax, name) in enumerate(zip(axes, panels, strict=True)):
        handles = _DRAW[name](ax, data)
        _decorate(ax, faults, warmup, labels=i == 0)
        if i == 0:
            handles = [*(s.handle(n) for n, s in data.styles.items()), *handles]
            if faults:
                handles.append(Patch(color=FAULT_COLOR, alpha=0.2, label="fault"))
            if warmup > 0:
                handles.append(Line2D([], [], color="0.4", ls="--", lw=1, label="warm-up end"))
        _legend(ax, handles)
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
