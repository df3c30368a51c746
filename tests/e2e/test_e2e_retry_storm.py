"""End to end: the flagship retry-storm scenario (scenarios/retry-storm.yaml) over three seeds.

The story, as the scenario's header tells it: a 5 s slowdown of ratings under three hops of
retries collapses the system for good (a metastable failure); one retry layer, or retry budgets
on every hop, recover; without the trigger nothing happens.

To keep each run short the timeline is moved earlier with overrides (same load, same
manifests): warm-up 10 s, the 5 s slowdown at 20 s instead of 60 s, 45 s in all, and the
scenario's SLO windows moved to [30 s, 45 s] (10 s after the trigger ended, like [100 s, 180 s]
in the full run). The recovery verdict needs 10 s of held success after the fault (25 s) plus
the 2 s client timeout, so the windows are valid. About 2 minutes for the 12 runs on one core.
"""

from __future__ import annotations

from functools import cache

import pytest
from paths import SCENARIOS

import meshsim

pytestmark = pytest.mark.slow

SCENARIO = SCENARIOS / "retry-storm.yaml"
SEEDS = (1, 2, 3)
FAULT_AT, FAULT_END, DURATION = 20.0, 25.0, 45.0
SHORT = {
    "spec.duration": "45s",
    "spec.warmup": "10s",
    "spec.faults[0].at": "20s",
    "spec.expect[0].window": ["30s", "45s"],
    "spec.expect[1].window": ["30s", "45s"],
}
VARIANTS: dict[str, dict[str, object]] = {
    "defaults": {},
    "one-retry-layer": {
        "VirtualService/frontend.spec.http[0].retries.attempts": 0,
        "VirtualService/reviews.spec.http[0].retries.attempts": 0,
    },
    "retry-budgets": {
        f"DestinationRule/{name}.spec.trafficPolicy.retryBudget": {"percent": 20}
        for name in ("frontend", "reviews", "ratings")
    },
    "no-trigger": {"spec.faults[0].latency": "x1"},
}


@cache
def run(variant: str, seed: int) -> meshsim.Results:
    scenario = meshsim.load(SCENARIO, overrides={**SHORT, **VARIANTS[variant]})
    assert scenario.model.duration == DURATION
    return meshsim.simulate(scenario, seed=seed)


def verdict(results: meshsim.Results) -> dict[str, object]:
    recovery = results.recovery
    assert list(recovery["workload"]) == ["users"]
    row = recovery.iloc[0]
    assert row["fault_end"] == pytest.approx(FAULT_END)
    assert row["baseline"] > 0.99  # healthy before the trigger
    return row.to_dict()


def success_after(results: meshsim.Results, start: float) -> float:
    requests = results.requests
    window = requests[(requests["start"] >= start) & (requests["start"] < DURATION - 2.0)]
    assert len(window) > 1000
    return float(window["ok"].mean())


def ratings_attempts_per_request(results: meshsim.Results) -> float:
    """Attempts sent to ratings per user request, from 5 s after the trigger ended."""
    attempts = results.attempts
    late = attempts[(attempts["start"] >= FAULT_END + 5.0) & (attempts["service"] == "ratings")]
    requests = results.requests
    return len(late) / int((requests["start"] >= FAULT_END + 5.0).sum())


@pytest.mark.parametrize("seed", SEEDS)
def test_defaults_collapse_and_do_not_recover(seed: int) -> None:
    results = run("defaults", seed)
    row = verdict(results)
    assert not row["recovered"]
    assert row["final_success"] < 0.05  # goodput stays near zero after the trigger is gone
    assert success_after(results, FAULT_END + 5.0) < 0.05
    assert not results.slo()["passed"].any()
    # It is a retry storm: ratings gets more attempts than the users send requests (about one
    # per request without the trigger, see below), although almost nothing succeeds.
    assert ratings_attempts_per_request(results) > 1.5


@pytest.mark.parametrize("seed", SEEDS)
def test_one_retry_layer_recovers(seed: int) -> None:
    results = run("one-retry-layer", seed)
    row = verdict(results)
    assert row["recovered"]
    assert row["recovery_time"] <= 5.0
    assert success_after(results, FAULT_END + 5.0) > 0.99
    assert results.slo()["passed"].all()
    # Only the hop next to ratings retries now.
    retried = results.attempts[results.attempts["retry"]]
    assert set(retried["service"].astype(str)) <= {"ratings"}


@pytest.mark.parametrize("seed", SEEDS)
def test_retry_budgets_on_every_hop_recover(seed: int) -> None:
    results = run("retry-budgets", seed)
    row = verdict(results)
    assert row["recovered"]
    assert row["recovery_time"] <= 5.0
    assert success_after(results, FAULT_END + 5.0) > 0.99
    assert results.slo()["passed"].all()


@pytest.mark.parametrize("seed", SEEDS)
def test_without_the_trigger_the_load_is_served(seed: int) -> None:
    results = run("no-trigger", seed)
    row = verdict(results)
    assert row["recovered"]
    assert row["recovery_time"] == 0
    assert success_after(results, FAULT_AT) > 0.999
    assert ratings_attempts_per_request(results) < 1.05
    assert results.slo()["passed"].all()
