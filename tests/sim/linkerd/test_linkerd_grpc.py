"""Linkerd reading a gRPC answer (200 + grpc-status, model/grpc.py): the endpoint classifier
and ServiceProfile classification use its default gRPC failure set (UNKNOWN,
DEADLINE_EXCEEDED, PERMISSION_DENIED, INTERNAL, UNAVAILABLE, DATA_LOSS), policy retries its
``retry.linkerd.io/grpc`` codes, and its own errors answer a gRPC caller with the gRPC code of
``respond.rs``."""

from __future__ import annotations

import pytest

from meshsim.model.grpc import GRPC_CODES, grpc_answer
from meshsim.model.linkerd import ResponseClass, StatusCondition
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
