"""Envoy's retry conditions and outlier detection read the status a service really sent.

Per ``retry_on`` condition (router_filter.rst, retry_state_impl.cc; reference/envoy-istio.md
§4.1), a status mix whose retriable share s at error rate p gives an independent retriable
failure per attempt with q = p·s, so attempts per request follow (1 − q^(N+1)) / (1 − q).
The tolerance is 4.5 standard errors of the mean from the exact variance of that law.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from closed_forms import retry_attempts

from meshsim.api import simulate
from meshsim.config import load_scenario_text
from meshsim.results import Results

Z = 4.5
RATE = 0.3
N = 2

SCENARIO = """\
apiVersion: meshsim/v1alpha1
kind: Scenario
spec:
  mesh: istio
  meshVersion: "{version}"
  duration: {duration}
  seed: 5
  services:
    api:
      replicas: 4
      concurrency: 64
      latency: constant(5ms)
      labels: {labels}
      errors: {errors}
  workload:
    - {{name: users, target: api, rate: 400/s, clients: 4}}
"""

VS = """\
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: api}}
spec:
  hosts: [api]
  http:
    - route: [{{destination: {{host: api}}}}]
      retries: {{attempts: {attempts}, retryOn: "{retry_on}"}}
"""

NO_SIDECAR = '{"sidecar.istio.io/inject": "false"}'


def run(tmp_path: Path, errors: str, *, retry_on: str | None = None, version: str = "1.26",
        labels: str = "{}", duration: str = "25s", extra: str = "") -> Results:
    text = SCENARIO.format(version=version, duration=duration, labels=labels, errors=errors)
    if retry_on is not None:
        text += VS.format(attempts=N, retry_on=retry_on)
    return simulate(load_scenario_text(text + extra, tmp_path, "scenario.yaml"))


def assert_attempts_follow(res: Results, q: float, retries: int = N) -> None:
    per_request = res.attempts.groupby("request_id", observed=True).size()
    mean, var = retry_attempts(q, retries)
    n = len(per_request)
    assert n > 5000
    tolerance = Z * math.sqrt(var / n) if var > 0 else 1e-9
    assert abs(per_request.mean() - mean) <= tolerance, (per_request.mean(), mean, tolerance)


# condition → (status mix, retriable share of it)
CONDITIONS = {
    "5xx": ("{500: 1, 503: 1, 429: 1}", 2 / 3),
    "gateway-error": ("{500: 1, 502: 1, 503: 1, 504: 1}", 3 / 4),
    "retriable-4xx": ("{409: 1, 429: 1, 500: 1}", 1 / 3),
    "429": ("{429: 1, 503: 1}", 1 / 2),  # parseRetryOn: a code adds retriable-status-codes
    "retriable-status-codes": ("{503: 1}", 0.0),  # no codes given: nothing to match
    "connect-failure": ("{500: 1, 503: 1}", 0.0),  # statuses are never connect failures
}


@pytest.mark.parametrize("retry_on", list(CONDITIONS))
def test_each_condition_retries_its_statuses(tmp_path: Path, retry_on: str) -> None:
    mix, share = CONDITIONS[retry_on]
    res = run(tmp_path, f"{{rate: {RATE}, status: {mix}}}", retry_on=retry_on)
    assert_attempts_follow(res, RATE * share)


# Transport failures need a caller that sees them: no inbound sidecar on the pods.
TRANSPORT = {
    ("reset", "reset"): 1.0,
    ("reset", "5xx"): 1.0,  # Envoy counts a reset as a 5xx (and a gateway error)
    ("reset", "gateway-error"): 1.0,
    ("reset", "connect-failure"): 0.0,
    ("connect-failure", "connect-failure"): 1.0,
    ("connect-failure", "5xx"): 1.0,
    ("connect-failure", "retriable-4xx"): 0.0,
}


@pytest.mark.parametrize(("outcome", "retry_on"), list(TRANSPORT))
def test_resets_and_refusals_by_condition(tmp_path: Path, outcome: str, retry_on: str) -> None:
    res = run(tmp_path, f"{{rate: {RATE}, status: {{{outcome}: 1}}}}", retry_on=retry_on,
              labels=NO_SIDECAR)
    assert_attempts_follow(res, RATE * TRANSPORT[(outcome, retry_on)])


@pytest.mark.parametrize(("version", "share"), [("1.23", 1.0), ("1.24", 0.0)])
def test_istios_default_policy_retries_503_only_before_1_24(
    tmp_path: Path, version: str, share: float
) -> None:
    """No VirtualService retries: Istio's default (2 retries, connect-failure, refused-stream,
    unavailable, cancelled, retriable-status-codes [503] before 1.24)."""
    res = run(tmp_path, f"{{rate: {RATE}, status: {{503: 1}}}}", version=version)
    assert_attempts_follow(res, RATE * share)
    res500 = run(tmp_path, f"{{rate: {RATE}, status: {{500: 1}}}}", version=version,
                 duration="5s")
    assert res500.attempts.groupby("request_id", observed=True).size().max() == 1


def test_istios_default_policy_retries_refused_connections(tmp_path: Path) -> None:
    res = run(tmp_path, f"{{rate: {RATE}, status: {{connect-failure: 1}}}}", labels=NO_SIDECAR)
    assert_attempts_follow(res, RATE)


def test_the_flags_say_the_retries_ran_out(tmp_path: Path) -> None:
    res = run(tmp_path, "{rate: 1, status: {reset: 1}}", retry_on="reset", labels=NO_SIDECAR,
              duration="2s")
    calls = res.calls
    assert set(calls["status"]) == {503}
    assert set(calls["flags"].astype(str)) == {"UR,URX"}
    assert set(res.attempts["flags"].astype(str)) == {"UR"}


# -- outlier detection: only what its counters count ------------------------------------------
DR = """\
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: api}}
spec:
  host: api
  trafficPolicy:
    outlierDetection:
      {counter}: 5
      {other}: 0
      interval: 1s
      baseEjectionTime: 30s
      maxEjectionPercent: 100
"""


def ejections(res: Results) -> int:
    return int((res.events["kind"] == "eject").sum())


@pytest.mark.parametrize(("counter", "other", "status", "ejected"), [
    ("consecutiveGatewayErrors", "consecutive5xxErrors", 503, True),
    ("consecutiveGatewayErrors", "consecutive5xxErrors", 500, False),
    ("consecutive5xxErrors", "consecutiveGatewayErrors", 500, True),
    ("consecutive5xxErrors", "consecutiveGatewayErrors", 429, False),
])
def test_a_bad_pod_is_ejected_only_for_what_the_counter_counts(
    tmp_path: Path, counter: str, other: str, status: int, ejected: bool
) -> None:
    errors = f"{{rate: 1, status: {{{status}: 1}}, pods: [0]}}"
    res = run(tmp_path, errors, retry_on="", duration="3s",
              extra=DR.format(counter=counter, other=other))
    assert (ejections(res) > 0) is ejected


SPLIT_DR = """\
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: api}
spec:
  host: api
  trafficPolicy:
    outlierDetection:
      splitExternalLocalOriginErrors: true
      consecutiveLocalOriginFailures: 5
      consecutive5xxErrors: 0
      consecutiveGatewayErrors: 0
      interval: 1s
      baseEjectionTime: 30s
      maxEjectionPercent: 100
"""


@pytest.mark.parametrize(("outcome", "ejected"), [
    ("connect-failure", True), ("reset", True), ("503", False),
])
def test_split_mode_ejects_on_local_origin_failures_only(
    tmp_path: Path, outcome: str, ejected: bool
) -> None:
    """A refused connection or a reset (no inbound sidecar answering for the app) is a
    local-origin failure; a 503 the app sent is external and only feeds the 5xx counters."""
    errors = f"{{rate: 1, status: {{{outcome}: 1}}, pods: [0]}}"
    res = run(tmp_path, errors, retry_on="", duration="3s", labels=NO_SIDECAR, extra=SPLIT_DR)
    assert (ejections(res) > 0) is ejected
