"""Linkerd's two retry engines (reference/linkerd.md §1.3, §2, §11.1).

(a) ServiceProfile retries: ``linkerd/app/outbound/src/http/retry.rs`` (``RetryPolicy::retry``,
``prepare_request``) with response classification from ``linkerd/app/core/src/classify.rs``;
budget-only (:class:`.budget.TpsBudget`), no attempt cap, no backoff, only responses retried.

(b) Policy (annotation) retries: ``linkerd/http/retry/src/lib.rs`` (``send_req_with_retries``)
and ``linkerd/app/outbound/src/http/logical/policy/route/retry.rs`` (``is_retryable``,
``retryable_error``, ``set_extensions``); the annotations are parsed by the translator
(:mod:`meshsim.config.linkerd.annotations`). Count limit, exp backoff, no budget; FailFast,
header timeouts and REFUSED_STREAM are retryable errors, LoadShed is not.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from meshsim.model.grpc import grpc_code, http_status
from meshsim.model.linkerd import ResponseClass
from meshsim.sim.linkerd.accrual import GRPC_FAILURE_CODES
from meshsim.sim.linkerd.backoff import RETRY_BACKOFF, BackoffStream, ExponentialBackoff
from meshsim.sim.linkerd.budget import TpsBudget

MAX_BUFFERED_BYTES = 64 * 1024

# -- (a) ServiceProfile ------------------------------------------------------------------------


def classify(
    status: int, response_classes: Sequence[ResponseClass] = (), *, grpc_status: int | None = None
) -> bool:
    """True = failure. First matching class (a ServiceProfile ``responseClasses`` entry)
    decides; else the gRPC default set; else 5xx. A gRPC answer (model/grpc) carries its
    grpc-status in ``status``."""
    if grpc_status is None:
        grpc_status = grpc_code(status)
    for cls in response_classes:
        if cls.matches(http_status(status)):  # classes read ``:status``: 200 for gRPC
            return cls.is_failure
    if grpc_status is not None:
        return grpc_status in GRPC_FAILURE_CODES
    return 500 <= status <= 599


class ProfileRetry:
    """One profile route's retry policy; the budget is shared by all routes of the profile.

    Per attempt result call :meth:`should_retry`: it deposits once when the request ends
    (non-retryable outcome), withdraws per retry, and on an empty budget returns False
    without depositing (``skipped="no_budget"``).
    """

    def __init__(
        self,
        budget: TpsBudget | None,
        *,
        is_retryable: bool = True,
        response_classes: Sequence[ResponseClass] = (),
    ) -> None:
        self.budget = budget
        self.is_retryable = is_retryable
        self.response_classes = tuple(response_classes)
        self.retries = 0
        self.skipped_no_budget = 0

    def applies(self, content_length: int | None = None) -> bool:
        """Whether the request goes through the retry policy at all.

        No policy when the route is not retryable or the profile's budget was rejected; a
        request whose size hint exceeds 64 KiB bypasses it too. Bypassed requests never
        touch the budget.
        """
        if self.budget is None or not self.is_retryable:
            return False
        return content_length is None or content_length <= MAX_BUFFERED_BYTES

    def should_retry(
        self,
        now: float,
        status: int | None,
        *,
        grpc_status: int | None = None,
        body_capped: bool = False,
    ) -> bool:
        """``status=None`` is an error (FailFast, LoadShed, …): never retried, deposits.

        ``body_capped``: the body grew past 64 KiB or was unfinished when the response came.
        """
        assert self.budget is not None, "call applies() first"
        retryable = (
            status is not None
            and classify(status, self.response_classes, grpc_status=grpc_status)
            and not body_capped
        )
        if not retryable:
            self.budget.deposit(now)
            return False
        if not self.budget.withdraw(now):
            self.skipped_no_budget += 1
            return False
        self.retries += 1
        return True


# -- (b) Policy / annotations ------------------------------------------------------------------

ErrorKind = Literal["fail_fast", "load_shed", "response_headers_timeout", "refused_stream", "other"]
RETRYABLE_ERRORS: frozenset[str] = frozenset(
    {"fail_fast", "response_headers_timeout", "refused_stream"}
)

StatusRanges = tuple[tuple[int, int], ...]


def retryable(
    outcome: int | ErrorKind,
    statuses: StatusRanges = (),
    grpc_codes: frozenset[int] | None = None,
    *,
    grpc_status: int | None = None,
) -> bool:
    """``RetryPolicy::is_retryable``: an error kind, or an HTTP status (+ optional gRPC code)."""
    return is_retryable(outcome, statuses, grpc_codes, grpc_status)


def is_retryable(
    outcome: int | ErrorKind, statuses: StatusRanges, grpc_codes: frozenset[int] | None,
    grpc_status: int | None,
) -> bool:
    """:func:`retryable` with positional arguments: a C call from :meth:`PolicyRetry.decide`."""
    if isinstance(outcome, str):
        return outcome in RETRYABLE_ERRORS
    if grpc_codes is not None:
        if grpc_status is None:
            grpc_status = grpc_code(outcome)
        if grpc_status is not None and grpc_status in grpc_codes:
            return True
    for lo, hi in statuses:  # noqa: SIM110 (a loop, not any(): no generator per response)
        if lo <= outcome <= hi:
            return True
    return False


@dataclass(frozen=True)
class PolicyRetryConfig:
    """Effective retry settings of one route (annotations already resolved).

    ``limit`` counts retries (attempts = limit + 1); ``timeout`` is the per-attempt
    response-headers timeout (``retry.linkerd.io/timeout``).
    """

    statuses: StatusRanges = ()
    grpc_codes: frozenset[int] | None = None
    limit: int = 1
    timeout: float | None = None
    backoff: ExponentialBackoff | None = field(default=RETRY_BACKOFF)
    max_request_bytes: int = MAX_BUFFERED_BYTES


@dataclass(frozen=True)
class Decision:
    """After an attempt: ``retry`` after ``delay`` seconds, or return the last result."""

    retry: bool
    delay: float = 0.0
    reason: str = ""


# The answers that are not a retry carry no delay: one instance each (a Decision is frozen).
_NOT_RETRYABLE = Decision(False, reason="not_retryable")
_BODY_CAPPED = Decision(False, reason="body_capped")
_LIMIT_EXCEEDED = Decision(False, reason="limit_exceeded")


class RetryRule:
    """A route's :class:`PolicyRetryConfig` as :class:`PolicyRetry` reads it per attempt.

    The config is a frozen dataclass (each field read a dictionary look-up); the proxy builds
    one rule per route and hands it to each request's :class:`PolicyRetry`, whose reads of it
    are C field reads in the compiled build.
    """

    __slots__ = ("backoff", "grpc_codes", "limit", "statuses", "timeout")

    def __init__(self, config: PolicyRetryConfig) -> None:
        self.statuses = config.statuses
        self.grpc_codes = config.grpc_codes
        self.limit = config.limit
        self.timeout = config.timeout
        self.backoff = config.backoff


class PolicyRetry:
    """``send_req_with_retries`` for one request. Attempts are numbered from 1.

    ``rule`` is ``config`` compiled (:class:`RetryRule`); the proxy passes the one it keeps
    per route.
    """

    def __init__(
        self, config: PolicyRetryConfig, rand: Callable[[], float], rule: RetryRule | None = None
    ) -> None:
        self.config = config
        self.rule = RetryRule(config) if rule is None else rule
        self._rand = rand
        self._stream: BackoffStream | None = None  # from the first retry on: most never retry
        self.attempt = 1
        self.last_reason = ""

    def header_timeout(self, attempt: int | None = None) -> float | None:
        """Retry timeout of an attempt: removed on the final one (``set_extensions``)."""
        n = self.attempt if attempt is None else attempt
        return self.rule.timeout if n <= self.rule.limit else None

    def after_attempt(
        self,
        outcome: int | ErrorKind,
        *,
        grpc_status: int | None = None,
        body_capped: bool = False,
    ) -> Decision:
        """Decide after the current attempt ended with ``outcome``.

        A retry's ``delay`` is the backoff sleep; the engine must then check that the route's
        inner service is ready at once (else return the last result: ``overflow``) and
        call :meth:`begin_retry`.
        """
        return self.decide(outcome, grpc_status, body_capped)

    def decide(
        self, outcome: int | ErrorKind, grpc_status: int | None = None, body_capped: bool = False
    ) -> Decision:
        """:meth:`after_attempt` with positional arguments: a C call from the proxy."""
        rule = self.rule
        if not is_retryable(outcome, rule.statuses, rule.grpc_codes, grpc_status):
            return _NOT_RETRYABLE
        if body_capped:
            return _BODY_CAPPED
        if self.attempt > rule.limit:
            return _LIMIT_EXCEEDED
        delay = 0.0
        if rule.backoff is not None:
            if self._stream is None:
                self._stream = BackoffStream(rule.backoff, self._rand)
            delay = self._stream.next_delay()
        return Decision(True, delay=delay, reason="retry")

    def begin_retry(self) -> int:
        """The next attempt is being sent; returns its number."""
        self.attempt += 1
        return self.attempt
