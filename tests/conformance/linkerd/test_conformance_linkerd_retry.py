"""Linkerd's two retry engines (reference/linkerd.md §1.3, §2, C3–C8).

Sources: linkerd2-proxy linkerd/app/integration/src/tests/profiles.rs (retry_uses_budget,
retry_if_profile_allows, does_not_retry_*, timeout), linkerd/app/outbound/src/http/retry.rs,
linkerd/app/outbound/src/http/logical/tests/retries.rs (http_5xx, http_5xx_limited,
http_timeout, http_timeout_on_limit, http_timeout_with_request_timeout, grpc_internal),
linkerd/http/retry/src/lib.rs, .../policy/route/retry.rs.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from meshsim.config.linkerd.annotations import (
    RETRY_GRPC,
    RETRY_HTTP,
    Dropped,
    annotations_of,
    parse_codes,
    parse_retry,
)
from meshsim.config.manifest.nodes import Diagnostics, Node
from meshsim.config.manifests import classify as manifest
from meshsim.config.yamlsrc import load_stream
from meshsim.model.linkerd import PolicyRetrySpec, ResponseClass, StatusCondition
from meshsim.sim.linkerd import (
    PolicyRetry,
    PolicyRetryConfig,
    ProfileRetry,
    budget_from_profile,
    classify,
    http_status,
    retryable,
)
from meshsim.sim.linkerd.retry import ErrorKind

# -- ServiceProfile driver -----------------------------------------------------------------------


def profile_request(
    policy: ProfileRetry,
    server: Iterator[int],
    now: float = 0.0,
    *,
    content_length: int | None = None,
    body_capped: bool = False,
) -> tuple[int, int]:
    """(final status, attempts) for one request through the profile route."""
    status = next(server)
    attempts = 1
    if not policy.applies(content_length):
        return status, attempts
    while policy.should_retry(now, status, body_capped=body_capped):
        status = next(server)
        attempts += 1
    return status, attempts


def alternating() -> Iterator[int]:
    while True:
        yield 533
        yield 200


def status_class(is_failure: bool, low: int, high: int) -> ResponseClass:
    """A ServiceProfile response class for an inclusive status range."""
    return ResponseClass(StatusCondition(low, high), is_failure)


FAIL_5XX = (status_class(True, 500, 599),)


def test_c3_retry_uses_budget() -> None:
    budget = budget_from_profile(1.0, 1, 0.1)
    assert budget is not None
    assert (budget.withdraw_amount, budget.reserve) == (10, 10)
    policy = ProfileRetry(budget, response_classes=FAIL_5XX)
    server = alternating()
    assert profile_request(policy, server) == (200, 2)  # retried on the reserve
    assert profile_request(policy, server) == (533, 1)  # budget exhausted: raw failure
    assert profile_request(policy, server) == (200, 1)
    assert policy.skipped_no_budget == 1


def test_c3_retry_if_profile_allows_default_classifier() -> None:
    policy = ProfileRetry(budget_from_profile(10.0))
    assert profile_request(policy, alternating()) == (200, 2)


def test_no_attempt_cap_besides_budget() -> None:
    policy = ProfileRetry(budget_from_profile(10.0))  # 100 retries of reserve
    always = iter([503] * 200)
    assert profile_request(policy, always) == (503, 101)
    assert policy.retries == 100 and policy.skipped_no_budget == 1


def test_deposit_once_per_request_only_when_not_retried() -> None:
    budget = budget_from_profile(1.0, 0, 1.0)
    assert budget is not None
    policy = ProfileRetry(budget)
    profile_request(policy, iter([200]))
    assert budget.balance(0.0) == 1
    profile_request(policy, iter([500, 200]))  # withdraw 1, then deposit 1
    assert budget.balance(0.0) == 1
    assert not policy.should_retry(0.0, None)  # an error is never retried, but deposits
    assert budget.balance(0.0) == 2


@pytest.mark.parametrize(
    "case",
    [
        "route_not_retryable",
        "earlier_class_success",
        "body_too_long",
        "streaming_capped",
        "no_budget",
    ],
)
def test_c4_non_retry_conditions(case: str) -> None:
    budget = budget_from_profile(10.0)
    classes: tuple[ResponseClass, ...] = FAIL_5XX
    kwargs: dict[str, object] = {}
    if case == "route_not_retryable":
        policy = ProfileRetry(budget, is_retryable=False)
    elif case == "earlier_class_success":
        classes = (status_class(False, 533, 533), *FAIL_5XX)
        policy = ProfileRetry(budget, response_classes=classes)
    elif case == "no_budget":
        policy = ProfileRetry(budget_from_profile(None))
    else:
        policy = ProfileRetry(budget, response_classes=classes)
        if case == "body_too_long":
            kwargs["content_length"] = 64 * 1024 + 1
        else:
            kwargs["body_capped"] = True  # 3 × 32 KiB streamed
    status, attempts = profile_request(policy, alternating(), **kwargs)  # type: ignore[arg-type]
    assert (status, attempts) == (533, 1)


def test_c4_small_bodies_are_retried() -> None:
    policy = ProfileRetry(budget_from_profile(10.0))
    assert profile_request(policy, alternating(), content_length=64 * 1024) == (200, 2)
    assert profile_request(policy, alternating(), content_length=None) == (200, 2)


def test_c5_invalid_budget_means_no_retry() -> None:
    for ttl, ratio in ((1000.0, 0.2), (10.0, 10000.0), (10.0, -1.0)):
        policy = ProfileRetry(budget_from_profile(ttl, 10, ratio))
        assert profile_request(policy, alternating()) == (533, 1)


def test_c6_profile_timeout_is_504() -> None:
    assert http_status("profile_route_timeout") == 504


def test_classify_defaults_and_grpc() -> None:
    assert classify(500) and classify(599) and not classify(429)
    assert not classify(200, (status_class(True, 500, 599),))
    assert classify(200, grpc_status=14)  # UNAVAILABLE
    assert classify(200, grpc_status=2)  # UNKNOWN is in the code's default set


# -- Policy driver -------------------------------------------------------------------------------


def policy_request(
    cfg: PolicyRetryConfig,
    attempts: list[tuple[float, int]],
    request_timeout: float | None = None,
) -> tuple[int | str, float, int]:
    """(result, end time, attempts sent); each attempt = (latency, status). Instant backoff."""
    pr = PolicyRetry(cfg, rand=lambda: 0.0)
    t, i = 0.0, 0
    while True:
        latency, status = attempts[i]
        i += 1
        header_timeout = pr.header_timeout()
        outcome: int | ErrorKind = status
        end = t + latency
        if header_timeout is not None and header_timeout < latency:
            outcome, end = "response_headers_timeout", t + header_timeout
        if request_timeout is not None and end > request_timeout:
            return "request_timeout", request_timeout, i
        decision = pr.after_attempt(outcome)
        if not decision.retry:
            return outcome, end, i
        t = end + decision.delay
        pr.begin_retry()


def test_c7_http_5xx() -> None:
    cfg = PolicyRetryConfig(statuses=((500, 599),), limit=1, backoff=None)
    assert policy_request(cfg, [(0.0, 500), (0.0, 204)], 2.0)[0] == 204


def test_c7_http_5xx_limited() -> None:
    cfg = PolicyRetryConfig(statuses=((500, 599),), limit=2, backoff=None)
    result, _, sent = policy_request(cfg, [(0.0, 500), (0.0, 500), (0.0, 504), (0.0, 200)], 2.0)
    assert (result, sent) == (504, 3)  # the 4th response is never requested


def test_c7_http_timeout() -> None:
    cfg = PolicyRetryConfig(limit=1, timeout=0.5, backoff=None)
    result, end, sent = policy_request(cfg, [(1.0, 404), (0.0, 204)], 2.0)
    assert (result, end, sent) == (204, 0.5, 2)


def test_c7_http_timeout_on_limit() -> None:
    cfg = PolicyRetryConfig(limit=1, timeout=0.5, backoff=None)
    result, end, _ = policy_request(cfg, [(0.667, 204), (0.667, 204)], 2.0)
    assert result == 204 and end == pytest.approx(1.167)  # final attempt: no header timeout


def test_c7_http_timeout_with_request_timeout() -> None:
    cfg = PolicyRetryConfig(limit=2, timeout=0.1, backoff=None)
    assert policy_request(cfg, [(0.2, 204), (0.2, 204), (0.0, 204)], 0.5)[0] == 204
    result, end, _ = policy_request(cfg, [(0.2, 204), (0.2, 204), (0.5, 204)], 0.5)
    assert (result, end) == ("request_timeout", 0.5)
    assert http_status("stream_timeout") == 504


def test_c7_grpc_internal() -> None:
    internal = frozenset({13})
    cfg = PolicyRetryConfig(grpc_codes=internal, limit=1, backoff=None)
    pr = PolicyRetry(cfg, rand=lambda: 0.0)
    assert pr.after_attempt(200, grpc_status=13).retry
    pr.begin_retry()
    assert not pr.after_attempt(200, grpc_status=0).retry


def test_retryable_errors() -> None:
    assert retryable("fail_fast") and retryable("response_headers_timeout")
    assert retryable("refused_stream")
    assert not retryable("load_shed") and not retryable("other")
    assert not retryable(503)  # no statuses configured: limit/timeout-only config
    assert retryable(502, ((502, 504),))  # gateway-error and not retryable(501, ((502, 504),))


def test_default_limit_and_backoff() -> None:
    cfg = PolicyRetryConfig(statuses=((500, 599),))
    assert cfg.limit == 1
    pr = PolicyRetry(cfg, rand=lambda: 0.5)
    d = pr.after_attempt(500)
    assert d.retry and d.delay == pytest.approx(0.0375)  # 25 ms + 0.5 × 25 ms
    pr.begin_retry()
    assert pr.after_attempt(500).reason == "limit_exceeded"


def test_body_capped_stops_retries() -> None:
    pr = PolicyRetry(PolicyRetryConfig(statuses=((500, 599),)), rand=lambda: 0.0)
    assert pr.after_attempt(500, body_capped=True).reason == "body_capped"


# -- C8 annotation parsing -----------------------------------------------------------------------


def service_annotations(key: str, value: str) -> Node:
    """A Service's annotations as the translator reads them."""
    text = f"apiVersion: v1\nkind: Service\nmetadata:\n  name: api\n  annotations:\n" \
        f"    {key}: {value!r}\n"
    (doc,) = load_stream(text, "linkerd.yaml")
    return annotations_of(Node.root(manifest(doc, doc.data, "linkerd")))  # type: ignore[arg-type]


def test_c8_http_retry_annotation() -> None:
    def codes(value: str) -> tuple[tuple[int, int], ...]:
        return parse_codes(service_annotations(RETRY_HTTP, value)[RETRY_HTTP])

    assert codes("5xx") == ((500, 599),)
    assert codes("gateway-error,429,520-530") == ((502, 504), (429, 429), (520, 530))
    for bad in ("600", "99", "504-502", "5XY", ""):
        with pytest.raises(Dropped):
            codes(bad)
    grpc = service_annotations(RETRY_GRPC, "cancelled,deadline-exceeded,unavailable")
    # CANCELLED 1, DEADLINE_EXCEEDED 4, UNAVAILABLE 14: inherited by the Service's GRPCRoutes.
    assert parse_retry(grpc, Diagnostics(), route=False) == PolicyRetrySpec(
        grpc_codes=frozenset({1, 4, 14}))
    with pytest.raises(Dropped):
        parse_retry(service_annotations(RETRY_GRPC, "not-found"), Diagnostics(), route=False)
