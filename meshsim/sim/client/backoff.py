"""Exponential back-off with the AWS architecture blog's jitters ("Exponential Backoff And
Jitter", Marc Brooker, 2015).

With ``ceiling = min(cap, base * 2 ** (retry - 1))`` for retry 1, 2, …:

- ``none``: ``ceiling``;
- ``full``: ``U(0, ceiling)`` (the AWS SDKs' standard mode, with base 1 s and cap 20 s);
- ``equal``: ``ceiling / 2 + U(0, ceiling / 2)``;
- ``decorrelated``: ``min(cap, U(base, 3 * previous))``, ``previous`` starting at ``base``.

A pure function of its draws (``u`` uniform in [0, 1)), so its distribution is testable.
"""

from __future__ import annotations

import math

from meshsim.model.clients import Backoff

_MAX_EXPONENT = 60  # 2**60 s is past any cap; keeps the power finite for any retry count


def sleep(policy: Backoff, retry: int, previous: float, u: float) -> float:
    """Seconds to wait before retry number ``retry`` (1 for the first retry)."""
    if policy.jitter == "decorrelated":
        low = policy.base
        high = 3.0 * max(previous, low)
        return min(policy.cap, low + u * (high - low))
    ceiling = min(policy.cap, math.ldexp(policy.base, min(retry - 1, _MAX_EXPONENT)))
    if policy.jitter == "full":
        return u * ceiling
    if policy.jitter == "equal":
        return ceiling / 2.0 + u * ceiling / 2.0
    return ceiling
