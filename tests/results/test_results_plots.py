"""Plots: the panels, their scales, fault windows and the warm-up marker."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from meshsim.model import Fault, FaultTarget
from meshsim.results import Results
from meshsim.results.plots import FaultWindow, fault_windows


@pytest.fixture(scope="module")
def figure(saved_run: tuple[Results, object]) -> Figure:
    return saved_run[0].plot()


def test_plot_returns_an_agg_figure_with_three_panels(figure: Figure) -> None:
    assert isinstance(figure, Figure)
    assert isinstance(figure.canvas, FigureCanvasAgg)
    axes = figure.get_axes()
    assert len(axes) == 3
    assert [ax.get_title(loc="left") for ax in axes] == [
        "Throughput and goodput", "Success rate (non-5xx answers)",
        "Latency p50 and p99 (log scale)",
    ]
    assert axes[2].get_yscale() == "log"
    assert axes[0].get_xlim() == (0.0, 10.0)


def test_one_line_per_service_and_a_readable_legend(figure: Figure) -> None:
    top = figure.get_axes()[0]
    legend = top.get_legend()
    assert legend is not None
    labels = [t.get_text() for t in legend.get_texts()]
    for name in ("frontend", "ratings", "reviews", "throughput", "goodput", "fault",
                 "warm-up end"):
        assert name in labels
    # throughput and goodput for three services (reviews plotted once, as its aggregate)
    assert len(top.get_lines()) == 2 * 3 + 1  # + the warm-up line


def test_lines_show_the_timeseries(figure: Figure, saved_run: tuple[Results, object]) -> None:
    results = saved_run[0]
    top = figure.get_axes()[0]
    fe = results.timeseries[(results.timeseries["service"] == "frontend").to_numpy()]
    first = top.get_lines()[0]
    np.testing.assert_allclose(first.get_ydata(), fe["completed"])
    np.testing.assert_allclose(first.get_xdata(), fe["time"] + 0.5)  # middle of each second


def test_fault_window_and_warmup_are_marked(figure: Figure) -> None:
    for ax in figure.get_axes():
        spans = [p for p in ax.patches if isinstance(p, Rectangle)
                 and p.get_facecolor()[0] > 0.8 and p.get_facecolor()[1] < 0.5]  # red
        assert [(p.get_x(), p.get_x() + p.get_width()) for p in spans] == [(3.0, 5.0)]
        dashed = [line for line in ax.get_lines() if line.get_linestyle() == "--"
                  and list(line.get_xdata()) == [2.0, 2.0]]
        assert len(dashed) == 1


def test_fault_windows_pair_start_and_end_events(results: Results) -> None:
    assert fault_windows(results.events, 10.0) == [
        FaultWindow(3.0, 5.0, "reviews (latency x10)")
    ]


def test_open_fault_runs_to_the_end_and_model_faults_stand_in(results: Results) -> None:
    events = results.events
    open_only = events[(events["kind"] != "fault-end").to_numpy()]
    assert fault_windows(open_only, 10.0) == [FaultWindow(3.0, 10.0, "reviews (latency x10)")]
    none = events[~events["kind"].astype(str).str.startswith("fault").to_numpy()]
    faults = (Fault(at=4.0, duration=20.0, target=FaultTarget("reviews", "v2")),)
    assert fault_windows(none, 10.0, faults) == [FaultWindow(4.0, 10.0, "reviews/v2")]
    assert fault_windows(none, 10.0) == []


def test_empty_run_plots(empty_results: Results) -> None:
    fig = empty_results.plot()
    assert len(fig.get_axes()) == 3
    assert fig.get_axes()[2].get_yscale() == "linear"  # nothing positive to put on a log axis


def test_no_pyplot_figures_are_left_open(results: Results) -> None:
    results.plot()
    if "matplotlib.pyplot" in sys.modules:
        import matplotlib.pyplot as plt

        assert plt.get_fignums() == []


def test_timeseries_not_mutated_by_plotting(results: Results) -> None:
    before = results.timeseries.copy()
    results.plot()
    pd.testing.assert_frame_equal(results.timeseries, before)
