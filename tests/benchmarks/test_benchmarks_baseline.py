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


def test_the_stored_baseline_is_a_complete_run_of_both_builds() -> None:
    """.ci/run compares each build against the same build of the baseline: both must be there,
    each with every gated figure and enough repeats to measure its noise band."""
    data = json.loads((BENCHMARKS / "baseline.json").read_text())
    runs = data.get("builds", {})
    assert set(runs) == {"pure", "compiled"}
    for build, run in runs.items():
        assert set(run["figures"]) >= {"mmc_ratio", "three_hop_ratio", "mesh24_ratio",
                                       "mesh30_ratio", "mesh30_overloaded_ratio",
                                       "overload_ratio"}, build
        assert len(run["mmc"]["ratios"]) >= 3  # so a comparison can measure the noise band
        assert run["build"] == build
        assert run["machine"]["cpu_count"] and run["created"]


def mesh_run(mesh24: float, ratios: list[float], build: str = "pure") -> dict[str, Any]:
    steady = [1.30, 1.29, 1.31]
    return {
        "build": build,
        "figures": {"mmc_ratio": 1.30, "mesh24_ratio": mesh24, "hop_ratio": 0.3,
                    "bytes_per_attempt": 110.0},
        "ratios": {"mmc_ratio": steady, "mesh24_ratio": ratios},
    }


def test_a_mesh_row_gates_with_its_own_measured_band(capsys: pytest.CaptureFixture[str]) -> None:
    bench = _harness()
    baseline = mesh_run(0.40, [0.40, 0.39, 0.41])  # MAD 0.01 → band 2 × 1.4826 × 0.01/0.40
    band = bench.noise_band(baseline, baseline, "mesh24_ratio")[0]
    assert band == pytest.approx(2 * 1.4826 * 0.01 / 0.40)  # 7.4 %, its own, not M/M/c's 5 %
    assert bench.compare(mesh_run(0.39, [0.39, 0.38, 0.40]), baseline) == 0  # -2.5 %: noise
    assert bench.compare(mesh_run(0.34, [0.34, 0.35, 0.33]), baseline) == 1  # -15 %: flagged
    out = capsys.readouterr().out
    assert "mesh24_ratio" in out and "REGRESSION" in out


def test_a_figure_the_baseline_lacks_is_shown_not_gated(capsys: pytest.CaptureFixture[str]) -> None:
    bench = _harness()
    old = run(1.30, [1.30, 1.28, 1.31])  # a baseline from before the mesh rows
    assert bench.compare(mesh_run(0.10, [0.10, 0.10, 0.10]), old) == 0
    assert "mesh24_ratio" in capsys.readouterr().out


def test_builds_are_compared_with_the_same_build(capsys: pytest.CaptureFixture[str]) -> None:
    bench = _harness()
    baseline = {"builds": {"pure": mesh_run(0.40, [0.40, 0.39, 0.41]),
                           "compiled": mesh_run(2.0, [2.0, 1.98, 2.02], "compiled")}}
    pure_only = mesh_run(0.40, [0.40, 0.39, 0.41])
    assert bench.compare(pure_only, baseline) == 0  # the pure run is not held to compiled's 2.0
    both = {"builds": {"pure": pure_only, "compiled": mesh_run(1.0, [1.0, 1.0, 1.01], "compiled")}}
    assert bench.compare(both, baseline) == 1  # the compiled build halved
    assert bench.compare(both, pure_only) == 0  # no compiled baseline: shown, not gated
    assert "the baseline has no compiled build" in capsys.readouterr().out


def test_a_build_that_is_not_installed_is_left_out(monkeypatch: pytest.MonkeyPatch) -> None:
    bench = _harness()
    pure = mesh_run(0.40, [0.40, 0.39, 0.41])
    fake = {"pure": pure, "compiled": None}  # this install has no compiled build
    monkeypatch.setattr(bench, "measure_build", lambda build, customers, repeat: fake[build])
    assert bench.measure_builds("both", 1000, 1) is pure
    with pytest.raises(SystemExit, match="no build of compiled"):
        bench.measure_builds("compiled", 1000, 1)


def test_each_build_runs_with_the_fallback_variable_set_accordingly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import bench_builds  # on sys.path once the harness is loaded

    _harness()
    monkeypatch.setenv("MESHSIM_PURE", "1")
    assert "MESHSIM_PURE" not in bench_builds.build_env("compiled")
    monkeypatch.delenv("MESHSIM_PURE")
    assert bench_builds.build_env("pure")["MESHSIM_PURE"] == "1"
    assert bench_builds.current_build() in bench_builds.BUILDS
