"""Who may call whom: Linkerd's inbound authorization and Istio's mTLS and RBAC.

Linkerd: Servers, their routes and authorizations (policy.linkerd.io; linkerd.md §7). Istio:
AuthorizationPolicy and PeerAuthentication (security.istio.io), enforced by the destination's
sidecar.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from meshsim.model.routes import RouteMatch

# -- inbound authorization (Linkerd policy.linkerd.io; linkerd.md §7) ---------------------------

DefaultInboundPolicy = Literal[
    "all-unauthenticated", "all-authenticated", "cluster-authenticated",
    "cluster-unauthenticated", "deny", "audit",
]


CLUSTER_NETWORKS = (
    "10.0.0.0/8", "100.64.0.0/10", "172.16.0.0/12", "192.168.0.0/16", "fd00::/8",
)


ALL_NETWORKS = ("0.0.0.0/0", "::/0")


IDENTITY_DOMAIN = "serviceaccount.identity.linkerd.cluster.local"


def identity_of(service_account: str, namespace: str) -> str:
    """The mTLS identity of a meshed pod: ``<sa>.<ns>.serviceaccount.identity.linkerd.<domain>``."""
    return f"{service_account}.{namespace}.{IDENTITY_DOMAIN}"


@dataclass(frozen=True)
class Network:
    """A client network: ``cidr`` minus every ``except`` block."""

    cidr: str
    excepts: tuple[str, ...] = ()

    def contains(self, address: str) -> bool:
        return in_network(address, self.cidr, self.excepts)


@lru_cache(maxsize=4096)
def in_network(address: str, cidr: str, excepts: tuple[str, ...] = ()) -> bool:
    """``address`` is in ``cidr`` and in none of ``excepts``. Cached: inbound policy asks this
    for every request, with a handful of distinct arguments, and parsing them is slow."""
    ip = ipaddress.ip_address(address)
    if ip not in _network(cidr):
        return False
    return not any(ip in _network(block) for block in excepts)


def _network(cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(cidr, strict=False)


@dataclass(frozen=True)
class Authorization:
    """One way a client may be let in; a server's authorizations are OR-ed, fields AND-ed.

    ``unauthenticated``: any client (meshed or not). Otherwise ``tls_unauthenticated`` admits any
    proxy-terminated TLS client, and an mTLS identity must be in ``identities`` (exact, ``*``
    or ``*.suffix``). ``networks`` empty = every address. ``name`` is ``Kind/name`` of its source.
    """

    name: str
    unauthenticated: bool = False
    tls_unauthenticated: bool = False
    identities: tuple[str, ...] = ()
    networks: tuple[Network, ...] = ()
    audit: bool = False

    def permits(self, identity: str | None, address: str | None = None) -> bool:
        """``identity`` None = no mTLS identity (unmeshed client); ``address`` None = skip IPs."""
        in_networks = any(n.contains(address) for n in self.networks) if address else True
        if self.networks and not in_networks:
            return False
        if self.unauthenticated:
            return True
        if identity is None:
            return False
        if self.tls_unauthenticated:
            return True
        return any(_identity_matches(p, identity) for p in self.identities)


def _identity_matches(pattern: str, identity: str) -> bool:
    if pattern == "*":
        return True
    if pattern.startswith("*."):
        return identity.endswith(pattern[1:])
    return pattern == identity


@dataclass(frozen=True)
class ServerRoute:
    """An HTTPRoute attached to a Server: matches (best match, pre-sorted) and its authorizations.

    A request to a Server with routes that matches none is answered 404; a matched route whose
    authorizations (its own plus the Server's) permit nothing answers 403.
    """

    name: str
    matches: tuple[RouteMatch, ...] = ()  # empty = everything
    authorizations: tuple[Authorization, ...] = ()


@dataclass(frozen=True)
class ServerPolicy:
    """A Linkerd ``Server``: the pods (service, version) it selects and who may call them.

    ``access_policy`` is the fallback when no authorization permits (``deny`` for a Server
    unless ``accessPolicy`` says otherwise). meshsim pods serve one port: a Server applies to
    all inbound traffic of the pods it selects.
    """

    name: str
    namespace: str
    pod_selector: Mapping[str, str]
    port: int | str
    targets: tuple[tuple[str, str | None], ...] = ()  # (service, version or None)
    proxy_protocol: str = "unknown"
    access_policy: DefaultInboundPolicy = "deny"
    authorizations: tuple[Authorization, ...] = ()
    routes: tuple[ServerRoute, ...] = ()


@dataclass(frozen=True)
class InboundPolicy:
    """What every server-side Linkerd proxy enforces.

    ``defaults`` is each service's default inbound policy (namespace or pod annotation; else
    ``default``). A pod selected by a Server follows that Server only; any other pod follows its
    default, which :func:`default_authorizations` expands.
    """

    default: DefaultInboundPolicy = "all-unauthenticated"
    defaults: Mapping[str, DefaultInboundPolicy] = field(default_factory=dict)
    servers: tuple[ServerPolicy, ...] = ()
    cluster_networks: tuple[str, ...] = CLUSTER_NETWORKS

    def server_for(self, service: str, version: str | None) -> ServerPolicy | None:
        for server in self.servers:
            if (service, version) in server.targets:
                return server
        return None

    def default_for(self, service: str) -> DefaultInboundPolicy:
        return self.defaults.get(service, self.default)


def default_authorizations(
    policy: DefaultInboundPolicy, cluster_networks: tuple[str, ...] = CLUSTER_NETWORKS
) -> tuple[Authorization, ...]:
    """The authorizations a default inbound policy stands for (linkerd.md §7.1)."""
    everywhere = tuple(Network(c) for c in ALL_NETWORKS)
    cluster = tuple(Network(c) for c in cluster_networks)
    name = f"default:{policy}"
    if policy in ("all-unauthenticated", "audit"):
        return (Authorization(name, unauthenticated=True, networks=everywhere,
                              audit=policy == "audit"),)
    if policy == "cluster-unauthenticated":
        return (Authorization(name, unauthenticated=True, networks=cluster),)
    if policy == "all-authenticated":
        return (Authorization(name, identities=("*",), networks=everywhere),)
    if policy == "cluster-authenticated":
        return (Authorization(name, identities=("*",), networks=cluster),)
    return ()


# -- Istio security (security.istio.io AuthorizationPolicy, PeerAuthentication) ----------------

TRUST_DOMAIN = "cluster.local"


ROOT_NAMESPACE = "istio-system"


MtlsMode = Literal["STRICT", "PERMISSIVE", "DISABLE"]


RbacAction = Literal["ALLOW", "DENY", "AUDIT"]


POD_PORT: int | None = None  # meshsim pods serve one unnumbered port


def spiffe_principal(service_account: str, namespace: str, domain: str = TRUST_DOMAIN) -> str:
    """An Istio peer principal: the SPIFFE ID of the workload's certificate, without spiffe://."""
    return f"{domain}/ns/{namespace}/sa/{service_account}"


def principal_namespace(principal: str) -> str | None:
    """The namespace a SPIFFE principal names (Istio matches ``source.namespace`` on it)."""
    parts = principal.split("/")
    return parts[2] if len(parts) >= 5 and parts[1] == "ns" and parts[3] == "sa" else None


@dataclass(frozen=True)
class RbacCondition:
    """One Istio attribute: holds when it matches one of ``values`` (if any) and none of
    ``not_values``. ``key`` is the Istio attribute (``source.principal``, ``source.namespace``,
    ``source.ip``, ``remote.ip``, ``request.auth.principal``, ``request.headers[x]``,
    ``destination.port``) or an operation (``method``, ``path``, ``host``)."""

    key: str
    values: tuple[str, ...] = ()
    not_values: tuple[str, ...] = ()


@dataclass(frozen=True)
class RbacRule:
    """An AuthorizationPolicy rule as Istio's authz model builds it: it matches when one
    ``principals`` list (from sources, AND within) and one ``permissions`` list (to operations)
    fully hold; ``when`` conditions are merged into each list."""

    principals: tuple[tuple[RbacCondition, ...], ...] = ((),)
    permissions: tuple[tuple[RbacCondition, ...], ...] = ((),)


@dataclass(frozen=True)
class WorkloadSelector:
    """Which sidecars a policy binds to: ``labels`` None = every workload of the namespace; a
    policy in the root namespace binds workloads of every namespace (Istio's authorization
    policy lookup; PeerAuthentication narrows this itself)."""

    namespace: str
    labels: Mapping[str, str] | None = None

    def selects(self, namespace: str, labels: Mapping[str, str]) -> bool:
        if self.namespace not in (namespace, ROOT_NAMESPACE):
            return False
        return self.labels is None or all(labels.get(k) == v for k, v in self.labels.items())


@dataclass(frozen=True)
class RbacPolicy:
    """An AuthorizationPolicy (ALLOW, DENY or AUDIT); no rules = matches nothing."""

    name: str  # <namespace>/<name>
    action: RbacAction
    selector: WorkloadSelector
    rules: tuple[RbacRule, ...] = ()


@dataclass(frozen=True)
class PeerAuthnPolicy:
    """A PeerAuthentication: ``mode`` None = UNSET (inherit); ``port_modes`` per target port."""

    name: str
    selector: WorkloadSelector
    mode: MtlsMode | None = None
    port_modes: Mapping[int, MtlsMode | None] = field(default_factory=dict)


@dataclass(frozen=True)
class IstioSecurity:
    """What istiod sends each inbound sidecar: its authorization policies and mTLS mode."""

    policies: tuple[RbacPolicy, ...] = ()
    peer_authn: tuple[PeerAuthnPolicy, ...] = ()

    def policies_for(self, namespace: str, labels: Mapping[str, str]) -> tuple[RbacPolicy, ...]:
        return tuple(p for p in self.policies if p.selector.selects(namespace, labels))

    def mtls_mode(self, namespace: str, labels: Mapping[str, str],
                  port: int | None = POD_PORT) -> MtlsMode:
        """Workload policy over namespace policy over mesh policy; UNSET inherits; the mesh
        default is PERMISSIVE. ``port`` None: a single port-level mode applies to the pod's one
        port (the translator warns)."""
        mode: MtlsMode = "PERMISSIVE"
        for level in self._levels(namespace, labels):
            if level is None:
                continue
            if level.mode is not None:
                mode = level.mode
            port_mode = _port_mode(level, port)
            if port_mode is not None:
                mode = port_mode
        return mode

    def _levels(self, namespace: str, labels: Mapping[str, str]) -> list[PeerAuthnPolicy | None]:
        def first(ns: str, selected: bool) -> PeerAuthnPolicy | None:
            for p in self.peer_authn:
                level = p.selector.namespace == ns and (p.selector.labels is not None) == selected
                if level and (not selected or p.selector.selects(namespace, labels)):
                    return p
            return None

        return [first(ROOT_NAMESPACE, False), first(namespace, False), first(namespace, True)]


def _port_mode(policy: PeerAuthnPolicy, port: int | None) -> MtlsMode | None:
    if port is not None:
        return policy.port_modes.get(port)
    modes = list(policy.port_modes.values())
    return modes[0] if len(modes) == 1 else None
