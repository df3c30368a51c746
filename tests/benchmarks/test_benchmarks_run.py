"""The benchmark harness keeps working (tiny sizes, nothing timed is asserted)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from paths import BENCHMARKS


def _harness() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_run", BENCHMARKS / "run.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FIGURES = {
    "mmc_ratio", "three_hop_ratio", "mesh24_ratio", "mesh30_ratio", "mesh30_overloaded_ratio",
    "mesh30_linkerd_ratio", "overload_ratio", "hop_ratio", "bytes_per_attempt",
}
HOP_ROWS = ("three_hop", "mesh_24", "mesh_30", "mesh_30_overloaded", "mesh_30_linkerd")


def test_benchmarks_run_and_write_json(tmp_path: Path) -> None:
    """Every row of issue 12's table, measured for the pure build in its own interpreter."""
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(BENCHMARKS / "run.py"),
            "--customers",
            "3000",
            "--repeat",
            "2",
            "--build",
            "pure",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    assert data["build"] == "pure" and "build pure" in proc.stdout
    assert set(data["figures"]) == FIGURES
    assert all(value > 0 for value in data["figures"].values())
    assert {figure: len(values) for figure, values in data["ratios"].items()} == {
        figure: 2 for figure in FIGURES - {"hop_ratio", "bytes_per_attempt"}
    }
    mmc, hop = data["mmc"], data["three_hop"]
    assert mmc["simpy"]["customers"] == 3000
    assert mmc["meshsim"]["requests"] == pytest.approx(3000, rel=0.1)  # same Poisson load
    assert (
        hop["attempts"] == pytest.approx(3000, rel=0.1) and hop["attempts"] >= 2 * hop["requests"]
    )
    for key in HOP_ROWS:
        row = data[key]
        assert row["attempts"] > row["requests"] > 0, key  # every request takes several hops
        assert row["ratio"] == pytest.approx(
            row["attempts_per_second"] / mmc["simpy"]["per_second"])
        assert row["sim_seconds_per_wall_second"] == pytest.approx(
            row["sim_seconds"] / row["wall"])
    assert {"python", "platform", "cpu_count", "git_commit"} <= set(data["machine"])


def test_the_mesh_scenarios_are_the_sizes_the_issue_names() -> None:
    import meshsim

    sizes = {}
    for name in ("mesh-24", "mesh-30", "mesh-30-overloaded", "mesh-30-linkerd"):
        model = meshsim.load(BENCHMARKS / "scenarios" / f"{name}.yaml").model
        rate = sum(w.schedule[0].rate for w in model.workloads)
        sizes[name] = (len(model.topology.services), rate, model.mesh.name)
    assert sizes == {"mesh-24": (24, 450.0, "istio"), "mesh-30": (30, 700.0, "istio"),
                     "mesh-30-overloaded": (30, 2000.0, "istio"),
                     "mesh-30-linkerd": (30, 700.0, "linkerd")}


def test_the_overloaded_mesh_is_overloaded_and_the_other_is_not() -> None:
    """The catalog database gets about 140 % of its capacity at 2,000 req/s, half at 700."""
    import meshsim

    def catalog_db(name: str) -> tuple[float, int]:
        scenario = meshsim.load(BENCHMARKS / "scenarios" / f"{name}.yaml")
        results = meshsim.simulate(scenario, duration=1.5)
        attempts = results.attempts
        db = attempts[attempts["service"] == "catalog-db"]
        return float((db["status"] == 503).mean()), int(attempts["retry"].sum())

    unloaded, overloaded = catalog_db("mesh-30"), catalog_db("mesh-30-overloaded")
    assert unloaded[0] == 0.0 and overloaded[0] > 0.05  # its queues overflow: 503s
    assert overloaded[1] > 10 * max(unloaded[1], 1)  # and the retries pile on


def test_compare_fails_only_on_a_real_mmc_regression(capsys: pytest.CaptureFixture[str]) -> None:
    compare = _harness().compare
    baseline = {"figures": {"mmc_ratio": 2.0, "hop_ratio": 0.5, "bytes_per_attempt": 120.0}}
    steady = {"figures": {"mmc_ratio": 1.7, "hop_ratio": 0.2, "bytes_per_attempt": 140.0}}
    slower = {"figures": {"mmc_ratio": 1.5, "hop_ratio": 0.5, "bytes_per_attempt": 120.0}}
    assert compare(steady, baseline) == 0  # 15 % down: within noise
    assert compare(slower, baseline) == 1  # 25 % down: a regression
    assert "REGRESSION" in capsys.readouterr().out
