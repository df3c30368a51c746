"""The linkerd-failover controller: a TrafficSplit's weight on its primary while the primary
has ready endpoints, else on the fallback (``traffic_split.rs:update``).

It reacts to Endpoints changes only (Kubernetes readiness): for a mirror that is the service
mirror's gateway probe (reference/multicluster.md §2.5). The split's routes become live
routes (:mod:`meshsim.sim.live_routes`), so every client proxy follows at once. Pods that
crash without leaving their Endpoints (meshsim does not model readiness probes) do not trigger
it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from meshsim.model.rollout import TrafficTarget, Version
from meshsim.sim.live_routes import LiveWeights, register

if TYPE_CHECKING:
    from meshsim.model.linkerd import FailoverSplit
    from meshsim.sim.ports import ControlPlane


class Failover:
    """One managed TrafficSplit."""

    def __init__(self, sim: ControlPlane, split: FailoverSplit) -> None:
        self.sim = sim
        self.split = split
        policy = sim.policy
        routes = policy.routes.get(split.apex, ()) if policy is not None else ()
        target = TrafficTarget(split.apex, Version(split.primary), Version(split.fallback),
                               tuple(r.name for r in routes))
        self.weights = LiveWeights(target)
        register(sim.live_routes, self.weights)
        self.on_primary: bool | None = None
        self.update()

    def watches(self, service: str) -> bool:
        return service in (self.split.primary, self.split.fallback)

    def update(self) -> None:
        """Primary ready → primary 1, others 0; else 1 for every ready backend."""
        ready = bool(self.sim.endpoints.get(self.split.primary))
        fallback = bool(self.sim.endpoints.get(self.split.fallback))
        primary = ready or not fallback  # nothing ready: the split is left on the primary
        if primary == self.on_primary:
            return
        self.weights.set(0.0 if primary else 100.0)
        if self.on_primary is not None:
            detail = "switching traffic to primary" if primary else "failing over to fallbacks"
            self.sim.recorder.event(self.sim.env.now, "failover", service=self.split.apex,
                                    detail=f"{self.split.name}: {detail}")
        self.on_primary = primary


def failovers(sim: ControlPlane) -> list[Failover]:
    policy = sim.policy
    return [Failover(sim, split) for split in (policy.failovers if policy is not None else ())]
