"""gRPC services in the engine: grpc-status in an HTTP 200, Envoy's retry conditions and
outlier detection reading it, Istio's default policy, local replies, Linkerd's classifier.

A gRPC answer is carried as ``1000 + code`` in the status columns (model/grpc.py). The
attempts test uses a stated tolerance of 4.5 standard errors of the mean, so it holds for any
seed.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from meshsim.api import simulate
from meshsim.config import load_scenario_text
from meshsim.results import Results

Z = 4.5
UNAVAILABLE, INTERNAL, NOT_FOUND, DEADLINE_EXCEEDED = 1014, 1013, 1005, 1004

HEAD = """\
apiVersion: meshsim/v1alpha1
kind: Scenario
spec:
  mesh: {mesh}
  duration: {duration}
  seed: {seed}
  services:
    api:
      protocol: grpc
      replicas: 4
      concurrency: 64
      latency: constant(5ms)
      errors: {errors}
  workload:
    - {{name: users, target: api, rate: 400/s}}
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
      retries: {{attempts: {attempts}, retryOn: "{on}"}}
"""


def run(tmp_path: Path, errors: str, *, mesh: str = "istio", duration: str = "10s",
        seed: int = 3, extra: str = "") -> Results:
    text = HEAD.format(mesh=mesh, duration=duration, seed=seed, errors=errors) + extra
    return simulate(load_scenario_text(text, tmp_path, "scenario.yaml"))


def attempts_per_call(res: Results) -> np.ndarray:
    return res.calls["attempts"].to_numpy(dtype=float)


def test_a_grpc_error_is_a_200_with_a_grpc_status_and_not_ok(tmp_path: Path) -> None:
    res = run(tmp_path, "{rate: 40%, grpcStatus: {UNAVAILABLE: 1, 13: 1}}", mesh="none",
              duration="3s")
    att = res.attempts
    assert set(att["status"]) == {200, UNAVAILABLE, INTERNAL}
    assert not att.loc[att["status"] > 1000, "ok"].any()
    assert att.loc[att["status"] == 200, "ok"].all()
    share = float((res.requests["status"] != 200).mean())
    assert abs(share - 0.4) < Z * math.sqrt(0.4 * 0.6 / len(res.requests))
    success = float(res.workloads["success_rate"].iloc[0])
    assert abs(success - 0.6) < 0.05  # the run's success rate counts them as failures


def test_retry_on_unavailable_retries_unavailable_but_not_internal(tmp_path: Path) -> None:
    res = run(tmp_path, "{rate: 30%, grpcStatus: {UNAVAILABLE: 1, INTERNAL: 1}}",
              extra=VS.format(attempts=3, on="unavailable,cancelled"))
    att = res.attempts.sort_values(["call_id", "attempt"])
    last = att.groupby("call_id")["attempt"].transform("max") == att["attempt"]
    assert (att.loc[att["status"] == INTERNAL].index.isin(att[last].index)).all()
    unavailable_not_last = att[(att["status"] == UNAVAILABLE) & ~last]
    assert len(unavailable_not_last) > 100
    # An UNAVAILABLE ends its call only when the retries ran out (4 attempts, URX).
    ended = res.calls[res.calls["status"] == UNAVAILABLE]
    assert len(ended) and (ended["attempts"] == 4).all()
    assert set(ended["flags"].astype(str)) == {"URX"}
    assert (att.loc[att["status"] == INTERNAL, "flags"].astype(str) == "").all()


def test_5xx_and_gateway_error_do_not_read_a_grpc_status(tmp_path: Path) -> None:
    for on in ("5xx", "gateway-error", "retriable-status-codes"):
        res = run(tmp_path, "{rate: 30%, grpcStatus: {UNAVAILABLE: 1}}", duration="3s",
                  extra=VS.format(attempts=3, on=on))
        assert res.calls["attempts"].max() == 1, on


def test_attempts_follow_the_geometric_closed_form(tmp_path: Path) -> None:
    """q = 0.2 × 0.75 retriable per attempt, N = 3 retries: (1 − q^(N+1)) / (1 − q)."""
    res = run(tmp_path, "{rate: 20%, grpcStatus: {UNAVAILABLE: 0.75, INTERNAL: 0.25}}",
              duration="20s", extra=VS.format(attempts=3, on="unavailable"))
    n = attempts_per_call(res)
    q = 0.2 * 0.75
    expected = (1 - q**4) / (1 - q)
    assert abs(n.mean() - expected) <= Z * n.std(ddof=1) / math.sqrt(len(n))
    failed = float((res.calls["status"] != 200).mean())
    p_fail = 1 - 0.8 * expected  # a success ends the call; everything else failed
    assert abs(failed - p_fail) <= Z * math.sqrt(p_fail * (1 - p_fail) / len(n))


def test_istio_default_policy_retries_unavailable_twice(tmp_path: Path) -> None:
    """No VirtualService: 2 retries on connect-failure,refused-stream,unavailable,cancelled,
    retriable-status-codes; the app's INTERNAL is never retried."""
    res = run(tmp_path, "{rate: 20%, grpcStatus: {UNAVAILABLE: 1}}", duration="20s")
    n = attempts_per_call(res)
    q = 0.2
    expected = (1 - q**3) / (1 - q)
    assert n.max() == 3
    assert abs(n.mean() - expected) <= Z * n.std(ddof=1) / math.sqrt(len(n))
    internal = run(tmp_path, "{rate: 20%, grpcStatus: {INTERNAL: 1}}", duration="3s")
    assert internal.calls["attempts"].max() == 1


def test_a_reset_behind_the_sidecar_is_unavailable_and_retried_by_default(
    tmp_path: Path,
) -> None:
    """The server sidecar's 503 to a gRPC request is 200 + UNAVAILABLE (httpToGrpcStatus):
    Istio's default ``unavailable`` retries it, where an HTTP service's 503 is not (1.24)."""
    res = run(tmp_path, "{rate: 30%, status: {reset: 1}}", duration="5s")
    att = res.attempts
    assert set(att["status"]) == {200, UNAVAILABLE}
    assert res.calls["attempts"].max() == 3


def test_exhausted_retries_end_in_urx_and_a_timeout_is_a_grpc_status(tmp_path: Path) -> None:
    res = run(tmp_path, "{rate: 100%, grpcStatus: {UNAVAILABLE: 1}}", duration="2s",
              extra=VS.format(attempts=1, on="unavailable"))
    calls = res.calls
    assert set(calls["status"]) == {UNAVAILABLE}
    assert set(calls["flags"].astype(str)) == {"URX"}
    slow = run(tmp_path, "{rate: 0%}", duration="2s", extra="""\
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: api}
spec:
  hosts: [api]
  http:
    - route: [{destination: {host: api}}]
      timeout: 1ms
""")
    # Envoy's 504 UT local reply to a gRPC caller: 200 with grpc-status UNAVAILABLE.
    assert set(zip(slow.calls["status"], slow.calls["flags"].astype(str), strict=True)) == {
        (UNAVAILABLE, "UT")}


OUTLIER = """\
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: api}
spec:
  host: api
  trafficPolicy:
    outlierDetection:
      consecutiveGatewayErrors: 5
      consecutive5xxErrors: 0
      interval: 1s
      baseEjectionTime: 30s
      maxEjectionPercent: 50
"""


def _ejections(res: Results) -> set[str]:
    events = res.events
    return set(events.loc[events["kind"] == "eject", "pod"].astype(str))


def test_outlier_detection_reads_the_grpc_status_as_its_http_code(tmp_path: Path) -> None:
    """The router tells the detector grpcToHttpStatus: UNAVAILABLE is a 503 (a gateway error),
    INTERNAL a 500 (not one)."""
    bad = "{{rate: 100%, grpcStatus: {{{code}: 1}}, badPods: 1, latency: immediate}}"
    ejected = run(tmp_path, bad.format(code="UNAVAILABLE"), duration="4s",
                  extra=OUTLIER + VS.format(attempts=0, on="unavailable"))
    assert _ejections(ejected) == {"api-0"}
    kept = run(tmp_path, bad.format(code="INTERNAL"), duration="4s",
               extra=OUTLIER + VS.format(attempts=0, on="unavailable"))
    assert _ejections(kept) == set()


ACCRUAL = """\
---
apiVersion: v1
kind: Service
metadata:
  name: api
  annotations: {balancer.linkerd.io/failure-accrual: consecutive}
"""


def test_linkerd_classifies_by_its_grpc_failure_codes(tmp_path: Path) -> None:
    """A gRPC answer is a failure to Linkerd when its code is in the default gRPC set:
    UNAVAILABLE is, NOT_FOUND is not (accrual ejects the first pod only for UNAVAILABLE)."""
    bad = "{{rate: 100%, grpcStatus: {{{code}: 1}}, badPods: 1, latency: immediate}}"
    failing = run(tmp_path, bad.format(code="UNAVAILABLE"), mesh="linkerd", duration="4s",
                  extra=ACCRUAL)
    served = failing.attempts.groupby("pod", observed=True).size()
    not_found = run(tmp_path, bad.format(code="NOT_FOUND"), mesh="linkerd", duration="4s",
                    extra=ACCRUAL)
    served_nf = not_found.attempts.groupby("pod", observed=True).size()
    # Failure accrual (7 consecutive failures) takes the UNAVAILABLE pod out of the balancer.
    assert served["api-0"] < 0.5 * served.drop("api-0").mean()
    assert served_nf["api-0"] > 0.5 * served_nf.drop("api-0").mean()
    assert set(not_found.attempts["status"]) == {200, NOT_FOUND}
