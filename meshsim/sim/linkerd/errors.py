"""Error → status seen by the client app (reference/linkerd.md §2.3).

Sources: ``linkerd/app/outbound/src/http/server.rs`` (ServerRescue) and
``linkerd/app/core/src/errors/respond.rs`` in linkerd/linkerd2-proxy.
"""

from __future__ import annotations

from meshsim.model.grpc import GRPC_BASE, GRPC_CODES, grpc_answer

# HTTP status and gRPC code (name) per proxy error.
ERROR_STATUS: dict[str, tuple[int, str]] = {
    "fail_fast": (504, "DEADLINE_EXCEEDED"),
    "load_shed": (503, "UNAVAILABLE"),
    "stream_timeout": (504, "DEADLINE_EXCEEDED"),  # policy request/response/retry timeouts
    "profile_route_timeout": (504, "DEADLINE_EXCEEDED"),
    "endpoint_io": (502, "UNAVAILABLE"),
    "connect_timeout": (504, "DEADLINE_EXCEEDED"),
    "no_route": (404, "NOT_FOUND"),
    "inbound_unauthorized": (403, "PERMISSION_DENIED"),
    "inbound_no_route": (404, "NOT_FOUND"),
    "inbound_rate_limited": (429, "RESOURCE_EXHAUSTED"),
}


def http_status(error: str) -> int:
    """HTTP status the proxy synthesizes for ``error`` (a key of :data:`ERROR_STATUS`)."""
    return ERROR_STATUS[error][0]


_GRPC_OF_HTTP = {status: name for status, name in ERROR_STATUS.values()} | {503: "UNAVAILABLE"}


def grpc_reply(status: int) -> int:
    """The proxy's own error answer to a gRPC request: HTTP 200 with the error's grpc-status
    (``respond.rs`` sends a gRPC error when the request is gRPC). Answers pass unchanged."""
    if status == 0 or status == 200 or status > GRPC_BASE:
        return status
    return grpc_answer(GRPC_CODES[_GRPC_OF_HTTP.get(status, "UNKNOWN")])
