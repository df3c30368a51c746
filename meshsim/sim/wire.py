"""The latency matrix on the wire: how much longer than ``network.latency`` one way takes from
one caller to each pod (cross zone, cross region, through the east-west gateway's hop).

Given to a proxy only when the scenario has a topology; the proxy stamps the extra on each
attempt (``Attempt.wire``) so the pod's reply takes the same path back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from meshsim.sim.kernel import call_later

if TYPE_CHECKING:
    from meshsim.model.geography import LatencyMatrix, Place
    from meshsim.sim.kernel import Wake
    from meshsim.sim.messages import Attempt


Cuts = dict[frozenset[str], bool]  # cluster pair → blackholed (else refused), while cut


class Wire:
    """One caller's extra one-way latency to each pod, cached per pod, and the link faults
    between clusters (``cuts``, shared by every caller of the run)."""

    __slots__ = ("base", "cuts", "extras", "matrix", "place")

    def __init__(self, place: Place, matrix: LatencyMatrix, base: float,
                 cuts: Cuts | None = None) -> None:
        self.place = place
        self.matrix = matrix
        self.base = base
        self.extras: dict[object, float] = {}
        self.cuts: Cuts = cuts if cuts is not None else {}

    def cut(self, att: Attempt, delay: float) -> bool:
        """The attempt crosses a cut link: it fails (503 UF) after one round trip when the
        link refuses, after the caller's connect timeout when it is blackholed."""
        where = getattr(att.pod, "place", None)
        if where is None or where.cluster == self.place.cluster:
            return False
        blackholed = self.cuts.get(frozenset((self.place.cluster, where.cluster)))
        if blackholed is None:
            return False
        proxy = att.call.proxy
        wait = proxy.connect_timeout(att) if blackholed else 2 * delay
        att.status, att.flags = 503, "UF"
        call_later(proxy.env, wait, _refused, att)
        return True

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


def _refused(ev: Wake) -> None:
    att: Attempt = ev.value
    att.call.proxy.response(att)
