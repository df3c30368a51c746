"""meshsim.check and ``meshsim check``: SLO verdicts with a confidence over seeds, JUnit XML."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest
from paths import ROOT
from typer.testing import CliRunner

import meshsim
from meshsim.cli.main import app
from meshsim.results.check import assess, t_cdf, t_quantile

RETRY_TIMEOUT = ROOT / "scenarios" / "istio" / "retry-timeout.yaml"
# attempts 0: Istio emits no retry policy, so the crashed ratings-0 (10-25 s) fails requests.
NO_RETRIES = "VirtualService/ratings-retry.spec.http[0].retries.attempts=0"


# -- statistics -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("p", "df", "expected"), [
    (0.975, 1, 12.706), (0.975, 4, 2.776), (0.975, 9, 2.262), (0.975, 30, 2.042),
    (0.95, 9, 1.833), (0.95, 4, 2.132), (0.99, 9, 2.821), (0.95, 1000, 1.646),
])
def test_t_quantile_matches_the_tables(p: float, df: int, expected: float) -> None:
    assert t_quantile(p, df) == pytest.approx(expected, abs=1e-3)
    assert t_cdf(-t_quantile(p, df), df) == pytest.approx(1 - p, abs=1e-9)


def _per_seed(values: list[float], low: float = math.nan, high: float = math.nan) -> pd.DataFrame:
    passed = [
        not math.isnan(v) and (math.isnan(low) or v >= low) and (math.isnan(high) or v <= high)
        for v in values
    ]
    return pd.DataFrame({
        "seed": range(len(values)), "expectation": "success_rate of api >= 0.99",
        "metric": "success_rate", "service": "api", "subset": "", "window_start": 1.0,
        "window_end": 10.0, "value": values, "min": low, "max": high, "passed": passed,
        "description": "",
    })


def test_a_metric_clear_of_its_threshold_passes() -> None:
    report = assess("s", _per_seed([0.995, 0.996, 0.994, 0.995, 0.997], low=0.99), 0.95)
    (verdict,) = report.verdicts
    assert verdict.passed and report.passed
    assert verdict.seeds_passed == 5 and verdict.mean == pytest.approx(0.9954)
    half = t_quantile(0.95, 4) * pd.Series([0.995, 0.996, 0.994, 0.995, 0.997]).std() / math.sqrt(5)
    assert verdict.low == pytest.approx(0.9954 - half)


def test_most_seeds_passing_is_not_enough_when_the_bound_is_below_the_threshold() -> None:
    # Four of five seeds pass, but one collapse makes the mean's 95 % lower bound far below min.
    values = [0.995, 0.996, 0.995, 0.997, 0.80]
    (verdict,) = assess("s", _per_seed(values, low=0.99), 0.95).verdicts
    assert verdict.seeds_passed == 4 and not verdict.passed
    assert "95% lower bound" in verdict.reason and "< min 99%" in verdict.reason


def test_a_max_bound_uses_the_upper_bound_and_no_traffic_fails() -> None:
    (upper,) = assess("s", _per_seed([0.04, 0.05, 0.06], high=0.055), 0.95).verdicts
    assert not upper.passed and upper.high > 0.055 and "upper bound" in upper.reason
    (missing,) = assess("s", _per_seed([0.999, math.nan, 0.999], low=0.99), 0.95).verdicts
    assert not missing.passed and missing.reason == "no traffic on 1 of 3 seeds"


def test_a_window_the_runs_do_not_cover_cannot_pass_on_partial_values() -> None:
    # runs shortened inside the window: each seed's value covers part of it only
    rows = _per_seed([0.999, 0.999, 0.998], low=0.99).assign(
        outcome="cannot tell", passed=False,
        note="the run ends at 8s, inside the window (99.9% over [1s, 8s) only)",
    )
    (verdict,) = assess("s", rows, 0.95).verdicts
    assert not verdict.passed
    assert verdict.reason.startswith("cannot tell on 3 of 3 seeds: the run ends at 8s")


def test_a_window_past_the_end_is_cannot_tell_not_no_traffic() -> None:
    # `meshsim check --duration 10s` on a scenario whose SLO window starts at 15s: every seed's
    # value is NaN because the run never reached the window, not because nothing was sent
    rows = _per_seed([math.nan, math.nan], low=0.99).assign(
        outcome="cannot tell", passed=False,
        note="the run ends at 10s, before this window starts",
    )
    (verdict,) = assess("s", rows, 0.95).verdicts
    assert not verdict.passed
    assert verdict.reason == (
        "cannot tell on 2 of 2 seeds: the run ends at 10s, before this window starts"
    )


def test_junit_has_a_suite_per_scenario_and_a_failure_with_the_numbers() -> None:
    good = assess("good", _per_seed([0.995, 0.996, 0.997], low=0.99), 0.95)
    bad = assess("bad", _per_seed([0.90, 0.91, 0.92], low=0.99), 0.95)
    root = ET.fromstring(meshsim.junit_xml([good, bad]))
    assert (root.get("tests"), root.get("failures")) == ("2", "1")
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["good", "bad"]
    assert suites[0].find("testcase/failure") is None
    failure = suites[1].find("testcase/failure")
    assert failure is not None
    assert "seeds passed 0/3" in failure.get("message", "")
    assert "mean 91%" in failure.get("message", "")


# -- the check: a manifest change that breaks an SLO fails, the original passes ---------
def _check(tmp_path: Path, *extra: str) -> tuple[int, str, ET.Element]:
    report = tmp_path / "report.xml"
    result = CliRunner().invoke(app, [
        "check", str(RETRY_TIMEOUT), "--seeds", "4", "--duration", "20s", "--workers", "2",
        "--junit", str(report), "--force", *extra,
        # the first SLO's window, [5s, 35s], ends past a 20 s run: it would say "cannot tell"
        "--set", "spec.expect[0].window=[5s, 20s]",
    ])
    return result.exit_code, result.output, ET.parse(report).getroot()


def test_the_istio_retry_scenario_passes_and_fails_without_retries(tmp_path: Path) -> None:
    code, output, root = _check(tmp_path)
    assert code == 0, output
    assert root.get("failures") == "0" and root.get("tests") == "2"
    assert "4/4" in output and "2/2 SLOs passed" in output

    code, output, root = _check(tmp_path, "--set", NO_RETRIES)
    assert code == 1, output
    assert root.get("failures") == "2"
    failure = root.find("testsuite/testcase/failure")
    assert failure is not None and "seeds passed 0/4" in failure.get("message", "")
    assert "0/2 SLOs passed" in output


def test_the_library_check_agrees_with_one_run_per_seed() -> None:
    scenario = meshsim.load(RETRY_TIMEOUT)
    report = meshsim.check(scenario, seeds=[0, 1], duration=12.0, workers=1)
    values = [
        meshsim.simulate(scenario, seed=s, duration=12.0).slo()["value"].iloc[0] for s in (0, 1)
    ]
    assert report.verdicts[0].mean == pytest.approx(sum(values) / 2)
    assert report.seeds == 2 and len(report.verdicts) == 2


@pytest.mark.parametrize("args", [
    ["missing.yaml"], [str(RETRY_TIMEOUT), "--confidence", "0.5"],
    [str(RETRY_TIMEOUT), "--duration", "3s"],
    # a scenario with no spec.expect: a CI gate that checks nothing must not pass
    [str(RETRY_TIMEOUT.parents[1] / "linkerd" / "httproute.yaml")],
])
def test_bad_input_is_exit_2_with_one_line(args: list[str]) -> None:
    result = CliRunner().invoke(app, ["check", *args, "--seeds", "2"])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.strip().splitlines() if "warning" not in line]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
