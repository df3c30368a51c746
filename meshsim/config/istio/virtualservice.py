"""VirtualServices → ordered routes for the mesh sidecars and for each gateway.

Follows ``route/route.go`` ``BuildHTTPRoutesForVirtualService`` per proxy kind: a VirtualService
without ``gateways`` is for the sidecars (``mesh``); with ``gateways`` only for those, plus any
gateway a match names (``getGatewayNames``). Each ``match`` block is its own Envoy route, in
order; a rule without ``match`` is a catch-all, and generation stops after the first catch-all.
A match naming gateways is kept only for those (``sourceMatchHTTP``). VirtualServices arrive
oldest first (:mod:`.precedence`). For a sidecar, a service takes every VirtualService naming it
exactly, else only the most specific wildcard one (``MostSpecificHostMatch``); of those a proxy
keeps the first that leaves it a route (``pilot_vservice_dup_domain`` for the others), and when
source matches leave it none, the service's default route (``buildSidecarVirtualHostForService``).
On a gateway, routes of several VirtualServices for one host are merged with catch-alls moved
last (``SortVHostRoutes``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from meshsim.config.manifest.hosts import HostIndex, is_wildcard
from meshsim.config.manifest.nodes import Diagnostics, Node
from meshsim.config.manifests import Manifest
from meshsim.model.routes import Backend, Route, RouteMatch

from .defaults import ROUTE_TIMEOUT, default_retry
from .destinationrule import ServiceRule, warn_kubernetes_form
from .destinations import Destinations
from .gateway import GatewaySpec, resolve_gateway_name
from .httproute import RuleAction, rule_action
from .matching import is_catch_all, route_match
from .precedence import why_first
from .profile import IstioProfile

MESH = "mesh"


@dataclass
class _Rule:
    name: str
    action: RuleAction
    matches: list[RouteMatch]  # empty: the rule has no match (catch-all)
    match_names: list[str]


@dataclass
class RouteTables:
    """Routes by service for the sidecars, and by gateway and host for gateways."""

    mesh: dict[str, tuple[Route, ...]] = field(default_factory=dict)
    owners: dict[str, Manifest] = field(default_factory=dict)
    gateways: dict[str, dict[str, list[Route]]] = field(default_factory=dict)


class VirtualServices:
    def __init__(self, index: HostIndex, rules: Mapping[str, ServiceRule],
                 gateways: Mapping[str, GatewaySpec], profile: IstioProfile,
                 diagnostics: Diagnostics) -> None:
        self.index = index
        self.rules = rules
        self.gateways = gateways
        self.profile = profile
        self.diagnostics = diagnostics
        self.destinations = Destinations(index, rules, profile, diagnostics)
        self.tables = RouteTables()
        self._claims: list[tuple[Node, list[Route]]] = []  # sidecar hosts, settled by finish()

    def add(self, manifest: Manifest) -> None:
        spec = Node.root(manifest)["spec"]
        hosts = spec["hosts"].items()
        if not hosts:
            raise spec.error("a VirtualService needs at least one host")
        listed = [self._gateway(g) for g in spec["gateways"].items()] or [MESH]
        rules = [
            rule for i, node in enumerate(spec["http"].items())
            if (rule := self._rule(i, node)) is not None
        ]
        targets = dict.fromkeys(listed)
        for rule in rules:
            for match in rule.matches:
                targets.update(dict.fromkeys(match.gateways))
        for target in targets:
            routes = _routes_for(target, rules)
            if not routes:
                continue
            if target == MESH:
                self._claims += [(host, routes) for host in hosts]
            else:
                self._bind_gateway(target, hosts, routes)

    # -- one rule ---------------------------------------------------------------------------

    def _rule(self, index: int, node: Node) -> _Rule | None:
        """The rule, or None for a delegate rule (not modelled, already warned)."""
        action = rule_action(node, self.destinations, self.rules, self.profile, self.diagnostics)
        matches = [route_match(m, self.diagnostics, self._gateway) for m in node["match"].items()]
        if action is None:
            return None
        name = node["name"].string() or f"{node.manifest.name}.http[{index}]"
        names = [m["name"].string() for m in node["match"].items()]
        return _Rule(name, action, matches, names)

    def _gateway(self, node: Node) -> str:
        name = node.string()
        if name == MESH:
            return MESH
        key = resolve_gateway_name(name, node.manifest.namespace)
        if key not in self.gateways:
            known = ", ".join(sorted(self.gateways)) or "none"
            raise node.missing(f"Gateway {name!r} ({key}) does not exist (Gateways: {known})",
                               "gateway", name)
        return key

    # -- where the routes go ----------------------------------------------------------------

    def finish(self) -> RouteTables:
        """Give each service its VirtualService, as a sidecar's virtual hosts settle it."""
        claims: dict[str, list[_Claim]] = {}
        for host, routes in self._claims:
            for target in self._targets(host):
                found = claims.setdefault(target, [])
                if all(c.host.manifest is not host.manifest for c in found):
                    found.append(_Claim(host, routes))
        for service, found in claims.items():
            self._settle(service, found)
        return self.tables

    def _targets(self, host: Node) -> list[str]:
        name = host.string()
        targets = self.index.matching(name, host.manifest.namespace)
        if not targets:
            self.diagnostics.warn(
                host,
                f"host {name!r} ({self.index.qualify(name, host.manifest.namespace)}) matches "
                f"no service of the scenario, so the sidecars never use these rules"
                f"{self.index.suggestion(name)}",
                code="unused",
            )
        for target in targets:
            if target.kubernetes_form:
                warn_kubernetes_form(host, target, self.diagnostics)
        return list(dict.fromkeys(t.service for t in targets))

    def _settle(self, service: str, claims: list[_Claim]) -> None:
        """``BuildSidecarVirtualHostWrapper``: every VirtualService naming the service exactly
        (oldest first), else only the most specific wildcard one (``MostSpecificHostMatch``).
        A proxy uses the first of them that leaves it a route, else the default route."""
        exact = [c for c in claims if not is_wildcard(c.host.string())]
        candidates = exact or _most_specific(claims)
        for claim in claims:
            if claim not in candidates:
                self._shadowed(claim, service, candidates[0])
        owner = candidates[0]
        self.tables.owners[service] = owner.host.manifest
        table: list[Route] = list(owner.routes)
        last = owner
        for claim in candidates[1:]:
            if not _may_vanish(last.routes):
                self._duplicate(claim.host, service, owner.host.manifest)
                continue
            self._fallback(claim.host, service, last.host.manifest)
            table += _as_alternative(claim.routes)
            last = claim
        if _may_vanish(last.routes):
            table.append(self._default_route(service))
        self.tables.mesh[service] = tuple(table)

    def _default_route(self, service: str) -> Route:
        """``BuildDefaultHTTPOutboundRoute``: the service's own cluster, mesh retry default."""
        return Route(name=f"default|{service}", backends=(Backend(service),),
                     retry=default_retry(self.profile), timeout=ROUTE_TIMEOUT, alternative=True)

    def _shadowed(self, claim: _Claim, service: str, winner: _Claim) -> None:
        if claim.host.string() == winner.host.string():
            self._duplicate(claim.host, service, winner.host.manifest)
            return
        self.diagnostics.warn(
            claim.host,
            f"{claim.host.manifest.key} does not route {service}: the more specific host "
            f"{winner.host.string()!r} of {winner.host.manifest.key} "
            f"({winner.host.manifest.location().prefix()}) does (Istio picks the most specific "
            "host for a service, whatever the order)",
            code="duplicate-host",
        )

    def _duplicate(self, host: Node, service: str, owner: Manifest) -> None:
        if host.manifest is owner:
            return
        self.diagnostics.warn(
            host,
            f"{host.manifest.key} is ignored for {service}: {owner.key} "
            f"({owner.location().prefix()}) already routes it, and a sidecar keeps only the "
            f"first VirtualService for a host; {owner.key} comes first because "
            f"{why_first(owner, host.manifest)}",
            code="duplicate-host",
        )

    def _fallback(self, host: Node, service: str, before: Manifest) -> None:
        self.diagnostics.warn(
            host,
            f"{host.manifest.key} routes {service} only for callers that {before.key} "
            f"({before.location().prefix()}) gives no route (its matches all name sourceLabels "
            f"or sourceNamespace); {before.key} comes first because "
            f"{why_first(before, host.manifest)}",
            code="duplicate-host",
        )

    def _bind_gateway(self, key: str, hosts: list[Node], routes: list[Route]) -> None:
        gateway = self.gateways[key]
        table = self.tables.gateways.setdefault(key, {})
        for host in hosts:
            names = gateway.bind(host.manifest.namespace or "default", host.string())
            if not names:
                self.diagnostics.warn(
                    host,
                    f"host {host.string()!r} matches no server host of Gateway {key} "
                    f"({', '.join(gateway.host_names) or 'none'}), so it gets no routes there",
                    code="unused",
                )
            for name in names:
                merged = [*table.get(name, []), *routes]
                table[name] = [r for r in merged if not _catch_all(r)] + \
                    [r for r in merged if _catch_all(r)]


def _routes_for(target: str, rules: list[_Rule]) -> list[Route]:
    """The routes one proxy kind gets, up to and including the first catch-all."""
    out: list[Route] = []
    for rule in rules:
        if not rule.matches:
            out.append(_route(rule.name, rule.action, None))
            return out
        for position, (match, name) in enumerate(zip(rule.matches, rule.match_names,
                                                     strict=True)):
            if match.gateways and target not in match.gateways:
                continue
            suffix = f".{name}" if name else (f".match[{position}]" if len(rule.matches) > 1
                                              else "")
            out.append(_route(rule.name + suffix, rule.action, match))
            if is_catch_all(match):
                return out
    return out


def _route(name: str, action: RuleAction, match: RouteMatch | None) -> Route:
    return Route(
        name=name,
        matches=() if match is None else (match,),
        backends=action.backends,
        timeout=action.timeout,
        retry=action.retry,
        fault=action.fault,
        mirrors=action.mirrors,
        hash_key=action.hash_key,
        direct_status=action.direct_status,
        set_headers=action.set_headers,
        remove_headers=action.remove_headers,
    )


@dataclass(frozen=True, eq=False)
class _Claim:
    """One VirtualService host naming a service, with the routes the sidecars get from it."""

    host: Node
    routes: list[Route]


def _most_specific(claims: list[_Claim]) -> list[_Claim]:
    """The first claim of the longest wildcard (``host.MoreSpecific``: longer is more specific)."""
    best = max(len(c.host.string()) for c in claims)
    return [next(c for c in claims if len(c.host.string()) == best)]


def _may_vanish(routes: list[Route]) -> bool:
    """Could a proxy be left with none of these routes? Only if each one is guarded by a
    source match (``sourceLabels``/``sourceNamespace``) that some callers fail."""
    return all(
        route.matches and all(m.source_labels or m.source_namespace for m in route.matches)
        for route in routes
    )


def _as_alternative(routes: list[Route]) -> list[Route]:
    return [replace(routes[0], alternative=True), *routes[1:]]


def _catch_all(route: Route) -> bool:
    return not route.matches or all(is_catch_all(m) for m in route.matches)
