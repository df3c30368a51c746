"""meshsim.sweep and ``meshsim sweep``: tidy frames, pool = inline, resumable, CLI exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from paths import SCENARIOS
from typer.testing import CliRunner

import meshsim
from meshsim.cli.main import app

SCENARIO = """\
apiVersion: meshsim/v1alpha1
kind: Scenario
metadata:
  name: sweep-tiny
spec:
  mesh: none
  duration: 5s
  warmup: 1s
  seed: 7
  services:
    api:
      replicas: 1
      concurrency: 2
      latency: constant(10ms)
  workload:
    - name: users
      target: api
      rate: 150/s
      timeout: 2s
"""
GRID = {"spec.services.api.replicas": [1, 3]}


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(SCENARIO)
    return path


def test_runs_frame_is_tidy(scenario: Path) -> None:
    result = meshsim.sweep(scenario, GRID, seeds=2, workers=1)
    runs = result.runs
    assert runs.shape == (4, 8)
    assert list(runs.columns) == [
        "spec.services.api.replicas", "seed", "success_rate", "p99", "rps", "retry_ratio",
        "slo_passed", "recovered",
    ]
    assert runs["spec.services.api.replicas"].tolist() == [1, 1, 3, 3]
    assert runs["seed"].tolist() == [0, 1, 0, 1]
    points = result.points
    assert len(points) == 2
    assert (points["n_seeds"] == 2).all()
    for metric in ("success_rate", "p99", "rps", "retry_ratio"):
        assert {f"{metric}_mean", f"{metric}_std", f"{metric}_ci95"} <= set(points.columns)
    assert result.service == "api"


def test_pool_gives_the_same_frame_as_inline(scenario: Path) -> None:
    inline = meshsim.sweep(scenario, GRID, seeds=[3, 4], workers=1)
    pooled = meshsim.sweep(scenario, GRID, seeds=[3, 4], workers=2)
    pd.testing.assert_frame_equal(inline.runs, pooled.runs)
    pd.testing.assert_frame_equal(inline.points, pooled.points)


def test_cache_makes_a_sweep_resumable(scenario: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = meshsim.sweep(scenario, {"spec.services.api.replicas": [1]}, seeds=2, workers=1,
                          cache_dir=cache)
    assert first.executed == 2 and len(list(cache.glob("*.json"))) == 2
    calls: list[tuple[int, int]] = []
    grown = meshsim.sweep(scenario, GRID, seeds=2, workers=1, cache_dir=cache,
                          progress=lambda done, total: calls.append((done, total)))
    assert grown.executed == 2  # only the new grid point ran
    assert len(list(cache.glob("*.json"))) == 4
    again = meshsim.sweep(scenario, GRID, seeds=2, workers=1, cache_dir=cache)
    assert again.executed == 0 and len(list(cache.glob("*.json"))) == 4
    pd.testing.assert_frame_equal(again.runs, grown.runs)
    pd.testing.assert_frame_equal(grown.runs.iloc[:2], first.runs)
    assert calls[0] == (2, 4) and calls[-1] == (4, 4)


def test_more_replicas_lower_p99(scenario: Path) -> None:
    result = meshsim.sweep(scenario, {"spec.services.api.replicas": [1, 2, 4]}, seeds=2, workers=1)
    p99 = result.points["p99_mean"].tolist()
    assert p99[0] > p99[1] >= p99[2]
    assert (result.runs["success_rate"] == 1.0).all()


def test_workload_row_and_bad_input(scenario: Path) -> None:
    result = meshsim.sweep(scenario, {"spec.workload[0].rate": ["50/s", "100/s"]}, seeds=1,
                           service="users", workers=1)
    low, high = result.runs["rps"].tolist()
    assert 40 < low < 60 and 85 < high < 115
    with pytest.raises(ValueError, match="neither a service"):
        meshsim.sweep(scenario, GRID, seeds=1, service="nope")
    with pytest.raises(ValueError, match="unknown metric"):
        meshsim.sweep(scenario, GRID, seeds=1, metrics=["p42"])


def cli(*args: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "COLUMNS")}
    env["PYTHONIOENCODING"] = "utf-8"
    return subprocess.run(
        [sys.executable, "-m", "meshsim", *map(str, args)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False,
    )


def test_cli_sweep_writes_the_runs_csv(scenario: Path, tmp_path: Path) -> None:
    out = tmp_path / "runs.csv"
    proc = cli("sweep", scenario, "--grid", "spec.services.api.replicas=1,2", "--seeds", "2",
               "--workers", "2", "--set", "spec.duration=3s", "--out", out, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "P99" in proc.stdout
    runs = pd.read_csv(out)
    assert len(runs) == 4
    assert runs["spec.services.api.replicas"].tolist() == [1, 1, 2, 2]


@pytest.mark.parametrize("grid", ["spec.services.api.replicas", "spec.services.api.replicas=1,,2"])
def test_cli_bad_grid_is_one_line_exit_2(scenario: Path, tmp_path: Path, grid: str) -> None:
    proc = cli("sweep", scenario, "--grid", grid, "--out", tmp_path / "x.csv", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "--grid" in lines[0]
    assert not (tmp_path / "x.csv").exists()


def test_sweep_cache_dir_that_is_a_file_is_bad_input(tmp_path: Path) -> None:
    blocker = tmp_path / "cache"
    blocker.write_text("not a directory")
    scenario = SCENARIOS / "istio/mtls-strict.yaml"
    result = CliRunner().invoke(app, [
        "sweep", str(scenario), "--grid", "spec.services.reviews.replicas=1", "--seeds", "1",
        "--workers", "1", "--cache-dir", str(blocker), "--set", "spec.duration=4s"])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "--cache-dir" in result.output and "cannot create the cache directory" in result.output
