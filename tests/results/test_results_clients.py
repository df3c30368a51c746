"""Clients views: amplification per layer and offered vs admitted vs goodput."""

from __future__ import annotations

from pathlib import Path

import pytest

import meshsim

SCENARIO = """\
apiVersion: meshsim/v1alpha1
kind: Scenario
metadata: {{name: clients}}
spec:
  mesh: {mesh}
  duration: 40s
  warmup: 5s
  network: {{latency: 0ms}}
  services:
    front: {{concurrency: 1000, latency: 5ms, calls: [back]}}
    back: {{concurrency: 1000, latency: 5ms, errors: {errors}}}
  workload:
{workload}
"""


def run(tmp_path: Path, workload: str, *, mesh: str = "none", errors: float = 0.0,
        seed: int = 1) -> meshsim.Results:
    text = SCENARIO.format(mesh=mesh, errors=errors, workload=workload)
    (tmp_path / "s.yaml").write_text(text)
    return meshsim.simulate(tmp_path / "s.yaml", seed=seed)


def test_amplification_multiplies_client_tries_and_proxy_retries(tmp_path: Path) -> None:
    """back fails 40 %; front's failed call fails the try; the client tries 3 times. Client
    tries per user request 1 + q + q² with q = 0.4; each try is one call to back."""
    results = run(tmp_path, "    - {name: app, target: front, rate: 200/s, arrival: constant,"
                  " client: {maxAttempts: 3, backoff: {base: 1ms, max: 1ms}}}", errors=0.4)
    amp = results.amplification.set_index("layer")
    q = 0.4
    assert amp.loc["client", "per_user_request"] == pytest.approx(1 + q + q * q, rel=0.03)
    assert amp.loc["proxy", "per_unit"] == 1.0  # no mesh: one attempt per try
    assert amp.loc["hop 1", "service"] == "back"
    assert amp.loc["hop 1", "per_user_request"] == pytest.approx(1 + q + q * q, rel=0.03)
    users = results.user_requests
    assert users["ok"].mean() == pytest.approx(1 - q**3, abs=0.01)


def test_offered_sent_admitted_goodput_under_a_vu_cap(tmp_path: Path) -> None:
    """250/s constant arrivals (every 4 ms), 10 ms per request (two hops of 5 ms), 2 VUs:
    admitted at 0, 4, 12, 16, 24, 28 ms, …: 2 every 12 ms = 166.7/s; the rest dropped."""
    results = run(tmp_path, "    - {name: k6, target: front, rate: 250/s, arrival: constant,"
                  " maxVUs: 2, executor: constant-arrival-rate}")
    load = results.offered_load(5.0)
    window = load[(load["time"] >= 5.0) & (load["time"] < 35.0)]
    assert window["offered"].mean() == pytest.approx(250.0, rel=0.01)
    for column in ("sent", "admitted", "goodput"):
        assert window[column].mean() == pytest.approx(500 / 3, rel=0.01), column


def test_breaker_refusals_are_offered_but_not_sent(tmp_path: Path) -> None:
    results = run(tmp_path, "    - {name: app, target: front, rate: 100/s, client: "
                  "{circuitBreaker: {slidingWindowSize: 10, minimumNumberOfCalls: 10, "
                  "waitDurationInOpenState: 1s, permittedNumberOfCallsInHalfOpenState: 2}}}",
                  errors=1.0)
    load = results.offered_load(5.0)
    window = load[load["time"] >= 5.0]
    assert window["offered"].mean() == pytest.approx(100.0, rel=0.1)
    assert window["sent"].mean() < 5.0
    assert window["goodput"].sum() == 0.0
    amp = results.amplification.set_index("layer")
    assert amp.loc["client", "per_user_request"] < 0.05
