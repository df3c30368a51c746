"""The Istio translator: Istio manifests + the scenario's topology → a :class:`TrafficPolicy`.

``translate`` applies the manifests as the sidecars (and gateways) Istio configures would, with
the defaults Istio emits when a manifest says nothing and the behaviour of the chosen Istio
release (:mod:`.profile`). Every field meshsim does not model is one warning; every reference
that cannot work (an unknown host, subset or gateway, a bad duration or regex) is a located
:class:`~meshsim.errors.ScenarioError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from meshsim.config.manifest.hosts import HostIndex, by_domain_precedence
from meshsim.config.manifest.nodes import Diagnostics, Node
from meshsim.config.manifests import Manifest
from meshsim.errors import ConfigWarning
from meshsim.model.authz import IstioSecurity
from meshsim.model.policy import Gateway, TrafficPolicy
from meshsim.model.topology import Topology

from .authz import parse_authorization
from .defaults import ROUTE_TIMEOUT, default_cluster, default_retry
from .destinationrule import build_clusters, collect_rules, service_port, subsets_of
from .gateway import GatewaySpec, parse_gateway
from .injection import sidecars
from .peerauthn import parse_peer_authentications
from .precedence import apply_order
from .profile import IstioProfile, profile_for
from .schema import SPECS, check
from .serviceentry import parse_entries
from .unmodelled import REASONS, warn_unmodelled
from .virtualservice import VirtualServices

__all__ = ["IstioProfile", "IstioTranslation", "profile_for", "translate"]


@dataclass
class IstioTranslation:
    """What the translator hands the compile step."""

    policy: TrafficPolicy
    warnings: list[ConfigWarning] = field(default_factory=list)
    profile: IstioProfile = field(default_factory=lambda: profile_for(None))


def translate(
    manifests: Sequence[Manifest], topology: Topology, *, version: str | None = None
) -> IstioTranslation:
    """Translate the Istio manifests (and Namespaces) of a scenario; others are left alone."""
    profile = profile_for(version)
    diagnostics = Diagnostics()
    kinds: dict[str, list[Manifest]] = {}
    for manifest in manifests:
        if manifest.family == "istio" or manifest.kind == "Namespace":
            kinds.setdefault(manifest.kind, []).append(manifest)
    for kind in SPECS:
        for manifest in kinds.get(kind, []):
            check(Node.root(manifest), diagnostics)
    for kind in REASONS:
        for manifest in kinds.get(kind, []):
            warn_unmodelled(manifest, diagnostics)

    entries = parse_entries(kinds.get("ServiceEntry", []), topology, diagnostics)
    index = HostIndex(topology, {h: e.service for e in entries for h in e.hosts})
    gateways: dict[str, GatewaySpec] = {}
    for manifest in kinds.get("Gateway", []):
        spec = parse_gateway(manifest, diagnostics)
        gateways[spec.key] = spec
    rules = collect_rules(kinds.get("DestinationRule", []), index, profile, diagnostics)
    virtual_services = VirtualServices(index, rules, gateways, profile, diagnostics)
    for manifest in apply_order(kinds.get("VirtualService", [])):
        virtual_services.add(manifest)
    tables = virtual_services.finish()
    ports = {
        service: service_port(rule, virtual_services.destinations.ports.get(service, set()),
                              diagnostics)
        for service, rule in rules.items()
    }
    injected = sidecars(topology, kinds.get("Namespace", []), diagnostics)
    policy = TrafficPolicy(
        routes=dict(tables.mesh),
        clusters=build_clusters(rules, ports, profile, diagnostics),
        subsets=subsets_of(rules, topology, diagnostics),
        default_cluster=default_cluster(),
        default_retry=default_retry(profile),
        default_timeout=ROUTE_TIMEOUT,
        gateways={
            key: Gateway(
                name=key,
                hosts=spec.host_names,
                routes=by_domain_precedence(tables.gateways.get(key, {})),
            )
            for key, spec in gateways.items()
        },
        sidecars=injected,
        external={e.service: e.external for e in entries},
        security=security(kinds, topology, injected, diagnostics),
    )
    return IstioTranslation(policy, diagnostics.warnings, profile)


def security(kinds: dict[str, list[Manifest]], topology: Topology, injected: dict[str, bool],
             diagnostics: Diagnostics) -> IstioSecurity | None:
    """AuthorizationPolicies and PeerAuthentications; None when the scenario has neither."""
    authz, peers = kinds.get("AuthorizationPolicy", []), kinds.get("PeerAuthentication", [])
    if not authz and not peers:
        return None
    return IstioSecurity(
        policies=parse_authorization(authz, topology, injected, diagnostics),
        peer_authn=parse_peer_authentications(peers, diagnostics),
    )
