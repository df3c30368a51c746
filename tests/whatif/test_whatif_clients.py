"""The what-if tools take the clients fields as dotted paths: users, client retries, quotas."""

from __future__ import annotations

from pathlib import Path

import pytest

import meshsim

SCENARIO = """\
apiVersion: meshsim/v1alpha1
kind: Scenario
metadata: {name: whatif-clients}
spec:
  mesh: none
  duration: 20s
  warmup: 2s
  network: {latency: 0ms}
  services:
    api: {concurrency: 50, latency: exponential(10ms), errors: 0.2}
  workload:
    - name: app
      target: api
      users: 4
      thinkTime: exponential(20ms)
      client: {maxAttempts: 1, backoff: {base: 1ms, max: 1ms}}
  faults:
    - {at: 8s, for: 2s, target: api, latency: x5}
  expect:
    - {metric: p99, service: app, max: 2s}
"""


@pytest.fixture
def scenario(tmp_path: Path) -> meshsim.Scenario:
    (tmp_path / "s.yaml").write_text(SCENARIO)
    return meshsim.load(tmp_path / "s.yaml")


def test_the_recommender_counts_client_retries_as_cost(scenario: meshsim.Scenario) -> None:
    """20 % of tries fail: 3 tries cost 0.2 + 0.04 extra per user request, 2 tries 0.2."""
    rec = meshsim.recommend(scenario, {"spec.workload[0].client.maxAttempts": [1, 2, 3]},
                            seeds=1, workers=1)
    cost = rec.options.set_index("spec.workload[0].client.maxAttempts")["cost"]
    assert cost[1] == pytest.approx(0.0, abs=1e-9)
    assert cost[2] == pytest.approx(0.2, abs=0.02)
    assert cost[3] == pytest.approx(0.24, abs=0.025)


def test_sweep_and_map_vary_users(scenario: meshsim.Scenario) -> None:
    swept = meshsim.sweep(scenario, {"spec.workload[0].users": [1, 8]}, seeds=1,
                          metrics=["rps"], workers=1)
    rps = swept.points.set_index("spec.workload[0].users")["rps_mean"]
    assert rps[8] > 5 * rps[1]
    mapped = meshsim.resilience_map(scenario, load=("spec.workload[0].users", [2, 4]),
                                    trigger=("spec.faults[0].for", ["1s"]), seeds=1, workers=1)
    assert len(mapped.cells) == 2
