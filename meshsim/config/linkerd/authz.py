"""Inbound authorization: Server, ServerAuthorization, AuthorizationPolicy, MeshTLSAuthentication,
NetworkAuthentication and HTTPRoutes attached to Servers (linkerd.md §7).

A pod no Server selects follows its default inbound policy (cluster default
``all-unauthenticated``; ``config.linkerd.io/default-inbound-policy`` on its namespace or pod).
A Server's pods accept only what an authorization attached to it, or to one of its routes,
permits; authorizations are OR-ed, their conditions AND-ed. ServerAuthorization without networks
means clusterNetworks; AuthorizationPolicy without a NetworkAuthentication means every address.
A meshed pod's identity is its ServiceAccount's; meshsim takes each service's ServiceAccount to
be named after the service: ``<service>.<namespace>.serviceaccount.identity.linkerd.<domain>``.
meshsim pods serve one port, so a Server applies to all inbound traffic of the pods it selects.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import cast

from meshsim.config.manifest.nodes import Diagnostics, Node
from meshsim.config.manifests import Manifest
from meshsim.model.authz import (
    CLUSTER_NETWORKS,
    IDENTITY_DOMAIN,
    Authorization,
    DefaultInboundPolicy,
    Network,
    ServerPolicy,
    ServerRoute,
    identity_of,
)
from meshsim.model.topology import Topology

from .httproute import RankedRoute, sort_routes
from .injection import POLICIES

POLICY_GROUP = "policy.linkerd.io"
PROTOCOLS = ("unknown", "HTTP/1", "HTTP/2", "gRPC", "opaque", "TLS")
OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


@dataclass
class ServerState:
    manifest: Manifest
    policy: ServerPolicy
    authorizations: list[Authorization] = field(default_factory=list)
    routes: dict[str, tuple[Manifest, list[RankedRoute]]] = field(default_factory=dict)
    route_authz: dict[str, list[Authorization]] = field(default_factory=dict)


def selector_matches(node: Node, labels: Mapping[str, str]) -> bool:
    """A Kubernetes LabelSelector (matchLabels and matchExpressions, AND-ed)."""
    for key, value in node["matchLabels"].string_map().items():
        if labels.get(key) != value:
            return False
    for expression in node["matchExpressions"].items():
        key = expression["key"].string()
        operator = expression["operator"].choice(OPERATORS)
        values = expression["values"].strings()
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and labels.get(key) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def parse_servers(manifests: list[Manifest], topology: Topology,
                  diagnostics: Diagnostics) -> dict[str, ServerState]:
    """``<namespace>/<name>`` → the Server and the pods it selects."""
    out: dict[str, ServerState] = {}
    claimed: dict[tuple[str, str | None], str] = {}
    for manifest in manifests:
        spec = Node.root(manifest)["spec"]
        if not spec["podSelector"].present:
            if spec.has("externalWorkloadSelector"):
                continue  # warned by the schema: nothing of the scenario is selected
            raise spec.error("a Server needs a podSelector")
        port_node = spec["port"]
        if not port_node.present:
            raise spec.error("a Server needs a port (a number or a port name)")
        port: int | str = (
            port_node.value if isinstance(port_node.value, int) else port_node.string()
        )
        if isinstance(port, int) and not 1 <= port <= 65535:
            raise port_node.error(f"port must be between 1 and 65535, got {port}")
        access = "deny"
        if spec.has("accessPolicy"):
            if manifest.apiVersion.rpartition("/")[2] != "v1beta3":
                raise spec["accessPolicy"].error(
                    f"unknown field 'accessPolicy': {manifest.apiVersion} Servers have none "
                    "(policy.linkerd.io/v1beta3 does)")
            access = spec["accessPolicy"].choice(POLICIES)
        targets = []
        for name, service in topology.services.items():
            if service.namespace != manifest.namespace:
                continue
            for deployment in service.deployments:
                if selector_matches(spec["podSelector"], deployment.labels):
                    targets.append((name, deployment.version))
        for target in targets:
            if target in claimed:
                diagnostics.warn(spec["podSelector"], f"{manifest.key} selects pods of "
                                 f"{_pods(target)} that Server/{claimed[target]} already selects;"
                                 " meshsim models one port per pod and applies the first Server",
                                 code="approximated")
            else:
                claimed[target] = manifest.name
        if not targets:
            diagnostics.warn(spec["podSelector"], f"{manifest.key} selects no pod of the "
                             "scenario (services' labels are app=<service>, version=<version> "
                             "and their own labels)", code="no-effect")
        policy = ServerPolicy(
            name=manifest.name,
            namespace=manifest.namespace,
            pod_selector=spec["podSelector"]["matchLabels"].string_map(),
            port=port,
            targets=tuple(targets),
            proxy_protocol=spec["proxyProtocol"].choice(PROTOCOLS, "unknown"),
            access_policy=cast(DefaultInboundPolicy, access),
        )
        out[f"{manifest.namespace}/{manifest.name}"] = ServerState(manifest, policy)
    return out


def _pods(target: tuple[str, str | None]) -> str:
    return target[0] if target[1] is None else f"{target[0]}/{target[1]}"


def _networks(node: Node, default: tuple[str, ...]) -> tuple[Network, ...]:
    if not node.present:
        return tuple(Network(c) for c in default)
    out = []
    for item in node.items():
        cidr = _cidr(item["cidr"])
        excepts = tuple(_cidr(e) for e in item["except"].items())
        out.append(Network(cidr, excepts))
    return tuple(out)


def _cidr(node: Node) -> str:
    if not node.present:
        raise node.error("a network needs a cidr")
    text = node.string()
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise node.error(f"{text!r} is not an IP network (like 10.0.0.0/8)") from None
    return text


def _check_identities(node: Node, identities: tuple[str, ...], topology: Topology,
                      diagnostics: Diagnostics) -> None:
    known = {identity_of(s.name, s.namespace) for s in topology.services.values()}
    for identity in identities:
        if identity != "*" and not identity.startswith("*.") and identity not in known:
            diagnostics.warn(node, f"identity {identity!r} is no service of the scenario (meshsim "
                             "gives each service the ServiceAccount named after it), so no "
                             "simulated client has it", code="no-effect")


def server_authorizations(manifests: list[Manifest], servers: dict[str, ServerState],
                          topology: Topology, diagnostics: Diagnostics) -> None:
    """ServerAuthorization (legacy): attach to Servers by name or label selector."""
    for manifest in manifests:
        spec = Node.root(manifest)["spec"]
        ref = spec["server"]
        if ref.has("name") == ref.has("selector"):
            raise ref.error("server needs exactly one of name or selector")
        if ref.has("name"):
            key = f"{manifest.namespace}/{ref['name'].string()}"
            if key not in servers:
                raise ref["name"].error(f"Server {ref['name'].string()!r} does not exist in "
                                        f"namespace {manifest.namespace}")
            targets = [servers[key]]
        else:
            targets = [
                s for k, s in servers.items()
                if k.startswith(f"{manifest.namespace}/") and selector_matches(
                    ref["selector"], Node.root(s.manifest)["metadata"]["labels"].string_map())
            ]
            if not targets:
                diagnostics.warn(ref["selector"], "the selector matches no Server",
                                 code="no-effect")
        client = spec["client"]
        if not client.present:
            raise spec.error("a ServerAuthorization needs a client")
        if client["unauthenticated"].boolean() == client.has("meshTLS"):
            raise client.error("client needs exactly one of unauthenticated: true or meshTLS")
        networks = _networks(client["networks"], CLUSTER_NETWORKS)
        name = manifest.key
        if client["unauthenticated"].boolean():
            authz = Authorization(name, unauthenticated=True, networks=networks)
        else:
            mtls = client["meshTLS"]
            kinds = [k for k in ("unauthenticatedTLS", "identities", "serviceAccounts")
                     if mtls.has(k)]
            if len(kinds) != 1:
                raise mtls.error("meshTLS needs exactly one of unauthenticatedTLS, identities or "
                                 "serviceAccounts")
            if kinds[0] == "unauthenticatedTLS":
                authz = Authorization(name, tls_unauthenticated=mtls["unauthenticatedTLS"]
                                      .boolean(), networks=networks)
            else:
                identities = tuple(mtls["identities"].strings()) + tuple(
                    identity_of(sa["name"].string(), sa["namespace"].string(manifest.namespace))
                    for sa in mtls["serviceAccounts"].items()
                )
                _check_identities(mtls[kinds[0]], identities, topology, diagnostics)
                authz = Authorization(name, identities=identities, networks=networks)
        for server in targets:
            server.authorizations.append(authz)


def _ref(node: Node, default_namespace: str) -> tuple[str, str, str, str]:
    return (node["group"].string(""), node["kind"].string(""), node["name"].string(),
            node["namespace"].string(default_namespace))


def authorization_policies(
    manifests: list[Manifest], servers: dict[str, ServerState],
    mesh_tls: Mapping[str, Manifest], networks: Mapping[str, Manifest], topology: Topology,
    diagnostics: Diagnostics,
) -> None:
    """AuthorizationPolicy → an Authorization on its target Server(s) or inbound route."""
    for manifest in manifests:
        spec = Node.root(manifest)["spec"]
        target = spec["targetRef"]
        if not target.present:
            raise spec.error("an AuthorizationPolicy needs a targetRef")
        ref = _ref(target, manifest.namespace)
        authz = _required_authentications(manifest, spec, mesh_tls, networks, topology,
                                          diagnostics)
        _attach_to_target(authz, manifest, target, ref, servers)


def _required_authentications(
    manifest: Manifest, spec: Node, mesh_tls: Mapping[str, Manifest],
    networks: Mapping[str, Manifest], topology: Topology, diagnostics: Diagnostics,
) -> Authorization:
    """The clients a policy's ``requiredAuthenticationRefs`` admit: at most one identity source
    (a MeshTLSAuthentication or a ServiceAccount) and at most one NetworkAuthentication, AND-ed;
    no identity source means unauthenticated clients too, no networks every address."""
    identities: tuple[str, ...] | None = None
    nets: tuple[Network, ...] = ()
    seen_identity = seen_network = False
    for ref in spec["requiredAuthenticationRefs"].items():
        r_group, r_kind, r_name, r_ns = _ref(ref, manifest.namespace)
        key = f"{r_ns}/{r_name}"
        if r_kind == "MeshTLSAuthentication" and r_group == POLICY_GROUP:
            if seen_identity:
                raise ref.error("at most one MeshTLSAuthentication or ServiceAccount")
            seen_identity = True
            _require(ref, key in mesh_tls, r_kind, r_name, r_ns)
            identities = mesh_identities(mesh_tls[key], topology, diagnostics)
        elif r_kind == "NetworkAuthentication" and r_group == POLICY_GROUP:
            if seen_network:
                raise ref.error("at most one NetworkAuthentication")
            seen_network = True
            _require(ref, key in networks, r_kind, r_name, r_ns)
            nets = _networks(Node.root(networks[key])["spec"]["networks"], ())
        elif r_kind == "ServiceAccount" and r_group in ("", "core"):
            if seen_identity:
                raise ref.error("at most one MeshTLSAuthentication or ServiceAccount")
            seen_identity = True
            identities = (identity_of(r_name, r_ns),)
            _check_identities(ref, identities, topology, diagnostics)
        else:
            raise ref.error(f"unsupported authentication {r_group or 'core'}/{r_kind} "
                            "(expected MeshTLSAuthentication, NetworkAuthentication or "
                            "ServiceAccount)")
    return Authorization(manifest.key, unauthenticated=identities is None,
                         identities=identities or (), networks=nets)


def _attach_to_target(authz: Authorization, manifest: Manifest, target: Node,
                      ref: tuple[str, str, str, str], servers: dict[str, ServerState]) -> None:
    """A policy's ``targetRef``: one Server, every Server of the policy's own Namespace, or an
    HTTPRoute attached to a Server (its authorizations apply to that route only)."""
    group, kind, name, namespace = ref
    if kind == "Server" and group == POLICY_GROUP:
        key = f"{namespace}/{name}"
        if key not in servers:
            raise target["name"].error(f"Server {name!r} does not exist in namespace "
                                       f"{namespace}")
        servers[key].authorizations.append(authz)
    elif kind == "Namespace" and group in ("", "core"):
        if name != manifest.namespace:
            raise target["name"].error(f"a Namespace targetRef must name the policy's own "
                                       f"namespace {manifest.namespace!r}, got {name!r}")
        for key, server in servers.items():
            if key.startswith(f"{name}/"):
                server.authorizations.append(authz)
    elif kind in ("HTTPRoute", "GRPCRoute") and group in (POLICY_GROUP,
                                                           "gateway.networking.k8s.io"):
        holders = [s for s in servers.values() if f"{namespace}/{name}" in s.routes]
        if not holders:
            raise target["name"].error(f"{kind} {name!r} in namespace {namespace} is not "
                                       "an HTTPRoute attached to a Server")
        for server in holders:
            server.route_authz.setdefault(f"{namespace}/{name}", []).append(authz)
    else:
        raise target.error(f"unsupported targetRef {group or 'core'}/{kind} (expected a "
                           "Server, an HTTPRoute or the policy's Namespace)")


def mesh_identities(manifest: Manifest, topology: Topology,
                    diagnostics: Diagnostics) -> tuple[str, ...]:
    spec = Node.root(manifest)["spec"]
    if spec["identities"].present == spec["identityRefs"].present:
        raise spec.error("a MeshTLSAuthentication needs exactly one of identities or "
                         "identityRefs")
    out = list(spec["identities"].strings())
    for ref in spec["identityRefs"].items():
        group, kind, name, namespace = _ref(ref, manifest.namespace)
        if kind == "ServiceAccount" and group in ("", "core"):
            out.append("*" if name == "*" else identity_of(name, namespace))
        elif kind == "Namespace" and group in ("", "core"):
            out.append(f"*.{name}.{IDENTITY_DOMAIN}")
        else:
            raise ref.error(f"unsupported identityRef {group or 'core'}/{kind} (expected a "
                            "ServiceAccount or a Namespace)")
    _check_identities(spec, tuple(out), topology, diagnostics)
    return tuple(out)


def finish(servers: dict[str, ServerState]) -> tuple[ServerPolicy, ...]:
    """Each Server with its authorizations and its routes, best match first (one per match)."""
    out = []
    for server in servers.values():
        ranked = [
            RankedRoute(r.rank, r.order, replace(r.route, name=key))
            for key, (_, routes) in server.routes.items() for r in routes
        ]
        routes = tuple(
            ServerRoute(r.name, r.matches, tuple(server.route_authz.get(r.name, ())))
            for r in sort_routes(ranked)
        )
        out.append(replace(server.policy, authorizations=tuple(server.authorizations),
                           routes=routes))
    return tuple(out)


def _require(ref: Node, exists: bool, kind: str, name: str, namespace: str) -> None:
    """A policy naming a missing authentication object is an error here (Linkerd would let
    the policy grant nothing, silently)."""
    if not exists:
        raise ref["name"].error(
            f"{kind} {name!r} does not exist in namespace {namespace} (Linkerd would let this "
            "policy grant nothing)"
        )
