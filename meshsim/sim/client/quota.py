"""The AWS SDKs' standard-mode retry quota (a token bucket shared by a client's requests).

Constants as the SDKs define them (``@smithy/util-retry`` ``constants.ts``, botocore
``retries/quota.py`` and ``retries/standard.py``, the Swift SDK's ``RetryQuota``):
500 tokens to start (and at most), a retry costs 5, a retry after a timeout 10; a request
that succeeds without retrying gives back 1, one that succeeds after retries gives back
what its last retry took. A retry that finds too few tokens is not made.
"""

from __future__ import annotations

from meshsim.model.clients import RetryQuota


class RetryTokens:
    """One client's bucket."""

    __slots__ = ("available", "capacity", "quota", "refused")

    def __init__(self, quota: RetryQuota) -> None:
        self.quota = quota
        self.capacity = quota.initial
        self.available = quota.initial
        self.refused = 0  # retries not made for want of tokens

    def acquire(self, timeout: bool) -> float:
        """Take a retry's cost; 0 (nothing taken, no retry) when the bucket is short."""
        cost = self.quota.timeout_cost if timeout else self.quota.retry_cost
        if cost > self.available:
            self.refused += 1
            return 0.0
        self.available -= cost
        return cost

    def release(self, last_cost: float) -> None:
        """A success: give back the last retry's cost, or the refund when there was none."""
        amount = last_cost if last_cost > 0 else self.quota.success_refund
        self.available = min(self.capacity, self.available + amount)
