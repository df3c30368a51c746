"""Gateway manifests → the hosts an ingress Envoy serves, and which VirtualServices bind to it.

Follows istio/api ``gateway.proto`` and ``pilot/pkg/networking/core/gateway.go``: a server host
may carry a namespace filter (``prod/*.example.com``, ``./*``, ``*/...``) limiting which
namespaces' VirtualServices may bind; a VirtualService host binds where it intersects a server
host. Only HTTP servers (HTTP, HTTP2, GRPC, and HTTPS that terminates TLS) carry HTTP routes;
TLS itself is not modelled.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from meshsim.config.manifest.hosts import intersect
from meshsim.config.manifest.nodes import Diagnostics, Node
from meshsim.config.manifests import Manifest

PROTOCOLS = ("HTTP", "HTTPS", "HTTP2", "GRPC", "GRPC-WEB", "TCP", "TLS", "MONGO", "REDIS",
             "MYSQL")
_HTTP = ("HTTP", "HTTPS", "HTTP2", "GRPC", "GRPC-WEB")
TLS_MODES = ("PASSTHROUGH", "SIMPLE", "MUTUAL", "AUTO_PASSTHROUGH", "ISTIO_MUTUAL",
             "OPTIONAL_MUTUAL")
_PASSTHROUGH = ("PASSTHROUGH", "AUTO_PASSTHROUGH")


@dataclass(frozen=True)
class ServerHost:
    namespace: str  # "*" = any VirtualService namespace
    host: str


@dataclass
class GatewaySpec:
    key: str  # namespace/name
    manifest: Manifest
    hosts: list[ServerHost] = field(default_factory=list)

    def bind(self, vs_namespace: str, vs_host: str) -> list[str]:
        """The virtual-host names a VirtualService host gets on this gateway."""
        out: list[str] = []
        for server in self.hosts:
            if server.namespace not in ("*", vs_namespace):
                continue
            if (name := intersect(vs_host, server.host)) is not None and name not in out:
                out.append(name)
        return out

    @property
    def host_names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.host for s in self.hosts))


def gateway_key(name: str, namespace: str) -> str:
    """``ns/name`` for a gateway reference (a bare name is in the referrer's namespace)."""
    if "/" in name:
        return name
    return f"{namespace or 'default'}/{name}"


def resolve_gateway_name(name: str, namespace: str) -> str:
    """A VirtualService ``gateways`` entry as Istio resolves it (``resolveGatewayName``):
    ``ns/name``; ``./name`` and a bare name are in the referrer's namespace; the legacy FQDN
    ``name.ns.svc.cluster.local`` (or ``name.ns``) is ``ns/name``."""
    if "/" in name:
        ns, _, short = name.partition("/")
        return f"{namespace or 'default'}/{short}" if ns == "." else name
    if "." in name:
        short, _, rest = name.partition(".")
        return f"{rest.split('.')[0]}/{short}"
    return f"{namespace or 'default'}/{name}"


def parse_gateway(manifest: Manifest, diagnostics: Diagnostics) -> GatewaySpec:
    spec = Node.root(manifest)["spec"]
    gateway = GatewaySpec(gateway_key(manifest.name, manifest.namespace), manifest)
    servers = spec["servers"].items()
    if not servers:
        raise spec.error("a Gateway needs at least one server")
    for server in servers:
        _server(server, gateway, diagnostics)
    return gateway


def _server(server: Node, gateway: GatewaySpec, diagnostics: Diagnostics) -> None:
    port = server["port"]
    if not port.present:
        raise server.error("a server needs a port")
    port["number"].integer(minimum=1, maximum=65535)
    protocol_node = port["protocol"]
    protocol = protocol_node.string().upper()
    if protocol not in PROTOCOLS:
        raise protocol_node.error(
            f"unknown protocol {protocol_node.string()!r} (expected one of {', '.join(PROTOCOLS)})"
        )
    hosts = server["hosts"].items()
    if not hosts:
        raise server.error("a server needs at least one host")
    tls = server["tls"]
    mode = "SIMPLE"
    if tls.present:
        mode = tls["mode"].choice(TLS_MODES, "PASSTHROUGH")
        diagnostics.warn(
            tls,
            f"tls is not modelled (mode {mode}): meshsim treats the server as plain HTTP",
        )
        if tls["httpsRedirect"].boolean():
            diagnostics.warn(tls["httpsRedirect"], "httpsRedirect is not modelled: requests are "
                             "routed instead of redirected")
    elif protocol in ("HTTPS", "TLS"):
        raise server.error(f"a server with protocol {protocol} needs tls settings")
    if protocol not in _HTTP or (protocol == "HTTPS" and mode in _PASSTHROUGH):
        diagnostics.warn(
            protocol_node,
            f"{protocol}{' passthrough' if protocol == 'HTTPS' else ''} servers are not "
            "modelled (meshsim simulates HTTP routes only); their hosts get no routes",
        )
        return
    for host in hosts:
        namespace, _, name = host.string().rpartition("/")
        if namespace == ".":
            namespace = gateway.manifest.namespace or "default"
        gateway.hosts.append(ServerHost(namespace or "*", name))
