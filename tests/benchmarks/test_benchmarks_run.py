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


def test_benchmarks_run_and_write_json(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(BENCHMARKS / "run.py"),
            "--customers",
            "3000",
            "--repeat",
            "1",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    assert set(data["figures"]) == {"mmc_ratio", "hop_ratio", "bytes_per_attempt"}
    assert all(value > 0 for value in data["figures"].values())
    mmc, hop = data["mmc"], data["three_hop"]
    assert mmc["simpy"]["customers"] == 3000
    assert mmc["meshsim"]["requests"] == pytest.approx(3000, rel=0.1)  # same Poisson load
    assert (
        hop["attempts"] == pytest.approx(3000, rel=0.1) and hop["attempts"] >= 2 * hop["requests"]
    )
    assert {"python", "platform", "cpu_count", "git_commit"} <= set(data["machine"])


def test_compare_fails_only_on_a_real_mmc_regression(capsys: pytest.CaptureFixture[str]) -> None:
    compare = _harness().compare
    baseline = {"figures": {"mmc_ratio": 2.0, "hop_ratio": 0.5, "bytes_per_attempt": 120.0}}
    steady = {"figures": {"mmc_ratio": 1.7, "hop_ratio": 0.2, "bytes_per_attempt": 140.0}}
    slower = {"figures": {"mmc_ratio": 1.5, "hop_ratio": 0.5, "bytes_per_attempt": 120.0}}
    assert compare(steady, baseline) == 0  # 15 % down: within noise
    assert compare(slower, baseline) == 1  # 25 % down: a regression
    assert "REGRESSION" in capsys.readouterr().out
