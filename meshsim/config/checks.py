"""Cross-reference questions about a scenario, answered without raising.

Compilation asks them and turns a bad answer into a located error: does a call graph loop,
what does a fault target name, which pod names collide.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from meshsim.model import FaultTarget, Service


def find_cycle(edges: Mapping[str, Iterable[str]]) -> list[str] | None:
    """A call cycle as ``[a, b, ..., a]``, or None when the call graph is acyclic.

    Depth-first with an explicit stack: a chain of a thousand services is no RecursionError.
    """
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for start in edges:
        if start in state:
            continue
        state[start] = 1
        path = [start]
        pending = [iter(edges.get(start, ()))]
        while pending:
            callee = next(pending[-1], None)
            if callee is None:
                state[path.pop()] = 2
                pending.pop()
            elif state.get(callee) == 1:
                return [*path[path.index(callee):], callee]
            elif callee not in state:
                state[callee] = 1
                path.append(callee)
                pending.append(iter(edges.get(callee, ())))
    return None


def pods_of(services: Mapping[str, Service]) -> dict[str, FaultTarget]:
    """Every pod name, as the fault target it stands for."""
    pods: dict[str, FaultTarget] = {}
    for service in services.values():
        for deployment in service.deployments:
            for pod in deployment.pod_names():
                pods[pod] = FaultTarget(service.name, deployment.version, pod)
    return pods


def duplicate_pods(services: Mapping[str, Service]) -> tuple[str, str, str] | None:
    """``(pod, first deployment, second deployment)`` when two deployments name the same pod."""
    owner: dict[str, str] = {}
    for service in services.values():
        for deployment in service.deployments:
            label = service.name
            if deployment.version is not None:
                label += f"/{deployment.version}"
            for pod in deployment.pod_names():
                if pod in owner:
                    return pod, owner[pod], label
                owner[pod] = label
    return None


def resolve_target(text: str, services: Mapping[str, Service]) -> FaultTarget | None:
    """A service, ``service/version`` or pod name as a :class:`FaultTarget`, else None."""
    if "/" in text:
        name, _, version = text.partition("/")
        service = services.get(name)
        if service is None or version not in service.versions:
            return None
        return FaultTarget(name, version)
    if text in services:
        return FaultTarget(text)
    return pods_of(services).get(text)


def target_names(services: Mapping[str, Service]) -> list[str]:
    """Everything a fault may target, for suggestions."""
    names: list[str] = []
    for service in services.values():
        names.append(service.name)
        names.extend(f"{service.name}/{v}" for v in service.versions)
    names.extend(pods_of(services))
    return names
