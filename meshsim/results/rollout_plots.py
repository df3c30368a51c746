"""A rollout over time: the canary weight the controller set, its checks, and each version's
success rate and p99 beside it, so a rollback can be read against the errors that caused it.
The rollout's start and the controller's decision are marked (and named) in every panel; a
failed check is named by its metric, and a passed check at the same tick stays visible.

Built on :class:`matplotlib.figure.Figure` with an Agg canvas, never ``pyplot`` (as
:mod:`meshsim.results.plots`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from meshsim.results.rollout import Rollout, decisions

OUTCOME_COLORS = {"promoted": "tab:green", "rolled back": "tab:red", "promoting": "tab:green",
                  "paused": "tab:orange", "progressing": "0.4"}


MOST_NAMED_CHECKS = 12  # failed checks named beside their mark; beyond, the legend only


def _weight_panel(ax: Axes, rollout: Rollout, checks: pd.DataFrame, end: float) -> None:
    times = [t for t, _ in rollout.weights] + [end]
    weights = [w for _, w in rollout.weights]
    weights.append(weights[-1])
    ax.step(times, weights, where="post", color="tab:blue", lw=1.8, label="canary weight")
    # A passed check is a wide hollow ring, so a failed check's cross at the same tick (one
    # metric passed, another failed) shows inside it instead of covering it.
    passed = checks[checks["passed"] == True]  # noqa: E712
    failed = checks[checks["passed"] == False]  # noqa: E712
    if len(passed):
        ax.scatter(passed["time"], _weights_at(rollout, passed), marker="o", s=70,
                   facecolors="none", edgecolors="tab:green", linewidths=1.4, zorder=3,
                   label="check passed")
    if len(failed):
        ax.scatter(failed["time"], _weights_at(rollout, failed), marker="x", s=36,
                   color="tab:red", zorder=3, label="check failed")
    _name_failed_checks(ax, rollout, failed)
    ax.set_ylim(-3, 103)
    ax.set_ylabel("canary weight (%)")
    controller = f" ({rollout.controller})" if rollout.controller else ""
    ax.set_title(f"{rollout.name}{controller}: {rollout.outcome}", loc="left", fontsize=10)


def _name_failed_checks(ax: Axes, rollout: Rollout, failed: pd.DataFrame) -> None:
    """The metric of each failed check above its cross."""
    if not 0 < len(failed) <= MOST_NAMED_CHECKS:
        return
    # Rows in turn, so names of checks a tick or two apart (and of one tick) do not overlap.
    ordered = failed.sort_values("time", kind="stable")
    for i, (time, metric) in enumerate(
        zip(ordered["time"], ordered["metric"].astype(str), strict=True)
    ):
        ax.annotate(metric, xy=(float(time), _weight_at(rollout, float(time))),
                    xytext=(0, 8 + 9 * (i % 3)), textcoords="offset points", ha="center",
                    fontsize=7, color="tab:red")


def _milestones(ax: Axes, rollout: Rollout) -> None:
    """The rollout's start and the controller's decision, labelled, in one panel."""
    ax.axvline(rollout.start, color="0.4", ls=":", lw=1, label="rollout start")
    if not math.isnan(rollout.decided_at):
        ax.axvline(rollout.decided_at, color=OUTCOME_COLORS[rollout.outcome], ls="--", lw=1.2,
                   label=rollout.outcome)


def _weights_at(rollout: Rollout, rows: pd.DataFrame) -> list[float]:
    return [_weight_at(rollout, float(t)) for t in rows["time"]]


def _weight_at(rollout: Rollout, time: float) -> float:
    """The weight a check at ``time`` measured: the one set strictly before it (a check reads
    the window ending at ``time``; a step taken on the same tick comes after the check)."""
    current = 0.0
    for t, w in rollout.weights:
        if t >= time:
            break
        current = w
    return current


def _versions(timeseries: pd.DataFrame, versions: Sequence[tuple[str, str]]
              ) -> dict[str, pd.DataFrame]:
    """The time series of each (service, subset), labelled ``service/subset``."""
    leaves = timeseries[~timeseries["aggregate"].to_numpy(dtype=bool)]
    service = leaves["service"].astype(str).to_numpy()
    subset = leaves["subset"].astype(str).to_numpy()
    out = {}
    for name, sub in versions:
        rows = leaves[(service == name) & ((subset == sub) if sub else True)]
        out[f"{name}/{sub}" if sub else name] = rows
    return out


def default_versions(timeseries: pd.DataFrame, rollout: Rollout) -> list[tuple[str, str]]:
    """Every subset of the canary's service (primary and canary as versions of one service)."""
    rows = timeseries[(timeseries["service"].astype(str) == rollout.service).to_numpy()
                      & ~timeseries["aggregate"].to_numpy(dtype=bool)]
    return [(rollout.service, str(sub)) for sub in sorted(set(rows["subset"].astype(str)))]


def _version_panels(axes: Sequence[Axes], versions: dict[str, pd.DataFrame], bucket: float,
                    canary: str) -> None:
    success, latency = axes
    # The canary is drawn last, over the others, and thinner than they are: where its line
    # coincides with the primary's (both at 100 %), the primary shows as a rim around it.
    # (Noisy p99 lines seldom coincide: a lighter rim there.)
    order = sorted(versions, key=lambda name: name == canary)
    for i, name in enumerate(order):
        part = versions[name]
        t = part["time"].to_numpy(dtype=float) + bucket / 2
        wide = name != canary
        success.plot(t, part["success_rate"].to_numpy(dtype=float),
                     lw=3.0 - 0.5 * i if wide else 1.5, label=name)
        latency.plot(t, part["p99"].to_numpy(dtype=float) * 1e3,
                     lw=1.7 - 0.2 * i if wide else 1.1, label=name)
    success.set_ylabel("success rate")
    low, high = success.get_ylim()
    if high > 1.0:  # no rate is above 100 %: keep the top at it, even when every value is 100 %
        success.set_ylim(min(low, 0.99), 1.002)
    success.yaxis.set_major_formatter(PercentFormatter(1.0))
    success.set_title("Success rate per version (non-5xx answers)", loc="left", fontsize=10)
    latency.set_ylabel("p99 (ms)")
    latency.set_title("p99 latency per version", loc="left", fontsize=10)


def plot_rollout(
    rollout: Rollout, events: pd.DataFrame, timeseries: pd.DataFrame, *, end: float,
    bucket: float = 1.0, title: str = "", versions: Sequence[tuple[str, str]] = (),
) -> Figure:
    """Canary weight over time with check outcomes marked, then success rate and p99 of each
    version (``(service, subset)`` pairs; default: the subsets of the canary's service)."""
    fig = Figure(figsize=(11, 8.5), layout="constrained")
    FigureCanvasAgg(fig)
    axes = list(fig.subplots(3, 1, sharex=True, squeeze=False)[:, 0])
    table = decisions(events)
    checks = table[((table["kind"] == "check") & (table["rollout"] == rollout.name)).to_numpy()]
    _weight_panel(axes[0], rollout, checks, end)
    pairs = list(versions) or default_versions(timeseries, rollout)
    canary = f"{rollout.service}/{rollout.subset}" if rollout.subset else rollout.service
    _version_panels(axes[1:], _versions(timeseries, pairs), bucket, canary)
    for ax in axes:
        ax.grid(True, alpha=0.3)
        _milestones(ax, rollout)
        ax.set_xlim(0, max(end, 1e-9))
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    axes[-1].set_xlabel("simulated time (s)")
    if title:
        fig.suptitle(title, fontsize=12)
    return fig
