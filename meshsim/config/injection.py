"""Sidecar injection, mesh-neutral: whether a service's pods run a proxy, and why.

Istio decides it from labels (``config/istio/injection.py``), Linkerd from annotations
(``config/linkerd/injection.py``); both answer with an :class:`Injection` so that warnings and
``meshsim validate`` can say which setting decided it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from meshsim.model.topology import Deployment, Service, Topology


@dataclass(frozen=True)
class Injection:
    """Whether a service's pods run the mesh's proxy, and which setting decided it."""

    injected: bool
    reason: str
    by_namespace: bool = False  # decided by a Namespace manifest the scenario carries


def per_service(
    topology: Topology, decide: Callable[[str, Service, Deployment], Injection]
) -> dict[str, Injection]:
    """Service → its injection, from ``decide`` per deployment (version): an external service
    has no proxy, and versions that disagree leave the service with none (meshsim decides
    per service, not per pod)."""
    out: dict[str, Injection] = {}
    for name, service in topology.services.items():
        if service.external:
            out[name] = Injection(False, "external service: outside the mesh")
            continue
        if not service.deployments:  # a Linkerd mirror: no pods of its own
            continue
        decisions = [decide(name, service, d) for d in service.deployments]
        if len({d.injected for d in decisions}) > 1:
            which = ", ".join(f"{d.version}: {'yes' if i.injected else 'no'}"
                              for d, i in zip(service.deployments, decisions, strict=True))
            out[name] = Injection(False, f"only some versions are injected ({which}); meshsim "
                                  "treats the service as having none")
        else:
            out[name] = decisions[0]
    return out
