"""The Linkerd translation as a pipeline: each step reads one group of manifests, in the order
Linkerd's control plane resolves them, and hands what it found to the next.

1. group the manifests by kind; check each against its schema and warn about unmodelled kinds;
2. Namespaces (injection, default inbound policy) and Services (annotation groups);
3. ServiceProfiles and TrafficSplits decide which services take the profile path;
4. Servers, then HTTPRoutes: inbound routes of their Servers, outbound routes of their Services;
5. authorization: ServerAuthorizations, then AuthorizationPolicies with their
   MeshTLSAuthentication and NetworkAuthentication references;
6. assemble the route tables and backends per service.

Diagnostics come out in that order, so keep the steps in it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from meshsim.config.manifest.hosts import HostIndex
from meshsim.config.manifest.nodes import Diagnostics, Node
from meshsim.config.manifests import Manifest
from meshsim.errors import ConfigWarning
from meshsim.model.authz import InboundPolicy
from meshsim.model.linkerd import (
    FailureAccrual,
    LinkerdBackend,
    PeakEwmaSpec,
    QueueSpec,
    TpsBudgetSpec,
)
from meshsim.model.policy import TrafficPolicy
from meshsim.model.routes import Route
from meshsim.model.topology import Topology

from .annotations import ACCRUAL, RETRY_KEYS, TIMEOUT_KEYS, annotations_of
from .authz import ServerState, authorization_policies, finish, parse_servers, server_authorizations
from .failover import failover_splits
from .httproute import RankedRoute, ServiceDefaults, controller_order, parents, rule_routes
from .injection import default_policies, namespace_annotations, sidecars
from .profiles import Profile, apply_splits, on_profile_path, profiles_by_service
from .schema import SPECS, check
from .services import ServiceInfo, default_route, parse_services, warn_overridden

UNMODELLED_KINDS = {
    "Gateway": "Linkerd has no ingress gateway; a Gateway changes nothing in the mesh",
}

Kinds = dict[str, list[Manifest]]
"""The manifests the translator reads, by kind, each kind in document order."""


@dataclass
class LinkerdTranslation:
    """What the translator hands the compile step."""

    policy: TrafficPolicy
    warnings: list[ConfigWarning] = field(default_factory=list)
    version: str | None = None


def linkerd_backend(accrual: FailureAccrual | None = None) -> LinkerdBackend:
    """A Linkerd backend: P2C/Peak-EWMA behind a 10,000-deep queue with a 3 s failfast."""
    return LinkerdBackend(PeakEwmaSpec(), QueueSpec(), accrual)


def reads(manifest: Manifest) -> bool:
    """Whether the Linkerd translator reads (or warns about) this manifest."""
    return manifest.family in ("linkerd", "gateway-api") or manifest.kind in (
        "Namespace", "Service")


def translate(
    manifests: Sequence[Manifest], topology: Topology, *, version: str | None = None
) -> LinkerdTranslation:
    """Translate the Linkerd, Gateway API, Service and Namespace manifests of a scenario."""
    diagnostics = Diagnostics()
    kinds = by_kind(manifests)
    check_kinds(kinds, diagnostics)
    index = HostIndex(topology)
    namespaces = namespace_annotations(kinds.get("Namespace", []), diagnostics)
    services = parse_services(kinds.get("Service", []), index, diagnostics)
    profiles, profile_path = profiles_and_splits(kinds, index, topology, diagnostics)
    servers = parse_servers(kinds.get("Server", []), topology, diagnostics)
    outbound = attach_http_routes(kinds.get("HTTPRoute", []), index, servers, services,
                                  profile_path, diagnostics)
    grpc = attach_http_routes(kinds.get("GRPCRoute", []), index, servers, services,
                              profile_path, diagnostics)
    outbound = grpc_routes_win(outbound, grpc, kinds, index, diagnostics)
    authorize(kinds, servers, topology, diagnostics)
    routes, backends = route_tables(profiles, profile_path, outbound, services, diagnostics)
    policy = TrafficPolicy(
        routes=routes,
        backends=backends,
        default_backend=linkerd_backend(),
        default_retry=None,
        default_timeout=0.0,
        sidecars=sidecars(topology, namespaces, kinds.get("Namespace", []), diagnostics),
        default_retry_budget=TpsBudgetSpec(),
        inbound=InboundPolicy(
            default="all-unauthenticated",
            defaults=default_policies(topology, namespaces),
            servers=finish(servers),
        ),
        failovers=failover_splits(kinds.get("TrafficSplit", []), index, diagnostics),
    )
    return LinkerdTranslation(policy, diagnostics.warnings, version)


# -- 1. manifests by kind -----------------------------------------------------------------------
def by_kind(manifests: Sequence[Manifest]) -> Kinds:
    """The manifests this translator reads, grouped so each step takes the kinds it resolves."""
    kinds: Kinds = {}
    for manifest in manifests:
        if reads(manifest):
            kinds.setdefault(manifest.kind, []).append(manifest)
    return kinds


def check_kinds(kinds: Kinds, diagnostics: Diagnostics) -> None:
    """Schema warnings first, kind by kind; then the kinds Linkerd's mesh does not act on."""
    for kind in SPECS:
        for manifest in kinds.get(kind, []):
            check(Node.root(manifest), diagnostics)
    for kind, reason in UNMODELLED_KINDS.items():
        for manifest in kinds.get(kind, []):
            diagnostics.warn(Node.root(manifest), f"{manifest.key} is loaded but not applied: "
                             f"{reason}", code="unmodelled-kind")


# -- 3. ServiceProfiles and TrafficSplits -------------------------------------------------------
def profiles_and_splits(kinds: Kinds, index: HostIndex, topology: Topology,
                        diagnostics: Diagnostics) -> tuple[dict[str, Profile], set[str]]:
    """Each service's profile, with the TrafficSplits the linkerd-smi adaptor writes into it, and
    the services whose profile puts them on the profile path."""
    profiles = profiles_by_service(kinds.get("ServiceProfile", []), index, diagnostics)
    apply_splits(kinds.get("TrafficSplit", []), profiles, index, topology, diagnostics)
    return profiles, on_profile_path(profiles, diagnostics)


# -- 4. HTTPRoutes ------------------------------------------------------------------------------
def attach_http_routes(
    manifests: list[Manifest], index: HostIndex, servers: dict[str, ServerState],
    services: dict[str, ServiceInfo], profile_path: set[str], diagnostics: Diagnostics,
) -> dict[str, list[RankedRoute]]:
    """Each HTTPRoute's routes on each of its parents: a Server's inbound routes, or a Service's
    outbound routes (returned by service) unless its profile path wins."""
    server_manifests = {key: s.manifest for key, s in servers.items()}
    outbound: dict[str, list[RankedRoute]] = {}
    for manifest in manifests:
        for parent in parents(manifest, index, server_manifests, diagnostics):
            if parent.kind == "Server":
                _attach_inbound(manifest, servers[parent.name], index, diagnostics)
            elif parent.name in profile_path:
                diagnostics.warn(parent.node, f"{manifest.key} is ignored for {parent.name}: its "
                                 "ServiceProfile has routes or dstOverrides, so the profile "
                                 "path wins (linkerd.md §0)", code="overridden")
            else:
                info = services.get(parent.name)
                defaults = info.defaults if info is not None else ServiceDefaults()
                ranked = rule_routes(manifest, index, defaults, parent.name, diagnostics)
                if ranked is not None:
                    outbound.setdefault(parent.name, []).extend(ranked)
    return outbound


def grpc_routes_win(
    http: dict[str, list[RankedRoute]], grpc: dict[str, list[RankedRoute]], kinds: Kinds,
    index: HostIndex, diagnostics: Diagnostics,
) -> dict[str, list[RankedRoute]]:
    """A parent with GRPCRoutes gets a gRPC protocol policy of those routes only: its
    HTTPRoutes are not sent (the policy controller's outbound ``to_proto``)."""
    both = set(http) & set(grpc)
    for manifest in kinds.get("HTTPRoute", []):
        for ref in Node.root(manifest)["spec"]["parentRefs"].items():
            found = index.resolve(ref["name"].string(""),
                                  ref["namespace"].string(manifest.namespace))
            if found is not None and found.service in both:
                diagnostics.warn(ref, f"{manifest.key} is ignored for {found.service}: "
                                 "GRPCRoutes attach to it too, and Linkerd then sends the "
                                 "GRPCRoutes only", code="overridden")
    return {**http, **grpc}


def _attach_inbound(manifest: Manifest, server: ServerState, index: HostIndex,
                    diagnostics: Diagnostics) -> None:
    """An HTTPRoute on a Server only matches requests for authorization: its outbound fields
    do nothing there (say so once per route)."""
    ranked = rule_routes(manifest, index, None, None, Diagnostics())
    if ranked is None:
        rule_routes(manifest, index, None, None, diagnostics)  # say why once
        return
    _warn_inbound_only(manifest, diagnostics)
    server.routes[f"{manifest.namespace}/{manifest.name}"] = (manifest, ranked)


def _warn_inbound_only(manifest: Manifest, diagnostics: Diagnostics) -> None:
    root = Node.root(manifest)
    for key, node in annotations_of(root).entries():
        if key in (*RETRY_KEYS, *TIMEOUT_KEYS):
            diagnostics.warn(node, f"{key} has no effect on a route attached to a Server "
                             "(inbound routes only match and authorize)", code="no-effect")
    for rule in root["spec"]["rules"].items():
        for key in ("backendRefs", "timeouts", "filters"):
            if rule.has(key):
                diagnostics.warn(rule[key], f"{key} has no effect on a route attached to a "
                                 "Server (inbound routes only match and authorize)",
                                 code="no-effect")


# -- 5. authorization ---------------------------------------------------------------------------
def authorize(kinds: Kinds, servers: dict[str, ServerState], topology: Topology,
              diagnostics: Diagnostics) -> None:
    """ServerAuthorizations, then AuthorizationPolicies with the authentications they require,
    onto the Servers and their inbound routes."""
    server_authorizations(kinds.get("ServerAuthorization", []), servers, topology, diagnostics)
    mesh_tls = {f"{m.namespace}/{m.name}": m for m in kinds.get("MeshTLSAuthentication", [])}
    networks = {f"{m.namespace}/{m.name}": m for m in kinds.get("NetworkAuthentication", [])}
    for manifest in networks.values():
        if not Node.root(manifest)["spec"]["networks"].items():
            raise Node.root(manifest)["spec"].error("a NetworkAuthentication needs networks")
    authorization_policies(kinds.get("AuthorizationPolicy", []), servers, mesh_tls, networks,
                           topology, diagnostics)


# -- 6. route tables and backends ---------------------------------------------------------------
def route_tables(
    profiles: dict[str, Profile], profile_path: set[str], outbound: dict[str, list[RankedRoute]],
    services: dict[str, ServiceInfo], diagnostics: Diagnostics,
) -> tuple[dict[str, tuple[Route, ...]], dict[str, LinkerdBackend]]:
    """Per service: the profile's routes, or its HTTPRoutes in the controller's order, or a
    default route from its annotations; and the backends that carry failure accrual."""
    routes: dict[str, tuple[Route, ...]] = {}
    backends: dict[str, LinkerdBackend] = {}
    for service in profile_path:
        routes[service] = profiles[service].policy_routes()
    for service, ranked in outbound.items():
        routes[service] = controller_order(ranked)
    for service, info in services.items():
        if service in profile_path:
            warn_overridden(info.meta, service, diagnostics)
            continue
        _apply_service_defaults(service, info, routes, backends)
    _add_producer_fallbacks(routes, services)
    _warn_accrual_backends(profiles, profile_path, backends, diagnostics)
    return routes, backends


def _apply_service_defaults(service: str, info: ServiceInfo, routes: dict[str, tuple[Route, ...]],
                            backends: dict[str, LinkerdBackend]) -> None:
    """A policy-path Service's failure accrual on its backend, and its default route when no
    HTTPRoute gives it routes but its annotations set a retry or a timeout."""
    defaults = info.defaults
    if info.accrual is not None:
        backends[service] = linkerd_backend(info.accrual)
    if service not in routes and (defaults.retry is not None or not defaults.timeouts.empty):
        routes[service] = (default_route(service, defaults),)


def _add_producer_fallbacks(routes: dict[str, tuple[Route, ...]],
                            services: dict[str, ServiceInfo]) -> None:
    """A service whose routes are all consumer routes (HTTPRoutes in a client's namespace)
    still answers every other client through its default route."""
    for service, table in routes.items():
        if any(r.consumer_namespace is not None for r in table) \
                and all(r.consumer_namespace is not None for r in table):
            info = services.get(service)
            fallback = default_route(service, info.defaults if info else ServiceDefaults())
            routes[service] = (*table, replace(fallback, fallback=True, best_match=True))


def _warn_accrual_backends(profiles: dict[str, Profile], profile_path: set[str],
                           backends: dict[str, LinkerdBackend],
                           diagnostics: Diagnostics) -> None:
    """Linkerd does not apply failure accrual to ServiceProfile backends; meshsim applies it per
    service, so to traffic a profile splits to that service too."""
    for service in sorted(profile_path):
        profile = profiles[service]
        for backend in profile.overrides or ():
            if backend.service in backends and profile.override_source is not None:
                diagnostics.warn(profile.override_source, f"{backend.service} has failure "
                                 f"accrual ({ACCRUAL}), which Linkerd does not apply to "
                                 f"ServiceProfile backends; meshsim applies it to every client "
                                 f"of {backend.service}, including traffic split from "
                                 f"{service}", code="approximated")
