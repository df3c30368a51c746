"""The resilience map as a picture: P(collapse) per (base load, trigger) cell.

Rows are trigger values, columns load values, both in the order given (they are ``--set``
values such as ``400/s`` or ``5s``, not numbers to rescale). Each cell shows the share of
seeds that collapsed and, where runs recovered, their median recovery time, so the boundary
of the metastable region and how close to it the system recovers slowly are both visible.
Built on a bare :class:`~matplotlib.figure.Figure` with an Agg canvas, never ``pyplot``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from meshsim.units import format_duration

CMAP = "RdYlGn_r"  # green: recovers, red: collapses


def _ordered(values: pd.Series) -> list[object]:
    return list(dict.fromkeys(values.tolist()))


def cell_text(
    p_collapse: float, collapsed: int, runs: int, recovery: float, undecided: int = 0
) -> str:
    """``P=0.33 (1/3)`` over ``rec 2s`` (median recovery of the runs that recovered).

    Runs whose verdict could not be told are not in P; ``2 undecided`` says how many."""
    decided = runs - undecided
    text = "P=?" if math.isnan(p_collapse) else f"P={p_collapse:.2f}"
    text += f" ({collapsed}/{decided})"
    if undecided:
        text += f"\n{undecided} undecided"
    if not math.isnan(recovery):
        text += f"\nrec {format_duration(recovery) if recovery > 0 else '0s'}"
    return text


def collapse_heatmap(
    cells: pd.DataFrame, *, load_label: str, trigger_label: str, title: str = ""
) -> Figure:
    """Heat map of ``p_collapse`` with counts and median recovery time written in each cell."""
    loads, triggers = _ordered(cells["load"]), _ordered(cells["trigger"])
    grid = np.full((len(triggers), len(loads)), np.nan)
    fig = Figure(figsize=(1.6 + 1.5 * len(loads), 1.4 + 0.9 * len(triggers)), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    for row in cells.to_dict("records"):
        i, j = triggers.index(row["trigger"]), loads.index(row["load"])
        p = float(row["p_collapse"])
        grid[i, j] = p
        text = cell_text(p, int(row["collapsed"]), int(row["runs"]),
                         float(row["recovery_time_median"]), int(row.get("undecided", 0)))
        readable = "black" if 0.2 <= p <= 0.8 else "white"  # on the cell's colour
        ax.text(j, i, text, ha="center", va="center", fontsize=8, color=readable)
    image = ax.imshow(grid, cmap=CMAP, vmin=0.0, vmax=1.0, origin="lower", aspect="auto")
    ax.set_xticks(range(len(loads)), [str(v) for v in loads])
    ax.set_yticks(range(len(triggers)), [str(v) for v in triggers])
    ax.set_xlabel(f"base load: {load_label}")
    ax.set_ylabel(f"trigger: {trigger_label}")
    if title:
        ax.set_title(title)
    fig.colorbar(image, ax=ax, label="P(collapse) over seeds")
    return fig
