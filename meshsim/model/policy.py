"""What the control plane sends: the mesh-agnostic traffic policy as a whole.

Translators (Istio, Linkerd) compile manifests into a :class:`TrafficPolicy`; the engine's
proxies apply it. Its parts live by concept: routes (:mod:`~meshsim.model.routes`), Envoy
clusters (:mod:`~meshsim.model.clusters`), Linkerd's outbound specs
(:mod:`~meshsim.model.linkerd`) and who may call whom (:mod:`~meshsim.model.authz`). Field
defaults are Envoy's own where Envoy has one, because a translator must state every value the
control plane would send rather than rely on the engine guessing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from meshsim.model.authz import InboundPolicy, IstioSecurity
from meshsim.model.clusters import ClusterPolicy, Subset
from meshsim.model.linkerd import FailoverSplit, LinkerdBackend, TpsBudgetSpec
from meshsim.model.routes import RetryPolicy, Route, host_matches


@dataclass(frozen=True)
class TrafficPolicy:
    """What the control plane sends to every client proxy of the mesh.

    ``routes`` are per destination service, in order (first match wins; none → 404 NR).
    ``clusters`` are keyed by (service, subset or None). A service with no entry in
    ``routes`` gets ``default_route`` applied to it. ``backends`` are Linkerd's balancer
    settings per service (none → ``default_backend``); Envoy reads ``clusters`` instead.
    """

    routes: Mapping[str, tuple[Route, ...]] = field(default_factory=dict)
    clusters: Mapping[tuple[str, str | None], ClusterPolicy] = field(default_factory=dict)
    subsets: Mapping[tuple[str, str], Subset] = field(default_factory=dict)
    default_cluster: ClusterPolicy = ClusterPolicy()  # noqa: RUF009 (frozen: shared is safe)
    default_retry: RetryPolicy | None = None
    default_timeout: float = 0.0
    gateways: Mapping[str, Gateway] = field(default_factory=dict)
    sidecars: Mapping[str, bool] = field(default_factory=dict)  # service -> injected
    external: Mapping[str, ExternalService] = field(default_factory=dict)
    # Linkerd: the profile budget of a service with no explicit routes (unused by the default
    # route, which is not retryable, but sent by the controller all the same), the balancers
    # and the inbound authorization policy. None / None for Istio: no budget, every request
    # is authorized.
    default_retry_budget: TpsBudgetSpec | None = None
    backends: Mapping[str, LinkerdBackend] = field(default_factory=dict)
    default_backend: LinkerdBackend = LinkerdBackend()  # noqa: RUF009 (frozen: shared is safe)
    inbound: InboundPolicy | None = None
    # Istio: AuthorizationPolicy and PeerAuthentication, enforced by the destination's sidecar.
    # None = no security policy: every request is allowed, mTLS permissive.
    security: IstioSecurity | None = None
    # Linkerd: TrafficSplits the linkerd-failover controller switches (multicluster).
    failovers: tuple[FailoverSplit, ...] = ()


@dataclass(frozen=True)
class Gateway:
    """An ingress gateway: an Envoy without an app, chosen by the hosts it serves.

    Workloads whose ``target`` is one of ``hosts`` enter the mesh through it, and its own
    routes (VirtualServices bound to it) decide where requests go.
    """

    name: str
    hosts: tuple[str, ...]
    routes: Mapping[str, tuple[Route, ...]] = field(default_factory=dict)  # by host
    replicas: int = 1


@dataclass(frozen=True)
class ExternalService:
    """A ServiceEntry: endpoints outside the mesh, no sidecar, their own latency and errors."""

    name: str
    hosts: tuple[str, ...]
    resolution: Literal["STATIC", "DNS", "DNS_ROUND_ROBIN", "NONE"] = "DNS"
    location: Literal["MESH_EXTERNAL", "MESH_INTERNAL"] = "MESH_EXTERNAL"
    endpoints: int = 1


def gateway_for(policy: TrafficPolicy, host: str) -> Gateway | None:
    """The gateway whose routes serve ``host`` (a VirtualService bound to it names the host)."""
    for gateway in policy.gateways.values():
        if any(host_matches(pattern, host) for pattern in gateway.routes):
            return gateway
    return None

