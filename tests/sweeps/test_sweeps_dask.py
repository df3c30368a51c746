"""The Dask path of meshsim.sweep and ``meshsim sweep --dask``, on a real LocalCluster.

The cluster has 2 worker processes with 1 thread each, as a small real deployment would; the
issue's check is that the same grid and seeds give the identical frame there and on the pool.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from distributed import Client, LocalCluster
from paths import ROOT
from typer.testing import CliRunner

import meshsim
from meshsim.cli.main import app
from meshsim.experiments import execute

RETRY_STORM = ROOT / "scenarios" / "retry-storm.yaml"
# A short retry storm: 2 s with the ratings slowdown at 1 s; the SLO windows (100 s on) are
# for the full run, so they are dropped here.
SHORT = {
    "spec.duration": "2s", "spec.warmup": "0.5s", "spec.expect": "[]",
    "spec.faults[0].at": "1s", "spec.faults[0].for": "0.5s",
}
GRID = {
    "VirtualService/reviews.spec.http[0].retries.attempts": [0, 3],
    "spec.workload[0].rate": ["100/s", "200/s"],
}
TINY = """\
apiVersion: meshsim/v1alpha1
kind: Scenario
metadata: {name: dask-tiny}
spec:
  mesh: none
  duration: 3s
  warmup: 1s
  services:
    api: {replicas: 1, concurrency: 2, latency: exponential(10ms)}
  workload:
    - {name: users, target: api, rate: 100/s, timeout: 2s}
"""


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=":0", worker_dashboard_address=None,
    ) as cluster, Client(cluster) as dask_client:
        yield dask_client


def test_retry_storm_sweep_is_the_same_frame_on_the_pool_and_on_dask(client: Client) -> None:
    scenario = meshsim.load(RETRY_STORM, SHORT)
    pooled = meshsim.sweep(scenario, GRID, seeds=[0, 1], workers=2)
    seen: list[tuple[int, int]] = []
    on_dask = meshsim.sweep(scenario, GRID, seeds=[0, 1], dask=client,
                            progress=lambda done, total: seen.append((done, total)))
    pd.testing.assert_frame_equal(pooled.runs, on_dask.runs)
    pd.testing.assert_frame_equal(pooled.points, on_dask.points)
    assert len(on_dask.runs) == 8 and on_dask.executed == 8
    assert seen[0] == (0, 8) and seen[-1] == (8, 8)
    # Not a vacuous equality: the grid changes the outcome and the seeds differ.
    runs = on_dask.runs
    assert runs["rps"].nunique() > 4
    low = runs[runs["spec.workload[0].rate"] == "100/s"]["rps"].mean()
    high = runs[runs["spec.workload[0].rate"] == "200/s"]["rps"].mean()
    assert high > low


def test_dask_sweep_uses_and_fills_the_cache(client: Client, tmp_path: Path) -> None:
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(TINY)
    grid = {"spec.services.api.replicas": [1, 2]}
    first = meshsim.sweep(scenario, grid, seeds=2, dask=client, cache_dir=tmp_path / "c")
    again = meshsim.sweep(scenario, grid, seeds=2, workers=1, cache_dir=tmp_path / "c")
    assert first.executed == 4 and again.executed == 0
    pd.testing.assert_frame_equal(first.runs, again.runs)


def test_cli_sweep_on_a_scheduler_address(client: Client, tmp_path: Path) -> None:
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(TINY)
    out = tmp_path / "runs.csv"
    address = client.scheduler.address  # type: ignore[union-attr]
    result = CliRunner().invoke(app, [
        "sweep", str(scenario), "--grid", "spec.services.api.replicas=1,2", "--seeds", "2",
        "--dask", address, "--out", str(out),
    ])
    assert result.exit_code == 0, result.output
    expected = tmp_path / "expected.csv"
    meshsim.sweep(scenario, {"spec.services.api.replicas": [1, 2]}, seeds=2,
                  workers=1).to_csv(expected)
    pd.testing.assert_frame_equal(pd.read_csv(out), pd.read_csv(expected))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_scheduler_is_one_line_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(execute, "DASK_CONNECT_TIMEOUT", "1s")
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(TINY)
    address = f"tcp://127.0.0.1:{_free_port()}"
    with pytest.raises(meshsim.DaskUnavailable, match="cannot reach the scheduler"):
        meshsim.sweep(scenario, {"spec.services.api.replicas": [1]}, seeds=1, dask=address)
    result = CliRunner().invoke(app, [
        "sweep", str(scenario), "--grid", "spec.services.api.replicas=1", "--seeds", "1",
        "--dask", address, "--out", str(tmp_path / "x.csv"),
    ])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and f"--dask {address}: cannot reach the scheduler" in lines[0]
    assert not (tmp_path / "x.csv").exists()


def test_dask_not_installed_is_one_line_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(TINY)
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed now fails
    result = CliRunner().invoke(app, [
        "sweep", str(scenario), "--grid", "spec.services.api.replicas=1", "--seeds", "1",
        "--dask", "local", "--out", str(tmp_path / "x.csv"),
    ])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "pip install 'meshsim[dask]'" in lines[0], result.output
