"""The issue's statistical check, and the multi-seed API and command on a tiny scenario.

The fixture's Flagger canary (interval 10 s, stepWeight 50, from 1 s) detects the revision on
tick 0 (1 s), sets 50 % on tick 1 (11 s, no check: the weight is still 0) and checks on tick 2
(21 s) over the last 10 s, (11, 21]: the whole window at 50 %. The canary receives
n ~ Poisson(8/s x 50 % x 10 s = 40) requests in it, each failing with p = 2 %. Flagger's
request-success-rate check (min 99 %) fails when there is no request ("no values found") or
when the failures exceed 1 % of n, so over seeds

    P(fail) = sum_n Poisson(n; 40) * (1 if n == 0 else P(Binomial(n, p) > 0.01 n))  ≈ 0.551.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from click.testing import Result
from paths import FIXTURES, SCENARIOS
from typer.testing import CliRunner

import meshsim
from meshsim.cli.main import app
from meshsim.metrics.details import decode

FIXED = FIXTURES / "rollout" / "fixed-weight-check.yaml"
CANARY = SCENARIOS / "canary"
SEEDS = 200


def binomial_tail(n: int, p: float, above: float) -> float:
    """P(Binomial(n, p) > above)."""
    return sum(math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(n + 1) if k > above)


def p_check_fails(mean_n: float, p: float, min_percent: float) -> float:
    total = 0.0
    for n in range(int(mean_n * 4) + 20):
        poisson = math.exp(-mean_n + n * math.log(mean_n) - math.lgamma(n + 1))
        total += poisson * (1.0 if n == 0 else binomial_tail(n, p, (1 - min_percent / 100) * n))
    return total


CHECK_AT, WEIGHT_AT, WINDOW = 21.0, 11.0, 10.0  # tick 2, tick 1, the metric's interval


def test_false_failure_probability_matches_binomial() -> None:
    expected = p_check_fails(8.0 * 0.5 * WINDOW, 0.02, 99.0)
    assert expected == pytest.approx(0.551, abs=0.001)
    scenario = meshsim.load(FIXED)
    failed, served = 0, 0
    for seed in range(SEEDS):
        results = meshsim.simulate(scenario, seed=seed)
        events = results.events
        checks = events[events["kind"] == "canary-check"]
        weights = events[events["kind"] == "canary-weight"]
        # one check, on tick 2, and the only weight set before it is 50 % on tick 1: the
        # window (CHECK_AT - WINDOW, CHECK_AT] starts exactly when 50 % took effect
        assert checks["time"].tolist() == [CHECK_AT]
        before = weights[weights["time"] < CHECK_AT]
        assert before["time"].tolist() == [CHECK_AT - WINDOW] == [WEIGHT_AT]
        assert decode(str(before["detail"].iloc[0]))["weight"] == "50"
        failed += decode(str(checks["detail"].iloc[0]))["passed"] == "false"
        calls = results.calls
        end = calls["end"].to_numpy(dtype=float)
        served += int(((calls["subset"] == "canary").to_numpy()
                       & (end > CHECK_AT - WINDOW) & (end <= CHECK_AT)).sum())
    # n: the mean over 200 seeds of Poisson(40) has sd sqrt(40 / 200) = 0.45; ±2 is 4.5 sd,
    # while a window one interval off (0 % or 100 % weight) would read 0 or 80
    assert served / SEEDS == pytest.approx(40.0, abs=2.0)
    # sd of the observed share is sqrt(.551 x .449 / 200) = 0.035; 3.5 sd = 0.12. A window
    # off by a factor 2 (n ~ 20 or 80) would give 0.33 or 0.79, outside it.
    assert failed / SEEDS == pytest.approx(expected, abs=0.12)


def test_canary_api_on_the_fixed_check() -> None:
    result = meshsim.canary(FIXED, runs=6, seed_base=10, workers=1)
    assert list(result.runs["seed"]) == list(range(10, 16))
    assert set(result.runs["outcome"]) == {"progressing"}  # the run ends after one check
    row = result.aggregate.iloc[0]
    assert row["runs"] == 6 and row["progressing"] == 6 and row["p_progressing"] == 1.0
    assert row["p_promoted"] == 0.0 and row["p_promoted_high"] == pytest.approx(0.390, abs=1e-3)
    again = meshsim.canary(FIXED, runs=6, seed_base=10, workers=2)
    pd.testing.assert_frame_equal(result.runs, again.runs)  # workers never change the rows


def test_canary_api_rejects_a_scenario_without_rollout() -> None:
    with pytest.raises(ValueError, match="no rollout"):
        meshsim.canary(CANARY / "shadow-mirror.yaml", runs=2)


def cli(*args: object) -> Result:
    """``meshsim canary ARGS`` in this process (the subprocess route is tests/cli's)."""
    return CliRunner().invoke(app, ["canary", *map(str, args)])


def test_cli_reports_probabilities_and_writes_runs(tmp_path: Path) -> None:
    done = cli(FIXED, "--runs", 4, "--workers", 1, "--set", "spec.duration=32s",
               "-o", tmp_path / "runs.csv")
    assert done.exit_code == 0, done.output
    assert "P(promotion)" in done.stdout and "P(rollback)" in done.stdout
    assert "seeds 0..3" in done.stdout
    runs = pd.read_csv(tmp_path / "runs.csv")
    assert list(runs["seed"]) == [0, 1, 2, 3] and len(runs.columns) > 10


def test_cli_bad_input_exits_2(tmp_path: Path) -> None:
    no_rollout = cli(CANARY / "shadow-mirror.yaml", "--runs", 2)
    assert no_rollout.exit_code == 2
    assert "no rollout" in no_rollout.output and "Traceback" not in no_rollout.output
    missing = cli(tmp_path / "nope.yaml")
    assert missing.exit_code == 2 and "no such file" in missing.output
    bad_set = cli(FIXED, "--set", "spec.duration")
    assert bad_set.exit_code == 2 and "--set" in bad_set.output
