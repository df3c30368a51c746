"""Which services each DestinationRule's ``trafficPolicy`` and each VirtualService governs, as
the loader decides it.

Linkerd has no wildcard hosts: a rule for ``*.default.svc.cluster.local`` (or ``*``) must be
written out per Service. The services come from the Istio loader's own resolution
(:func:`meshsim.config.istio.destinationrule.collect_rules` and
:class:`meshsim.config.istio.virtualservice.VirtualServices`), so the translation follows the
simulation: a rule for the exact host beats any wildcard rule (Istio takes only the most
specific host's rules, so no field of the wildcard rule reaches that service), of several
wildcards the most specific wins for a VirtualService, and of several DestinationRules for one
service the first ``trafficPolicy`` wins.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from meshsim.config.istio.destinationrule import ServiceRule, collect_rules
from meshsim.config.istio.gateway import parse_gateway
from meshsim.config.istio.precedence import apply_order
from meshsim.config.istio.profile import profile_for
from meshsim.config.istio.serviceentry import parse_entries
from meshsim.config.istio.virtualservice import VirtualServices
from meshsim.config.manifest.hosts import HostIndex, is_wildcard
from meshsim.config.manifest.nodes import Diagnostics
from meshsim.config.manifests import Manifest
from meshsim.model.topology import Topology


@dataclass(frozen=True)
class RuleTarget:
    """A service whose DestinationRule policy comes from one manifest."""

    service: str
    namespace: str


@dataclass
class RuleHosts:
    """Per DestinationRule manifest (by identity): the services its ``trafficPolicy`` governs,
    and the services its (wildcard) host covers that a more specific rule governs instead."""

    owned: dict[int, list[RuleTarget]] = field(default_factory=dict)
    shadowed: dict[int, list[str]] = field(default_factory=dict)
    routes: dict[int, list[RuleTarget]] = field(default_factory=dict)  # VirtualService → services
    index: HostIndex | None = None

    def targets(self, manifest: Manifest) -> list[RuleTarget]:
        return self.owned.get(id(manifest), [])

    def overridden(self, manifest: Manifest) -> list[str]:
        return self.shadowed.get(id(manifest), [])

    def routed(self, manifest: Manifest, host: str) -> list[RuleTarget]:
        """The services ``host`` covers whose sidecar routes come from this (mesh)
        VirtualService."""
        covered = {r.service for r in self.index.matching(host, manifest.namespace)} \
            if self.index else set()
        return [t for t in self.routes.get(id(manifest), []) if t.service in covered]


def rule_hosts(manifests: Sequence[Manifest], topology: Topology) -> RuleHosts:
    """Resolve every Istio DestinationRule of a loaded scenario the way the loader does."""
    quiet = Diagnostics()  # the scenario loaded already: its warnings were shown then
    entries = [m for m in manifests if m.family == "istio" and m.kind == "ServiceEntry"]
    parsed = parse_entries(entries, topology, quiet)
    index = HostIndex(topology, {h: e.service for e in parsed for h in e.hosts})
    rules = [m for m in manifests if m.family == "istio" and m.kind == "DestinationRule"]
    merged = collect_rules(rules, index, profile_for(None), quiet)
    out = RuleHosts(index=index)
    for service, rule in merged.items():
        if rule.policy is not None:
            target = RuleTarget(service, index.namespaces.get(service, "default"))
            out.owned.setdefault(id(rule.policy.manifest), []).append(target)
    for manifest in rules:
        host = str(dict(manifest.data.get("spec") or {}).get("host", ""))
        if not is_wildcard(host):
            continue
        mine = {t.service for t in out.targets(manifest)}
        covered = [r.service for r in index.matching(host, manifest.namespace)]
        out.shadowed[id(manifest)] = [s for s in covered if s not in mine]
    for service, owner in _route_owners(manifests, index, merged, quiet).items():
        target = RuleTarget(service, index.namespaces.get(service, "default"))
        out.routes.setdefault(id(owner), []).append(target)
    return out


def _route_owners(manifests: Sequence[Manifest], index: HostIndex,
                  rules: Mapping[str, ServiceRule], quiet: Diagnostics) -> dict[str, Manifest]:
    """Service → the VirtualService its sidecar routes come from (the loader's settling)."""
    gateways = {}
    for manifest in manifests:
        if manifest.family == "istio" and manifest.kind == "Gateway":
            spec = parse_gateway(manifest, quiet)
            gateways[spec.key] = spec
    services = VirtualServices(index, rules, gateways, profile_for(None), quiet)
    mine = [m for m in manifests if m.family == "istio" and m.kind == "VirtualService"]
    for manifest in apply_order(mine):
        services.add(manifest)
    return services.finish().owners
