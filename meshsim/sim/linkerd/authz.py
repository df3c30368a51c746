"""Inbound authorization: which clients a Server (or a default policy) lets in.

Evaluation follows ``linkerd/app/inbound/src/policy/mod.rs`` (``check_authorized``),
``policy/tcp.rs`` and ``policy/http.rs`` in linkerd/linkerd2-proxy; resource conversion
(ServerAuthorization, AuthorizationPolicy, default policies, identity strings) follows
``policy-controller/k8s/index`` and ``policy-controller/grpc/src/inbound.rs`` in
linkerd/linkerd2. reference/linkerd.md §7, C14.

Authorizations are OR-ed; within one, the network AND the TLS requirement must both hold.
HTTP: no inbound route → 404, a route but no authorization → 403. TCP/opaque: denied
connections are dropped (a meshed client sees 502). Plain frozen dataclasses here stand in
for the policy spec objects until ``meshsim.model.policy`` grows Linkerd ones.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

IPNet = ipaddress.IPv4Network | ipaddress.IPv6Network

CLUSTER_NETWORKS: tuple[str, ...] = (
    "10.0.0.0/8",
    "100.64.0.0/10",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "fd00::/8",
)
ALL_NETWORKS: tuple[str, ...] = ("0.0.0.0/0", "::/0")

DefaultPolicyName = Literal[
    "all-unauthenticated",
    "all-authenticated",
    "cluster-authenticated",
    "cluster-unauthenticated",
    "deny",
    "audit",
]

ALLOW = 200  # marker: permitted
UNAUTHORIZED = 403
ROUTE_NOT_FOUND = 404
CONNECTION_DENIED_STATUS = 502  # what a meshed client proxy reports for a dropped connection


def identity(
    service_account: str,
    namespace: str,
    *,
    control_plane_ns: str = "linkerd",
    trust_domain: str = "cluster.local",
) -> str:
    """``<sa>.<ns>.serviceaccount.identity.<linkerd-ns>.<trust-domain>``."""
    return (
        f"{service_account}.{namespace}.serviceaccount.identity.{control_plane_ns}.{trust_domain}"
    )


@dataclass(frozen=True)
class Network:
    """A CIDR with optional exceptions (``networks[{cidr, except}]``)."""

    cidr: str
    except_: tuple[str, ...] = ()

    def contains(self, ip: str) -> bool:
        addr = ipaddress.ip_address(ip)
        net: IPNet = ipaddress.ip_network(self.cidr, strict=False)
        if addr.version != net.version or addr not in net:
            return False
        return not any(
            addr in ipaddress.ip_network(e, strict=False)
            and ipaddress.ip_network(e, strict=False).version == addr.version
            for e in self.except_
        )


@dataclass(frozen=True)
class Unauthenticated:
    """Any client, TLS or not."""


@dataclass(frozen=True)
class TlsUnauthenticated:
    """TLS terminated by the proxy; client identity optional (passthrough TLS is not)."""


@dataclass(frozen=True)
class TlsAuthenticated:
    """A mesh identity exactly in ``identities`` or under one of ``suffixes``.

    The suffix ``""`` matches any identity (``*``); ``"cluster.local"`` matches names ending
    in ``.cluster.local`` (``*.cluster.local``).
    """

    identities: frozenset[str] = frozenset()
    suffixes: tuple[str, ...] = ()

    def matches(self, client_id: str) -> bool:
        if client_id in self.identities:
            return True
        return any(s == "" or client_id.endswith("." + s) for s in self.suffixes)


Authentication = Unauthenticated | TlsUnauthenticated | TlsAuthenticated


@dataclass(frozen=True)
class Authorization:
    networks: tuple[Network, ...]
    authentication: Authentication
    name: str = ""


@dataclass(frozen=True)
class ClientTls:
    """The inbound connection's TLS state.

    ``terminated=False`` with TLS means passthrough (SNI only); ``None`` as a whole means
    plaintext (an unmeshed client).
    """

    identity: str | None = None
    terminated: bool = True


def is_authorized(authz: Authorization, client_ip: str, tls: ClientTls | None) -> bool:
    """One authorization: client IP in a network AND the TLS requirement satisfied."""
    if not any(n.contains(client_ip) for n in authz.networks):
        return False
    auth = authz.authentication
    if isinstance(auth, Unauthenticated):
        return True
    established = tls is not None and tls.terminated
    if isinstance(auth, TlsUnauthenticated):
        return established
    return (
        established and tls is not None and tls.identity is not None and auth.matches(tls.identity)
    )


def check_authorized(
    authorizations: Sequence[Authorization], client_ip: str, tls: ClientTls | None
) -> Authorization | None:
    """OR across authorizations: the first that permits, or ``None`` (denied)."""
    for authz in authorizations:
        if is_authorized(authz, client_ip, tls):
            return authz
    return None


# -- HTTP routes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class InboundRoute:
    """An inbound HTTP route: method/path match plus its own authorizations.

    ``path_exact``/``path_prefix`` ``None`` and ``method`` ``None`` match anything.
    """

    authorizations: tuple[Authorization, ...]
    method: str | None = None
    path_exact: str | None = None
    path_prefix: str | None = None
    name: str = ""

    def rank(self, method: str, path: str) -> tuple[int, int, int] | None:
        """Gateway-API style precedence key (higher wins) or ``None`` if no match."""
        if self.method is not None and self.method.upper() != method.upper():
            return None
        if self.path_exact is not None:
            if path != self.path_exact:
                return None
            path_rank = (2, len(self.path_exact))
        elif self.path_prefix is not None:
            prefix = self.path_prefix.rstrip("/")
            if not (path == prefix or path.startswith(prefix + "/") or prefix == ""):
                return None
            path_rank = (1, len(prefix))
        else:
            path_rank = (0, 0)
        return (path_rank[0], path_rank[1], int(self.method is not None))


def authorize_http(
    routes: Sequence[InboundRoute],
    method: str,
    path: str,
    client_ip: str,
    tls: ClientTls | None,
) -> int:
    """200 (permitted), 404 (no route) or 403 (route, but no authorization permits)."""
    best: InboundRoute | None = None
    best_rank: tuple[int, int, int] | None = None
    for route in routes:  # ties go to the earlier route
        r = route.rank(method, path)
        if r is not None and (best_rank is None or r > best_rank):
            best, best_rank = route, r
    if best is None:
        return ROUTE_NOT_FOUND
    if check_authorized(best.authorizations, client_ip, tls) is None:
        return UNAUTHORIZED
    return ALLOW


def authorize_tcp(
    authorizations: Sequence[Authorization], client_ip: str, tls: ClientTls | None
) -> bool:
    """Opaque/TCP: per connection; False = the connection is dropped."""
    return check_authorized(authorizations, client_ip, tls) is not None


# -- Resource conversion -----------------------------------------------------------------------


def _nets(cidrs: Sequence[str]) -> tuple[Network, ...]:
    return tuple(Network(c) for c in cidrs)


def default_policy(
    name: DefaultPolicyName, cluster_networks: Sequence[str] = CLUSTER_NETWORKS
) -> tuple[Authorization, ...] | None:
    """Authorizations of a default inbound policy; ``None`` for ``deny`` (port refused)."""
    any_id = TlsAuthenticated(suffixes=("",))
    table: dict[str, tuple[Sequence[str], Authentication]] = {
        "all-unauthenticated": (ALL_NETWORKS, Unauthenticated()),
        "audit": (ALL_NETWORKS, Unauthenticated()),
        "all-authenticated": (ALL_NETWORKS, any_id),
        "cluster-authenticated": (cluster_networks, any_id),
        "cluster-unauthenticated": (cluster_networks, Unauthenticated()),
    }
    if name == "deny":
        return None
    cidrs, auth = table[name]
    return (Authorization(_nets(cidrs), auth, name=f"default:{name}"),)


def mesh_identities(
    identities: Sequence[str] = (),
    service_accounts: Sequence[tuple[str, str]] = (),
    *,
    control_plane_ns: str = "linkerd",
    trust_domain: str = "cluster.local",
) -> TlsAuthenticated:
    """``identities`` (``*``, ``*.suffix``, exact) plus ``(name, namespace)`` ServiceAccounts."""
    exact: set[str] = set()
    suffixes: list[str] = []
    for ident in identities:
        if ident == "*":
            suffixes.append("")
        elif ident.startswith("*."):
            suffixes.append(ident[2:])
        else:
            exact.add(ident)
    for sa, ns in service_accounts:
        exact.add(identity(sa, ns, control_plane_ns=control_plane_ns, trust_domain=trust_domain))
    return TlsAuthenticated(frozenset(exact), tuple(suffixes))


def server_authorization(
    authentication: Authentication,
    networks: Sequence[Network] | None = None,
    *,
    cluster_networks: Sequence[str] = CLUSTER_NETWORKS,
    name: str = "",
) -> Authorization:
    """Legacy ServerAuthorization: omitted ``networks`` means the cluster networks."""
    nets = tuple(networks) if networks is not None else _nets(cluster_networks)
    return Authorization(nets, authentication, name=name)


def authorization_policy(
    authentication: Authentication | None = None,
    networks: Sequence[Network] | None = None,
    *,
    name: str = "",
) -> Authorization:
    """AuthorizationPolicy: no identity ref → unauthenticated; no network ref → all IPs."""
    nets = tuple(networks) if networks is not None else _nets(ALL_NETWORKS)
    return Authorization(nets, authentication or Unauthenticated(), name=name)


@dataclass(frozen=True)
class Server:
    """A Server selecting a port: once it exists, only its own authorizations count."""

    authorizations: tuple[Authorization, ...] = ()
    routes: tuple[InboundRoute, ...] = field(default=())

    def http_routes(self) -> tuple[InboundRoute, ...]:
        """Server-level authorizations apply through a catch-all route when none are given."""
        return self.routes or (InboundRoute(self.authorizations, name="default"),)
