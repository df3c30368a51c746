"""``meshsim check`` fails a scenario whose runs are refused (every call answered 4xx), even
when its SLOs, which count a 403 as a success, all hold."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from paths import FIXTURES

import meshsim
from meshsim.results.check import assess

FIXTURE = FIXTURES / "cli" / "all-denied.yaml"


def test_assess_fails_a_verdict_when_a_seed_was_refused() -> None:
    rows = pd.DataFrame({
        "seed": [0, 1, 2], "expectation": ["ok"] * 3, "metric": ["success_rate"] * 3,
        "service": ["web"] * 3, "subset": [""] * 3, "value": [1.0, 1.0, 1.0],
        "min": [0.99] * 3, "max": [float("nan")] * 3, "passed": [True] * 3,
        "refused": ["", "every request of workload users ... denied", ""],
    })
    (verdict,) = assess("s", rows, 0.95).verdicts
    assert not verdict.passed
    assert verdict.reason.startswith("refused on 1 of 3 seeds: every request of workload users")


def test_check_of_an_all_denied_scenario_fails(tmp_path: Path) -> None:
    path = tmp_path / "denied.yaml"
    path.write_text(FIXTURE.read_text().replace(
        "  workload:", "  expect: [{metric: success_rate, service: web, min: 0.99}]\n  workload:"))
    report = meshsim.check(path, seeds=[0, 1], workers=1)
    (verdict,) = report.verdicts
    assert verdict.mean == 1.0  # the meshes' non-5xx success: every 403 counts
    assert not report.passed and verdict.reason.startswith("refused on 2 of 2 seeds")
