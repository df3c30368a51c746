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


def test_a_workload_with_a_client_is_judged_per_user_request(tmp_path: Path) -> None:
    """back fails 40 %, the client tries 3 times: the workload's row and SLOs count user
    requests (success 1 − q³, attempts = tries), front's row counts tries (success 1 − q)."""
    text = SCENARIO.format(mesh="none", errors=0.4, workload=(
        "    - {name: app, target: front, rate: 200/s, arrival: constant,"
        " client: {maxAttempts: 3, backoff: {base: 1ms, max: 1ms}}}")) + (
        "  expect:\n"
        "    - {service: app, metric: success_rate, min: 0.9}\n"
        "    - {service: front, metric: success_rate, min: 0.9}\n"
        "    - {service: app, metric: p99, max: 1s}\n")
    (tmp_path / "s.yaml").write_text(text)
    results = meshsim.simulate(tmp_path / "s.yaml", seed=1)
    q = 0.4
    row = results.workloads.set_index("workload").loc["app"]
    users = results.user_requests
    window = users[(users["start"] >= 5.0) & users["answered"]]
    assert row["requests"] == len(window)
    assert row["attempts"] == window["tries"].sum()
    assert row["retries"] == row["attempts"] - row["requests"]
    assert row["success_rate"] == pytest.approx(1 - q**3, abs=0.01)
    assert row["success_rate"] == pytest.approx(window["ok"].mean())
    front = results.summary.set_index("service").loc["front"]
    assert front["success_rate"] == pytest.approx(1 - q, abs=0.02)
    slo = results.slo().set_index("service")
    assert slo.loc["front", "outcome"] == "fail"
    app = slo[slo["metric"] == "success_rate"].loc["app"]
    assert app["outcome"] == "pass" and app["value"] == pytest.approx(row["success_rate"])
    p99 = slo[slo["metric"] == "p99"].loc["app"]
    assert p99["value"] == pytest.approx(row["p99"])


def test_user_requests_still_being_tried_at_the_end_are_open(tmp_path: Path) -> None:
    """Every try fails and the client backs off 1 s: the user requests whose retry was
    pending when the run ended are not answered, so not counted as failed yet."""
    results = run(tmp_path, "    - {name: app, target: front, rate: 20/s, arrival: constant,"
                  " client: {maxAttempts: 3, backoff: {base: 1s, max: 1s, jitter: none}}}",
                  errors=1.0)
    users = results.user_requests
    open_ = users[~users["answered"]]
    assert len(open_) and (open_["start"] > 40.0 - 2.1).all()  # the last two seconds' only
    row = results.workloads.set_index("workload").loc["app"]
    assert row["requests"] == int(users[users["answered"] & (users["start"] >= 5.0)].shape[0])
    assert row["attempts"] == 3 * row["requests"]


def test_a_summary_run_counts_user_requests_too(tmp_path: Path) -> None:
    """Sweeps, checks and the recommender run at record="summary": the workload's row is
    the same user-request row as a full run's."""
    (tmp_path / "s.yaml").write_text(SCENARIO.format(mesh="none", errors=0.4, workload=(
        "    - {name: app, target: front, rate: 100/s, arrival: constant,"
        " client: {maxAttempts: 3, backoff: {base: 1ms, max: 1ms}}}")))
    full = meshsim.simulate(tmp_path / "s.yaml", seed=1)
    summary = meshsim.simulate(tmp_path / "s.yaml", seed=1, record="summary")
    assert summary.per_user_workloads == {"app"}
    assert summary.workloads.equals(full.workloads)
