"""A rate schedule with linear ramps: the arrival rate as a piecewise-linear curve.

Arrivals of a non-homogeneous Poisson process come by inversion: from ``t``, the next one is
where the integrated rate has grown by an Exp(1) draw (by 1 for constant arrivals). Within a
segment whose rate is ``r + k·s`` at ``s`` seconds past ``t``, that is the root of
``r·s + k·s²/2 = need``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from meshsim.model import RateStep

INF = math.inf


class RateCurve:
    """Segments ``(start, end, rate at start, slope)`` covering [0, ∞)."""

    def __init__(self, steps: Sequence[RateStep]) -> None:
        self.segments: list[tuple[float, float, float, float]] = []
        points = list(steps)
        if points and points[0].at > 0:
            first = points[0]  # a ramp climbs from 0 at time 0; a step waits at rate 0
            self._add(0.0, first.at, 0.0, first.rate if first.ramp else 0.0)
        for index, step in enumerate(points):
            end = points[index + 1].at if index + 1 < len(points) else INF
            following = points[index + 1] if index + 1 < len(points) else None
            if following is not None and following.ramp:
                self._add(step.at, end, step.rate, following.rate)
            else:
                self._add(step.at, end, step.rate, step.rate)

    def _add(self, start: float, end: float, rate_start: float, rate_end: float) -> None:
        slope = 0.0 if end == INF else (rate_end - rate_start) / (end - start)
        self.segments.append((start, end, rate_start, slope))

    def rate(self, t: float) -> float:
        for start, end, r0, slope in self.segments:
            if start <= t < end:
                return r0 + slope * (t - start)
        return 0.0

    def next_arrival(self, t: float, need: float) -> float:
        """The time after ``t`` at which the integrated rate has grown by ``need``."""
        for start, end, r0, slope in self.segments:
            if end <= t:
                continue
            here = max(t, start)
            rate = r0 + slope * (here - start)
            span = end - here
            if span < INF:
                gained = rate * span + slope * span * span / 2.0
            else:
                gained = INF if rate > 0 else 0.0
            if gained >= need:
                return here + _root(rate, slope, need)
            need -= gained
        return INF


def _root(rate: float, slope: float, need: float) -> float:
    """Smallest s > 0 with ``rate·s + slope·s²/2 = need`` (known to exist in the segment)."""
    return 2.0 * need / (rate + math.sqrt(max(rate * rate + 2.0 * slope * need, 0.0)))
