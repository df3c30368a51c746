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


def test_progress_bar_shows_simulated_seconds_per_wall_second() -> None:
    import io

    from rich.console import Console

    from meshsim.cli.common import progress_bar as _progress_bar

    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120, color_system=None)
    walls = iter([10.0, 12.0, 14.0])  # the bar starts at 10 s; redraws 2 s and 4 s later
    with _progress_bar(console, 300.0, clock=lambda: next(walls)) as progress:
        progress(126.0, 300.0)
        assert "63.0 sim s/wall s" in screen.getvalue()  # 126 s simulated in 2 s of wall time
        progress(300.0, 300.0)
        assert "75.0 sim s/wall s" in screen.getvalue()


def test_sim_speed_text() -> None:
    from meshsim.cli.common import sim_speed_text

    assert sim_speed_text(126.0, 2.0) == "63.0 sim s/wall s"
    assert sim_speed_text(1500.0, 1.0) == "1,500 sim s/wall s"
    assert sim_speed_text(5.0, 0.0) == ""  # no wall time yet: nothing to divide by


def _text(table: object) -> list[str]:
    from rich.console import Console

    console = Console(width=200, record=True, color_system=None)
    console.print(table)
    return console.export_text().splitlines()


def _summary(**extra: object) -> pd.DataFrame:
    row = {"service": "api", "subset": "", "aggregate": False, "requests": 400, "rps": 100.0,
           "success_rate": 1.0, "p50": 0.001, "p90": 0.002, "p99": 0.003, "retries": 0,
           "retry_ratio": 0.0, "timeouts": 0, "overflows": 0, "denied": 100,
           "denied_rate": 0.25, "client_errors": 100, "client_error_rate": 0.25}
    row.update(extra)
    return pd.DataFrame([row])


def test_golden_table_shows_denials_beside_success() -> None:
    from meshsim.cli.render import golden_table

    header, line = _text(golden_table(_summary()))
    assert header.split()[:5] == ["SERVICE", "SUBSET", "SUCCESS", "DENIED", "RPS"]
    assert "100.00%  100 (25.0%)" in line  # SUCCESS stays the meshes' non-5xx share
    header, line = _text(golden_table(_summary(client_errors=140, client_error_rate=0.35)))
    assert header.split()[3:6] == ["DENIED", "4XX", "RPS"]  # some 4xx is no denial
    assert "140 (35.0%)" in line


def test_workloads_table_shows_denials() -> None:
    from meshsim.cli.render import workloads_table

    frame = _summary().drop(columns=["service", "subset", "aggregate", "overflows"])
    frame.insert(0, "workload", "users")
    frame["mean_latency"] = 0.001
    frame["attempts"] = 400
    header, line = _text(workloads_table(frame))
    assert header.split()[:5] == ["WORKLOAD", "REQUESTS", "RPS", "SUCCESS", "DENIED"]
    assert "100 (25.0%)" in line
