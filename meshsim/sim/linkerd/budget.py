"""tower's ``TpsBudget``: the retry budget behind ServiceProfile retries.

Follows ``tower/src/retry/budget/tps_budget.rs`` (tower-rs/tower) and reference/linkerd.md
§1.1–§1.2. Time is kept in integer nanoseconds like ``tokio::time::Instant``, so window
arithmetic is exact; the token amounts are truncated from ``f32`` like the Rust ``as isize``.
The proxy-side validation is ``convert_retry_budget`` in
``linkerd/service-profiles/src/proto.rs`` (linkerd/linkerd2-proxy).
"""

from __future__ import annotations

import numpy as np

_NS = 1_000_000_000
_ISIZE_MAX = 2**63 - 1
_ISIZE_MIN = -(2**63)
_I32_MAX = 2**31 - 1
_SLOTS = 10

DEFAULT_TTL = 10.0
DEFAULT_MIN_RETRIES_PER_SECOND = 10
DEFAULT_RETRY_RATIO = 0.2


def _ns(seconds: float) -> int:
    return round(seconds * _NS)


def _sat(value: int) -> int:
    return max(_ISIZE_MIN, min(_ISIZE_MAX, value))


def token_amounts(retry_percent: float) -> tuple[int, int]:
    """``(deposit_amount, withdraw_amount)`` with the f32 division truncated toward zero."""
    pct = np.float32(retry_percent)
    if pct == np.float32(0.0):
        return 0, 1
    if pct <= np.float32(1.0):
        return 1, int(np.float32(1.0) / pct)
    return 1000, int(np.float32(1000.0) / pct)


class TpsBudget:
    """Ten-slot sliding token bucket; ``now`` is in seconds, the generation starts at ``now``."""

    def __init__(
        self, ttl: float, min_per_sec: int, retry_percent: float, *, now: float = 0.0
    ) -> None:
        ttl_ns = _ns(ttl)
        assert ttl_ns >= _NS, "ttl must be at least 1 s"
        assert ttl_ns <= 60 * _NS, "ttl must be at most 60 s"
        assert np.float32(retry_percent) >= 0.0, "retry_percent must be >= 0"
        assert np.float32(retry_percent) <= 1000.0, "retry_percent must be <= 1000"
        assert 0 <= min_per_sec < _I32_MAX, "min_per_sec must be < i32::MAX"
        self.deposit_amount, self.withdraw_amount = token_amounts(retry_percent)
        self.reserve = _sat(_sat(min_per_sec * (ttl_ns // _NS)) * self.withdraw_amount)
        self.window_ns = ttl_ns // _SLOTS  # Duration / u32 truncates to whole nanoseconds
        self.slots = [0] * _SLOTS
        self.writer = 0
        self.gen_index = 0
        self.gen_time_ns = _ns(now)

    def _expire(self, now_ns: int) -> None:
        diff = max(0, now_ns - self.gen_time_ns)
        if diff < self.window_ns:
            return
        self.slots[self.gen_index] = self.writer
        self.writer = 0
        idx = (self.gen_index + 1) % _SLOTS
        while diff > self.window_ns:
            self.slots[idx] = 0
            diff -= self.window_ns
            idx = (idx + 1) % _SLOTS
        self.gen_index = idx
        self.gen_time_ns = now_ns  # windows restart here: they are not aligned to a grid

    def _sum(self) -> int:
        windowed = 0
        for slot in self.slots:
            windowed = _sat(windowed + slot)
        return _sat(_sat(self.writer + windowed) + self.reserve)

    def balance(self, now: float) -> int:
        """Tokens available at ``now`` (runs ``expire`` first, as every operation does)."""
        self._expire(_ns(now))
        return self._sum()

    def deposit(self, now: float) -> None:
        self._expire(_ns(now))
        self.writer += self.deposit_amount

    def withdraw(self, now: float) -> bool:
        self._expire(_ns(now))
        if self._sum() >= self.withdraw_amount:
            self.writer -= self.withdraw_amount
            return True
        return False


def budget_from_profile(
    ttl: float | None,
    min_retries_per_second: int = DEFAULT_MIN_RETRIES_PER_SECOND,
    retry_ratio: float = DEFAULT_RETRY_RATIO,
    *,
    now: float = 0.0,
) -> TpsBudget | None:
    """The proxy's ``convert_retry_budget``: ``None`` means it rejected the budget (no retries).

    Rejects min > i32::MAX, ratio outside [0, 1000] (compared as f32, NaN included) and a ttl
    missing, negative or outside [1 s, 60 s]. ``min == i32::MAX`` passes the proxy's check but
    trips tower's assertion (a panic upstream); it is rejected here too.
    """
    if not 0 <= min_retries_per_second < _I32_MAX:
        return None
    ratio = np.float32(retry_ratio)
    if not (ratio >= 0.0 and ratio <= 1000.0):
        return None
    if ttl is None or ttl < 0 or not _NS <= _ns(ttl) <= 60 * _NS:
        return None
    return TpsBudget(ttl, min_retries_per_second, float(ratio), now=now)
