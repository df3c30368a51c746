"""Argo Rollouts' ``argoproj-labs/gatewayAPI`` traffic-router plugin on Linkerd.

The plugin (``rollouts-plugin-trafficrouter-gatewayapi`` ``setHTTPRouteWeight``) edits the
user's HTTPRoutes named by ``httpRoute`` / ``httpRoutes[].name`` in ``namespace`` (default: the
Rollout's): in every rule, the backendRef named ``canaryService`` gets the step's weight and the
one named ``stableService`` the rest. On Linkerd an HTTPRoute whose parent is a Service is the
policy path, already translated by the Linkerd translator into routes named after each rule
(``rule.name``, else ``<namespace>/<route>/rule<i>``); meshsim hands the rules with both
backendRefs to the engine's controller, which moves their weights (stable 100 / canary 0 until
the first ``setWeight``). Istio reads HTTPRoutes only as Gateway API, which meshsim does not
translate yet: a located error there.
"""

from __future__ import annotations

from dataclasses import replace

from meshsim.config.linkerd.httproute import GATEWAY_GROUP
from meshsim.config.manifest.nodes import Node
from meshsim.config.manifests import Manifest
from meshsim.config.rollout.context import Context
from meshsim.model.rollout import TrafficTarget, Version
from meshsim.model.routes import Backend, Route

PLUGIN = "argoproj-labs/gatewayAPI"
_OTHER_ROUTES = ("grpcRoute", "grpcRoutes", "tcpRoute", "tcpRoutes", "tlsRoute", "tlsRoutes")
_NOT_BUILT = ("httpRouteSelector", "grpcRouteSelector", "tcpRouteSelector", "tlsRouteSelector")
_IGNORED = ("configMap", "disableInProgressLabel", "inProgressLabelKey", "inProgressLabelValue")


def plugin_target(manifest: Manifest, canary: Node, stable: Version, new: Version,
                  ctx: Context) -> TrafficTarget:
    """The routes the plugin weighs, on the one Service the HTTPRoutes attach to."""
    plugins = canary["trafficRouting"]["plugins"]
    config = plugins[PLUGIN]
    others = [k for k, _ in plugins.entries() if k != PLUGIN]
    if others or not config.present:
        raise plugins.error(f"traffic-router plugin {', '.join(others) or 'none'} is not built "
                            f"(meshsim reads {PLUGIN})")
    if ctx.mesh != "linkerd":
        raise config.error(f"{PLUGIN} on Istio edits HTTPRoutes that Istio applies as Gateway "
                           "API, which meshsim does not translate yet; use trafficRouting.istio "
                           "with a VirtualService")
    _check_config(config, ctx)
    namespace = config["namespace"].string(manifest.namespace) or manifest.namespace
    names = [config["httpRoute"]] if config.has("httpRoute") else \
        [item["name"] for item in config["httpRoutes"].items()]
    if not names:
        raise config.error("the gatewayAPI plugin needs httpRoute (or httpRoutes) naming the "
                           "HTTPRoute whose backendRefs are the stable and canary Services")
    hosts: dict[str, list[str]] = {}
    for name in names:
        route = _http_route(name, namespace, ctx)
        for host, rules in _weighted_rules(route, name, stable, new, ctx).items():
            hosts.setdefault(host, []).extend(rules)
    if len(hosts) != 1:
        raise config.error(f"the HTTPRoutes attach to several Services ({', '.join(hosts)}): "
                           "meshsim rolls out one service's routes per Rollout")
    (host, rules), = hosts.items()
    ctx.claim(host, Node.root(manifest))
    table = list(ctx.routes.get(host) or ctx.policy.routes.get(host, ()))
    ctx.routes[host] = tuple(_reweigh(r, stable, new) if r.name in rules else r for r in table)
    return TrafficTarget(host, stable, new, tuple(dict.fromkeys(rules)))


def _check_config(config: Node, ctx: Context) -> None:
    for key, value in config.entries():
        if key in _OTHER_ROUTES:
            ctx.diagnostics.warn(value, f"{key} is not modelled: meshsim simulates HTTP "
                                 "requests only", code="unmodelled")
        elif key in _NOT_BUILT:
            raise value.error(f"{key} (discovering routes by label) is not built; name them "
                              "with httpRoute or httpRoutes")
        elif key in _IGNORED:
            ctx.diagnostics.warn(value, f"{key} is not modelled (the plugin's bookkeeping)",
                                 code="unmodelled")
        elif key not in ("httpRoute", "httpRoutes", "namespace"):
            raise value.error(f"unknown field {key!r} of the {PLUGIN} plugin configuration")
    for item in config["httpRoutes"].items():
        if item["useHeaderRoutes"].boolean():
            ctx.diagnostics.warn(item["useHeaderRoutes"], "useHeaderRoutes has no effect: "
                                 "setHeaderRoute steps are not built", code="no-effect")


def _http_route(name: Node, namespace: str, ctx: Context) -> Manifest:
    text = name.string()
    for manifest in ctx.manifests:
        if manifest.kind == "HTTPRoute" and manifest.group == GATEWAY_GROUP and \
                manifest.name == text and manifest.namespace == namespace:
            return manifest
    known = sorted(f"{m.namespace}/{m.name}" for m in ctx.manifests
                   if m.kind == "HTTPRoute" and m.group == GATEWAY_GROUP)
    raise name.error(f"HTTPRoute {namespace}/{text} ({GATEWAY_GROUP}) is not among the manifests "
                     f"(HTTPRoutes: {', '.join(known) or 'none'})")


def _weighted_rules(route: Manifest, name: Node, stable: Version, new: Version,
                    ctx: Context) -> dict[str, list[str]]:
    """Parent service → the translated route names of the rules holding both backendRefs."""
    spec = Node.root(route)["spec"]
    rules: list[str] = []
    for r, rule in enumerate(spec["rules"].items()):
        found = {_service(ref, route, ctx) for ref in rule["backendRefs"].items()}
        if stable.service in found and new.service in found:
            rules.append(rule["name"].string(f"{route.namespace}/{route.name}/rule{r}"))
        elif stable.service in found or new.service in found:
            ctx.diagnostics.warn(rule, f"rule {r} of {route.key} has only one of "
                                 f"{stable.service} and {new.service}: Linkerd sends that rule's "
                                 "requests to it whatever weight the plugin writes",
                                 code="no-effect")
    if not rules:
        raise name.error(f"no rule of {route.key} has both backendRefs {stable.service} "
                         f"(stableService) and {new.service} (canaryService): the plugin "
                         "fails with 'backendRef was not found'")
    out: dict[str, list[str]] = {}
    for host, routes in {**ctx.policy.routes, **ctx.routes}.items():
        names = [n for n in rules if any(r.name == n for r in routes)]
        if names:
            out[host] = names
    if not out:
        raise name.error(f"{route.key} gives no Service policy-path routes (its parents are no "
                         "Services of the mesh, or a ServiceProfile with routes overrides it)")
    return out


def _service(ref: Node, route: Manifest, ctx: Context) -> str | None:
    found = ctx.index.resolve(ref["name"].string(), ref["namespace"].string(route.namespace))
    return found.service if found is not None else None


def _reweigh(route: Route, stable: Version, new: Version) -> Route:
    """Stable 100, canary 0 until the first setWeight; the rule's other backends are kept."""
    weights = {stable.service: 100, new.service: 0}
    return replace(route, backends=tuple(
        Backend(b.service, b.subset, weights.get(b.service, b.weight), b.port, b.set_headers,
                b.remove_headers) for b in route.backends))
