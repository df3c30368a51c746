"""Plots: the panels, their scales, fault windows and the warm-up marker."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from meshsim.model import Fault, FaultTarget, Model
from meshsim.results import Results
from meshsim.results.fault_windows import FaultWindow, fault_windows

Build = Callable[..., Any]


def legend_texts(ax: Axes) -> list[str]:
    legend = ax.get_legend()
    assert legend is not None
    return [t.get_text() for t in legend.get_texts()]


def line(ax: Axes, label: str) -> Line2D:
    found = [ln for ln in ax.get_lines() if ln.get_label() == label]
    assert len(found) == 1, (label, [ln.get_label() for ln in ax.get_lines()])
    return found[0]


def rows(results: Results, service: str, subset: str = "") -> pd.DataFrame:
    ts = results.timeseries
    return ts[((ts["service"] == service) & (ts["subset"] == subset)).to_numpy()]


@pytest.fixture(scope="module")
def figure(saved_run: tuple[Results, object]) -> Figure:
    return saved_run[0].plot()


def test_plot_returns_an_agg_figure_with_four_panels(figure: Figure) -> None:
    assert isinstance(figure, Figure)
    assert isinstance(figure.canvas, FigureCanvasAgg)
    axes = figure.get_axes()
    assert len(axes) == 4  # the run has 503 UO overflows and ejections: a fourth panel
    assert [ax.get_title(loc="left") for ax in axes] == [
        "Throughput and goodput", "Success rate (non-5xx answers)",
        "Latency p50 and p99 (log scale)",
        "Answered by a proxy instead of the app, and endpoint ejections",
    ]
    assert axes[2].get_yscale() == "log"
    assert axes[0].get_xlim() == (0.0, 10.0)


def test_one_line_per_service_and_a_readable_legend(figure: Figure) -> None:
    top = figure.get_axes()[0]
    labels = legend_texts(top)
    for name in ("frontend", "ratings", "reviews", "throughput", "goodput", "reviews/v1",
                 "reviews/v2", "fault", "warm-up end"):
        assert name in labels
    # throughput and goodput for three services (reviews as its aggregate), the throughput of
    # each of reviews' subsets, and the warm-up line
    assert len(top.get_lines()) == 2 * 3 + 2 + 1


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
    assert len(fig.get_axes()) == 3  # no local replies, no ejections: no fourth panel
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


# -- subsets, mirrors, coinciding lines ---------------------------------------------------------
def test_success_panel_has_a_labelled_line_per_subset(
    figure: Figure, saved_run: tuple[Results, object]
) -> None:
    results = saved_run[0]
    success = figure.get_axes()[1]
    service = line(success, "reviews")
    for subset in ("v1", "v2"):
        sub = line(success, f"reviews/{subset}")
        np.testing.assert_allclose(sub.get_ydata(), rows(results, "reviews", subset)
                                   ["success_rate"], equal_nan=True)
        assert to_rgba(sub.get_color()) == to_rgba(service.get_color())  # one service, one colour
        assert sub.get_linestyle() != service.get_linestyle()  # told apart by its dashes
        assert f"reviews/{subset}" in legend_texts(success)


def _canary_book(book_factory: Build, failures: int) -> Any:
    """reviews: v1 answers 200 calls, v2 (the canary) 50 with ``failures`` 500s, spread over
    seconds 0-9."""
    book = book_factory()
    cid = 100
    for subset, calls, bad in (("v1", 200, 0), ("v2", 50, failures)):
        for k in range(calls):
            start = 9.5 * k / calls
            status = 500 if k < bad else 200
            book.call(cid, cid, "frontend-0", "reviews", subset, start, start + 0.01, status,
                      depth=1)
            cid += 1
    return book


def test_a_canary_at_98_percent_is_not_drawn_on_the_100_percent_line(
    book_factory: Build, model_factory: Callable[..., Model]
) -> None:
    results = Results(model_factory(), _canary_book(book_factory, 1).finish(),
                      wall_time=0.0, scenario_meta={})
    success = results.plot().get_axes()[1]
    canary = line(success, "reviews/v2")
    low = float(np.nanmin(canary.get_ydata()))
    assert low == pytest.approx(5 / 6)  # 1 of the 6 calls in its worst second failed
    bottom, top = success.get_ylim()
    assert bottom <= low and top >= 1.0
    # the dip fills most of the axis height instead of a few pixels of a 0-100 % axis
    assert (1.0 - low) / (top - bottom) > 0.8


def test_a_mirror_subset_is_labelled_as_mirror_copies(
    book_factory: Build, model_factory: Callable[..., Model]
) -> None:
    book = book_factory()
    for k in range(5):
        start = 1.0 + k
        book.call(k + 1, k + 1, "frontend-0", "reviews", "v1", start, start + 0.01, 200, depth=1)
        book.rec.call(10 + k, k + 1, book.i("frontend-0"), book.i("reviews"), book.i("v2"),
                      start, start + 0.2, 500, book.i(""), 1, 1, True)
    results = Results(model_factory(), book.finish(), wall_time=0.0, scenario_meta={})
    top, success = results.plot().get_axes()[:2]
    assert "reviews/v2 (mirror copies)" in legend_texts(success)
    assert "reviews/v1" in legend_texts(success)
    # what callers were served: the copies' 500s are not in reviews' own line
    assert np.nanmin(line(success, "reviews").get_ydata()) == 1.0
    assert np.nanmax(line(top, "reviews throughput").get_ydata()) == 1.0


def test_services_at_the_same_rate_stay_distinguishable(
    book_factory: Build, model_factory: Callable[..., Model]
) -> None:
    """frontend and reviews carry exactly the same calls: one line must not hide the other."""
    book = book_factory()
    for k in range(240):
        start = 0.25 * k
        book.request(k, start, start + 0.01, 200)
        book.call(1000 + k, k, "frontend-0", "ratings", "", start, start + 0.01, 200, depth=1)
    results = Results(model_factory(duration=60.0), book.finish(60.0), wall_time=0.0,
                      scenario_meta={})
    for ax in results.plot().get_axes()[:2]:
        suffix = " throughput" if ax.get_title(loc="left").startswith("Throughput") else ""
        a, b = line(ax, "frontend" + suffix), line(ax, "ratings" + suffix)
        np.testing.assert_array_equal(a.get_ydata(), b.get_ydata())  # they do coincide
        assert a.get_marker() not in ("None", "", None)
        assert a.get_marker() != b.get_marker()
        # markers staggered so they alternate along the shared line
        first_a, first_b = a.get_markevery(), b.get_markevery()
        assert isinstance(first_a, tuple) and isinstance(first_b, tuple)
        assert first_a[0] != first_b[0]
        # the one drawn first is wider, so it shows as a rim around the later one
        assert a.get_linewidth() > b.get_linewidth()
    handles = results.plot().get_axes()[0].get_legend().legend_handles
    markers = {h.get_label(): h.get_marker() for h in handles if isinstance(h, Line2D)}
    assert markers["frontend"] != markers["ratings"]


# -- local replies and ejections -----------------------------------------------------------------
def test_overflows_and_local_replies_are_drawn_per_service(
    figure: Figure, saved_run: tuple[Results, object]
) -> None:
    results = saved_run[0]
    panel = figure.get_axes()[3]
    uo = line(panel, "reviews 503 UO overflows")
    np.testing.assert_allclose(uo.get_ydata(), rows(results, "reviews")["overflows"])
    other = line(panel, "reviews other local replies")  # the 504 UT at 7.0
    assert list(other.get_ydata()) == [0, 0, 0, 0, 0, 0, 0, 1, 0, 0]
    texts = legend_texts(panel)
    assert "503 UO (pool overflow)" in texts
    assert any(t.startswith("local replies other than UO") for t in texts)


def test_denials_get_the_proxy_panel_even_alone(
    book_factory: Build, model_factory: Callable[..., Model]
) -> None:
    """A 403 from an authorization policy is a success to the meshes' golden metrics: the
    success-rate panel cannot show it, so the proxy panel does."""
    book = book_factory()
    for k in range(8):
        book.request(k + 1, 1.0 + k, 1.01 + k, 200)
        book.call(100 + k, k + 1, "frontend-0", "reviews", "v1", 1.0 + k, 1.005 + k,
                  403 if k % 2 else 200, depth=1)
    results = Results(model_factory(), book.finish(), wall_time=0.0, scenario_meta={})
    axes = results.plot().get_axes()
    assert len(axes) == 4
    refused = line(axes[3], "reviews 403 denied")
    np.testing.assert_array_equal(refused.get_ydata(), [0, 0, 1, 0, 1, 0, 1, 0, 1, 0])
    assert "403 denied (authorization)" in legend_texts(axes[3])
    assert np.nanmin(line(axes[1], "reviews").get_ydata()) == 1.0  # "success" all along


def test_ejections_are_marked_from_the_events(figure: Figure) -> None:
    panel = figure.get_axes()[3]
    ejected = line(panel, "reviews endpoint ejected")
    assert ejected.get_marker() == "v" and ejected.get_linestyle() == "None"
    assert list(ejected.get_xdata()) == [1.0, 6.5]
    assert list(line(panel, "frontend endpoint ejected").get_xdata()) == [6.6]
    returned = line(panel, "reviews endpoint returned")
    assert returned.get_marker() == "^" and list(returned.get_xdata()) == [8.0]
    texts = legend_texts(panel)
    assert "endpoint ejected (eject)" in texts and "endpoint returned (uneject)" in texts
    named = {t.get_text() for t in panel.texts}
    assert {"reviews-v1-0", "reviews-v2-0", "frontend-1"} <= named


def test_each_panel_is_also_its_own_figure(saved_run: tuple[Results, object]) -> None:
    figures = saved_run[0].figures()
    assert list(figures) == ["overview", "throughput", "success_rate", "latency",
                             "local_replies"]
    assert len(figures["local_replies"].get_axes()) == 1


# -- axes and labels ---------------------------------------------------------------------------
DURATION = re.compile(r"^\d+(\.\d+)?(us|ms|s)$")


def test_latency_ticks_read_as_durations(figure: Figure) -> None:
    latency = figure.get_axes()[2]
    figure.canvas.draw()
    labels = [t.get_text() for t in latency.get_yticklabels(which="both") if t.get_text()]
    assert labels, "no tick label on the latency axis"
    assert all(DURATION.match(text) for text in labels), labels
    assert latency.get_ylabel() == "latency"


def test_no_line_or_patch_without_a_label(figure: Figure) -> None:
    for ax in figure.get_axes():
        for artist in [*ax.get_lines(), *ax.patches]:
            assert not str(artist.get_label()).startswith("_"), (ax.get_title(loc="left"),
                                                                 artist)


@pytest.fixture(scope="module")
def rolled_back() -> Results:
    import meshsim

    return meshsim.simulate("scenarios/canary/flagger-latency-rolled-back.yaml")


def test_rollout_plot_labels_every_line_and_names_failed_checks(rolled_back: Results) -> None:
    fig = rolled_back.plot_rollout()
    for ax in fig.get_axes():
        texts = legend_texts(ax)
        for artist in ax.get_lines():
            label = str(artist.get_label())
            assert not label.startswith("_"), (ax.get_title(loc="left"), artist)
            assert label in texts
        assert "rollout start" in texts and "rolled back" in texts
    weight = fig.get_axes()[0]
    failed = rolled_back.rollout_decisions()
    failed = failed[(failed["kind"] == "check") & (failed["passed"] == False)]  # noqa: E712
    named = [t.get_text() for t in weight.texts]
    assert sorted(named) == sorted(failed["metric"].astype(str))
    rings = [c for c in weight.collections if c.get_label() == "check passed"]
    assert rings and rings[0].get_facecolor().size == 0  # hollow: a cross inside shows


def test_rollout_canary_line_does_not_cover_the_primary(rolled_back: Results) -> None:
    """Both versions at 100 %: the canary, drawn last, is thinner, so the primary shows."""
    for ax in rolled_back.plot_rollout().get_axes()[1:]:
        primary, canary = line(ax, "podinfo/primary"), line(ax, "podinfo/canary")
        lines = ax.get_lines()
        assert lines.index(canary) > lines.index(primary)
        assert primary.get_linewidth() > canary.get_linewidth()
