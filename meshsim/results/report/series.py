"""RED series per service (rate, errors, duration) as small SVG charts over the run's time,
warm-up and fault windows shaded, read off the run's own time series (and the p95 of the
stored calls rows when there are any).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from meshsim.results.fault_windows import FaultWindow
from meshsim.results.formatting import moment
from meshsim.results.report.svg import Scale, element, esc, num, ticks, title

WIDTH, HEIGHT = 360.0, 160.0
LEFT, RIGHT, TOP, BOTTOM = 48.0, 10.0, 18.0, 24.0
LINE_COLOURS = ("#0066cc", "#3e8635", "#c9190b", "#8f4700", "#6753ac")


@dataclass(frozen=True)
class Line:
    label: str
    values: np.ndarray


@dataclass(frozen=True)
class Panel:
    """One chart: a metric's lines over the time buckets, its unit and y formatter."""

    metric: str
    heading: str
    unit: str
    lines: list[Line]


def service_series(timeseries: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Per service, its own rows (subset ``""``: the whole service), sorted by time."""
    if timeseries.empty:
        return {}
    rows = timeseries[timeseries["subset"].astype(str).to_numpy() == ""]
    return {str(s): g.sort_values("time").reset_index(drop=True)
            for s, g in rows.groupby(rows["service"].astype(str), sort=True)}


def panels(rows: pd.DataFrame, p95: pd.DataFrame | None) -> list[Panel]:
    """Rate (offered, completed, goodput per second), errors (failed share of completed,
    in %), duration (p50, p90, p95 when recorded, p99, in ms)."""
    step = float(np.min(np.diff(rows["time"]))) if len(rows) > 1 else 1.0
    per_second = 1.0 / step
    failed = (1.0 - rows["success_rate"].to_numpy(dtype=np.float64)) * 100.0
    latency = [Line(q, rows[q].to_numpy(dtype=np.float64) * 1e3) for q in ("p50", "p90")]
    if p95 is not None:
        joined = rows[["time"]].merge(p95, on="time", how="left")
        latency.append(Line("p95", joined["p95"].to_numpy(dtype=np.float64) * 1e3))
    latency.append(Line("p99", rows["p99"].to_numpy(dtype=np.float64) * 1e3))
    return [
        Panel("rate", "Rate", "req/s", [
            Line(name, rows[name].to_numpy(dtype=np.float64) * per_second)
            for name in ("offered", "completed", "goodput")]),
        Panel("errors", "Errors", "% failed", [Line("failed", failed)]),
        Panel("duration", "Duration", "ms", latency),
    ]


def _polyline(x: Sequence[float], y: Sequence[float], colour: str) -> str:
    """One path; a gap (NaN) breaks the line."""
    parts, pen = [], "M"
    for a, b in zip(x, y, strict=True):
        if math.isnan(b):
            pen = "M"
            continue
        parts.append(f"{pen}{a:.1f},{b:.1f}")
        pen = "L"
    return element("path", d=" ".join(parts), fill="none", stroke=colour,
                   stroke_width=1.5) if parts else ""


def _shades(xs: Scale, warmup: float, faults: Sequence[FaultWindow]) -> str:
    out = []
    if warmup > 0:
        out.append(element("rect", title(f"warm-up: 0s to {moment(warmup)}"), x=xs(0.0),
                           y=TOP, width=xs(warmup) - xs(0.0), height=HEIGHT - TOP - BOTTOM,
                           class_="warmup"))
    for f in faults:
        out.append(element("rect", title(f"fault {moment(f.start)}–{moment(f.end)}: "
                                         f"{f.label}"),
                           x=xs(f.start), y=TOP, width=max(xs(f.end) - xs(f.start), 1.0),
                           height=HEIGHT - TOP - BOTTOM, class_="fault"))
    return "".join(out)


def chart(panel: Panel, times: np.ndarray, *, horizon: float, warmup: float,
          faults: Sequence[FaultWindow], service: str) -> str:
    """One panel as an SVG with axes, shaded windows and a legend."""
    xs = Scale(0.0, horizon, LEFT, WIDTH - RIGHT)
    finite = [v for line in panel.lines for v in line.values if not math.isnan(v)]
    top = max(finite, default=1.0) or 1.0
    if panel.metric == "errors":
        top = max(top, 1.0)
    ys = Scale(0.0, top * 1.05, HEIGHT - BOTTOM, TOP)
    body = [_shades(xs, warmup, faults)]
    for t in ticks(0.0, top * 1.05, 4):
        body.append(element("line", x1=LEFT, x2=WIDTH - RIGHT, y1=ys(t), y2=ys(t),
                            class_="grid"))
        body.append(element("text", f"{t:g}", x=LEFT - 4.0, y=ys(t) + 3.0,
                            text_anchor="end", class_="tick"))
    for t in ticks(0.0, horizon, 5):
        body.append(element("text", moment(t), x=xs(t), y=HEIGHT - 8.0, text_anchor="middle",
                            class_="tick"))
    mid = times + (times[1] - times[0] if len(times) > 1 else 1.0) / 2  # bucket centres
    legend = []
    for i, line in enumerate(panel.lines):
        colour = LINE_COLOURS[i % len(LINE_COLOURS)]
        body.append(_polyline([xs(t) for t in mid], [ys(v) if not math.isnan(v) else math.nan
                                                     for v in line.values], colour))
        legend.append(f'<span style="color:{colour}">━ {esc(line.label)}</span>')
    body.append(element("text", f"{panel.heading} ({panel.unit})", x=LEFT, y=12.0,
                        class_="chart-title"))
    body.append(element("line", x1=0.0, x2=0.0, y1=TOP, y2=HEIGHT - BOTTOM, class_="cursor"))
    svg = element("svg", "".join(body), xmlns="http://www.w3.org/2000/svg",
                  viewBox=f"0 0 {num(WIDTH)} {num(HEIGHT)}", width=num(WIDTH),
                  height=num(HEIGHT), class_="chart", data_service=service,
                  data_metric=panel.metric, data_x0=LEFT, data_x1=WIDTH - RIGHT,
                  data_horizon=horizon)
    return (f'<figure class="panel">{svg}<figcaption class="legend">{" ".join(legend)}'
            f'<span class="readout"></span></figcaption></figure>')


def red_section(timeseries: pd.DataFrame, p95: pd.DataFrame | None, *, horizon: float,
                warmup: float, faults: Sequence[FaultWindow]) -> tuple[str, dict[str, object]]:
    """The RED charts of every service, and their data for the page's readouts (JSON)."""
    html: list[str] = []
    data: dict[str, object] = {}
    for service, rows in service_series(timeseries).items():
        mine = None if p95 is None else p95[p95["service"].astype(str) == service][
            ["time", "p95"]]
        times = rows["time"].to_numpy(dtype=np.float64)
        charts = panels(rows, mine)
        html.append(f'<div class="service-series" id="red-{esc(service)}"><h3>{esc(service)}'
                    "</h3>" + "".join(chart(p, times, horizon=horizon, warmup=warmup,
                                            faults=faults, service=service) for p in charts)
                    + "</div>")
        data[service] = {"time": times.tolist(), **{
            p.metric: {line.label: [None if math.isnan(v) else round(float(v), 6)
                                    for v in line.values] for line in p.lines}
            for p in charts}}
    return "".join(html), data
