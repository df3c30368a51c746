"""gRPC statuses as Envoy reads and writes them.

Sources: envoyproxy/envoy source/common/grpc/status.cc (``httpToGrpcStatus``,
``grpcToHttpStatus``), source/common/router/retry_state_impl.cc (gRPC retry-on conditions
read the grpc-status of the response headers, the ``5xx`` family the HTTP status), and
test/common/router/retry_state_impl_test.cc (``PolicyGrpcUnavailable`` and siblings). A gRPC
answer is 200 with the code: meshsim's ``grpc_answer(code)``.
"""

from __future__ import annotations

import pytest

from meshsim.model.grpc import (
    GRPC_CODES,
    as_grpc,
    grpc_answer,
    grpc_code,
    grpc_to_http,
    http_status,
    http_to_grpc,
)
from meshsim.model.routes import RetryPolicy
from meshsim.sim.envoy import wants_retry


def policy(*retry_on: str, codes: tuple[int, ...] = ()) -> RetryPolicy:
    return RetryPolicy(retry_on=frozenset(retry_on), retriable_status_codes=frozenset(codes))


@pytest.mark.parametrize(("http", "name"), [
    (400, "INTERNAL"), (401, "UNAUTHENTICATED"), (403, "PERMISSION_DENIED"),
    (404, "UNIMPLEMENTED"), (429, "UNAVAILABLE"), (502, "UNAVAILABLE"), (503, "UNAVAILABLE"),
    (504, "UNAVAILABLE"), (500, "UNKNOWN"), (409, "UNKNOWN"),
])
def test_http_to_grpc_status(http: int, name: str) -> None:
    assert http_to_grpc(http) == GRPC_CODES[name]
    assert as_grpc(http) == grpc_answer(GRPC_CODES[name])  # a local reply: 200 + grpc-status
    assert http_status(as_grpc(http)) == 200


@pytest.mark.parametrize(("name", "http"), [
    ("OK", 200), ("CANCELLED", 499), ("UNKNOWN", 500), ("INVALID_ARGUMENT", 400),
    ("DEADLINE_EXCEEDED", 504), ("NOT_FOUND", 404), ("PERMISSION_DENIED", 403),
    ("RESOURCE_EXHAUSTED", 429), ("UNIMPLEMENTED", 501), ("INTERNAL", 500),
    ("UNAVAILABLE", 503), ("UNAUTHENTICATED", 401),
])
def test_grpc_to_http_status(name: str, http: int) -> None:
    assert grpc_to_http(GRPC_CODES[name]) == http


def test_answers_and_no_answer_pass_through_as_grpc() -> None:
    assert as_grpc(200) == 200
    assert as_grpc(0) == 0  # the caller gave up: nothing was sent
    assert as_grpc(1014) == 1014
    assert grpc_answer(0) == 200 and grpc_code(200) is None and grpc_code(1004) == 4


@pytest.mark.parametrize(("token", "name"), [
    ("cancelled", "CANCELLED"), ("deadline-exceeded", "DEADLINE_EXCEEDED"),
    ("resource-exhausted", "RESOURCE_EXHAUSTED"), ("internal", "INTERNAL"),
    ("unavailable", "UNAVAILABLE"),
])
def test_each_grpc_condition_retries_its_status_only(token: str, name: str) -> None:
    answer = grpc_answer(GRPC_CODES[name])
    assert wants_retry(policy(token), answer)
    others = [grpc_answer(c) for n, c in GRPC_CODES.items() if n not in ("OK", name)]
    assert not any(wants_retry(policy(token), other) for other in others)
    assert not wants_retry(policy(token), 503)  # an HTTP 503 carries no grpc-status


@pytest.mark.parametrize("on", ["5xx", "gateway-error", "retriable-4xx", "reset"])
def test_http_conditions_do_not_read_the_grpc_status(on: str) -> None:
    for code in GRPC_CODES.values():
        if code:
            assert not wants_retry(policy(on), grpc_answer(code))


def test_retriable_status_codes_match_the_http_status_not_the_grpc_code() -> None:
    assert not wants_retry(policy("retriable-status-codes", codes=(503, 14)), grpc_answer(14))
    assert wants_retry(policy("retriable-status-codes", codes=(503,)), 503)


def test_istio_default_policy_retries_unavailable_and_cancelled() -> None:
    default = policy("connect-failure", "refused-stream", "unavailable", "cancelled",
                     "retriable-status-codes")
    assert wants_retry(default, grpc_answer(GRPC_CODES["UNAVAILABLE"]))
    assert wants_retry(default, grpc_answer(GRPC_CODES["CANCELLED"]))
    assert not wants_retry(default, grpc_answer(GRPC_CODES["INTERNAL"]))
    assert not wants_retry(default, grpc_answer(GRPC_CODES["DEADLINE_EXCEEDED"]))
