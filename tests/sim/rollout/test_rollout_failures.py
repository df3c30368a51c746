"""Flagger's request-success-rate counts 5xx only (``response_code !~ "5.*"``): a canary
answering 429 to 5 % of its requests is promoted, the same canary answering 503 is rolled
back (Istio >= 1.24 does not retry 503 by default)."""

from __future__ import annotations

import pytest
from paths import SCENARIOS

import meshsim

FILE = SCENARIOS / "canary" / "flagger-errors-rolled-back.yaml"


@pytest.mark.parametrize(("status", "outcome"), [(429, "promoted"), (503, "rolled back")])
def test_flagger_success_rate_ignores_4xx(status: int, outcome: str) -> None:
    errors = {"rate": 0.05, "status": {status: 1}}
    scenario = meshsim.load(FILE, overrides={"spec.services.podinfo.versions.canary.errors":
                                             errors})
    results = meshsim.simulate(scenario)
    row = results.rollout.iloc[0]
    assert row["outcome"] == outcome
    if status == 429:
        assert row["failed_checks"] == 0
        assert row["canary_failed"] == 0  # a 429 is an answer: nobody counts it as failed
        # Promotion copies the canary's code, error model included, onto the primary pods.
        att = results.attempts
        after = att[(att["service"] == "podinfo") & (att["start"] > row["finished_at"] + 1)]
        assert set(after["subset"]) == {"primary"}
        assert 0.02 < (after["status"] == 429).mean() < 0.09  # 5 % of ~1,100 attempts
