"""An Argo Rollout's ``trafficRouting``: which route table it weighs, and between which versions.

Apart from :mod:`.argo` because the three routers (Istio VirtualService routes, an SMI
TrafficSplit for Linkerd, the Gateway API plugin of :mod:`.argo_gatewayapi`) are a concept of
their own: they check the user's mesh manifests and rewrite routes, which the steps and the
analysis never touch.
"""

from __future__ import annotations

from dataclasses import replace

from meshsim.config.manifest.nodes import Node
from meshsim.config.manifests import Manifest
from meshsim.config.rollout.argo_gatewayapi import PLUGIN, plugin_target
from meshsim.config.rollout.context import Context
from meshsim.config.rollout.routes import split_profile_routes
from meshsim.config.rollout.targets import require_version, resolve_service
from meshsim.model.rollout import TrafficTarget, Version
from meshsim.model.routes import Backend, Route


def routed_target(manifest: Manifest, canary: Node, ctx: Context) -> TrafficTarget:
    routing = canary["trafficRouting"]
    if routing.has("istio"):
        return _istio(manifest, canary, ctx)
    if routing.has("plugins"):
        stable, new = _versions(canary, Node(canary.manifest, canary.path, None), "", ctx)
        return plugin_target(manifest, canary, stable, new, ctx)
    return _smi(manifest, canary, ctx)


def _istio(manifest: Manifest, canary: Node, ctx: Context) -> TrafficTarget:
    istio = canary["trafficRouting"]["istio"]
    if ctx.mesh != "istio":
        raise istio.error(f"trafficRouting.istio needs spec.mesh: istio (it is {ctx.mesh}); "
                          "use trafficRouting.smi with Linkerd")
    services = istio["virtualServices"].items() or [istio["virtualService"]]
    if not services[0].present:
        raise istio.error("trafficRouting.istio needs virtualService (name and routes)")
    rule = istio["destinationRule"]
    names: list[str] = []
    host = ""
    for node in services:
        vs = _virtual_service(node["name"], manifest.namespace, ctx)
        host_node = Node.root(vs)["spec"]["hosts"][0]
        host = resolve_service(ctx.index, host_node.string(), vs.namespace, host_node)
        primary, canary_v = _versions(canary, rule, host, ctx)
        names += _take_routes(node, vs, host, primary, canary_v, ctx)
    ctx.claim(host, Node.root(manifest))
    primary, canary_v = _versions(canary, rule, host, ctx)
    return TrafficTarget(host, primary, canary_v, tuple(names))


def _versions(canary: Node, rule: Node, host: str, ctx: Context) -> tuple[Version, Version]:
    if rule.present:
        why = ("Argo adds a pod-template-hash label to the DestinationRule subsets, so each "
               "selects one version")
        stable = rule["stableSubsetName"]
        new = rule["canarySubsetName"]
        if not stable.present or not new.present:
            raise rule.error("destinationRule needs canarySubsetName and stableSubsetName")
        _require_destination_rule(rule["name"], canary.manifest.namespace, ctx)
        return (require_version(ctx.topology, host, stable.string(), stable, why),
                require_version(ctx.topology, host, new.string(), new, why))
    for key in ("stableService", "canaryService"):
        if not canary.has(key):
            raise canary.error(f"host-level traffic splitting needs {key} (or "
                               "trafficRouting.istio.destinationRule for subsets)")
    namespace = canary.manifest.namespace
    return (Version(resolve_service(ctx.index, canary["stableService"].string(), namespace,
                                    canary["stableService"])),
            Version(resolve_service(ctx.index, canary["canaryService"].string(), namespace,
                                    canary["canaryService"])))


def _require_destination_rule(name: Node, namespace: str, ctx: Context) -> None:
    """Argo patches the subsets of this DestinationRule: the Rollout fails if it is missing."""
    text = name.string()
    space, _, short = text.rpartition("/") if "/" in text else (namespace, "", text)
    rules = [m for m in ctx.manifests if m.kind == "DestinationRule"]
    if not any(m.name == short and m.namespace == space for m in rules):
        known = sorted(m.name for m in rules)
        raise name.error(f"DestinationRule {text!r} is not among the manifests "
                         f"(DestinationRules: {', '.join(known) or 'none'})")


def _virtual_service(name: Node, namespace: str, ctx: Context) -> Manifest:
    text = name.string()
    space, _, short = text.rpartition("/") if "/" in text else (namespace, "", text)
    for manifest in ctx.manifests:
        if manifest.kind == "VirtualService" and manifest.name == short and \
                manifest.namespace == space:
            return manifest
    known = sorted(m.name for m in ctx.manifests if m.kind == "VirtualService")
    raise name.error(f"VirtualService {text!r} is not among the manifests "
                     f"(VirtualServices: {', '.join(known) or 'none'})")


def _take_routes(node: Node, vs: Manifest, host: str, primary: Version, canary: Version,
                 ctx: Context) -> list[str]:
    """Argo's routes of ``vs``: they must exist and send to stable and canary; weights 100/0."""
    http = Node.root(vs)["spec"]["http"].items()
    written = [h["name"].string() for h in http]
    wanted = node["routes"].items()
    if not wanted:
        if len(http) != 1:
            raise node.error(f"routes is needed when VirtualService/{vs.name} has several http "
                             "routes")
        chosen = [(node, http[0], written[0] or f"{vs.name}.http[0]")]
    else:
        chosen = []
        for item in wanted:
            if item.string() not in written:
                raise item.error(f"VirtualService/{vs.name} has no http route named "
                                 f"{item.string()!r} (its routes: "
                                 f"{', '.join(repr(w) for w in written if w) or 'none named'})")
            chosen.append((item, http[written.index(item.string())], item.string()))
    table = list(ctx.routes.get(host) or ctx.policy.routes.get(host, ()))
    names: list[str] = []
    for item, rule, name in chosen:
        _check_destinations(rule, vs, primary, canary, item, ctx)
        for index, route in enumerate(table):
            if route.name == name or route.name.startswith(name + "."):
                table[index] = _reweigh(route, primary, canary)
                names.append(route.name)
    if not names:
        raise node.error(f"VirtualService/{vs.name} gives {host} no sidecar routes (is it bound "
                         "to gateways only?)")
    ctx.routes[host] = tuple(table)
    return names


def _check_destinations(rule: Node, vs: Manifest, primary: Version, canary: Version,
                        node: Node, ctx: Context) -> None:
    """Argo needs the stable and canary destinations, and only those, in each route it weighs."""
    found = []
    for item in rule["route"].items():
        destination = item["destination"]
        service = resolve_service(ctx.index, destination["host"].string(), vs.namespace,
                                  destination["host"])
        found.append(Version(service, destination["subset"].string() or None))
    for version in (primary, canary):
        if version not in found:
            shown = version.service + (f" subset {version.subset}" if version.subset else "")
            raise node.error(f"route {rule['name'].string() or rule.name!r} of "
                             f"VirtualService/{vs.name} must have a destination {shown}, which "
                             "Argo weighs")
    if len(found) != 2:
        raise node.error(f"route {rule['name'].string()!r} of VirtualService/{vs.name} must "
                         "have exactly the stable and canary destinations")


def _reweigh(route: Route, primary: Version, canary: Version) -> Route:
    """Stable 100, canary 0 (Istio drops a weight-0 destination; Argo's weights bring it back)."""
    port = route.backends[0].port if route.backends else None
    return replace(route, backends=(
        Backend(primary.service, primary.subset, 100, port),
        Backend(canary.service, canary.subset, 0, port),
    ))


def _smi(manifest: Manifest, canary: Node, ctx: Context) -> TrafficTarget:
    routing = canary["trafficRouting"]
    smi = routing["smi"]
    if not smi.present:
        others = ", ".join(k for k, _ in routing.entries()) or "none"
        raise routing.error(f"traffic routers other than istio, smi and the {PLUGIN} plugin "
                            f"are not built (got {others})")
    if ctx.mesh != "linkerd":
        raise smi.error(f"trafficRouting.smi needs spec.mesh: linkerd (it is {ctx.mesh}); use "
                        "trafficRouting.istio with Istio")
    primary, new = _versions(canary, Node(canary.manifest, canary.path, None), "", ctx)
    root_node = smi["rootService"] if smi.has("rootService") else canary["stableService"]
    root = resolve_service(ctx.index, root_node.string(), manifest.namespace, root_node)
    ctx.claim(root, Node.root(manifest))
    routes = split_profile_routes(ctx.policy.routes.get(root, ()), primary, new)
    ctx.routes[root] = routes
    return TrafficTarget(root, primary, new, tuple(r.name for r in routes))

