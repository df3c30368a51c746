"""The clients scenarios (scenarios/clients/) reproduce the figures in their headers."""

from __future__ import annotations

import pandas as pd
import pytest
from paths import SCENARIOS

import meshsim

CLIENTS = SCENARIOS / "clients"


def window(users: pd.DataFrame, workload: str, start: float, end: float) -> pd.DataFrame:
    mine = users[users["workload"].astype(str) == workload]
    return mine[(mine["start"] >= start) & (mine["start"] < end)]


@pytest.mark.parametrize(("connections", "requests", "overflows"), [(3, 30, 11), (2, 20, 1)])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fortio_against_the_istio_task_pool(connections: int, requests: int, overflows: int,
                                            seed: int) -> None:
    """The task's published counts: -c 2 -n 20 gives 1 x 503, -c 3 -n 30 gives 11 x 503."""
    scenario = meshsim.load(CLIENTS / "istio-circuit-breaking-fortio.yaml", {
        "spec.workload[0].connections": connections, "spec.workload[0].requests": requests})
    req = meshsim.simulate(scenario, seed=seed).requests
    assert len(req) == requests
    assert int((req["status"] == 503).sum()) == overflows
    assert set(req.loc[req["status"] == 503, "flags"].astype(str)) == {"UO"}


def test_open_users_pile_up_where_closed_users_slow_down() -> None:
    users = meshsim.simulate(CLIENTS / "slowdown-open-vs-closed.yaml", seed=1).user_requests
    closed_fault = window(users, "closed-users", 20, 30)
    open_fault = window(users, "open-users", 20, 30)
    assert len(closed_fault) / 10 < 80  # throughput falls with the service (67/s)
    assert len(open_fault) / 10 > 130  # arrivals do not care
    assert closed_fault["latency"].mean() == pytest.approx(18 / 67 - 0.1, rel=0.2)  # N/X − Z
    assert open_fault["latency"].mean() > 10 * closed_fault["latency"].mean()
    assert window(users, "closed-users", 30, 45)["latency"].mean() < 0.04  # at once
    assert window(users, "open-users", 30, 45)["latency"].mean() > 0.5  # draining the backlog


@pytest.mark.parametrize(("sets", "recovers"), [
    ({}, False),
    ({"spec.workload[0].client.maxAttempts": 1}, True),
    ({"spec.workload[0].client.retryQuota": "standard"}, True),
])
def test_client_retries_on_top_of_proxy_retries_keep_the_chain_down(
    sets: dict[str, object], recovers: bool,
) -> None:
    scenario = meshsim.load(CLIENTS / "retry-storm-client-retries.yaml", sets)
    results = meshsim.simulate(scenario, seed=1)
    after = window(results.user_requests, "users", 40, 55)
    assert (after["ok"].mean() > 0.99) if recovers else (after["ok"].mean() < 0.05)
    amp = results.amplification_between(20, 25).set_index("service")
    assert amp.loc["ratings", "per_user_request"] > 3.5  # the mesh's own retries at ratings


def test_buckets_and_breakers_fade_as_the_clients_multiply() -> None:
    path = CLIENTS / "retry-policies-vs-clients.yaml"
    tries: dict[int, dict[str, float]] = {}
    for count in (3, 300):
        sets = {f"spec.workload[{i}].clients": count for i in range(3)}
        users = meshsim.simulate(meshsim.load(path, sets), seed=1).user_requests
        tries[count] = {w: float(window(users, w, 12, 38)["tries"].mean())
                        for w in ("retries", "bucket", "breaker")}
    for count in (3, 300):
        assert tries[count]["retries"] == pytest.approx(1 + 0.9 + 0.81, rel=0.02)
    assert tries[3]["bucket"] < 1.1 and tries[300]["bucket"] > 2.4
    assert tries[3]["breaker"] < 0.05 and tries[300]["breaker"] > 0.2
