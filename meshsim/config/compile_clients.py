"""A workload's ``client:`` spec to the model's :class:`~meshsim.model.ClientPolicy`."""

from __future__ import annotations

from meshsim.config.schema_clients import ClientSpec
from meshsim.model import AdaptiveRate, Backoff, ClientBreaker, ClientPolicy, Hedging, RetryQuota


def client_policy(spec: ClientSpec) -> ClientPolicy:
    quota = spec.retryQuota
    breaker = spec.circuitBreaker
    hedging = spec.hedging
    return ClientPolicy(
        attempts=spec.maxAttempts,
        per_try_timeout=spec.perTryTimeout,
        timeout=spec.timeout,
        backoff=Backoff(spec.backoff.base, spec.backoff.max, spec.backoff.jitter),
        quota=None if quota is None else RetryQuota(
            quota.initialTokens, quota.retryCost, quota.timeoutRetryCost, quota.noRetryIncrement,
        ),
        breaker=None if breaker is None else ClientBreaker(
            breaker.failureRateThreshold, breaker.slidingWindowSize,
            breaker.minimumNumberOfCalls, breaker.waitDurationInOpenState,
            breaker.permittedNumberOfCallsInHalfOpenState,
        ),
        hedging=None if hedging is None else Hedging(hedging.hedgingDelay, hedging.maxAttempts),
        rate_limiter=None if spec.rateLimiter is None else AdaptiveRate(
            spec.rateLimiter.beta, spec.rateLimiter.scaleConstant, spec.rateLimiter.minRate,
        ),
    )
