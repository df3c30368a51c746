"""What every rollout translator reads: the topology, the mesh's policy, and diagnostics."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from meshsim.config.istio.profile import IstioProfile
from meshsim.config.manifest.durations import parse_istio_duration
from meshsim.config.manifest.hosts import HostIndex
from meshsim.config.manifest.nodes import Diagnostics, Node
from meshsim.config.manifests import Manifest
from meshsim.errors import UnitError
from meshsim.model.clusters import Subset
from meshsim.model.policy import TrafficPolicy
from meshsim.model.routes import Route
from meshsim.model.topology import Topology
from meshsim.model.workload import Workload


@dataclass
class Context:
    """The scenario a controller runs in; ``routes``/``subsets`` collect what controllers own."""

    mesh: str  # "istio" | "linkerd"
    topology: Topology
    policy: TrafficPolicy
    profile: IstioProfile
    manifests: Sequence[Manifest]
    start: float
    diagnostics: Diagnostics = field(default_factory=Diagnostics)
    routes: dict[str, tuple[Route, ...]] = field(default_factory=dict)
    subsets: dict[tuple[str, str], Subset] = field(default_factory=dict)
    owners: dict[str, Node] = field(default_factory=dict)  # host service → the controller
    # Routes controllers bind to ingress gateways: gateway key → virtual host → routes.
    gateway_routes: dict[str, dict[str, tuple[Route, ...]]] = field(default_factory=dict)
    workloads: list[Workload] = field(default_factory=list)  # load the controllers' hooks make

    @property
    def index(self) -> HostIndex:
        return HostIndex(self.topology)

    def claim(self, service: str, node: Node) -> None:
        """One controller per service: a second would fight the first over the weights."""
        owner = self.owners.get(service)
        if owner is not None:
            raise node.error(f"{service} is already rolled out by {owner.manifest.key} "
                             f"({owner.location.prefix()}); one controller per service")
        self.owners[service] = node


def go_duration(node: Node, default: float) -> float:
    """Seconds from a Go duration string (``30s``, ``1m``, ``1h30m``); ``default`` if absent."""
    if not node.present:
        return default
    try:
        return parse_istio_duration(node.value)
    except UnitError as exc:
        raise node.error(f"invalid duration: {exc}") from None
