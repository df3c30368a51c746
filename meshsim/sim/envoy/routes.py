"""Istio's config-time route filters: which routes and match blocks reach one Envoy proxy.

A VirtualService's ``sourceLabels``, ``sourceNamespace`` and ``gateways`` conditions are settled
once per proxy, when the control plane generates its route table; what is left is matched per
request by :func:`meshsim.sim.routing.select_route` (mesh-neutral). Models what istiod's
route generation (istio/istio ``pilot/pkg/networking/core/route/route.go``) puts in one proxy's
RDS table, built here on the first request for a service.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from meshsim.model.routes import Backend, Route, RouteMatch, host_matches

if TYPE_CHECKING:
    from meshsim.model.policy import TrafficPolicy


def applies_to(
    m: RouteMatch, labels: Mapping[str, str], namespace: str, gateway: str
) -> bool:
    """Config-time conditions: is this match block programmed into this proxy at all?"""
    if m.source_labels and any(labels.get(k) != v for k, v in m.source_labels.items()):
        return False
    if m.source_namespace is not None and m.source_namespace != namespace:
        return False
    return not (m.gateways and gateway not in m.gateways)


def route_table(policy: TrafficPolicy, service: str) -> tuple[Route, ...]:
    """A sidecar's routes for ``service``; without a VirtualService, the default route."""
    table = policy.routes.get(service)
    if table is None:
        table = (Route(
            name=f"default|{service}", backends=(Backend(service),),
            retry=policy.default_retry, timeout=policy.default_timeout,
        ),)
    return table


def host_table(host_routes: Mapping[str, tuple[Route, ...]], service: str) -> tuple[Route, ...]:
    """A gateway's routes for ``service``: those of the first host pattern it matches."""
    return next((r for pattern, r in host_routes.items() if host_matches(pattern, service)), ())


def routes_for_proxy(
    routes: Sequence[Route], labels: Mapping[str, str], namespace: str, gateway: str = "mesh"
) -> tuple[Route, ...]:
    """The routes this proxy receives, each keeping only the match blocks that apply to it.

    Routes marked ``alternative`` start the next candidate (Istio: the next VirtualService for
    the host, then the service's default route); a proxy gets the first candidate that leaves
    it at least one route.
    """
    kept: list[Route] = []
    for route in routes:
        if route.alternative:
            if kept:
                break
            route = replace(route, alternative=False)
        if not route.matches:
            kept.append(route)
            break  # generation stops after the first catch-all
        matches = tuple(m for m in route.matches if applies_to(m, labels, namespace, gateway))
        if matches:
            kept.append(_with_matches(route, matches))
    return tuple(kept)


def _with_matches(route: Route, matches: tuple[RouteMatch, ...]) -> Route:
    return replace(route, matches=matches)
