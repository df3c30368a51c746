"""Which manifest a compiled route or cluster came from, named as istioctl names it
(``name.namespace``), for views that show the model next to the user's manifests."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from meshsim.config.manifest.hosts import HostIndex, is_wildcard
from meshsim.config.manifests import Manifest
from meshsim.model.policy import TrafficPolicy
from meshsim.model.topology import Topology


def virtual_services(manifests: Sequence[Manifest], policy: TrafficPolicy | None) -> dict[str, str]:
    """Route name → the VirtualService (``name.namespace``) whose rule it compiles."""
    if policy is None:
        return {}
    rules: list[tuple[str, str]] = []  # (rule name, owner)
    for manifest in manifests:
        if manifest.kind != "VirtualService":
            continue
        spec = manifest.data.get("spec")
        http = spec.get("http") if isinstance(spec, dict) else None
        for i, rule in enumerate(http if isinstance(http, list) else []):
            name = rule.get("name") if isinstance(rule, dict) else None
            rules.append((name or f"{manifest.name}.http[{i}]", _owner(manifest)))
    out: dict[str, str] = {}
    for route in _routes(policy):
        for rule, owner in rules:
            if route == rule or route.startswith(f"{rule}."):
                out[route] = owner
                break
    return out


def destination_rules(manifests: Sequence[Manifest], topology: Topology) -> dict[str, str]:
    """Service → the DestinationRule (``name.namespace``) for its host (the first one)."""
    index = HostIndex(topology)
    out: dict[str, str] = {}
    for manifest in manifests:
        spec = manifest.data.get("spec")
        host = spec.get("host") if isinstance(spec, dict) else None
        if manifest.kind != "DestinationRule" or not isinstance(host, str):
            continue
        targets = index.matching(host, manifest.namespace) if is_wildcard(host) else [
            r for r in [index.resolve(host, manifest.namespace)] if r is not None]
        for target in targets:
            out.setdefault(target.service, _owner(manifest))
    return out


def _owner(manifest: Manifest) -> str:
    return f"{manifest.name}.{manifest.namespace or 'default'}"


def _routes(policy: TrafficPolicy) -> Iterable[str]:
    for table in policy.routes.values():
        yield from (r.name for r in table)
    for gateway in policy.gateways.values():
        for table in gateway.routes.values():
            yield from (r.name for r in table)
