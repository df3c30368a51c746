"""Flagger's ``gatewayapi`` router on Linkerd: the HTTPRoute it generates → policy-path routes.

``pkg/router/gateway_api.go`` (``gateway_api_v1beta1.go`` alike) writes one HTTPRoute named
after the apex service, in the Canary's namespace, with ``parentRefs`` = ``service.gatewayRefs``
and one rule: the ``service.match`` matches (else ``PathPrefix /``), a RequestHeaderModifier
from ``service.headers.request``, backendRefs ``<apex>-primary`` weight 100 and
``<apex>-canary`` weight 0 on ``service.port``, and ``timeouts.request`` = ``service.timeout``
(no retries). With ``analysis.match`` (A/B) the weighted rule gets ``mergeMatchConditions``
(each A/B match's headers and query params over each service match) and a second rule with the
service matches sends the rest to the primary. Linkerd applies an HTTPRoute whose parent is a
Service on the policy path, so meshsim builds the routes as the Linkerd translator builds any
HTTPRoute (:func:`~meshsim.config.linkerd.httproute.rule_routes`) and merges them with the
parent's other HTTPRoutes in the controller's order (Flagger's route is the newest); the proxy
ranks them per request and the engine's controller moves the weighted rule's weights.
"""

from __future__ import annotations

from typing import Any

from meshsim.config.linkerd.annotations import Timeouts
from meshsim.config.linkerd.httproute import (
    GATEWAY_GROUP,
    RankedRoute,
    ServiceDefaults,
    controller_order,
    rule_routes,
    specificity,
)
from meshsim.config.linkerd.values import parse_gateway_duration
from meshsim.config.manifest.nodes import Node
from meshsim.config.manifest.regex import check_regex
from meshsim.config.manifests import Manifest
from meshsim.config.rollout.context import Context
from meshsim.config.rollout.routes import merge_gateway_matches
from meshsim.errors import UnitError
from meshsim.model.rollout import Version
from meshsim.model.routes import Route

ROUTERS = ("gatewayapi", "gatewayapi:v1", "gatewayapi:v1beta1")
CORE = ("", "core")
_CATCH_ALL = {"path": {"type": "PathPrefix", "value": "/"}}
_URI = {"exact": "Exact", "prefix": "PathPrefix", "regex": "RegularExpression"}
_UNAPPLIED = {
    "retries": "Flagger's HTTPRoute carries no retries (annotate the Service for Linkerd's)",
    "gateways": "service.gateways is for the istio provider",
    "hosts": "HTTPRoute hostnames do not apply to a Service parent in Linkerd",
}


def is_gateway_router(provider: str, has_refs: bool) -> bool:
    """Flagger's router for this Canary is the Gateway API one: ``provider: gatewayapi[:v]``,
    or no provider with ``gatewayRefs`` (Flagger installed as the Linkerd docs install it)."""
    return provider in ROUTERS or (not provider and has_refs)


def gateway_routes(apex: str, primary: Version, canary: Version, spec: Node, strategy: str,
                   mirror: bool, ctx: Context) -> tuple[str, tuple[str, ...]]:
    """Flagger's HTTPRoute on its Service parent: (the parent service, the weighted routes)."""
    service = spec["service"]
    analysis = spec["analysis"] if spec.has("analysis") else spec["canaryAnalysis"]
    if ctx.mesh != "linkerd":
        node = spec["provider"] if spec.has("provider") else service["gatewayRefs"]
        raise node.error("Flagger's gatewayapi router on Istio writes an HTTPRoute that Istio "
                         "applies as Gateway API, which meshsim does not translate yet; use "
                         "provider: istio (a VirtualService) to rehearse this rollout")
    host = _parent(service, ctx)
    _warn_unapplied(service, analysis, strategy, mirror, ctx)
    matches = [m for n in service["match"].items() if (m := _match(n, ctx))] or [_CATCH_ALL]
    rules = [_rule(matches, primary, canary, service, ctx, weighted=True)]
    if analysis["match"].items():
        ab = [m for n in analysis["match"].items() if (m := _match(n, ctx))]
        rules[0]["matches"] = merge_gateway_matches(ab, matches)
        rules.append(_rule(matches, primary, canary, service, ctx, weighted=False))
    manifest = _generated(spec, apex, rules)
    existing, defaults = _existing(host, spec, ctx)
    ranked = rule_routes(manifest, ctx.index, defaults, host, ctx.diagnostics)
    assert ranked is not None  # no annotations: Linkerd never skips it
    weighted = ranked[0].route.name
    _warn_shadowed(existing, ranked, weighted, service, ctx)
    ordered = [RankedRoute((), (0, i), r) for i, r in enumerate(existing)]
    ordered += [RankedRoute(r.rank, (1, r.order), r.route) for r in ranked]
    ctx.routes[host] = controller_order(ordered)  # the user's routes are older
    return host, (weighted,)


def _parent(service: Node, ctx: Context) -> str:
    """The one Service parent (east-west); Gateway parents are warned about."""
    refs = service["gatewayRefs"].items()
    if not refs:
        raise service.error("GatewayRefs must be specified when using Gateway API as a provider "
                            "(Flagger's error): under Linkerd list the apex Service, "
                            "{name: <apex>, group: core, kind: Service, port: <port>}")
    found: list[str] = []
    for ref in refs:
        kind = ref["kind"].string("Gateway")
        group = ref["group"].string(GATEWAY_GROUP)
        name = ref["name"].string()
        if not name:
            raise ref.error("a gatewayRef needs a name")
        if kind == "Service" and group in CORE:
            namespace = ref["namespace"].string(ref.manifest.namespace)
            resolved = ctx.index.resolve(name, namespace)
            if resolved is None:
                raise ref["name"].error(
                    f"parent Service {name!r} ({ctx.index.qualify(name, namespace)}) is no "
                    f"service of the scenario{ctx.index.suggestion(name)}")
            found.append(resolved.service)
        elif kind == "Gateway":
            ctx.diagnostics.warn(ref, f"gatewayRef Gateway {name!r} is not modelled: Linkerd has "
                                 "no ingress gateway, so traffic entering through that Gateway "
                                 "is split by its own controller, which meshsim does not "
                                 "simulate", code="unmodelled")
        else:
            raise ref.error(f"unsupported gatewayRef {group or 'core'}/{kind}: Linkerd attaches "
                            "HTTPRoutes to a core Service")
    if not found:
        raise service["gatewayRefs"].error(
            "no gatewayRef is a Service: under Linkerd Flagger's HTTPRoute splits in-mesh "
            "traffic only when attached to the apex Service (group: core, kind: Service); "
            "north-south Gateways are not modelled")
    if len(set(found)) > 1:
        raise service["gatewayRefs"].error(
            f"several Service parents ({', '.join(found)}) are not built: meshsim rolls one "
            "service's routes per Canary")
    return found[0]


def _warn_unapplied(service: Node, analysis: Node, strategy: str, mirror: bool,
                    ctx: Context) -> None:
    for key, why in _UNAPPLIED.items():
        if service.has(key):
            ctx.diagnostics.warn(service[key], f"service.{key} has no effect here: {why}",
                                 code="no-effect")
    if service["headers"]["response"].present:
        ctx.diagnostics.warn(service["headers"]["response"], "response header operations are "
                             "not modelled (the simulated responses carry no headers)",
                             code="unmodelled")
    if mirror and strategy == "canary":
        raise analysis["mirror"].error(
            "mirror with stepWeight never advances with the gatewayapi router: "
            "router/gateway_api.go adds the mirror filter only with iterations, so the scheduler "
            "keeps asking for its mirror step and holds the canary at 0 % with no analysis")
    if mirror:
        ctx.diagnostics.warn(analysis["mirror"], "Linkerd does not mirror traffic (it has no "
                             "RequestMirror filter): no request is mirrored to the canary",
                             code="unmodelled")


def _match(node: Node, ctx: Context) -> dict[str, Any] | None:
    """``mapRouteMatches``: an Istio match → a Gateway API one (None when empty)."""
    out: dict[str, Any] = {}
    uri = node["uri"]
    if uri.present:
        kinds = [k for k in _URI if uri.has(k)]
        if not kinds:
            raise uri.error("Gateway API doesn't support the specified path matching selector "
                            "(Flagger's error; use exact, prefix or regex)")
        if kinds[0] == "regex":
            check_regex(uri["regex"])
        out["path"] = {"type": _URI[kinds[0]], "value": uri[kinds[0]].string()}
    if node.has("method"):
        if not node["method"].has("exact"):
            raise node["method"].error("Gateway API doesn't support the specified method "
                                       "matching selector (Flagger's error; use exact)")
        out["method"] = node["method"]["exact"].string()
    for key, field in (("headers", "headers"), ("queryParams", "queryParams")):
        items = [_value(name, value) for name, value in node[key].entries()]
        if items:
            out[field] = items
    for key, value in node.entries():
        if key not in ("uri", "method", "headers", "queryParams") and value.present:
            ctx.diagnostics.warn(value, f"match {key} is dropped by Flagger's Gateway API "
                                 "router (mapRouteMatches reads uri, method, headers and "
                                 "queryParams)", code="no-effect")
    return out or None


def _value(name: str, node: Node) -> dict[str, str]:
    if node.has("exact"):
        return {"name": name, "type": "Exact", "value": node["exact"].string()}
    if node.has("regex"):
        check_regex(node["regex"])
        return {"name": name, "type": "RegularExpression", "value": node["regex"].string()}
    raise node.error("Gateway API doesn't support the specified header matching selector "
                     "(Flagger's error; use exact or regex)")


def _rule(matches: list[dict[str, Any]], primary: Version, canary: Version, service: Node,
          ctx: Context, *, weighted: bool) -> dict[str, Any]:
    port = service["port"].integer(minimum=1, maximum=65535) if service.has("port") else None
    refs = [_backend(primary, 100, port, ctx)]
    if weighted:
        refs.append(_backend(canary, 0, port, ctx))
    rule: dict[str, Any] = {"matches": matches, "backendRefs": refs}
    request = service["headers"]["request"]
    if request.present:
        rule["filters"] = [{"type": "RequestHeaderModifier", "requestHeaderModifier": {
            "set": [{"name": k, "value": v.string()} for k, v in request["set"].entries()],
            "add": [{"name": k, "value": v.string()} for k, v in request["add"].entries()],
            "remove": request["remove"].strings(),
        }}]
    if service.has("timeout"):
        try:
            parse_gateway_duration(service["timeout"].value)
        except UnitError as exc:
            raise service["timeout"].error(f"invalid Gateway API duration: {exc}") from None
        rule["timeouts"] = {"request": service["timeout"].string()}
    return rule


def _backend(version: Version, weight: int, port: int | None, ctx: Context) -> dict[str, Any]:
    svc = ctx.topology.services[version.service]
    ref: dict[str, Any] = {"name": svc.name, "namespace": svc.namespace, "weight": weight}
    if port is not None:
        ref["port"] = port
    return ref


def _generated(spec: Node, apex: str, rules: list[dict[str, Any]]) -> Manifest:
    """The HTTPRoute Flagger writes, located at the Canary's ``spec.service``."""
    canary = spec.manifest
    version = "v1beta1" if canary.data.get("spec", {}).get("provider") == "gatewayapi:v1beta1" \
        else "v1"
    refs = spec["service"]["gatewayRefs"].value
    api_version = f"{GATEWAY_GROUP}/{version}"
    data = {"apiVersion": api_version, "kind": "HTTPRoute",
            "metadata": {"name": apex, "namespace": canary.namespace},
            "spec": {"parentRefs": refs, "rules": rules}}
    return Manifest(apiVersion=api_version, kind="HTTPRoute", name=apex,
                    namespace=canary.namespace, data=data, positions=canary.positions,
                    file=canary.file, family="gateway-api")


def _existing(host: str, spec: Node, ctx: Context) -> tuple[list[Route], ServiceDefaults]:
    """The parent's other policy-path routes, and the Service's annotation defaults."""
    routes = list(ctx.routes.get(host) or ctx.policy.routes.get(host, ()))
    if any(r.retry_budget is not None for r in routes):
        raise spec["service"]["gatewayRefs"].error(
            f"{host} has a ServiceProfile with routes or dstOverrides: Linkerd serves it on the "
            "profile path and ignores Flagger's HTTPRoute, so the weights would never move "
            "(linkerd.md §0)")
    if len(routes) == 1 and routes[0].name == "default":
        only = routes[0]  # the Service's retry/timeout annotations, no HTTPRoute yet
        return [], ServiceDefaults(only.policy_retry, Timeouts(only.timeout,
                                                               only.response_timeout))
    return routes, ServiceDefaults()


def _warn_shadowed(existing: list[Route], ranked: list[RankedRoute], weighted: str,
                   service: Node, ctx: Context) -> None:
    """A user HTTPRoute at least as specific as Flagger's takes its requests (older wins)."""
    best = max(specificity(r.route.matches[0] if r.route.matches else None)
               for r in ranked if r.route.name == weighted)
    shadows = [r.name for r in existing if not r.fallback
               and specificity(r.matches[0] if r.matches else None) >= best]
    if shadows:
        ctx.diagnostics.warn(service["gatewayRefs"], f"routes {', '.join(dict.fromkeys(shadows))}"
                             " of another HTTPRoute on the same parent match at least as "
                             "specifically as Flagger's and are older, so Linkerd sends them "
                             "the requests they match: those are not split", code="overridden")
