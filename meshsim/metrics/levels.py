"""Time-weighted levels (in flight, queue depth, ejected hosts) bucketed per second.

A level is integrated over time, not sampled, so a per-second value is its exact mean over
that second; per-event tallies (completions, retries) live in the tables instead.
"""

from __future__ import annotations

import math

import numpy as np


class Level:
    """One integer quantity that changes at discrete instants.

    The hot path only adds to the running area of the current bucket; crossing a bucket edge
    (rare compared with changes) takes the slow path.
    """

    __slots__ = ("_acc", "_area", "_bucket", "_edge", "_last", "value")

    def __init__(self, bucket: float = 1.0) -> None:
        self.value = 0
        self._last = 0.0
        self._bucket = bucket
        self._edge = bucket  # end of the current bucket
        self._acc = 0.0  # area accumulated in the current bucket
        self._area: list[float] = []  # closed buckets

    def change(self, now: float, delta: int) -> None:
        if now < self._edge:
            self._acc += self.value * (now - self._last)
        else:
            self._roll(now)
        self._last = now
        self.value += delta

    def _roll(self, now: float) -> None:
        """Close every bucket that ends at or before ``now``."""
        bucket = self._bucket
        area = self._area
        area.append(self._acc + self.value * (self._edge - self._last))
        last = int(now / bucket)
        full = self.value * bucket
        while len(area) < last:
            area.append(full)
        self._edge = (last + 1) * bucket
        self._acc = self.value * (now - last * bucket)

    def means(self, end: float) -> np.ndarray:
        """Mean level in each bucket from 0 to ``end``; a partial last bucket is averaged over
        the part that was simulated."""
        n = max(1, math.ceil(end / self._bucket - 1e-9))
        if end >= self._edge:
            self._roll(end)
        else:
            self._acc += self.value * (end - self._last)
        self._last = end
        area = np.zeros(n)
        closed = self._area[:n]
        area[: len(closed)] = closed
        if len(closed) < n:
            area[len(closed)] = self._acc
        widths = np.full(n, self._bucket)
        widths[-1] = end - (n - 1) * self._bucket
        return area / widths
