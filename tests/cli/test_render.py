"""How the CLI words numbers and SLO verdicts (in-process: pure functions, no simulation)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from meshsim.cli.common import BadInput, parse_overrides
from meshsim.cli.render import format_metric, slo_verdicts


@pytest.mark.parametrize(
    ("metric", "value", "text"),
    [
        ("p99", 0.1234, "123ms"),
        ("mean_latency", 0.00085, "850us"),
        ("success_rate", 0.995, "99.50%"),
        ("retry_ratio", 0.0, "0.00%"),
        ("rps", 400.0, "400.0/s"),
        ("timeouts", 2097.0, "2,097"),
        ("p50", math.nan, "-"),
        ("p50", None, "-"),
    ],
)
def test_format_metric(metric: str, value: float | None, text: str) -> None:
    assert format_metric(metric, value) == text


def _slo(**row: object) -> pd.DataFrame:
    base = {
        "expectation": "",
        "metric": "p99",
        "service": "api",
        "subset": "",
        "window_start": 30.0,
        "window_end": 300.0,
        "value": 0.2,
        "min": math.nan,
        "max": 0.5,
        "passed": True,
    }
    return pd.DataFrame([{**base, **row}])


@pytest.mark.parametrize(
    ("row", "verdict"),
    [
        ({}, (True, "p99 api [30s, 300s]: 200ms ≤ 500ms")),
        ({"value": 0.7, "passed": False}, (False, "p99 api [30s, 300s]: 700ms > max 500ms")),
        (
            {
                "metric": "success_rate",
                "subset": "v2",
                "value": 0.95,
                "min": 0.99,
                "max": math.nan,
                "passed": False,
            },
            (False, "success_rate api/v2 [30s, 300s]: 95.00% < min 99.00%"),
        ),
        (
            {"metric": "rps", "value": 50.0, "min": 10.0, "max": 100.0},
            (True, "rps api [30s, 300s]: 10.0/s ≤ 50.0/s ≤ 100.0/s"),
        ),
        ({"value": math.nan, "passed": False}, (False, "p99 api [30s, 300s]: no data")),
    ],
)
def test_slo_verdicts(row: dict[str, object], verdict: tuple[bool, str]) -> None:
    assert list(slo_verdicts(_slo(**row))) == [verdict]


def test_a_window_from_the_start_reads_0s() -> None:
    assert next(slo_verdicts(_slo(window_start=0.0)))[1].startswith("p99 api [0s, 300s]")


def test_overrides_keep_the_raw_value_for_the_config_stage() -> None:
    assert parse_overrides(["spec.seed=3", "a.b = x=y"]) == {"spec.seed": "3", "a.b": " x=y"}
    for bad in ("spec.seed", "=3", "spec seed=3"):
        with pytest.raises(BadInput):
            parse_overrides([bad])


def test_progress_bar_counts_simulated_time() -> None:
    import io

    from rich.console import Console

    from meshsim.cli.common import progress_bar as _progress_bar

    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100, color_system=None)
    with _progress_bar(console, 300.0) as progress:
        progress(126.0, 300.0)
        progress(300.0, 300.0)  # the last call always redraws
        shown = screen.getvalue()
    assert "simulating 300s" in shown and "126s/300s" in shown and "42%" in shown
    assert "300s/300s" in shown and "100%" in shown
