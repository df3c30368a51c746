"""The routes a controller generates (Flagger) or takes over (Argo) on the rolled-out host.

Flagger writes the mesh object itself: on Istio a VirtualService named after the apex service
(``pkg/router/istio.go``: primary weight 100, canary 0, with ``service.match``, ``retries``,
``timeout`` and ``headers``; whenever ``analysis.match`` is set, the matched route carries
the weights and a default route sends the rest to the primary), on Linkerd an SMI
TrafficSplit, which linkerd-smi turns into the ``dstOverrides`` of the apex service's profile
(every profile route, plus the catch-all ``default``, gets the two backends). Weights start
at primary 100 / canary 0; the engine's controller moves them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from meshsim.model.linkerd import TpsBudgetSpec
from meshsim.model.policy import TrafficPolicy
from meshsim.model.rollout import Version
from meshsim.model.routes import Backend, Route, RouteMatch


def backends(primary: Version, canary: Version) -> tuple[Backend, Backend]:
    """All traffic to the primary: where every rollout starts."""
    return (Backend(primary.service, primary.subset, 100),
            Backend(canary.service, canary.subset, 0))


def default_route(host: str, version: Version, policy: TrafficPolicy) -> Route:
    """A Kubernetes Service that selects one version's pods, as a sidecar routes it without a
    VirtualService: Flagger's ``<apex>-canary``/``-primary``, and the apex Service itself
    (selector ``<apex>-primary``) where Flagger's VirtualService is not bound to ``mesh``."""
    return Route(name=f"default|{host}", backends=(Backend(version.service, version.subset),),
                 retry=policy.default_retry, timeout=policy.default_timeout)


def split_profile_routes(existing: tuple[Route, ...], primary: Version,
                         canary: Version) -> tuple[Route, ...]:
    """A TrafficSplit on a Linkerd service: its profile routes (if any) get the two backends."""
    pair = backends(primary, canary)
    budget = existing[0].retry_budget if existing else TpsBudgetSpec()
    kept = [replace(r, backends=pair) for r in existing if r.name != "default"]
    return (*kept, Route("default", backends=pair, retry_budget=budget))


def merge_matches(first: tuple[RouteMatch, ...],
                  second: tuple[RouteMatch, ...]) -> tuple[RouteMatch, ...]:
    """Flagger's ``mergeMatchConditions``: for every A/B match × every service match, the
    service match with its headers and source labels replaced by the A/B match's where the
    A/B match sets them; the A/B match's other conditions are dropped."""
    if not second:
        return first
    return tuple(replace(d, headers=c.headers or d.headers,
                         source_labels=c.source_labels or d.source_labels)
                 for c in first for d in second)


def dropped_by_merge(match: RouteMatch) -> bool:
    """Whether ``merge_matches`` drops some condition of this A/B match."""
    return replace(match, headers=(), source_labels={}) != RouteMatch()


def merge_gateway_matches(ab: list[dict[str, Any]],
                          service: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``mergeMatchConditions`` of Flagger's Gateway API router: for every A/B match × every
    service match, the service match with its headers and query params replaced by the A/B
    match's where the A/B match sets them (its path and method are dropped)."""
    if not ab:
        return service
    if not service:
        return ab
    return [{**s, **{k: a[k] for k in ("headers", "queryParams") if a.get(k)}}
            for a in ab for s in service]
