"""Compile ``spec.proxy.cost`` into the engine's :class:`~meshsim.model.cost.CostModel`."""

from __future__ import annotations

from dataclasses import replace

from meshsim.config.cost_profiles import (
    AMBIENT_SOURCE,
    SIDECARS,
    WAYPOINT,
    ZTUNNEL,
    profile_for,
    with_mtls,
    workers_for,
)
from meshsim.config.schema import ScenarioSpec
from meshsim.config.schema_cost import CostSpec
from meshsim.model.cost import CostModel, ProxyCost


def compile_cost(spec: ScenarioSpec) -> CostModel | None:
    """None (no cost, no queueing: frames as before) unless the scenario has a cost block."""
    cost = spec.proxy.cost
    if cost is None or spec.mesh == "none":
        return None
    name = cost.profile or profile_for(spec.mesh, spec.meshVersion)
    sidecar, source = SIDECARS[name]
    envoy = spec.mesh == "istio"
    sources = [source]
    if cost.mode == "ambient":
        sources.append(AMBIENT_SOURCE)
        return CostModel(
            profile=name, mode="ambient", sidecar=None,
            ztunnel=_override(with_mtls(ZTUNNEL, cost.mtls, envoy=True), cost, spec),
            waypoint=(_override(with_mtls(WAYPOINT, cost.mtls, envoy=True), cost, spec)
                      if cost.waypoint else None),
            payload=cost.payload, keep_alive=cost.keepAlive, nodes=cost.nodes,
            sources=tuple(sources),
        )
    return CostModel(
        profile=name, mode="sidecar",
        sidecar=_override(with_mtls(sidecar, cost.mtls, envoy=envoy), cost, spec),
        payload=cost.payload, keep_alive=cost.keepAlive, sources=tuple(sources),
    )


def _override(base: ProxyCost, cost: CostSpec, spec: ScenarioSpec) -> ProxyCost:
    """The scenario's own figures over the profile's (``proxy.overhead`` sets the latency when
    ``cost.latency`` does not)."""
    latency = cost.latency if cost.latency is not None else spec.proxy.overhead
    limit = cost.cpuLimit if cost.cpuLimit is not None else base.cpu_limit
    workers = cost.workers or (workers_for(cost.cpuLimit, base.workers)
                               if cost.cpuLimit is not None else base.workers)
    return replace(
        base,
        cpu_per_request=base.cpu_per_request if cost.cpuPerRequest is None
        else cost.cpuPerRequest,
        latency=base.latency if latency is None else latency,
        memory=base.memory if cost.memoryMB is None else cost.memoryMB * 1e6,
        memory_per_connection=cost.memoryPerConnectionKB * 1e3,
        workers=workers, cpu_limit=limit,
    )
