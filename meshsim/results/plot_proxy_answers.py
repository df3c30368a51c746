"""The fourth panel of a run's overview: calls a proxy answered instead of the app, and ejections.

503 UO overflows, other local replies and 403 denials per service, with a mark per endpoint
ejection and return. Apart from the traffic panels of :mod:`.plots` because it reads other
columns and the event log, and is drawn only when a proxy did answer or eject.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D

from meshsim.results.plot_data import PanelData, times
from meshsim.results.plot_style import EJECTION_MARKS, Handle


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


def has_proxy_answers(data: PanelData) -> bool:
    """Whether any proxy answered a call itself (or denied it) or ejected an endpoint."""
    replied = any(float(values.sum()) > 0 for part in data.services.values()
                  for _, values in _proxy_answers(part))
    return replied or len(data.ejections) > 0


def proxy_answers_panel(ax: Axes, data: PanelData) -> list[Handle]:
    handles: dict[str, Handle] = {}
    top = 0.0
    for name, part in data.services.items():
        style = data.styles[name]
        for kind, values in _proxy_answers(part):
            if not values.sum() > 0:
                continue
            ls, suffix, legend = ANSWER_STYLES[kind]
            ax.plot(times(part), values, **style.kwargs(), ls=ls, label=f"{name} {suffix}")
            handles[kind] = Line2D([], [], color="black", ls=ls, label=legend)
            top = max(top, float(np.nanmax(values)))
    ax.set_ylim(0, max(top, 1.0) * 1.45)  # room above the lines for the ejection marks
    handles.update(_ejection_marks(ax, data))
    ax.set_ylabel("answers / s")
    ax.set_title("Answered by a proxy instead of the app, and endpoint ejections", loc="left",
                 fontsize=10)
    return list(handles.values())


def _ejection_marks(ax: Axes, data: PanelData) -> dict[str, Handle]:
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
