"""gRPC statuses: their names, Envoy's HTTP <-> gRPC mappings, and how meshsim carries them.

A gRPC call that fails still answers HTTP 200; the failure is the ``grpc-status`` trailer (a
Trailers-Only response when the server sends no message, as an erroring handler does, so
Envoy reads it in the response headers). meshsim carries that pair in the one ``status``
integer every consumer already reads: ``GRPC_BASE + code`` for HTTP 200 with a non-OK
grpc-status (``1014`` = 200 with UNAVAILABLE), and plain 200 for OK. That value is never an
HTTP status, so ``ok`` (``0 < status < 500``) is false for it everywhere, HTTP-only consumers
that count ``status >= 500`` count it as an error, and Envoy's ``5xx``, ``gateway-error`` and
``retriable-status-codes`` conditions (which read the HTTP status) never match it. HTTP
services never produce it, so their per-attempt cost and their results are unchanged.
"""

from __future__ import annotations

# grpc/grpc doc/statuscodes.md, the names as grpc spells them.
GRPC_CODES: dict[str, int] = {
    "OK": 0,
    "CANCELLED": 1,
    "UNKNOWN": 2,
    "INVALID_ARGUMENT": 3,
    "DEADLINE_EXCEEDED": 4,
    "NOT_FOUND": 5,
    "ALREADY_EXISTS": 6,
    "PERMISSION_DENIED": 7,
    "RESOURCE_EXHAUSTED": 8,
    "FAILED_PRECONDITION": 9,
    "ABORTED": 10,
    "OUT_OF_RANGE": 11,
    "UNIMPLEMENTED": 12,
    "INTERNAL": 13,
    "UNAVAILABLE": 14,
    "DATA_LOSS": 15,
    "UNAUTHENTICATED": 16,
}
GRPC_NAMES: dict[int, str] = {code: name for name, code in GRPC_CODES.items()}

GRPC_BASE = 1000  # status = GRPC_BASE + code: HTTP 200 with that non-OK grpc-status


def grpc_answer(code: int) -> int:
    """The status value of an HTTP 200 carrying grpc-status ``code`` (OK is plain 200)."""
    return 200 if code == 0 else GRPC_BASE + code


def grpc_code(status: int) -> int | None:
    """The grpc-status a status value carries: None for a plain HTTP answer (or none)."""
    return status - GRPC_BASE if status > GRPC_BASE else None


def http_status(status: int) -> int:
    """The HTTP status on the wire: 200 for a gRPC answer."""
    return 200 if status > GRPC_BASE else status


def http_to_grpc(status: int) -> int:
    """Envoy's ``Grpc::Utility::httpToGrpcStatus``: the grpc-status of a local reply (or any
    HTTP error answer) to a gRPC request, sent in an HTTP 200."""
    return _HTTP_TO_GRPC.get(status, 2)  # else UNKNOWN


_HTTP_TO_GRPC = {
    400: 13,  # INTERNAL
    401: 16,  # UNAUTHENTICATED
    403: 7,  # PERMISSION_DENIED
    404: 12,  # UNIMPLEMENTED
    429: 14,  # UNAVAILABLE
    502: 14,
    503: 14,
    504: 14,
}


def grpc_to_http(code: int) -> int:
    """Envoy's ``Grpc::Utility::grpcToHttpStatus``: what the outlier detector is told."""
    return _GRPC_TO_HTTP.get(code, 500)


_GRPC_TO_HTTP = {
    0: 200,
    1: 499,  # CANCELLED: client closed request
    2: 500,
    3: 400,
    4: 504,
    5: 404,
    6: 409,
    7: 403,
    8: 429,
    9: 400,
    10: 409,
    11: 400,
    12: 501,
    13: 500,
    14: 503,
    15: 500,
    16: 401,
}


def as_grpc(status: int) -> int:
    """An HTTP error answer to a gRPC request as Envoy sends it: 200 with a grpc-status.
    OK, gRPC answers and 0 (no answer: the caller gave up) pass unchanged."""
    if status == 200 or status == 0 or status > GRPC_BASE:
        return status
    return grpc_answer(http_to_grpc(status))
