"""The benchmark's baseline comparison on synthetic runs: the noise band decides, nothing timed."""

from __future__ import annotations

import importlib.util
import json
from types import ModuleType
from typing import Any

import pytest
from paths import BENCHMARKS


def _harness() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_run_baseline", BENCHMARKS / "run.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(ratio: float, ratios: list[float]) -> dict[str, Any]:
    return {
        "figures": {"mmc_ratio": ratio, "hop_ratio": 0.3, "bytes_per_attempt": 110.0},
        "mmc": {"ratios": ratios},
    }


def test_a_quiet_machine_flags_a_small_real_slowdown() -> None:
    bench = _harness()
    baseline = run(1.30, [1.30, 1.28, 1.31])  # robust spread 1.1 % → band 5 % (the floor)
    assert bench.noise_band(run(1.2, [1.2, 1.21, 1.19]), baseline)[0] == pytest.approx(0.05)
    assert bench.compare(run(1.26, [1.26, 1.25, 1.27]), baseline) == 0  # -3 %: noise
    assert bench.compare(run(1.17, [1.17, 1.16, 1.18]), baseline) == 1  # -10 %: flagged


def test_a_noisy_run_widens_the_band() -> None:
    bench = _harness()
    baseline = run(1.30, [1.30, 1.28, 1.31])
    noisy = run(1.17, [1.17, 1.02, 1.30, 1.10, 1.25])  # MAD 0.08 → band 2 × 1.4826 × 0.08/1.17
    band, how = bench.noise_band(noisy, baseline)
    assert band == pytest.approx(2 * 1.4826 * 0.08 / 1.17)
    assert "measured" in how
    assert bench.compare(noisy, baseline) == 0  # -10 %: within this run's noise
    assert bench.compare(run(1.0, [1.0, 0.9, 1.02, 1.1, 1.0]), baseline) == 1  # -23 %: beyond


def test_one_disturbed_repeat_does_not_widen_the_band() -> None:
    bench = _harness()
    steady = run(1.30, [1.30, 1.29, 1.31, 0.70, 1.30])  # one repeat ran on a busy machine
    assert bench.noise_band(steady, steady)[0] == pytest.approx(0.05)


def test_without_repeats_the_stated_band_applies() -> None:
    bench = _harness()
    baseline = run(2.0, [2.0])
    band, how = bench.noise_band(run(1.0, []), baseline)
    assert band == pytest.approx(0.2) and "stated" in how
    assert bench.compare(run(1.7, [1.7]), baseline) == 0
    assert bench.compare(run(1.5, [1.5]), baseline) == 1


def test_the_stored_baseline_is_a_complete_run() -> None:
    data = json.loads((BENCHMARKS / "baseline.json").read_text())
    assert set(data["figures"]) >= {"mmc_ratio", "hop_ratio", "bytes_per_attempt"}
    assert len(data["mmc"]["ratios"]) >= 3  # so a comparison can measure the noise band
    assert data["machine"]["cpu_count"] and data["created"]
