"""Which scenario services and versions a controller moves traffic between.

Flagger clones the target Deployment into ``<name>-primary`` and sends traffic to the Services
``<name>-primary`` / ``<name>-canary``. A scenario models that either as one service ``<name>``
with versions ``primary`` and ``canary`` (Envoy clusters per subset) or as two services named
like Flagger's. Argo Rollouts injects a pod-template-hash label into the DestinationRule subsets
it owns, so a subset selects exactly one ReplicaSet: the scenario version of that name.
"""

from __future__ import annotations

from collections.abc import Mapping

from meshsim.config.manifest.hosts import HostIndex
from meshsim.config.manifest.nodes import Node
from meshsim.model.clusters import Subset
from meshsim.model.rollout import Version
from meshsim.model.topology import Topology


def version_subset(topology: Topology, version: Version) -> Subset:
    """The Envoy subset that selects exactly the pods of ``version`` (a versioned service)."""
    assert version.subset is not None
    service = topology.services[version.service]
    deployment = next(d for d in service.deployments if d.version == version.subset)
    return Subset(version.service, version.subset, dict(deployment.labels))


def require_version(topology: Topology, service: str, version: str, node: Node,
                    why: str) -> Version:
    """``service``'s version ``version``, or a located error saying what to declare."""
    known = topology.services[service].versions
    if version not in known:
        have = f" (it has {', '.join(known)})" if known else " (it has no versions)"
        raise node.error(f"service {service!r} needs a version {version!r}{have}: {why}")
    return Version(service, version)


def resolve_service(index: HostIndex, name: str, namespace: str, node: Node) -> str:
    """The scenario service a Kubernetes Service name (or host) names, else a located error."""
    found = index.resolve(name, namespace)
    if found is None:
        raise node.error(f"{name!r} ({index.qualify(name, namespace)}) is no service of the "
                         f"scenario{index.suggestion(name)} (spec.services defines them)")
    return found.service


def add_subsets(subsets: Mapping[tuple[str, str], Subset], topology: Topology,
                *versions: Version) -> dict[tuple[str, str], Subset]:
    """``subsets`` plus (or with replaced) the subsets that select exactly ``versions``."""
    out = dict(subsets)
    for version in versions:
        if version.subset is not None:
            out[(version.service, version.subset)] = version_subset(topology, version)
    return out
