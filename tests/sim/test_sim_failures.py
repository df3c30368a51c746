"""The error model in the engine: status mix, error latency, bad pods, bursts, load, and what
callers see of resets and refusals with and without an inbound sidecar.

Statistical checks use a stated tolerance of 4.5 standard errors of the estimate (binomial
or from the closed form), so they hold for any seed, not one tuned run.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from meshsim.api import simulate
from meshsim.config import load_scenario_text
from meshsim.results import Results

Z = 4.5

HEAD = """\
apiVersion: meshsim/v1alpha1
kind: Scenario
spec:
  mesh: {mesh}
  duration: {duration}
  seed: {seed}
  services:
    api:
      replicas: {replicas}
      concurrency: {concurrency}
      latency: {latency}
      labels: {labels}
      errors: {errors}
  workload:
    - {{name: users, target: api, rate: {rate}}}
"""


def run(tmp_path: Path, errors: str, *, mesh: str = "none", duration: str = "20s",
        rate: str = "500/s", replicas: int = 4, concurrency: int = 64,
        latency: str = "constant(10ms)", labels: str = "{}", seed: int = 3,
        extra: str = "") -> Results:
    text = HEAD.format(mesh=mesh, duration=duration, seed=seed, replicas=replicas,
                       concurrency=concurrency, latency=latency, labels=labels, errors=errors,
                       rate=rate) + extra
    return simulate(load_scenario_text(text, tmp_path, "scenario.yaml"))


def within_binomial(count: int, n: int, p: float) -> bool:
    return abs(count / n - p) <= Z * math.sqrt(p * (1 - p) / n)


def test_the_status_mix_is_drawn_by_weight(tmp_path: Path) -> None:
    res = run(tmp_path, "{rate: 40%, status: {503: 0.5, 500: 0.3, 429: 0.2}}")
    att = res.attempts
    n = len(att)
    for status, share in ((503, 0.2), (500, 0.12), (429, 0.08), (200, 0.6)):
        assert within_binomial(int((att["status"] == status).sum()), n, share), status
    assert att.loc[att["status"] == 429, "ok"].all()  # a 4xx is an answer, not a failure


def test_the_short_form_and_a_rate_only_mapping_are_the_same_run(tmp_path: Path) -> None:
    a = run(tmp_path, "0.05", duration="3s")
    b = run(tmp_path, "{rate: 5%}", duration="3s")
    pd.testing.assert_frame_equal(a.attempts, b.attempts)
    assert set(a.attempts["status"]) == {200, 500}


def test_immediate_errors_skip_the_service_time(tmp_path: Path) -> None:
    res = run(tmp_path, "{rate: 50%, status: {503: 1}, latency: immediate}", duration="5s")
    att = res.attempts
    failed = att[att["status"] == 503]
    served = att[att["status"] == 200]
    assert failed["latency"].max() < 0.005  # only the network: no 10 ms of work
    assert served["latency"].min() >= 0.010


def test_an_error_latency_distribution_is_its_own(tmp_path: Path) -> None:
    res = run(tmp_path, "{rate: 50%, latency: constant(200ms)}", duration="5s")
    failed = res.attempts[res.attempts["status"] == 500]
    assert failed["latency"].min() >= 0.2
    assert res.attempts.loc[res.attempts["status"] == 200, "latency"].max() < 0.2


def test_bad_pods_alone_fail(tmp_path: Path) -> None:
    res = run(tmp_path, "{rate: 60%, status: {503: 1}, pods: [1, 3]}", duration="5s")
    att = res.attempts
    bad = att["pod"].astype(str).isin(["api-1", "api-3"])
    assert (att.loc[~bad, "status"] == 200).all()
    assert within_binomial(int((att.loc[bad, "status"] == 503).sum()), int(bad.sum()), 0.6)


def test_bursts_come_and_go_together(tmp_path: Path) -> None:
    """On 1 s / off 3 s: about a quarter of the time erroring at the rate; between bursts
    nothing fails, so many whole seconds see no error and bursts see many."""
    res = run(tmp_path, "{rate: 80%, burst: {onFor: 1s, offFor: 3s}}", duration="120s",
              rate="200/s")
    att = res.attempts
    share = float((att["status"] == 500).mean())
    assert 0.8 * 0.25 * 0.5 < share < 0.8 * 0.25 * 1.6  # 30 on/off cycles: a loose band
    per_second = np.bincount(att["start"].astype(int), weights=att["status"] == 500)
    assert (per_second == 0).mean() > 0.4  # independent errors would leave no quiet second
    assert per_second.max() > 100


def test_errors_rise_with_the_queue(tmp_path: Path) -> None:
    """rate 0 + perQueued: an idle pod never fails; a queued one does."""
    light = run(tmp_path, "{rate: 0, perQueued: 0.05}", rate="10/s", replicas=1,
                concurrency=1, latency="exponential(10ms)", duration="20s")
    assert (light.attempts["status"] == 500).mean() < 0.02
    heavy = run(tmp_path, "{rate: 0, perQueued: 0.05}", rate="90/s", replicas=1,
                concurrency=1, latency="exponential(10ms)", duration="20s")
    assert (heavy.attempts["status"] == 500).mean() > 0.1


def test_without_a_sidecar_the_caller_sees_the_reset_and_the_refusal(tmp_path: Path) -> None:
    res = run(tmp_path, "{rate: 50%, status: {reset: 1, connect-failure: 1}}", duration="3s")
    att = res.attempts
    got = set(zip(att["status"], att["flags"].astype(str), strict=True))
    assert got == {(200, ""), (503, "UR"), (503, "UF")}


def test_through_an_envoy_sidecar_a_reset_is_its_503(tmp_path: Path) -> None:
    """Istio's inbound sidecar answers for the app: the client sees a plain 503 (no UR)."""
    res = run(tmp_path, "{rate: 50%, status: {reset: 1, connect-failure: 1}}", mesh="istio",
              duration="3s", extra=NO_RETRY_VS)
    att = res.attempts
    assert set(zip(att["status"], att["flags"].astype(str), strict=True)) == {(200, ""),
                                                                               (503, "")}


def test_through_a_linkerd_sidecar_a_reset_is_its_502(tmp_path: Path) -> None:
    res = run(tmp_path, "{rate: 50%, status: {reset: 1}}", mesh="linkerd", duration="3s")
    failed = res.attempts[res.attempts["status"] != 200]
    assert set(failed["status"]) == {502}


def test_a_fault_error_model_lasts_the_fault(tmp_path: Path) -> None:
    extra = "  faults:\n    - {at: 2s, for: 2s, target: api, errors: {rate: 1, status: {504: 1}}}\n"
    res = run(tmp_path, "0", duration="6s", extra=extra)
    att = res.attempts
    inside = (att["start"] >= 2.0) & (att["start"] < 3.99)
    assert (att.loc[inside, "status"] == 504).all()
    assert (att.loc[att["start"] < 1.99, "status"] == 200).all()
    assert (att.loc[att["start"] > 4.01, "status"] == 200).all()


NO_RETRY_VS = """\
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: api}
spec:
  hosts: [api]
  http:
    - route: [{destination: {host: api}}]
      retries: {attempts: 0}
"""
