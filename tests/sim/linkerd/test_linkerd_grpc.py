"""Linkerd reading a gRPC answer (200 + grpc-status, model/grpc.py): the endpoint classifier
and ServiceProfile classification use its default gRPC failure set (UNKNOWN,
DEADLINE_EXCEEDED, PERMISSION_DENIED, INTERNAL, UNAVAILABLE, DATA_LOSS), policy retries its
``retry.linkerd.io/grpc`` codes, and its own errors answer a gRPC caller with the gRPC code of
``respond.rs``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from meshsim.api import simulate
from meshsim.config import load_scenario_text
from meshsim.model.grpc import GRPC_CODES, grpc_answer
from meshsim.model.linkerd import ResponseClass, StatusCondition
from meshsim.results import Results
from meshsim.sim.linkerd.accrual import is_failure
from meshsim.sim.linkerd.errors import grpc_reply
from meshsim.sim.linkerd.retry import classify, retryable

FAILURES = {"UNKNOWN", "DEADLINE_EXCEEDED", "PERMISSION_DENIED", "INTERNAL", "UNAVAILABLE",
            "DATA_LOSS"}


@pytest.mark.parametrize("name", [n for n in GRPC_CODES if n != "OK"])
def test_the_default_grpc_failure_set(name: str) -> None:
    answer = grpc_answer(GRPC_CODES[name])
    assert is_failure(answer) == (name in FAILURES)
    assert classify(answer) == (name in FAILURES)


def test_response_classes_match_the_http_status_of_a_grpc_answer() -> None:
    """``responseClasses`` match ``:status``, 200 for a gRPC answer; unmatched, the gRPC
    default set decides."""
    ok_is_failure = (ResponseClass(StatusCondition(200, 200), is_failure=True),)
    assert classify(grpc_answer(GRPC_CODES["NOT_FOUND"]), ok_is_failure)
    server = (ResponseClass(StatusCondition(500, 599), is_failure=True),)
    assert classify(grpc_answer(GRPC_CODES["UNAVAILABLE"]), server)
    assert not classify(grpc_answer(GRPC_CODES["NOT_FOUND"]), server)


def test_policy_retries_only_the_listed_grpc_codes() -> None:
    codes = frozenset({GRPC_CODES["UNAVAILABLE"]})
    assert retryable(grpc_answer(14), ((500, 599),), codes)
    assert not retryable(grpc_answer(13), ((500, 599),), codes)
    assert not retryable(grpc_answer(14), ((500, 599),), None)  # an HTTP retry policy


@pytest.mark.parametrize(("http", "name"), [
    (504, "DEADLINE_EXCEEDED"), (502, "UNAVAILABLE"), (503, "UNAVAILABLE"),
    (404, "NOT_FOUND"), (403, "PERMISSION_DENIED"), (429, "RESOURCE_EXHAUSTED"),
])
def test_proxy_errors_answer_a_grpc_caller_with_their_code(http: int, name: str) -> None:
    assert grpc_reply(http) == grpc_answer(GRPC_CODES[name])
    assert grpc_reply(200) == 200 and grpc_reply(0) == 0 and grpc_reply(1014) == 1014


SCENARIO = """\
apiVersion: meshsim/v1alpha1
kind: Scenario
spec:
  mesh: linkerd
  duration: {duration}
  seed: 5
  services:
    api:
      protocol: grpc
      replicas: 4
      concurrency: 64
      latency: constant(5ms)
      errors: {{rate: 20%, grpcStatus: {{UNAVAILABLE: 0.75, INTERNAL: 0.25}}}}
  workload:
    - name: users
      target: api
      rate: 400/s
      request:
        - {{method: POST, path: /shop.Inventory/Get}}
        - {{method: POST, path: /shop.Inventory/List}}
---
apiVersion: policy.linkerd.io/v1alpha1
kind: GRPCRoute
metadata:
  name: inventory
  annotations: {annotations}
spec:
  parentRefs: [{{name: api, kind: Service, group: core}}]
  rules:
    - matches: [{{method: {{service: shop.Inventory, method: Get}}}}]
    - matches: [{{method: {{service: shop.Inventory}}}}]
"""


def grpc_run(tmp_path: Path, annotations: str, duration: str = "15s") -> Results:
    text = SCENARIO.format(duration=duration, annotations=annotations)
    return simulate(load_scenario_text(text, tmp_path, "scenario.yaml"))


def test_a_grpc_route_retries_its_grpc_codes_by_the_closed_form(tmp_path: Path) -> None:
    """retry.linkerd.io/grpc: unavailable, limit 3: q = 0.2 × 0.75 retriable per attempt,
    attempts (1 − q⁴)/(1 − q) (no budget on the policy path); INTERNAL is never retried.
    Tolerance: 4.5 standard errors of the mean."""
    res = grpc_run(tmp_path, "{retry.linkerd.io/grpc: unavailable, retry.linkerd.io/limit: '3'}")
    n = res.calls["attempts"].to_numpy(dtype=float)
    q = 0.2 * 0.75
    expected = (1 - q**4) / (1 - q)
    assert abs(n.mean() - expected) <= 4.5 * n.std(ddof=1) / np.sqrt(len(n))
    att = res.attempts.sort_values(["call_id", "attempt"])
    last = att.groupby("call_id")["attempt"].transform("max") == att["attempt"]
    assert att.loc[att["status"] == grpc_answer(13)].index.isin(att[last].index).all()
    none = grpc_run(tmp_path, "{retry.linkerd.io/http: 5xx, retry.linkerd.io/limit: '3'}",
                    duration="3s")
    assert none.calls["attempts"].max() == 1  # http statuses are not read on a GRPCRoute


def test_a_grpc_route_timeout_answers_deadline_exceeded(tmp_path: Path) -> None:
    res = grpc_run(tmp_path, "{timeout.linkerd.io/request: 1ms}", duration="2s")
    got = set(zip(res.calls["status"], res.calls["flags"].astype(str), strict=True))
    assert got == {(grpc_answer(GRPC_CODES["DEADLINE_EXCEEDED"]), "UT")}


def test_no_route_answers_a_grpc_caller_not_found(tmp_path: Path) -> None:
    """The GRPCRoute matches shop.Inventory only: another service's method has no route."""
    text = SCENARIO.format(duration="2s", annotations="{}").replace(
        "path: /shop.Inventory/List", "path: /shop.Cart/Add")
    res = simulate(load_scenario_text(text, tmp_path, "scenario.yaml"))
    missed = res.calls[res.calls["flags"].astype(str) == "NR"]
    assert len(missed) > 0
    assert set(missed["status"]) == {grpc_answer(GRPC_CODES["NOT_FOUND"])}
