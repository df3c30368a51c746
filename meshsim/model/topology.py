"""Services, their versions (deployments) and who calls whom."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from meshsim.model.clients import ClientPolicy
from meshsim.model.distributions import Distribution
from meshsim.model.failures import ErrorModel
from meshsim.model.geography import Geography, Place


@dataclass(frozen=True)
class Call:
    """One downstream call a handler makes."""

    service: str
    path: str = "/"
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict)
    probability: float = 1.0
    optional: bool = False  # a failed optional call does not fail the handler
    client: ClientPolicy | None = None  # the app's own retries etc. around this call


@dataclass(frozen=True)
class Parallel:
    """Fan-out: the calls run concurrently and the handler waits for all of them."""

    calls: tuple[CallStep, ...]


CallStep = Call | Parallel

ContentionModel = Literal["fifo", "processor-sharing", "inflight"]


@dataclass(frozen=True)
class Contention:
    """How requests holding worker slots share the pod.

    ``fifo``: each slot works alone at full speed. ``processor-sharing``: the work of all
    requests in service shares ``cores`` processors equally. ``inflight``: each service time is
    stretched by ``1 + factor * (requests already in service)``, a GC- or lock-bound app.
    """

    model: ContentionModel = "fifo"
    cores: int = 1
    factor: float = 0.0


@dataclass(frozen=True)
class Deployment:
    """The pods of one service version: ``<service>-<version>-<i>`` or ``<service>-<i>``."""

    service: str
    version: str | None
    replicas: int
    concurrency: int
    queue: int | None  # waiting requests per pod; None = unbounded
    latency: Distribution
    errors: float
    contention: Contention
    calls: tuple[CallStep, ...]
    labels: Mapping[str, str] = field(default_factory=dict)
    sidecar: bool = True
    failure: ErrorModel | None = None  # the mapping form of ``errors``; None = plain 500s
    places: tuple[Place, ...] = ()  # one per replica when the scenario has a topology
    grpc: bool = False  # ``protocol: grpc``: errors answer 200 with a grpc-status (model/grpc)

    def pod_names(self) -> list[str]:
        stem = self.service if self.version is None else f"{self.service}-{self.version}"
        return [f"{stem}-{i}" for i in range(self.replicas)]


MirrorMode = Literal["gateway", "remote-discovery", "federated"]


@dataclass(frozen=True)
class Mirror:
    """A Linkerd multicluster Service: ``<service>-<cluster>`` mirrored by the service mirror
    (through ``cluster``'s gateway, or its pod IPs with remote-discovery), or
    ``<service>-federated`` (every cluster's pods). It has no pods of its own."""

    service: str
    cluster: str | None
    mode: MirrorMode


@dataclass(frozen=True)
class Service:
    """A Kubernetes Service: a name, a namespace, and the deployments behind it."""

    name: str
    namespace: str
    deployments: tuple[Deployment, ...]
    external: bool = False
    # Kubernetes Service ``trafficDistribution`` (PreferClose, PreferSameZone, PreferSameNode)
    traffic_distribution: str | None = None
    mirror: Mirror | None = None  # a Linkerd mirror or federated Service (no deployments)

    @property
    def fqdn(self) -> str:
        return f"{self.name}.{self.namespace}.svc.cluster.local"

    @property
    def versions(self) -> tuple[str, ...]:
        return tuple(d.version for d in self.deployments if d.version is not None)


@dataclass(frozen=True)
class Topology:
    """The call graph plus the network between pods."""

    services: Mapping[str, Service]
    network_latency: float  # one way, pod to pod, seconds
    proxy_overhead: float  # per sidecar traversal, seconds
    geography: Geography | None = None  # clusters, zones, latency matrix; None = one place
