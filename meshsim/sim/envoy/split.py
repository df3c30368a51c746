"""Envoy's weighted-cluster pick: one backend per request, by the route's weights.

Envoy's router draws one random number per request and walks the weighted clusters in order
(``RouteEntryImplBase::pickWeightedCluster`` in ``source/common/router/config_impl.cc``); a
zero-weight cluster is never picked. A rollout's live route uses the controller's current
primary/canary split instead of the translated weights, with the same single draw, so the
proxy's random stream stays aligned whichever weights apply.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

from meshsim.model.routes import Backend
from meshsim.sim.live_routes import LiveRoute
from meshsim.sim.sampling import Sampler


class Weighted(Protocol):
    """A weighted destination: a route's :class:`Backend`, or a route plan's target."""

    @property
    def weight(self) -> int: ...


W = TypeVar("W", bound=Weighted)


def static_pick(backends: Sequence[W], roll: Sampler) -> W:
    """Envoy's weighted-cluster pick over fixed weights (never a zero-weight backend)."""
    if len(backends) == 1:
        return backends[0]
    total = sum(b.weight for b in backends)
    x = roll() * total
    for backend in backends:
        x -= backend.weight
        if x < 0:
            return backend
    return next((b for b in reversed(backends) if b.weight > 0), backends[-1])


def live_pick(route: LiveRoute, roll: Sampler) -> Backend:
    """One weighted pick on a rollout's live route; rolls once when the route has two or more
    backends, as the static pick does. Weight 0 is never picked."""
    live = route.live
    assert live is not None
    if not route.weighted or live.canary is None:
        return static_pick(route.backends, roll)
    u = roll() if len(route.backends) > 1 else 0.0
    canary = live.canary
    if canary <= 0.0:
        return route.primary
    if canary >= 100.0:
        return route.canary
    return route.canary if u * 100.0 < canary else route.primary
