"""Flagger's VirtualService on ingress gateways: ``spec.service.gateways`` and ``hosts``.

``pkg/router/istio.go`` ``reconcileVirtualService`` writes one VirtualService named after the
apex service with ``hosts`` = ``service.hosts`` plus the apex name (unless listed, or ``*``) and
``gateways`` = ``service.gateways``, plus ``mesh`` only when no gateway is listed (since Flagger
0.11, fluxcd/flagger#141): a Canary that lists gateways without ``mesh`` leaves the sidecars to
the apex Kubernetes Service, which Flagger points at the primary pods. On each gateway the routes
bind to the hosts a server of that Gateway accepts, merged with other VirtualServices' routes
for the same host as Istio merges them (catch-alls last). A gateway reference is ``ns/name``,
a bare name in the Canary's namespace, or the legacy ``name.ns.svc.cluster.local``, as Istio
``ResolveGatewayName`` reads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from meshsim.config.istio.gateway import resolve_gateway_name
from meshsim.config.istio.matching import is_catch_all
from meshsim.config.manifest.hosts import intersect
from meshsim.config.manifest.nodes import Node
from meshsim.config.rollout.context import Context
from meshsim.model.policy import Gateway
from meshsim.model.routes import Route

MESH = "mesh"


def gateway_ref(name: str, namespace: str) -> str:
    """``ns/name`` for a Canary's ``service.gateways`` entry, as for a VirtualService's."""
    return resolve_gateway_name(name, namespace)


def vs_hosts(service: Node, apex: str) -> list[str]:
    """The generated VirtualService's hosts: ``service.hosts`` plus the apex service name."""
    hosts = service["hosts"].strings() if service.has("hosts") else []
    return hosts if any(h in (apex, "*") for h in hosts) else [*hosts, apex]


def binds_mesh(service: Node) -> bool:
    """Whether Flagger's VirtualService applies to the sidecars (``mesh``)."""
    listed = [g.string() for g in service["gateways"].items()]
    return not listed or MESH in listed


def bind_to_gateways(service: Node, apex: str, routes: tuple[Route, ...], ctx: Context) -> None:
    """Give each listed Gateway the generated routes for the hosts its servers accept.

    A gateway the scenario does not define is a warning, not an error: the Canary still rolls
    out through the sidecars, only the traffic that gateway would carry is missing.
    """
    hosts = vs_hosts(service, apex)
    known = ctx.policy.gateways
    for node in service["gateways"].items():
        if node.string() == MESH:
            continue
        key = gateway_ref(node.string(), node.manifest.namespace)
        gateway = known.get(key)
        if gateway is None:
            names = ", ".join(sorted(known)) or "none"
            ctx.diagnostics.warn(node, f"Gateway {node.string()!r} ({key}) is not in the "
                                 f"scenario (Gateways: {names}): traffic entering through it "
                                 "is not split here; add its Gateway manifest to rehearse it",
                                 code="unmodelled")
            continue
        _bind(gateway, key, hosts, routes, service, ctx)


def _bind(gateway: Gateway, key: str, hosts: list[str], routes: tuple[Route, ...],
          service: Node, ctx: Context) -> None:
    table = ctx.gateway_routes.setdefault(key, {})
    for host in hosts:
        names = [n for server in gateway.hosts if (n := intersect(host, server)) is not None]
        if not names and host in service["hosts"].strings():
            ctx.diagnostics.warn(service["hosts"], f"host {host!r} matches no server host of "
                                 f"Gateway {key} ({', '.join(gateway.hosts) or 'none'}), so "
                                 "Flagger's routes get no traffic from it there", code="unused")
        for name in dict.fromkeys(names):
            if any(_catch_all(r) for r in gateway.routes.get(name, ())):
                ctx.diagnostics.warn(service["gateways"], f"Gateway {key} already routes host "
                                     f"{name!r} with a catch-all from another VirtualService: "
                                     "Istio merges both and that route comes first, so Flagger's "
                                     "catch-all never gets its requests there", code="overridden")
            table[name] = (*table.get(name, ()), *routes)


def bind_gateways(gateways: Mapping[str, Gateway],
                  bound: Mapping[str, Mapping[str, tuple[Route, ...]]]) -> dict[str, Gateway]:
    """``gateways`` with the controllers' routes merged in (Istio ``SortVHostRoutes``: the
    merged routes keep their order, catch-alls moved last)."""
    out = dict(gateways)
    for key, by_host in bound.items():
        routes = {host: tuple(r) for host, r in gateways[key].routes.items()}
        for host, added in by_host.items():
            merged = [*routes.get(host, ()), *added]
            routes[host] = (*[r for r in merged if not _catch_all(r)],
                            *[r for r in merged if _catch_all(r)])
        out[key] = replace(gateways[key], routes=routes)
    return out


def _catch_all(route: Route) -> bool:
    return not route.matches or all(is_catch_all(m) for m in route.matches)
