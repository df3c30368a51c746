"""The latency matrix on the wire: how much longer than ``network.latency`` one way takes from
one caller to each pod (cross zone, cross region, through the east-west gateway's hop).

Given to a proxy only when the scenario has a topology; the proxy stamps the extra on each
attempt (``Attempt.wire``) so the pod's reply takes the same path back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from meshsim.model.geography import LatencyMatrix, Place


class Wire:
    """One caller's extra one-way latency to each pod, cached per pod."""

    __slots__ = ("base", "extras", "matrix", "place")

    def __init__(self, place: Place, matrix: LatencyMatrix, base: float) -> None:
        self.place = place
        self.matrix = matrix
        self.base = base
        self.extras: dict[object, float] = {}

    def extra(self, pod: object) -> float:
        cached = self.extras.get(pod)
        if cached is not None:
            return cached
        where = getattr(pod, "place", None)
        value = 0.0
        if where is not None:
            value = self.matrix.one_way(self.base, self.place, where) - self.base
        self.extras[pod] = value
        return value
