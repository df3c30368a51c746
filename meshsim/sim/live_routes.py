"""Live route weights: the routes a rollout controller owns, re-weighted while traffic flows.

A controller holds one :class:`LiveWeights` per rollout and sets ``canary`` (percent) and
``mirror``. Each client proxy, when it first builds its route table for a host, replaces the
owned routes (``TrafficTarget.routes`` / ``mirror_routes``) by :class:`LiveRoute` copies that
point at that shared state, so a weight change reaches every proxy at once and untouched
routes pay only a class check. A request picks its backend once, on arrival, so in-flight
requests finish where they started. Until the controller sets a weight the route's own
(translated) weights apply.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields

from meshsim.model.rollout import TrafficTarget, Version
from meshsim.model.routes import Backend, Mirror, Route


class LiveWeights:
    """One rollout's current split: ``canary`` percent (None = the routes' own weights)."""

    __slots__ = ("canary", "mirror", "target")

    def __init__(self, target: TrafficTarget) -> None:
        self.target = target
        self.canary: float | None = None
        self.mirror = False  # shadow the mirror routes' traffic to the canary (mirror_percent)

    def set(self, canary: float, mirror: bool = False) -> None:
        self.canary = min(100.0, max(0.0, canary))
        self.mirror = mirror


@dataclass(frozen=True)
class LiveRoute(Route):
    """A route whose primary/canary weights (and mirror) come from a :class:`LiveWeights`."""

    live: LiveWeights | None = field(default=None, compare=False)
    weighted: bool = False
    mirrored: bool = False
    primary: Backend = field(default_factory=lambda: Backend(""))
    canary: Backend = field(default_factory=lambda: Backend(""))
    shadow: Mirror = field(default_factory=lambda: Mirror(""))

    def weighted_backends(self) -> list[tuple[Backend, float]]:
        """The backends with their current weights (Linkerd's ready-aware pick uses these)."""
        live = self.live
        if not self.weighted or live is None or live.canary is None:
            return [(b, float(b.weight)) for b in self.backends]
        return [(self.primary, 100.0 - live.canary), (self.canary, live.canary)]

    @property
    def mirror_on(self) -> bool:
        return self.mirrored and self.live is not None and self.live.mirror


# host -> route name -> (weights, weighted, mirrored)
LiveTable = dict[str, dict[str, tuple[LiveWeights, bool, bool]]]


def register(table: LiveTable, weights: LiveWeights) -> None:
    """Claim the routes of ``weights.target`` for one controller."""
    target = weights.target
    owned = table.setdefault(target.host, {})
    for name in {*target.routes, *target.mirror_routes}:
        if name in owned:
            raise ValueError(f"route {name!r} of {target.host!r} is owned by two rollouts")
        owned[name] = (weights, name in target.routes, name in target.mirror_routes)


def with_live(table: Mapping[str, dict[str, tuple[LiveWeights, bool, bool]]], host: str,
              routes: tuple[Route, ...]) -> tuple[Route, ...]:
    """``routes`` of ``host`` with the owned ones replaced by :class:`LiveRoute` copies."""
    owned = table.get(host)
    if not owned:
        return routes
    return tuple(_live(r, *owned[r.name]) if r.name in owned else r for r in routes)


def _live(route: Route, weights: LiveWeights, weighted: bool, mirrored: bool) -> LiveRoute:
    target = weights.target
    values = {f.name: getattr(route, f.name) for f in fields(Route)}
    return LiveRoute(
        **values, live=weights, weighted=weighted, mirrored=mirrored,
        primary=_backend(route.backends, target.primary),
        canary=_backend(route.backends, target.canary),
        shadow=Mirror(target.canary.service, target.canary.subset, target.mirror_percent),
    )


def _backend(backends: Sequence[Backend], version: Version) -> Backend:
    """The route's own backend for ``version`` (keeps its port and headers), else a new one."""
    for backend in backends:
        if backend.service == version.service and backend.subset == version.subset:
            return backend
    return Backend(version.service, version.subset)
