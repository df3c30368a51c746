"""Linkerd's retry, timeout and failure-accrual annotations (linkerd.md §2.1, §5.1).

The policy controller reads them from a Service or an HTTPRoute
(``policy-controller/k8s/index/src/outbound/index.rs`` ``parse_timeouts``, ``parse_accrual_config``;
``index/http.rs`` ``parse_http_retry``). An invalid value is not an admission error: on a
Service the controller logs it and drops that group (retries, timeouts, or failure accrual); on
an HTTPRoute the route fails conversion and is skipped. meshsim does the same and says so in a
``dropped`` warning.
"""

from __future__ import annotations

from dataclasses import dataclass

from meshsim.config.manifest.nodes import Diagnostics, Node
from meshsim.errors import UnitError
from meshsim.model.grpc import GRPC_CODES as GRPC_STATUS
from meshsim.model.linkerd import FailureAccrual, PolicyRetrySpec

from .values import parse_annotation_duration

RETRY_HTTP = "retry.linkerd.io/http"
RETRY_GRPC = "retry.linkerd.io/grpc"
RETRY_LIMIT = "retry.linkerd.io/limit"
RETRY_TIMEOUT = "retry.linkerd.io/timeout"
TIMEOUT_REQUEST = "timeout.linkerd.io/request"
TIMEOUT_RESPONSE = "timeout.linkerd.io/response"
TIMEOUT_IDLE = "timeout.linkerd.io/idle"
ACCRUAL = "balancer.linkerd.io/failure-accrual"
ACCRUAL_MAX_FAILURES = f"{ACCRUAL}-consecutive-max-failures"
ACCRUAL_MIN_PENALTY = f"{ACCRUAL}-consecutive-min-penalty"
ACCRUAL_MAX_PENALTY = f"{ACCRUAL}-consecutive-max-penalty"
ACCRUAL_JITTER = f"{ACCRUAL}-consecutive-jitter-ratio"
RETRY_KEYS = (RETRY_HTTP, RETRY_GRPC, RETRY_LIMIT, RETRY_TIMEOUT)
TIMEOUT_KEYS = (TIMEOUT_REQUEST, TIMEOUT_RESPONSE, TIMEOUT_IDLE)
ACCRUAL_KEYS = (ACCRUAL, ACCRUAL_MAX_FAILURES, ACCRUAL_MIN_PENALTY, ACCRUAL_MAX_PENALTY,
                ACCRUAL_JITTER)
GRPC_CODES = ("cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable")
UNMODELLED = {
    "balancer.alpha.linkerd.io/penalize-failures": "the 2.20 load biaser is not modelled",
    "config.linkerd.io/opaque-ports": "opaque ports are not modelled: meshsim simulates HTTP",
    "config.linkerd.io/proxy-await": "proxy start-up ordering is not modelled",
    "mirror.linkerd.io/exported": "multicluster mirroring is not modelled",
    "mirror.linkerd.io/federated": "multicluster federation is not modelled",
}


class Dropped(Exception):
    """An annotation value Linkerd's controller would reject; ``node`` is the annotation."""

    def __init__(self, node: Node, message: str) -> None:
        super().__init__(message)
        self.node = node
        self.message = message


@dataclass(frozen=True)
class Timeouts:
    """The timeout group: request (whole request) and response (per attempt); 0 = none."""

    request: float = 0.0
    response: float = 0.0
    idle: float = 0.0

    @property
    def empty(self) -> bool:
        return self == Timeouts()


def annotations_of(root: Node) -> Node:
    return root["metadata"]["annotations"]


def _text(node: Node) -> str:
    return node.string().strip()


def _duration(node: Node) -> float:
    try:
        return parse_annotation_duration(_text(node))
    except UnitError as exc:
        raise Dropped(node, str(exc)) from None


def parse_codes(node: Node) -> tuple[tuple[int, int], ...]:
    """``retry.linkerd.io/http``: ``5xx``, ``gateway-error``, ``NNN`` or ``NNN-MMM``, listed."""
    out: list[tuple[int, int]] = []
    for raw in _text(node).split(","):
        part = raw.strip()
        if part == "5xx":
            out.append((500, 599))
        elif part == "gateway-error":
            out.append((502, 504))
        else:
            low_text, dash, high_text = part.partition("-")
            try:
                low = int(low_text)
                high = int(high_text) if dash else low
            except ValueError:
                raise Dropped(node, f"{part!r} is not 5xx, gateway-error, a status code or a "
                              "range like 500-504") from None
            if not (100 <= low <= 599 and 100 <= high <= 599):
                raise Dropped(node, f"status codes must be between 100 and 599, got {part!r}")
            if low > high:
                raise Dropped(node, f"range {part!r} starts after it ends")
            out.append((low, high))
    return tuple(out)


def parse_retry(meta: Node, diagnostics: Diagnostics, *, route: bool,
                grpc_route: bool = False) -> PolicyRetrySpec | None:
    """The retry group, or None when absent. Raises :class:`Dropped` for an invalid value.

    ``retry.linkerd.io/grpc`` is read on a GRPCRoute and on a Service (inherited by its
    GRPCRoutes); ``retry.linkerd.io/http`` on an HTTPRoute and a Service (``parse_grpc_retry``
    and ``parse_http_retry`` of the policy controller)."""
    present = [k for k in RETRY_KEYS if meta.has(k)]
    if not present:
        return None
    grpc_codes = None
    if meta.has(RETRY_GRPC):
        node = meta[RETRY_GRPC]
        if route and not grpc_route:
            diagnostics.warn(node, f"{RETRY_GRPC} has no effect on an HTTPRoute (Linkerd reads it "
                             "on GRPCRoutes only)", code="no-effect")
        else:
            grpc_codes = parse_grpc_codes(node)
    codes: tuple[tuple[int, int], ...] = ()
    if meta.has(RETRY_HTTP):
        if grpc_route:
            diagnostics.warn(meta[RETRY_HTTP], f"{RETRY_HTTP} has no effect on a GRPCRoute "
                             f"(Linkerd reads {RETRY_GRPC} there)", code="no-effect")
        else:
            codes = parse_codes(meta[RETRY_HTTP])
    limit = 1
    if meta.has(RETRY_LIMIT):
        text = _text(meta[RETRY_LIMIT])
        if not text.isdigit() or int(text) > 2**32 - 1:
            raise Dropped(meta[RETRY_LIMIT], f"{text!r} is not a whole number of retries")
        limit = int(text) or 1  # 0 counts as unset
    timeout = _duration(meta[RETRY_TIMEOUT]) if meta.has(RETRY_TIMEOUT) else 0.0
    return PolicyRetrySpec(codes=codes, grpc_codes=grpc_codes, limit=limit, timeout=timeout)


def parse_grpc_codes(node: Node) -> frozenset[int]:
    """``retry.linkerd.io/grpc``: a list of cancelled, deadline-exceeded, internal,
    resource-exhausted, unavailable."""
    out = set()
    for code in (c.strip() for c in _text(node).split(",")):
        if code not in GRPC_CODES:
            raise Dropped(node, f"unknown gRPC code {code!r} (expected "
                          f"{', '.join(GRPC_CODES)})")
        out.add(GRPC_STATUS[code.upper().replace("-", "_")])
    return frozenset(out)


def parse_timeouts(meta: Node, diagnostics: Diagnostics) -> Timeouts:
    """The timeout group; raises :class:`Dropped` for an invalid duration."""
    request = _duration(meta[TIMEOUT_REQUEST]) if meta.has(TIMEOUT_REQUEST) else 0.0
    response = _duration(meta[TIMEOUT_RESPONSE]) if meta.has(TIMEOUT_RESPONSE) else 0.0
    idle = _duration(meta[TIMEOUT_IDLE]) if meta.has(TIMEOUT_IDLE) else 0.0
    if idle:
        diagnostics.warn(meta[TIMEOUT_IDLE], f"{TIMEOUT_IDLE} is not modelled: simulated "
                         "responses stream without idle gaps")
    return Timeouts(request, response, idle)


def parse_accrual(meta: Node, diagnostics: Diagnostics) -> FailureAccrual | None:
    """``balancer.linkerd.io/failure-accrual`` and its parameters; :class:`Dropped` if invalid."""
    if not meta.has(ACCRUAL):
        for key in ACCRUAL_KEYS[1:]:
            if meta.has(key):
                diagnostics.warn(meta[key], f"{key} has no effect without {ACCRUAL}: "
                                 "consecutive", code="no-effect")
        return None
    mode = _text(meta[ACCRUAL])
    if mode not in ("consecutive", "unified"):
        raise Dropped(meta[ACCRUAL], f"unknown failure accrual mode {mode!r} (expected "
                      "consecutive)")
    if mode == "unified":
        diagnostics.warn(meta[ACCRUAL], "unified failure accrual (2.20+) is modelled by its "
                         "consecutive-failures half only: the success-rate window is not "
                         "modelled", code="approximated")
    max_failures = 7
    if meta.has(ACCRUAL_MAX_FAILURES):
        text = _text(meta[ACCRUAL_MAX_FAILURES])
        if not text.isdigit() or int(text) > 2**32 - 1:
            raise Dropped(meta[ACCRUAL_MAX_FAILURES], f"{text!r} is not a whole number")
        max_failures = int(text)
    min_penalty = _duration(meta[ACCRUAL_MIN_PENALTY]) if meta.has(ACCRUAL_MIN_PENALTY) else 1.0
    max_penalty = _duration(meta[ACCRUAL_MAX_PENALTY]) if meta.has(ACCRUAL_MAX_PENALTY) else 60.0
    if max_penalty <= 0:
        raise Dropped(meta[ACCRUAL_MAX_PENALTY], "the maximum penalty must be more than 0")
    if min_penalty > max_penalty:
        node = meta[ACCRUAL_MIN_PENALTY] if meta.has(ACCRUAL_MIN_PENALTY) else meta[
            ACCRUAL_MAX_PENALTY]
        raise Dropped(node, f"the minimum penalty ({min_penalty:g}s) exceeds the maximum "
                      f"({max_penalty:g}s)")
    jitter = 0.5
    if meta.has(ACCRUAL_JITTER):
        text = _text(meta[ACCRUAL_JITTER])
        try:
            jitter = float(text)
        except ValueError:
            raise Dropped(meta[ACCRUAL_JITTER], f"{text!r} is not a number") from None
        if not 0.0 <= jitter <= 100.0:
            raise Dropped(meta[ACCRUAL_JITTER], f"the jitter ratio must be between 0 and 100, "
                          f"got {text}")
    return FailureAccrual(max_failures, min_penalty, max_penalty, jitter)


def warn_other(meta: Node, diagnostics: Diagnostics, read: tuple[str, ...]) -> None:
    """Warn for Linkerd annotations meshsim does not read; non-Linkerd keys are not mesh config."""
    for key, node in meta.entries():
        if key in read:
            continue
        if key in UNMODELLED:
            diagnostics.warn(node, f"{key} is not modelled: {UNMODELLED[key]}")
        elif "linkerd.io/" in key:
            diagnostics.warn(node, f"{key} is not modelled by meshsim")


def drop(diagnostics: Diagnostics, exc: Dropped, what: str) -> None:
    diagnostics.warn(exc.node, f"invalid {exc.node.name}: {exc.message}; Linkerd's controller "
                     f"rejects it and drops {what}", code="dropped")
