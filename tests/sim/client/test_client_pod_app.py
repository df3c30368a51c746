"""App clients inside pods (``client:`` on a call): the handler's own SDK retrying its calls."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import meshsim
from meshsim.sim import Simulation
from meshsim.sim.client.pod_app import AppPod
from meshsim.sim.pod import Pod

SCENARIO = """\
apiVersion: meshsim/v1alpha1
kind: Scenario
metadata: {{name: pod-app}}
spec:
  duration: {duration}
  warmup: 2s
  network: {{latency: 0ms}}
  services:
    front:
      replicas: 2
      concurrency: 1000
      latency: 2ms
      calls: [{call}]
    back: {{concurrency: 1000, latency: 3ms, errors: {errors}}}
  workload:
    - {{name: app, target: front, rate: {rate}/s, arrival: constant}}
"""
FAST = "backoff: {base: 1ms, max: 1ms, jitter: none}"


def scenario(tmp_path: Path, call: str, *, errors: float, rate: int = 400,
             duration: str = "20s") -> meshsim.Scenario:
    text = SCENARIO.format(call=call, errors=errors, rate=rate, duration=duration)
    (tmp_path / "s.yaml").write_text(text)
    return meshsim.load(tmp_path / "s.yaml")


def run(tmp_path: Path, call: str, *, errors: float, **kw: object) -> meshsim.Results:
    return meshsim.simulate(scenario(tmp_path, call, errors=errors, **kw), seed=1)  # type: ignore[arg-type]


def test_the_pod_retries_its_call_geometrically(tmp_path: Path) -> None:
    """back fails with p; front's SDK tries 3 times: tries per call 1 + p + p², and front
    (so the user) fails only when all three failed, p³."""
    p = 0.4
    results = run(tmp_path, f"{{service: back, client: {{maxAttempts: 3, {FAST}}}}}", errors=p)
    amp = results.amplification.set_index("layer")
    assert amp.loc["client hop 1", "service"] == "back"
    assert amp.loc["client hop 1", "per_unit"] == pytest.approx(1 + p + p * p, rel=0.02)
    assert amp.loc["hop 1", "per_unit"] == 1.0  # no mesh: one attempt per try
    assert amp.loc["hop 1", "units"] == amp.loc["client hop 1", "attempts"]
    assert amp.loc["client hop 1", "units"] == amp.loc["proxy", "units"]  # one call per request
    front = results.summary.set_index("service").loc["front"]
    assert 1 - front["success_rate"] == pytest.approx(p**3, abs=0.01)
    back = results.calls[results.calls["depth"] == 1]
    assert back["request_id"].value_counts().max() == 3


def test_each_pod_has_its_own_retry_quota(tmp_path: Path) -> None:
    """Everything fails: the standard bucket (500 tokens, 5 a retry) lets each of front's two
    pods make exactly 100 retries, then none."""
    results = run(tmp_path, f"{{service: back, client: {{maxAttempts: 3, retryQuota: standard,"
                            f" {FAST}}}}}", errors=1.0, duration="10s")
    back = results.calls[results.calls["depth"] == 1]
    calls = results.calls[results.calls["depth"] == 0]
    assert len(back) == len(calls) + 200
    assert set(back["caller"].astype(str)) == {"front-0", "front-1"}


def test_a_pods_breaker_refuses_calls_and_fails_the_parent(tmp_path: Path) -> None:
    """back always fails: each pod's breaker opens after its 10-call window, then refuses
    (rows with flag CB, no attempt) for 60 s; front answers 500 either way."""
    results = run(tmp_path, "{service: back, client: {circuitBreaker: {slidingWindowSize: 10, "
                            "minimumNumberOfCalls: 10}}}", errors=1.0, rate=100, duration="10s")
    back = results.calls[results.calls["depth"] == 1]
    tried = back[back["flags"].astype(str) != "CB"]
    refused = back[back["flags"].astype(str) == "CB"]
    assert len(tried) == 20  # 10 per pod
    assert (refused["attempts"] == 0).all() and (refused["status"] == 0).all()
    assert (results.requests["status"] == 500).all()
    amp = results.amplification.set_index("layer")
    assert amp.loc["client hop 1", "per_unit"] == 0.0  # refusals enter, no try leaves


def test_an_optional_call_still_fails_alone(tmp_path: Path) -> None:
    results = run(tmp_path, f"{{service: back, optional: true, client: {{maxAttempts: 2,"
                            f" {FAST}}}}}", errors=1.0, duration="5s")
    assert (results.requests["status"] == 200).all()
    back = results.calls[results.calls["depth"] == 1]
    answered = back[back["request_id"].isin(results.requests["id"])]  # parents that finished
    assert answered["request_id"].value_counts().eq(2).all()


def test_only_pods_with_an_app_client_change_class(tmp_path: Path) -> None:
    """A pod without one is the compiled Pod itself: its hot path is untouched."""
    sim = Simulation(scenario(tmp_path, "{service: back, client: {maxAttempts: 2}}",
                              errors=0.0).model)
    kinds = {pod.name: type(pod) for pod in sim.pods}
    assert kinds == {"front-0": AppPod, "front-1": AppPod, "back-0": Pod}
    plain = Simulation(scenario(tmp_path, "back", errors=0.0).model)
    assert {type(pod) for pod in plain.pods} == {Pod}


def test_a_single_try_client_changes_nothing_but_the_tie(tmp_path: Path) -> None:
    """maxAttempts 1 and no policy: the same calls, draw for draw, as no client at all."""
    plain = run(tmp_path, "back", errors=0.3, duration="5s")
    client = run(tmp_path, "{service: back, client: {}}", errors=0.3, duration="5s")
    for name in ("requests", "calls"):
        pd_plain, pd_client = getattr(plain, name), getattr(client, name)
        assert pd_plain.equals(pd_client), name
    ties = client.recording.dependency_tries
    recorded = np.isin(ties[:, 0], client.calls["call_id"].to_numpy())  # not still open
    assert recorded.sum() == (plain.calls["depth"] == 1).sum()
    assert np.array_equal(ties[:, 0], ties[:, 1])  # each try is its own call
