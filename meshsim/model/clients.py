"""Clients as they really are: closed-loop users and the calling app's own policies.

A closed loop is a fixed population (fortio/hey/wrk connections, k6 VUs, users) each waiting
for its answer, then thinking, before the next request. A client policy is what the app's
HTTP/gRPC library does around one user request: per-try and overall timeouts, retries with
exponential back-off and jitter, a retry quota (the AWS SDKs' standard mode), a circuit
breaker (resilience4j's count-based window) and hedging.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from meshsim.model.distributions import Constant, Distribution

Jitter = Literal["none", "full", "equal", "decorrelated"]


@dataclass(frozen=True)
class ClosedLoop:
    """``users`` each send, wait for the answer, think, and send again."""

    users: int
    think: Distribution = field(default_factory=lambda: Constant(0.0))
    qps: float = 0.0  # total pacing over all users (fortio -qps); 0 = as fast as answers come
    requests: int = 0  # total requests (fortio -n), split over the users; 0 = no limit
    duration: float = 0.0  # stop starting requests after this long (fortio -t); 0 = the run


@dataclass(frozen=True)
class Backoff:
    """Sleep before retry n (n = 1, 2, …): ``min(cap, base·2^(n-1))`` with the AWS
    architecture blog's jitters (``decorrelated``: ``min(cap, U(base, 3·previous))``)."""

    base: float = 1.0
    cap: float = 20.0
    jitter: Jitter = "full"


@dataclass(frozen=True)
class RetryQuota:
    """The AWS SDKs' standard-mode retry quota: a retry takes tokens, a success gives back."""

    initial: float = 500.0
    retry_cost: float = 5.0
    timeout_cost: float = 10.0
    success_refund: float = 1.0  # when the request needed no retry (else its tokens return)


@dataclass(frozen=True)
class ClientBreaker:
    """resilience4j ``CircuitBreaker``, count-based sliding window."""

    failure_rate: float = 50.0  # per cent, failureRateThreshold
    window: int = 100  # slidingWindowSize
    minimum_calls: int = 100  # minimumNumberOfCalls
    open_wait: float = 60.0  # waitDurationInOpenState, seconds
    half_open_calls: int = 10  # permittedNumberOfCallsInHalfOpenState


@dataclass(frozen=True)
class Hedging:
    """Send another try after ``delay`` while none has answered, up to ``max_attempts``."""

    delay: float
    max_attempts: int = 2


@dataclass(frozen=True)
class AdaptiveRate:
    """The AWS SDKs' adaptive mode's client-side rate limiter (botocore's constants)."""

    beta: float = 0.7  # CubicCalculator: the rate is cut to beta x the rate that throttled
    scale: float = 0.4  # CubicCalculator's scale constant
    min_rate: float = 0.5  # TokenBucket: tokens per second at the least
    smoothing: float = 0.8  # RateClocker
    bucket: float = 0.5  # RateClocker: seconds per measuring bucket


@dataclass(frozen=True)
class ClientPolicy:
    attempts: int = 1  # tries per user request, the first included
    per_try_timeout: float = 0.0  # 0 = a try waits as long as the overall timeout
    timeout: float = 0.0  # overall, over all tries and back-off; 0 = the workload's timeout
    backoff: Backoff = field(default_factory=Backoff)
    quota: RetryQuota | None = None
    breaker: ClientBreaker | None = None
    hedging: Hedging | None = None
    rate_limiter: AdaptiveRate | None = None  # AWS adaptive mode: limits tries after a 429
