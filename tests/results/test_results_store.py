"""The run directory: files present, run.json content, Parquet round trips."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import meshsim
from meshsim.results import Results

FILES = [
    "requests.parquet", "attempts.parquet", "calls.parquet", "events.parquet",
    "timeseries.parquet", "summary.parquet", "summary.csv", "workloads.csv", "slo.csv",
    "plots/overview.png", "plots/throughput.png", "plots/success_rate.png", "plots/latency.png",
    "run.json",
]


def _strict(text: str) -> object:
    def reject(constant: str) -> None:
        raise AssertionError(f"run.json holds {constant}, which is not JSON")

    return json.loads(text, parse_constant=reject)


@pytest.fixture
def saved(saved_run: tuple[Results, Path]) -> tuple[Results, Path]:
    return saved_run


def test_all_files_are_written(saved: tuple[Results, Path]) -> None:
    _, out = saved
    for name in FILES:
        path = out / name
        assert path.is_file() and path.stat().st_size > 0, name
    for name in FILES:
        if name.endswith(".png"):
            assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_run_json(saved: tuple[Results, Path]) -> None:
    results, out = saved
    info = _strict((out / "run.json").read_text())
    assert isinstance(info, dict)
    assert info["seed"] == 7
    assert info["scenario"] == "unit-scenario"
    assert info["scenario_hash"] == "abc123"
    assert info["meshsim_version"] == meshsim.__version__
    assert info["wall_time"] == 0.5
    assert info["sim_time"] == 10.0
    assert info["kernel_events"] == 1234
    assert info["events_per_second"] == pytest.approx(1234 / 0.5)
    assert info["requests"] == 6
    assert info["attempts"] == 15
    assert info["passed"] is False
    assert [c["passed"] for c in info["slo"]] == [True, False]
    assert info["slo"][1]["value"] is None  # NaN (no traffic) is written as null
    assert info == results.run_info()


@pytest.mark.parametrize("name", ["requests", "attempts", "calls", "events", "timeseries",
                                  "summary"])
def test_parquet_round_trips(saved: tuple[Results, Path], name: str) -> None:
    results, out = saved
    back = pd.read_parquet(out / f"{name}.parquet")
    pd.testing.assert_frame_equal(back, getattr(results, name))


def test_csv_tables(saved: tuple[Results, Path]) -> None:
    results, out = saved
    summary = pd.read_csv(out / "summary.csv", keep_default_na=False, na_values=[""])
    assert list(summary.columns) == list(results.summary.columns)
    assert summary["requests"].tolist() == results.summary["requests"].tolist()
    slo = pd.read_csv(out / "slo.csv")
    assert slo["passed"].tolist() == [True, False]
    assert "no traffic" in slo["description"].iloc[1]
    workloads = pd.read_csv(out / "workloads.csv")
    assert workloads["workload"].tolist() == ["admins", "users"]


def test_empty_run_saves(empty_results: Results, tmp_path: Path) -> None:
    out = empty_results.save(tmp_path)
    info = _strict((out / "run.json").read_text())
    assert isinstance(info, dict)
    assert info["requests"] == 0 and info["passed"] is True
    assert info["events_per_second"] is None  # wall time 0
    back = pd.read_parquet(out / "attempts.parquet")
    assert back.empty and list(back.columns) == list(empty_results.attempts.columns)
