"""The pods behind a rollout's versions, their readiness, and promotion's spec copy."""

from __future__ import annotations

from typing import TYPE_CHECKING

from meshsim.model import Deployment
from meshsim.model.rollout import Version
from meshsim.sim import failures
from meshsim.sim.sampling import sampler

if TYPE_CHECKING:
    from meshsim.sim.pod import Pod
    from meshsim.sim.ports import ControlPlane


def pods_of(sim: ControlPlane, version: Version) -> list[Pod]:
    """The pods of ``version``: the service's, or those its subset selects (by the subset's
    labels when the policy defines it, else by version name)."""
    pods = [p for p in sim.endpoints.get(version.service, []) if hasattr(p, "deployment")]
    if version.subset is None:
        return pods
    spec = sim.policy.subsets.get((version.service, version.subset)) if sim.policy else None
    if spec is not None:
        return [p for p in pods if all(p.labels.get(k) == v for k, v in spec.labels.items())]
    return [p for p in pods if p.version == version.subset]


def ready(pods: list[Pod]) -> bool:
    """A Deployment is ready when every replica is available (Flagger's 100 % threshold)."""
    return bool(pods) and not any(p.down for p in pods)


def promote(sim: ControlPlane, primary: Version, canary: Version) -> None:
    """Copy the canary's pod template to the primary: its pods now run the canary's code
    (latency, errors, calls) with their own replicas, slots and random streams."""
    source = pods_of(sim, canary)
    if not source:
        return
    spec: Deployment = source[0].deployment
    by_deployment: dict[int, list[Pod]] = {}
    for pod in pods_of(sim, primary):
        by_deployment.setdefault(id(pod.deployment), []).append(pod)
    for pods in by_deployment.values():
        own = pods[0].deployment
        stem = own.service if own.version is None else f"{own.service}/{own.version}"
        service_time = sampler(spec.latency, sim.streams.get(f"service/{stem}"))
        for pod in pods:
            pod.adopt(spec, service_time)
        if spec.failure is not None or any(pod.failures is not None for pod in pods):
            failures.attach(pods, spec, sim.streams, f"{stem}/promoted")
