"""A workload's ``client:``: the calling app's own policies (AWS SDK retry modes, gRPC
hedging, resilience4j's circuit breaker), in the vocabulary of those libraries.

Apart from :mod:`.schema_workload` because these shapes are read only here.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from meshsim.config import limits
from meshsim.config.fields import Duration, PositiveDuration, choice, number, problem, whole, within
from meshsim.config.schema_types import Strict

Attempts = Annotated[int, within(limits.RETRY_ATTEMPTS, ge=1), whole(limits.RETRY_ATTEMPTS)]
Tokens = Annotated[float, Field(ge=0, le=1e9), number()]
Calls = Annotated[int, Field(ge=1, le=1_000_000), whole()]


class BackoffSpec(Strict):
    base: PositiveDuration = 1.0
    max: PositiveDuration = 20.0
    jitter: Annotated[
        Literal["none", "full", "equal", "decorrelated"],
        choice("none", "full", "equal", "decorrelated"),
    ] = "full"


class RetryQuotaSpec(Strict):
    """Defaults: the AWS SDKs' standard mode."""

    initialTokens: Tokens = 500.0
    retryCost: Tokens = 5.0
    timeoutRetryCost: Tokens = 10.0
    noRetryIncrement: Tokens = 1.0


def _quota_shape(value: Any) -> Any:
    """``retryQuota: standard`` is the AWS SDKs' standard-mode bucket as shipped."""
    if value == "standard":
        return {}
    if isinstance(value, str):
        raise problem(f"expected 'standard' or a mapping, got {value!r}")
    return value


class CircuitBreakerSpec(Strict):
    """resilience4j's count-based ``CircuitBreakerConfig``, with its defaults."""

    failureRateThreshold: Annotated[float, Field(gt=0, le=100), number()] = 50.0
    slidingWindowSize: Calls = 100
    minimumNumberOfCalls: Calls = 100
    waitDurationInOpenState: PositiveDuration = 60.0
    permittedNumberOfCallsInHalfOpenState: Calls = 10


class HedgingSpec(Strict):
    """gRPC's ``hedgingPolicy``: another try after ``hedgingDelay`` while none answered."""

    hedgingDelay: PositiveDuration
    maxAttempts: Attempts = 2


def _limiter_shape(value: Any) -> Any:
    """``rateLimiter: adaptive`` is the AWS SDKs' adaptive mode's limiter as shipped."""
    if value == "adaptive":
        return {}
    if isinstance(value, str):
        raise problem(f"expected 'adaptive' or a mapping, got {value!r}")
    return value


class AdaptiveSpec(Strict):
    """The AWS SDKs' adaptive retry mode's client-side rate limiter (botocore's defaults)."""

    beta: Annotated[float, Field(gt=0, lt=1), number()] = 0.7
    scaleConstant: Annotated[float, Field(gt=0, le=1e6), number()] = 0.4
    minRate: Annotated[float, Field(gt=0, le=1e9), number()] = 0.5


class ClientSpec(Strict):
    maxAttempts: Attempts = 1  # tries per user request, the first included
    perTryTimeout: Duration = 0.0
    timeout: Duration = 0.0  # overall; 0 = the workload's timeout
    backoff: BackoffSpec = BackoffSpec()
    retryQuota: Annotated[RetryQuotaSpec | None, BeforeValidator(_quota_shape)] = None
    circuitBreaker: CircuitBreakerSpec | None = None
    hedging: HedgingSpec | None = None
    rateLimiter: Annotated[AdaptiveSpec | None, BeforeValidator(_limiter_shape)] = None

    @model_validator(mode="after")
    def _hedge_or_retry(self) -> ClientSpec:
        if self.hedging is not None and self.maxAttempts > 1:
            raise problem("hedging and retries exclude each other (gRPC: a method has a "
                          "retryPolicy or a hedgingPolicy)", ["hedging"])
        return self
