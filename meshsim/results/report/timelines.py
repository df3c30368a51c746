"""Timelines: the outlier ejections (one row per pod, one bar per client proxy that ejected
it, from ``eject`` to ``uneject`` or the end of the run) and the canary strip (the rollout's
weight as a step line, its checks as marks, the phase and outcome).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from meshsim.results.formatting import moment
from meshsim.results.report.svg import Scale, element, esc, num, ticks, title

WIDTH, LEFT, RIGHT, ROW = 1080.0, 170.0, 20.0, 22.0


@dataclass(frozen=True)
class Ejection:
    pod: str
    proxy: str
    start: float
    end: float
    detail: str
    open: bool  # still ejected when the run ended


def ejections(events: pd.DataFrame, horizon: float) -> list[Ejection]:
    """Pair each client proxy's ``eject`` of a pod with its next ``uneject``."""
    kinds = events["kind"].astype(str).to_numpy()
    rows = events[(kinds == "eject") | (kinds == "uneject")].sort_values("time", kind="stable")
    opened: dict[tuple[str, str], tuple[float, str]] = {}
    out = []
    for time, kind, proxy, pod, detail in zip(
            rows["time"], rows["kind"].astype(str), rows["proxy"].astype(str),
            rows["pod"].astype(str), rows["detail"].astype(str), strict=True):
        key = (pod, proxy)
        if kind == "eject":
            opened.setdefault(key, (float(time), detail))
        elif key in opened:
            start, why = opened.pop(key)
            out.append(Ejection(pod, proxy, start, float(time), why, False))
    out += [Ejection(pod, proxy, start, horizon, why, True)
            for (pod, proxy), (start, why) in opened.items()]
    return sorted(out, key=lambda e: (e.pod, e.start, e.proxy))


def _axis(xs: Scale, horizon: float, y: float) -> str:
    return "".join(element("text", moment(t), x=xs(t), y=y, text_anchor="middle",
                           class_="tick") for t in ticks(0.0, horizon, 8))


def ejection_svg(found: list[Ejection], horizon: float) -> str:
    if not found:
        return '<p class="none">No endpoint was ejected in this run.</p>'
    pods = sorted({e.pod for e in found})
    xs = Scale(0.0, horizon, LEFT, WIDTH - RIGHT)
    height = ROW * len(pods) + 30.0
    body = []
    for i, pod in enumerate(pods):
        mine = [e for e in found if e.pod == pod]
        y = 6.0 + i * ROW
        proxies = len({e.proxy for e in mine})
        body.append(element("text", f"{esc(pod)} ({proxies} prox{'y' if proxies == 1 else 'ies'})",
                            x=LEFT - 6.0, y=y + 13.0, text_anchor="end", class_="row-label"))
        for e in mine:
            until = "still ejected at the end" if e.open else f"to {moment(e.end)}"
            body.append(element(
                "rect", title(f"{e.pod} ejected by {e.proxy} ({e.detail}) from "
                              f"{moment(e.start)} {until}"),
                x=xs(e.start), y=y + 2.0, width=max(xs(e.end) - xs(e.start), 2.0),
                height=ROW - 6.0, class_="ejected", data_pod=e.pod, data_proxy=e.proxy,
                data_start=f"{e.start:.6f}", data_end=f"{e.end:.6f}"))
    body.append(_axis(xs, horizon, height - 6.0))
    return element("svg", "".join(body), xmlns="http://www.w3.org/2000/svg",
                   viewBox=f"0 0 {num(WIDTH)} {num(height)}", width=num(WIDTH),
                   height=num(height), id="ejections")


def canary_svg(decisions: pd.DataFrame, rollout: str, horizon: float) -> str:
    """One rollout's strip: weight over time (the axis up to the highest weight it reached,
    at least 10 %), checks as marks (green passed, red failed), phase changes as lines."""
    rows = decisions[decisions["rollout"].astype(str) == rollout].sort_values("time",
                                                                            kind="stable")
    xs = Scale(0.0, horizon, LEFT, WIDTH - RIGHT)
    height, top, bottom = 120.0, 10.0, 90.0
    weights = rows["weight"].to_numpy(dtype=float)
    most = float(max(10.0, min(100.0, max((w for w in weights if w == w), default=0.0))))
    ys = Scale(0.0, most, bottom, top)
    body = [element("text", esc(rollout), x=LEFT - 6.0, y=54.0, text_anchor="end",
                    class_="row-label")]
    for w in (0.0, most / 2, most):
        body.append(element("line", x1=LEFT, x2=WIDTH - RIGHT, y1=ys(w), y2=ys(w),
                            class_="grid"))
        body.append(element("text", f"{w:g}%", x=LEFT + 2.0, y=ys(w) - 2.0, class_="tick"))
    weight, x_prev, points = 0.0, 0.0, []
    for time, kind, value in zip(rows["time"], rows["kind"].astype(str), rows["weight"],
                                 strict=True):
        if kind == "weight" and not (isinstance(value, float) and math.isnan(value)):
            points += [f"{xs(x_prev):.1f},{ys(weight):.1f}", f"{xs(time):.1f},{ys(weight):.1f}"]
            weight, x_prev = float(value), float(time)
    points += [f"{xs(x_prev):.1f},{ys(weight):.1f}", f"{xs(horizon):.1f},{ys(weight):.1f}"]
    body.append(element("polyline", points=" ".join(points), fill="none", stroke="#0066cc",
                        stroke_width=2.0, class_="weight"))
    for row in rows.to_dict("records"):
        x, kind = xs(float(row["time"])), str(row["kind"])
        text = str(row.get("detail") or kind)
        if kind == "check":
            ok = str(row.get("passed")).lower() == "true"
            body.append(element("circle", title(f"{moment(float(row['time']))} check: {text}"),
                                cx=x, cy=bottom + 12.0, r=5.0,
                                class_="check-pass" if ok else "check-fail"))
        elif kind != "weight":
            body.append(element("line", title(f"{moment(float(row['time']))} {kind}: {text}"),
                                x1=x, x2=x, y1=top, y2=bottom, class_=f"phase {esc(kind)}"))
            body.append(element("text", esc(kind), x=x + 3.0, y=top + 10.0, class_="phase-label"))
    body.append(_axis(xs, horizon, height - 2.0))
    return element("svg", "".join(body), xmlns="http://www.w3.org/2000/svg",
                   viewBox=f"0 0 {num(WIDTH)} {num(height)}", width=num(WIDTH),
                   height=num(height), class_="canary", data_rollout=rollout)
