"""Error → status seen by the client app (reference/linkerd.md §2.3).

Sources: ``linkerd/app/outbound/src/http/server.rs`` (ServerRescue) and
``linkerd/app/core/src/errors/respond.rs`` in linkerd/linkerd2-proxy.
"""

from __future__ import annotations

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
