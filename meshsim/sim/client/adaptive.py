"""The AWS SDKs' adaptive retry mode's client-side rate limiter, as a pure state machine.

botocore's ``retries/adaptive.py`` (``ClientRateLimiter``, ``RateClocker``),
``retries/throttling.py`` (``CubicCalculator``) and ``retries/bucket.py`` (``TokenBucket``):
every answer updates a smoothed measure of the sending rate; a throttling answer (HTTP 429
here) turns the limiter on and cuts the allowed rate CUBIC-style (x beta, remembering the
rate it failed at), other answers let it grow back along the cubic curve. While on, every
try first takes a token from a bucket filled at the allowed rate (at least 0.5/s), waiting
when there is none. Blocked tries go in turn (botocore's threads waiting on the bucket's
condition, woken when a token is due or the rate changes).
"""

from __future__ import annotations

import math

from meshsim.model.clients import AdaptiveRate

EPSILON = 1e-9  # tokens: what float rounding of (1 - tokens) / rate may leave short


class Cubic:
    """botocore ``CubicCalculator``: the rate after a success or a throttle at ``now``."""

    def __init__(self, spec: AdaptiveRate, start: float) -> None:
        self.scale = spec.scale
        self.beta = spec.beta
        self.w_max = 0.0  # botocore starts at starting_max_rate=0
        self.k = self._zero_point()
        self.last_fail = start

    def _zero_point(self) -> float:
        return (self.w_max * (1 - self.beta) / self.scale) ** (1 / 3)

    def success(self, now: float) -> float:
        return self.scale * (now - self.last_fail - self.k) ** 3 + self.w_max

    def throttled(self, rate: float, now: float) -> float:
        self.w_max = rate
        self.k = self._zero_point()
        self.last_fail = now
        return rate * self.beta


class RateClock:
    """botocore ``RateClocker``: answers counted per half-second bucket, smoothed."""

    def __init__(self, spec: AdaptiveRate, start: float) -> None:
        self.smoothing = spec.smoothing
        self.scale = 1 / spec.bucket
        self.rate = 0.0
        self.last_bucket = float(math.floor(start))
        self.count = 0

    def record(self, now: float) -> float:
        bucket = math.floor(now * self.scale) / self.scale
        self.count += 1
        if bucket > self.last_bucket:
            current = self.count / (bucket - self.last_bucket)
            self.rate = current * self.smoothing + self.rate * (1 - self.smoothing)
            self.count = 0
            self.last_bucket = bucket
        return self.rate


class TokenBucket:
    """botocore ``TokenBucket``: filled at ``rate`` (at least ``min_rate``) up to
    max(1, rate) tokens; a try takes one."""

    def __init__(self, spec: AdaptiveRate, start: float) -> None:
        self.min_rate = spec.min_rate
        self.fill = spec.min_rate
        self.capacity = 1.0
        self.tokens = 0.0
        self.last = start
        self.rate = 1.0  # what the limiter last set (botocore: max_rate=1 to start)
        self.set_rate(1.0, start)

    def _refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.fill)
        self.last = now

    def set_rate(self, rate: float, now: float) -> None:
        self._refill(now)
        self.rate = rate
        self.fill = max(rate, self.min_rate)
        self.capacity = rate if rate >= 1 else 1.0
        self.tokens = min(self.tokens, self.capacity)

    def take(self, now: float) -> bool:
        """Take a token if one is there."""
        self._refill(now)
        if self.tokens >= 1.0 - EPSILON:  # a wake-up at the computed time finds its token
            self.tokens = max(0.0, self.tokens - 1.0)
            return True
        return False

    def wait(self, now: float) -> float:
        """Seconds until a token is there at the current fill rate."""
        self._refill(now)
        return max(0.0, (1.0 - self.tokens) / self.fill)


class RateLimiter:
    """botocore ``ClientRateLimiter``: off until the first throttling answer."""

    MAX_SCALE = 2.0  # the allowed rate never exceeds twice the measured one

    def __init__(self, spec: AdaptiveRate, start: float) -> None:
        self.cubic = Cubic(spec, start)
        self.clock = RateClock(spec, start)
        self.bucket = TokenBucket(spec, start)
        self.enabled = False

    def admit(self, now: float) -> bool:
        """Whether a try may go out now (off: always; on: when it gets a token)."""
        return not self.enabled or self.bucket.take(now)

    def answered(self, now: float, throttled: bool) -> None:
        measured = self.clock.record(now)
        if not throttled:
            rate = self.cubic.success(now)
        else:
            used = measured if not self.enabled else min(measured, self.bucket.rate)
            rate = self.cubic.throttled(used, now)
            self.enabled = True
        self.bucket.set_rate(min(rate, self.MAX_SCALE * measured), now)
