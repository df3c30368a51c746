"""Linkerd's jittered exponential backoff (``linkerd/exp-backoff/src/lib.rs``).

Used by annotation retries (25 ms → 250 ms, jitter 1.0, reference/linkerd.md §2.2) and by the
consecutive-failures breaker (1 s → 60 s, jitter 0.5, §5). Reproduces the upstream arithmetic
exactly, including its quirk: jitter is computed separately on the whole seconds and on the
sub-second nanoseconds of ``base`` and each part is truncated, so a whole-second base gets
jitter only in whole seconds (a 1 s or 2 s base with ratio 0.5 gets none at all).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

_NS = 1_000_000_000
_U32_MAX = 2**32 - 1


@dataclass(frozen=True)
class ExponentialBackoff:
    """``ExponentialBackoff::try_new`` validation; durations in seconds."""

    min: float
    max: float
    jitter: float

    def __post_init__(self) -> None:
        if self.min > self.max:
            raise ValueError("maximum must not be less than minimum")
        if self.max == 0:
            raise ValueError("maximum must be non-zero")
        if not 0.0 <= self.jitter <= 100.0:
            raise ValueError("jitter must be in [0, 100] and finite")

    def base_ns(self, iterations: int) -> int:
        """``min × 2^iterations`` (u32 saturating power), capped at ``max``."""
        min_ns, max_ns = round(self.min * _NS), round(self.max * _NS)
        factor = 2**iterations if iterations < 32 else _U32_MAX
        return min(min_ns * factor, max_ns)

    def delay(self, iterations: int, rand: Callable[[], float]) -> float:
        """Seconds to sleep before the stream's item number ``iterations`` (0-based).

        ``rand`` returns a uniform float in [0, 1); it is drawn only when jitter > 0.
        """
        base = self.base_ns(iterations)
        if self.jitter == 0.0:
            return base / _NS
        rand_jitter = rand() * self.jitter
        secs = int((base // _NS) * rand_jitter)
        nanos = min(int((base % _NS) * rand_jitter), _U32_MAX)
        jitter = min(secs * _NS + nanos, round(self.max * _NS) - base)
        return (base + jitter) / _NS


class BackoffStream:
    """``ExponentialBackoffStream``: each :meth:`next_delay` is one ``stream.next()`` sleep."""

    def __init__(self, backoff: ExponentialBackoff, rand: Callable[[], float]) -> None:
        self.backoff = backoff
        self._rand = rand
        self.iterations = 0

    def next_delay(self) -> float:
        delay = self.backoff.delay(self.iterations, self._rand)
        self.iterations += 1
        return delay


RETRY_BACKOFF = ExponentialBackoff(0.025, 0.25, 1.0)  # policy-controller wire values (§2.1)
ACCRUAL_BACKOFF = ExponentialBackoff(1.0, 60.0, 0.5)  # failure-accrual annotation defaults (§5.1)
