"""Where pods run: clusters, networks, regions, zones, subzones, and the latency between them.

Istio reads these from node labels (``topology.kubernetes.io/region``, ``/zone``,
``topology.istio.io/subzone``), the ``topology.istio.io/network`` label and the cluster id
(reference/multicluster.md §1.1). A scenario without ``topology`` has no places at all: every
endpoint is in one locality, as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

REGION_LABEL = "topology.kubernetes.io/region"
ZONE_LABEL = "topology.kubernetes.io/zone"
SUBZONE_LABEL = "topology.istio.io/subzone"
NETWORK_LABEL = "topology.istio.io/network"
CLUSTER_LABEL = "topology.istio.io/cluster"


@dataclass(frozen=True)
class Place:
    """One pod's (or client's) place: its cluster, network and locality."""

    cluster: str
    network: str
    region: str
    zone: str = ""
    subzone: str = ""

    def labels(self) -> dict[str, str]:
        """The topology labels Istio puts on endpoints and proxies (failoverPriority keys)."""
        return {
            CLUSTER_LABEL: self.cluster, NETWORK_LABEL: self.network, REGION_LABEL: self.region,
            ZONE_LABEL: self.zone, SUBZONE_LABEL: self.subzone,
        }

    @property
    def locality(self) -> str:
        """``region/zone/subzone`` as Envoy and ``istioctl proxy-config`` print it."""
        return "/".join(p for p in (self.region, self.zone, self.subzone) if p)


GATEWAY_PORT = 15443


def gateway_name(cluster: str) -> str:
    """The east-west gateway of a network, named after its (first) cluster."""
    return f"istio-eastwestgateway-{cluster}"


def gateway_host(cluster: str, service: str, locality: str) -> str:
    """How attempt rows name the endpoint ``gwIP:15443`` for one service's remote locality."""
    return f"{gateway_name(cluster)}:{GATEWAY_PORT}/{service}/{locality or '-'}"


@dataclass(frozen=True)
class LatencyMatrix:
    """One-way latency by path; the same zone uses ``network.latency``.

    Defaults: cross zone 0.5 ms (cross-AZ RTT is about 0.3-1.5 ms), cross region 15 ms
    ("tens of ms" RTT), and 0.5 ms more for the east-west gateway's proxy hop between networks
    (reference/multicluster.md §1.5).
    """

    cross_zone: float = 0.5e-3
    cross_region: float = 15e-3
    gateway: float = 0.5e-3

    def one_way(self, base: float, a: Place, b: Place) -> float:
        if a.region != b.region:
            latency = max(base, self.cross_region)
        elif a.zone != b.zone:
            latency = max(base, self.cross_zone)
        else:
            latency = base
        if a.network != b.network:
            latency += self.gateway
        return latency


@dataclass(frozen=True)
class ProbeSpec:
    """A Linkerd ``Link``'s gateway probe (``probeSpec``; CRD defaults, linkerd-multicluster
    chart ``mirror.linkerd.io/probe-period: "3"``)."""

    period: float = 3.0
    timeout: float = 30.0
    failure_threshold: int = 3


@dataclass(frozen=True)
class Site:
    """One Kubernetes cluster of the mesh."""

    name: str
    network: str
    region: str
    zones: tuple[str, ...] = ()
    probe: ProbeSpec = ProbeSpec()  # how other clusters' service mirrors probe its gateway


@dataclass(frozen=True)
class Geography:
    clusters: Mapping[str, Site]
    latency: LatencyMatrix = LatencyMatrix()

    def gateways(self) -> dict[str, Site]:
        """Network → the cluster whose east-west gateway serves it; empty with one network."""
        first: dict[str, Site] = {}
        for site in self.clusters.values():
            first.setdefault(site.network, site)
        return first if len(first) > 1 else {}
