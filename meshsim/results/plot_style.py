"""How a run's plots look, the same in every panel: one colour, marker and width per service.

Services drawn first are drawn wider and markers are staggered between services, so lines that
coincide (shards at the same rate, two services at 100 %) still show each service. Kept apart
from the panels so that every panel, and every figure, draws a service the same way.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import Formatter
from matplotlib.typing import ColorType

from meshsim.results.fault_windows import FaultWindow
from meshsim.units import format_duration

FAULT_COLOR = "tab:red"
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


def line_styles(services: Sequence[str], points: int) -> dict[str, LineStyle]:
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


def decorate(ax: Axes, faults: Sequence[FaultWindow], warmup: float, labels: bool) -> None:
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


def legend(ax: Axes, handles: Sequence[Handle]) -> None:
    if handles:
        ax.legend(handles=list(handles), loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  fontsize=8, frameon=False)

