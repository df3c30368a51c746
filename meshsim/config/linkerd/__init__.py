"""The Linkerd translator: Linkerd manifests + the scenario's topology → a :class:`TrafficPolicy`.

``translate`` applies the manifests as Linkerd's control plane and linkerd2-proxy would
(``reference/linkerd.md``). Per destination service it decides the path (§0):

* **profile path**, when the service's ServiceProfile (or the one a TrafficSplit creates) has
  routes or ``dstOverrides``: its routes in order plus a catch-all ``default`` route, each with
  the dstOverride backends (decimilli weights), ``response_classes``, ``is_retryable`` and the
  profile's shared :class:`TpsBudgetSpec`; HTTPRoutes, retry/timeout annotations and failure
  accrual of that service are ignored with an ``overridden`` warning;
* **policy path** otherwise: HTTPRoutes flattened and sorted so the first match is Linkerd's best
  match, each with :class:`PolicyRetrySpec` and request/response timeouts from the route's
  annotations (or, group by group, the Service's), and failure accrual on the service's backend.
  A service with no HTTPRoute but retry/timeout annotations gets one ``default`` route.

Services with no Linkerd configuration get no ``routes`` entry (the engine's default route:
no retries, no timeout). Every backend balances with P2C + Peak-EWMA behind a 10,000-deep queue
with a 3 s failfast (:class:`LinkerdBackend`).
``TrafficPolicy.inbound`` holds the authorization policy; ``sidecars`` which services are
injected. The engine stays mesh-agnostic: it reads these fields, never a Linkerd manifest.

Every field meshsim does not model is one warning; a configuration Linkerd's controller drops
is a ``dropped`` warning; every reference that cannot work (a missing service or Server, a bad
duration, weight or regex) is a located :class:`~meshsim.errors.ScenarioError`.
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
    PolicyRetrySpec,
    QueueSpec,
    TpsBudgetSpec,
)
from meshsim.model.policy import TrafficPolicy
from meshsim.model.routes import Backend, Route
from meshsim.model.topology import Topology

from .annotations import (
    ACCRUAL,
    ACCRUAL_KEYS,
    RETRY_KEYS,
    TIMEOUT_KEYS,
    Dropped,
    Timeouts,
    annotations_of,
    drop,
    parse_accrual,
    parse_retry,
    parse_timeouts,
    warn_other,
)
from .authz import authorization_policies, finish, parse_servers, server_authorizations
from .httproute import RankedRoute, ServiceDefaults, controller_order, parents, rule_routes
from .injection import default_policies, namespace_annotations, sidecars
from .profiles import Profile, apply_splits, parse_profile, service_of_profile
from .schema import SPECS, check

__all__ = ["LinkerdTranslation", "linkerd_backend", "translate"]

UNMODELLED_KINDS = {
    "GRPCRoute": "gRPC is not modelled: meshsim simulates HTTP requests",
    "Gateway": "Linkerd has no ingress gateway; a Gateway changes nothing in the mesh",
}


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
    kinds: dict[str, list[Manifest]] = {}
    for manifest in manifests:
        if reads(manifest):
            kinds.setdefault(manifest.kind, []).append(manifest)
    for kind in SPECS:
        for manifest in kinds.get(kind, []):
            check(Node.root(manifest), diagnostics)
    for kind, reason in UNMODELLED_KINDS.items():
        for manifest in kinds.get(kind, []):
            diagnostics.warn(Node.root(manifest), f"{manifest.key} is loaded but not applied: "
                             f"{reason}", code="unmodelled-kind")
    index = HostIndex(topology)

    namespaces = namespace_annotations(kinds.get("Namespace", []), diagnostics)
    services = _services(kinds.get("Service", []), index, diagnostics)

    profiles = _profiles(kinds.get("ServiceProfile", []), index, diagnostics)
    apply_splits(kinds.get("TrafficSplit", []), profiles, index, topology, diagnostics)
    profile_path = {s for s, p in profiles.items() if p.has_routes_or_targets}
    for service, profile in profiles.items():
        if service not in profile_path and profile.manifest is not None:
            spec = Node.root(profile.manifest)["spec"]
            if spec.has("retryBudget"):
                diagnostics.warn(spec["retryBudget"], "a ServiceProfile without routes or "
                                 "dstOverrides leaves the service on the policy path, where the "
                                 "retry budget is not used", code="no-effect")

    servers = parse_servers(kinds.get("Server", []), topology, diagnostics)
    server_manifests = {key: s.manifest for key, s in servers.items()}
    outbound: dict[str, list[RankedRoute]] = {}
    for manifest in kinds.get("HTTPRoute", []):
        for parent in parents(manifest, index, server_manifests, diagnostics):
            if parent.kind == "Server":
                ranked = rule_routes(manifest, index, None, None, Diagnostics())
                if ranked is None:
                    rule_routes(manifest, index, None, None, diagnostics)  # say why once
                    continue
                _warn_inbound_only(manifest, diagnostics)
                key = f"{manifest.namespace}/{manifest.name}"
                servers[parent.name].routes[key] = (manifest, ranked)
                continue
            if parent.name in profile_path:
                diagnostics.warn(parent.node, f"{manifest.key} is ignored for {parent.name}: its "
                                 "ServiceProfile has routes or dstOverrides, so the profile "
                                 "path wins (linkerd.md §0)", code="overridden")
                continue
            info = services.get(parent.name)
            defaults = info.defaults if info is not None else ServiceDefaults()
            ranked = rule_routes(manifest, index, defaults, parent.name, diagnostics)
            if ranked is not None:
                outbound.setdefault(parent.name, []).extend(ranked)

    server_authorizations(kinds.get("ServerAuthorization", []), servers, topology, diagnostics)
    mesh_tls = {f"{m.namespace}/{m.name}": m for m in kinds.get("MeshTLSAuthentication", [])}
    networks = {f"{m.namespace}/{m.name}": m for m in kinds.get("NetworkAuthentication", [])}
    for manifest in networks.values():
        if not Node.root(manifest)["spec"]["networks"].items():
            raise Node.root(manifest)["spec"].error("a NetworkAuthentication needs networks")
    authorization_policies(kinds.get("AuthorizationPolicy", []), servers, mesh_tls, networks,
                           topology, diagnostics)

    routes: dict[str, tuple[Route, ...]] = {}
    backends: dict[str, LinkerdBackend] = {}
    for service in profile_path:
        routes[service] = profiles[service].policy_routes()
    for service, ranked in outbound.items():
        routes[service] = controller_order(ranked)
    for service, info in services.items():
        if service in profile_path:
            _warn_overridden(info.meta, service, diagnostics)
            continue
        defaults = info.defaults
        if info.accrual is not None:
            backends[service] = linkerd_backend(info.accrual)
        if service not in routes and (defaults.retry is not None or not defaults.timeouts.empty):
            routes[service] = (_default_route(service, defaults),)
    for service, table in routes.items():
        if any(r.consumer_namespace is not None for r in table) \
                and all(r.consumer_namespace is not None for r in table):
            info = services.get(service)
            fallback = _default_route(service, info.defaults if info else ServiceDefaults())
            routes[service] = (*table, replace(fallback, fallback=True, best_match=True))
    _warn_accrual_backends(profiles, profile_path, backends, diagnostics)

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
    )
    return LinkerdTranslation(policy, diagnostics.warnings, version)



@dataclass
class ServiceInfo:
    """A ``v1 Service`` manifest's Linkerd annotations."""

    meta: Node
    defaults: ServiceDefaults
    accrual: FailureAccrual | None


def _services(manifests: list[Manifest], index: HostIndex,
              diagnostics: Diagnostics) -> dict[str, ServiceInfo]:
    """Service manifests → their retry/timeout groups and failure accrual, by service."""
    out: dict[str, ServiceInfo] = {}
    for manifest in manifests:
        root = Node.root(manifest)
        found = index.resolve(manifest.name, manifest.namespace)
        if found is None or found.fqdn != index.qualify(manifest.name, manifest.namespace):
            raise root["metadata"]["name"].error(
                f"Service {manifest.name!r} in namespace {manifest.namespace} is no service of "
                f"the scenario{index.suggestion(manifest.name)} (spec.services defines them)")
        if root.has("spec"):
            diagnostics.warn(root["spec"], "Service spec (ports, selector, type) is not "
                             "modelled: spec.services defines the pods and meshsim services "
                             "have one port", code="unmodelled")
        meta = annotations_of(root)
        retry: PolicyRetrySpec | None = None
        timeouts = Timeouts()
        accrual = None
        try:
            retry = parse_retry(meta, diagnostics, route=False)
        except Dropped as exc:
            drop(diagnostics, exc, f"the retry annotations of {manifest.key}")
        try:
            timeouts = parse_timeouts(meta, diagnostics)
        except Dropped as exc:
            drop(diagnostics, exc, f"the timeout annotations of {manifest.key}")
        try:
            accrual = parse_accrual(meta, diagnostics)
        except Dropped as exc:
            drop(diagnostics, exc, f"the failure accrual of {manifest.key}")
        warn_other(meta, diagnostics, (*RETRY_KEYS, *TIMEOUT_KEYS, *ACCRUAL_KEYS))
        out[found.service] = ServiceInfo(meta, ServiceDefaults(retry, timeouts), accrual)
    return out


def _profiles(manifests: list[Manifest], index: HostIndex,
              diagnostics: Diagnostics) -> dict[str, Profile]:
    """Service → its ServiceProfile (the one in the service's own namespace first)."""
    found: dict[str, list[Manifest]] = {}
    for manifest in manifests:
        found.setdefault(service_of_profile(manifest, index), []).append(manifest)
    out: dict[str, Profile] = {}
    for service, candidates in found.items():
        own = [m for m in candidates if m.namespace == index.namespaces[service]]
        chosen = own[0] if own else candidates[0]
        for other in candidates:
            if other is not chosen:
                diagnostics.warn(Node.root(other)["metadata"]["namespace"],
                                 f"a client-namespace ServiceProfile applies only to clients in "
                                 f"namespace {other.namespace}; meshsim applies "
                                 f"{chosen.key} (namespace {chosen.namespace}) to every client",
                                 code="approximated")
        if chosen.namespace != index.namespaces[service]:
            diagnostics.warn(Node.root(chosen)["metadata"]["namespace"],
                             f"a ServiceProfile in namespace {chosen.namespace} applies only to "
                             f"clients in that namespace; meshsim applies it to every client of "
                             f"{service}", code="approximated")
        out[service] = parse_profile(chosen, service, index, diagnostics)
    return out


def _default_route(service: str, defaults: ServiceDefaults) -> Route:
    """The parent's default route: all traffic to the Service, its annotation groups."""
    return Route("default", backends=(Backend(service),), timeout=defaults.timeouts.request,
                 response_timeout=defaults.timeouts.response, policy_retry=defaults.retry)


def _warn_overridden(meta: Node, service: str, diagnostics: Diagnostics) -> None:
    for key, node in meta.entries():
        if key in (*RETRY_KEYS, *TIMEOUT_KEYS, *ACCRUAL_KEYS):
            diagnostics.warn(node, f"{key} is ignored: {service} has a ServiceProfile with "
                             "routes or dstOverrides, so the profile path wins (linkerd.md §0)",
                             code="overridden")


def _warn_accrual_backends(profiles: dict[str, Profile], profile_path: set[str],
                           backends: dict[str, LinkerdBackend],
                           diagnostics: Diagnostics) -> None:
    for service in sorted(profile_path):
        profile = profiles[service]
        for backend in profile.overrides or ():
            if backend.service in backends and profile.override_source is not None:
                diagnostics.warn(profile.override_source, f"{backend.service} has failure "
                                 f"accrual ({ACCRUAL}), which Linkerd does not apply to "
                                 f"ServiceProfile backends; meshsim applies it to every client "
                                 f"of {backend.service}, including traffic split from "
                                 f"{service}", code="approximated")


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
