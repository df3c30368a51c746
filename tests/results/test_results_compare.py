"""meshsim.compare, run directories read back, ``meshsim compare``: deltas, regressions, plots."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image
import pandas as pd
import pytest
from typer.testing import CliRunner

import meshsim
from meshsim.cli.main import app

SCENARIO = """\
apiVersion: meshsim/v1alpha1
kind: Scenario
metadata: {name: compare-tiny}
spec:
  mesh: none
  duration: 6s
  warmup: 1s
  seed: 3
  services:
    web: {replicas: 2, concurrency: 4, latency: constant(5ms), calls: [api]}
    api: {replicas: 2, concurrency: 2, latency: exponential(10ms)}
  workload:
    - {name: users, target: web, rate: 180/s, timeout: 2s}
  expect:
    - {metric: p99, service: api, max: 80ms}
    - {metric: success_rate, service: web, min: 0.99}
"""
SLOWER_API = {"spec.services.api.latency": "exponential(20ms)"}  # p99 of service 46 → 92 ms


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("compare") / "tiny.yaml"
    path.write_text(SCENARIO)
    return path


@pytest.fixture(scope="module")
def runs(scenario_file: Path) -> tuple[meshsim.Results, meshsim.Results]:
    base = meshsim.load(scenario_file)
    return meshsim.simulate(base), meshsim.simulate(base.with_overrides(SLOWER_API))


def test_a_run_against_itself_has_zero_deltas_and_no_regression(
    runs: tuple[meshsim.Results, meshsim.Results],
) -> None:
    a, _ = runs
    result = meshsim.compare(a, a)
    table = result.table
    assert set(zip(table["kind"], table["name"], strict=True)) == {
        ("workload", "users"), ("service", "web"), ("service", "api"),
    }
    for metric in ("success_rate", "p50", "p99", "rps", "retries"):
        assert (table[f"{metric}_delta"].dropna() == 0).all(), metric
    assert not result.regressed
    assert result.slo["passed_a"].tolist() == result.slo["passed_b"].tolist() == [True, True]


def test_fewer_replicas_is_a_p99_regression_and_a_failed_slo(
    runs: tuple[meshsim.Results, meshsim.Results],
) -> None:
    a, b = runs
    result = meshsim.compare(a, b)
    api = result.table[result.table["name"] == "api"].iloc[0]
    assert api["p99_b"] > 1.5 * api["p99_a"]  # twice the service time, and more queueing
    assert api["p99_delta"] == pytest.approx(api["p99_b"] - api["p99_a"])
    assert result.passed == (True, False)
    assert any(line.startswith("api: p99") for line in result.regressions)
    assert any(
        line.startswith("SLO p99") and line.endswith("passed in A, fails in B")
        for line in result.regressions
    )
    # B as the baseline: the same change the other way round is an improvement, not a regression.
    assert not any("p99" in line for line in meshsim.compare(b, a).regressions)


def test_a_saved_run_reads_back_as_it_was(
    runs: tuple[meshsim.Results, meshsim.Results], tmp_path: Path
) -> None:
    a, _ = runs
    stored = meshsim.load_run(a.save(tmp_path / "run", plots=False))
    assert (stored.name, stored.seed, stored.passed) == (a.name, a.seed, a.passed)
    pd.testing.assert_frame_equal(stored.summary, a.summary)
    pd.testing.assert_frame_equal(stored.timeseries, a.timeseries)
    assert stored.slo()["passed"].tolist() == a.slo()["passed"].tolist()
    assert stored.slo()["subset"].tolist() == ["", ""]
    result = meshsim.compare(stored, a)
    assert (result.table["p99_delta"].dropna() == 0).all() and not result.regressed


def test_cli_compares_run_directories(
    runs: tuple[meshsim.Results, meshsim.Results], tmp_path: Path
) -> None:
    a, b = runs
    dir_a, dir_b = a.save(tmp_path / "a", plots=False), b.save(tmp_path / "b", plots=False)
    plot = tmp_path / "cmp.png"
    same = CliRunner().invoke(app, ["compare", str(dir_a), str(dir_a), "--plot", str(plot),
                                    "--fail-on-regression"])
    assert same.exit_code == 0, same.output
    assert "no regression" in same.output
    worse = CliRunner().invoke(app, ["compare", str(dir_a), str(dir_b), "--plot", str(plot),
                                     "--fail-on-regression", "--force"])
    assert worse.exit_code == 1, worse.output
    assert "B is worse than A" in worse.output and "api: p99" in worse.output
    for header in ("SUCCESS", "P50", "P99", "RPS", "RETRIES", "OVERFLOWS", "EJECTIONS"):
        assert header in worse.output
    image = matplotlib.image.imread(plot)
    assert image.shape[0] > 400 and image.shape[1] > 600  # three panels were drawn
    without_flag = CliRunner().invoke(app, ["compare", str(dir_a), str(dir_b), "--plot",
                                            str(plot), "--force"])
    assert without_flag.exit_code == 0


def test_cli_simulates_two_scenario_files_with_the_same_seed(
    scenario_file: Path, tmp_path: Path, runs: tuple[meshsim.Results, meshsim.Results]
) -> None:
    result = CliRunner().invoke(app, [
        "compare", str(scenario_file), str(scenario_file), "--seed", "3",
        "--set-b", "spec.services.api.latency=exponential(20ms)", "--plot", str(tmp_path / "p.png"),
        "--fail-on-regression",
    ])
    assert result.exit_code == 1, result.output
    assert "seed 3" in result.output
    # The files were simulated with seed 3 for both sides: the same numbers as the API's runs.
    a = runs[0]
    assert f"{a.summary.set_index('service').loc['api', 'rps']:,.1f}/s" in result.output


@pytest.mark.parametrize("make", ["missing", "not-a-run"])
def test_bad_input_is_one_line_exit_2(scenario_file: Path, tmp_path: Path, make: str) -> None:
    target = tmp_path / make
    if make == "not-a-run":
        target.mkdir()
    result = CliRunner().invoke(app, ["compare", str(target), str(scenario_file), "--plot",
                                      str(tmp_path / "p.png")])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and make in lines[0]
    assert not (tmp_path / "p.png").exists()


def test_an_slo_that_cannot_tell_is_shown_as_such_not_as_a_failed_value(
    runs: tuple[meshsim.Results, meshsim.Results], scenario_file: Path,
) -> None:
    a, _ = runs
    idle = meshsim.load(scenario_file).with_overrides(
        {"spec.expect[1]": "{metric: success_rate, service: web, window: [5s, 6s], min: 0.99}"}
    )
    short = meshsim.simulate(idle, duration="4s")  # the window is past the end: cannot tell
    result = meshsim.compare(a, short)
    assert result.slo["outcome_a"].tolist() == ["pass", "pass"]
    assert result.slo["outcome_b"].tolist()[1] == "cannot tell"
    assert not result.slo["passed_b"].tolist()[1]
    out = CliRunner().invoke(app, ["compare", str(scenario_file), str(scenario_file), "--duration",
                                   "4s", "--set-b", "spec.expect[1].window=[5s, 6s]",
                                   "--plot", str(scenario_file.parent / "cannot.png"), "--force"])
    assert "B cannot tell" in out.output, out.output
