"""An Argo ``Rollout`` (canary strategy) → an :class:`ArgoRollout`.

Without ``trafficRouting`` the weights are carried by replica counts (:mod:`.argo_basic`).

With ``trafficRouting.istio`` Argo edits the user's VirtualService: the named ``http`` routes
must send to the stable and canary destinations (subsets of ``destinationRule``, or the
``stableService``/``canaryService`` hosts), and Argo sets their weights. With
``trafficRouting.smi`` (Linkerd) it writes a TrafficSplit from ``rootService`` (default: the
stable service) to the two services. Analysis templates are resolved with their ``args``
substituted; their Prometheus queries become :class:`Measure`\\ s (:mod:`.promql`) and their
conditions :data:`Condition`\\ s (:mod:`.conditions`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace

from meshsim.config.manifest.durations import parse_istio_duration
from meshsim.config.manifest.nodes import Node
from meshsim.config.manifests import Manifest
from meshsim.config.rollout.argo_basic import basic_canary
from meshsim.config.rollout.argo_gatewayapi import PLUGIN, plugin_target
from meshsim.config.rollout.conditions import parse_condition
from meshsim.config.rollout.context import Context, go_duration
from meshsim.config.rollout.measures import measure_of
from meshsim.config.rollout.promql import SHAPES, QueryError, read_query
from meshsim.config.rollout.routes import split_profile_routes
from meshsim.config.rollout.targets import require_version, resolve_service
from meshsim.errors import UnitError
from meshsim.model.rollout import (
    ArgoAnalysis,
    ArgoMetric,
    ArgoRollout,
    ArgoStep,
    TrafficTarget,
    Version,
)
from meshsim.model.routes import Backend, Route

Templates = Mapping[tuple[str, str], Manifest]  # (kind, "namespace/name" or name) → template
NOT_BUILT = {
    "experiment": "experiments (baseline and canary ReplicaSets side by side) are not built",
    "setHeaderRoute": "header routes are not built",
    "setMirrorRoute": "mirror routes are not built",
    "plugin": "step plugins are not built",
}
_ARG = re.compile(r"\{\{\s*args\.([A-Za-z0-9_.-]+)\s*\}\}")


def translate_rollout(manifest: Manifest, templates: Templates, ctx: Context) -> ArgoRollout:
    spec = Node.root(manifest)["spec"]
    strategy = spec["strategy"]
    if strategy.has("blueGreen"):
        raise strategy["blueGreen"].error("the blueGreen strategy is not built (meshsim "
                                          "rehearses canary strategies with a traffic router)")
    canary = strategy["canary"]
    if not canary.present:
        raise strategy.error("a Rollout needs strategy.canary")
    routing = canary["trafficRouting"]
    scaling = None
    if not routing.present:
        target, scaling = basic_canary(manifest, canary, ctx)
    else:
        _warn_replicas(spec, canary, ctx)
        target = _routed(manifest, canary, ctx)
    steps = tuple(_step(s, manifest, templates, ctx, routed=scaling is None)
                  for s in canary["steps"].items())
    background = canary["analysis"]
    return ArgoRollout(
        name=manifest.name,
        target=target,
        steps=steps,
        background=_analysis(background, manifest, templates, ctx)
        if background.present else None,
        background_start_step=background["startingStep"].integer(0, minimum=0),
        start=ctx.start,
        scaling=scaling,
    )


_REPLICAS = ("with trafficRouting each version keeps the replicas spec.services gives it "
             "(meshsim reads {key} for a canary without trafficRouting only)")


def _warn_replicas(spec: Node, canary: Node, ctx: Context) -> None:
    """Replica counts are read for the basic canary only: name them where they are ignored."""
    for node in (spec["replicas"], spec["minReadySeconds"], canary["maxSurge"],
                 canary["maxUnavailable"]):
        if node.present:
            ctx.diagnostics.warn(node, f"{node.name} is not modelled: "
                                 + _REPLICAS.format(key=node.name), code="unmodelled")


# -- traffic routing ---------------------------------------------------------------------------


def _routed(manifest: Manifest, canary: Node, ctx: Context) -> TrafficTarget:
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


# -- steps and analysis ------------------------------------------------------------------------


def _step(step: Node, manifest: Manifest, templates: Templates, ctx: Context, *,
          routed: bool = True) -> ArgoStep:
    keys = [k for k, v in step.entries() if v.present]
    if len(keys) != 1:
        raise step.error(f"a step has exactly one of setWeight, pause, analysis, ... (got "
                         f"{', '.join(keys) or 'none'})")
    key = keys[0]
    if key in NOT_BUILT:
        raise step[key].error(f"{key}: {NOT_BUILT[key]}, so this Rollout cannot be rehearsed")
    if key == "setCanaryScale":
        if routed:
            ctx.diagnostics.warn(step[key], "setCanaryScale is not modelled with trafficRouting:"
                                 " the canary keeps the replicas spec.services gives it",
                                 code="unmodelled")
        else:
            ctx.diagnostics.warn(step[key], "setCanaryScale has no effect without "
                                 "trafficRouting: Argo applies it only with a traffic router "
                                 "(UseSetCanaryScale); the basic canary scales to approximate "
                                 "setWeight", code="no-effect")
        return ArgoStep("pause", duration=0.0)
    if key == "setWeight":
        return ArgoStep("setWeight", weight=float(step[key].integer(minimum=0, maximum=100)))
    if key == "pause":
        return ArgoStep("pause", duration=_pause(step[key]["duration"]))
    return ArgoStep("analysis", analysis=_analysis(step[key], manifest, templates, ctx))


def _pause(node: Node) -> float | None:
    """``RolloutPause.DurationSeconds``: an integer is seconds, else a Go duration (``90s``,
    ``1h30m``, ``1.5m``) truncated to whole seconds; absent: until promoted."""
    if not node.present:
        return None
    value = node.value
    text = str(value).strip()
    try:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise UnitError(text)
        seconds = int(text) if re.fullmatch(r"[+-]?\d+", text) else int(
            parse_istio_duration(text))
    except UnitError:
        raise node.error(f"invalid pause duration {node.value!r} (an integer of seconds, or a "
                         "Go duration such as 30s, 10m or 1h30m)") from None
    if seconds < 0:
        raise node.error(f"pause duration {node.value!r} is negative")
    return float(seconds)


def _analysis(node: Node, manifest: Manifest, templates: Templates,
              ctx: Context) -> ArgoAnalysis:
    refs = node["templates"].items()
    if not refs:
        raise node.error("analysis needs templates")
    given = {a["name"].string(): a for a in node["args"].items()}
    metrics: list[ArgoMetric] = []
    names: list[str] = []
    for ref in refs:
        template = _template(ref, manifest.namespace, templates)
        names.append(template.name)
        args = _args(Node.root(template)["spec"]["args"], given)
        for metric in Node.root(template)["spec"]["metrics"].items():
            metrics.append(_metric(metric, args, ctx))
    return ArgoAnalysis("+".join(names), tuple(metrics))


def _template(ref: Node, namespace: str, templates: Templates) -> Manifest:
    name = ref["templateName"].string()
    kind = "ClusterAnalysisTemplate" if ref["clusterScope"].boolean() else "AnalysisTemplate"
    key = name if kind == "ClusterAnalysisTemplate" else f"{namespace}/{name}"
    found = templates.get((kind, key))
    if found is None:
        known = sorted(n for k, n in templates if k == kind)
        raise ref["templateName"].error(f"{kind} {name!r} is not among the manifests "
                                        f"({kind}s: {', '.join(known) or 'none'})")
    return found


def _args(declared: Node, given: Mapping[str, Node]) -> dict[str, Node]:
    """Template args with the Rollout's values: the Rollout's win, as Argo merges them."""
    out = {a["name"].string(): a for a in declared.items()}
    out.update(given)
    return out


def _substitute(node: Node, args: Mapping[str, Node]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        arg = args.get(name)
        if arg is None:
            raise node.error(f"{{{{args.{name}}}}} names no argument (declared: "
                             f"{', '.join(sorted(args)) or 'none'})")
        if not arg.has("value"):
            why = "its valueFrom is not resolved by meshsim" if arg.has("valueFrom") else \
                "it has no value"
            raise arg.error(f"argument {name!r} is used at {node.location.prefix()} but {why}; "
                            "give it a value")
        return arg["value"].string()

    return _ARG.sub(value, node.string())


def _metric(metric: Node, args: Mapping[str, Node], ctx: Context) -> ArgoMetric:
    if not metric["name"].present:
        raise metric.error("a metric needs a name (the AnalysisTemplate CRD requires it)")
    name = metric["name"].string()
    provider = metric["provider"]
    others = [k for k, _ in provider.entries() if k != "prometheus"]
    if others or not provider.has("prometheus"):
        raise provider.error(f"metric {name!r}: provider {', '.join(others) or 'none'} is not "
                             "built (meshsim reads provider.prometheus.query)")
    query_node = provider["prometheus"]["query"]
    if not query_node.present:
        raise provider["prometheus"].error("provider.prometheus needs a query")
    text = _substitute(query_node, args)
    try:
        query = read_query(text)
    except QueryError as exc:
        raise query_node.error(f"cannot read this query: {exc}; meshsim reads {SHAPES}") from None
    limits = _limits(metric)
    return ArgoMetric(
        name=name,
        measure=measure_of(query, query_node, ctx),
        success=parse_condition(metric["successCondition"], vector=True),
        failure=parse_condition(metric["failureCondition"], vector=True),
        interval=_interval(metric["interval"]),
        count=limits["count"],
        initial_delay=go_duration(metric["initialDelay"], 0.0),
        failure_limit=limits["failureLimit"],
        inconclusive_limit=limits["inconclusiveLimit"],
        consecutive_error_limit=limits["consecutiveErrorLimit"],
    )


def _interval(node: Node) -> float:
    """A written interval of 0 would measure in a busy loop: Argo requeues at once."""
    seconds = go_duration(node, 0.0)
    if node.present and seconds <= 0:
        raise node.error(f"interval must be greater than zero, got {node.string()!r}")
    return seconds


def _limits(metric: Node) -> dict[str, int]:
    """``count`` and the limits, as ``ValidateMetric`` accepts them (else the AnalysisRun ends
    Error at once, "analysis spec invalid", and the rollout aborts)."""
    why = "Argo's ValidateMetric rejects it: the AnalysisRun would end Error at once"
    values = {"count": 0, "failureLimit": 0, "inconclusiveLimit": 0, "consecutiveErrorLimit": 4}
    for key, default in values.items():
        node = metric[key]
        values[key] = node.integer(default)
        if values[key] < 0:
            raise node.error(f"{key} must be >= 0 ({why})")
    count = values["count"]
    for key in ("failureLimit", "inconclusiveLimit"):
        if 0 < count < values[key]:
            raise metric[key].error(f"count must be >= {key} ({why})")
    if count > 1 and not metric["interval"].present:
        raise metric["count"].error(f"interval must be specified when count > 1 ({why})")
    return values
