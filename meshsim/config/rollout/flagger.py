"""A Flagger ``Canary`` → a :class:`FlaggerCanary` and the routes Flagger would generate.

Defaults are Flagger's (``canary.go``): ``interval`` 60 s (below 10 s raised to 10 s),
``threshold`` 1, ``maxWeight`` 100 (with ``stepWeights``: the last entry, capped at 100),
``stepWeightPromotion`` 100, ``progressDeadlineSeconds`` 600, metric ``interval`` 1m,
``mirrorWeight`` unset or 0: all requests mirrored. The strategy follows ``advanceCanary``:
``iterations`` with ``match`` is A/B, ``iterations`` alone blue/green, else the step weights. The
built-in metrics are measured on the canary workload as Flagger's queries do: the
``request-success-rate`` percentage of non-5xx responses and the ``request-duration`` P99 in ms
from the mesh's default histogram buckets, both as the destination proxy reports them; a
``templateRef`` names a ``MetricTemplate`` (:mod:`.metric_templates`). The router follows
``pkg/router/factory.go``: ``provider: gatewayapi:v1``/``:v1beta1`` (or no provider with
``service.gatewayRefs``, as Linkerd's docs install Flagger) is the Gateway API router, whose
HTTPRoute Linkerd applies on the policy path (:mod:`.gatewayapi`).
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Literal

from meshsim.config.istio.destinations import header_operations
from meshsim.config.istio.matching import route_match
from meshsim.config.istio.retry import convert_retries
from meshsim.config.manifest.nodes import Node
from meshsim.config.manifests import Manifest
from meshsim.config.rollout.context import Context, go_duration
from meshsim.config.rollout.gatewayapi import gateway_routes, is_gateway_router
from meshsim.config.rollout.gateways import bind_to_gateways, binds_mesh
from meshsim.config.rollout.metric_templates import (
    MetricTemplates,
    TemplateModel,
    template_check,
    template_model,
)
from meshsim.config.rollout.promql import ISTIO_BUCKETS_MS, LINKERD_BUCKETS_MS
from meshsim.config.rollout.routes import (
    backends,
    default_route,
    dropped_by_merge,
    merge_matches,
    split_profile_routes,
)
from meshsim.config.rollout.targets import require_version, resolve_service
from meshsim.config.rollout.webhooks import translate_webhooks
from meshsim.model.rollout import FlaggerCanary, FlaggerCheck, Measure, TrafficTarget, Version
from meshsim.model.routes import Route, RouteMatch

Strategy = Literal["canary", "ab", "bluegreen"]
Router = Literal["mesh", "gatewayapi"]
PROVIDERS = {"istio": "istio", "linkerd": "linkerd"}
MIN_INTERVAL = 10.0
BUILT_IN = ("request-success-rate", "request-duration")


def translate_canary(manifest: Manifest, ctx: Context,
                     templates: MetricTemplates | None = None) -> FlaggerCanary:
    root = Node.root(manifest)
    spec = root["spec"]
    router = _router(spec, ctx)
    service = spec["service"]
    apex_node = service["name"] if service.has("name") else spec["targetRef"]["name"]
    if not apex_node.present:
        raise spec["targetRef"].error("a Canary needs targetRef.name (the Deployment it rolls out)")
    _check_target_kind(spec["targetRef"])
    _check_port(service["port"])
    apex = resolve_service(ctx.index, apex_node.string(), manifest.namespace, apex_node)
    primary, canary = _versions(apex, apex_node, ctx, router)
    analysis = spec["analysis"] if spec.has("analysis") else spec["canaryAnalysis"]
    if not analysis.present:
        raise spec.error("a Canary needs analysis (interval, threshold, stepWeight or iterations)")
    strategy = _strategy(analysis, ctx)
    ctx.claim(apex, root)
    host, route_names, mirror_names = _generate_routes(apex, primary, canary, spec, strategy,
                                                       router, ctx)
    # router/istio.go sets mirrorPercentage only when mirrorWeight > 0: Istio mirrors 100 %.
    mirror_weight = analysis["mirrorWeight"].integer(0, minimum=0, maximum=100) or 100
    target = TrafficTarget(host, primary, canary, route_names, mirror_names,
                           mirror_percent=float(mirror_weight) if mirror_names else 100.0)
    step_weights = tuple(float(w) for w in _weights(analysis["stepWeights"]))
    rollout = FlaggerCanary(
        name=manifest.name,
        target=target,
        strategy=strategy,
        interval=_interval(analysis["interval"], ctx),
        threshold=analysis["threshold"].integer(0, minimum=0) or 1,
        step_weight=_step_weight(analysis["stepWeight"]),
        step_weights=step_weights,
        max_weight=_max_weight(analysis, step_weights),
        step_weight_promotion=float(
            analysis["stepWeightPromotion"].integer(0, minimum=0, maximum=100) or 100),
        iterations=analysis["iterations"].integer(0, minimum=0),
        checks=tuple(_check(m, canary, ctx, router, template_model(manifest, primary, canary),
                            templates or {}) for m in analysis["metrics"].items()),
        skip_analysis=spec["skipAnalysis"].boolean(),
        progress_deadline=float(spec["progressDeadlineSeconds"].integer(600, minimum=0)),
        start=ctx.start,
    )
    translate_webhooks(analysis, rollout, apex, manifest.namespace, ctx)
    return rollout


def _router(spec: Node, ctx: Context) -> Router:
    """Flagger's router (``pkg/router/factory.go``): the mesh's, or the Gateway API one."""
    node = spec["provider"]
    provider = node.string() if node.present else ""
    refs = spec["service"]["gatewayRefs"]
    if is_gateway_router(provider, bool(refs.items())):
        if provider == "gatewayapi":
            ctx.diagnostics.warn(node, "Flagger's router factory matches the prefixes "
                                 "gatewayapi:v1 and gatewayapi:v1beta1; meshsim reads plain "
                                 "gatewayapi as gatewayapi:v1 (write it so)",
                                 code="approximated")
        return "gatewayapi"
    if refs.present:
        ctx.diagnostics.warn(refs, f"gatewayRefs has no effect with the "
                             f"{provider or ctx.mesh} provider: only Flagger's gatewayapi "
                             "router writes an HTTPRoute", code="no-effect")
    if not provider:
        return "mesh"
    wanted = PROVIDERS.get(provider)
    if wanted is None:
        raise node.error(f"provider {provider!r} is not modelled (meshsim simulates the istio, "
                         "linkerd and gatewayapi:v1/gatewayapi:v1beta1 providers)")
    if wanted != ctx.mesh:
        raise node.error(f"provider {provider} is for {wanted.title()} but spec.mesh is "
                         f"{ctx.mesh}; remove provider or set spec.mesh: {wanted}")
    return "mesh"


def _check_target_kind(ref: Node) -> None:
    kind = ref["kind"].string("Deployment")
    if kind != "Deployment":
        raise ref["kind"].error(f"targetRef kind {kind!r} is not modelled (meshsim rolls out "
                                "Deployments: the scenario's service versions)")


def _versions(apex: str, node: Node, ctx: Context, router: Router) -> tuple[Version, Version]:
    """Services ``<apex>-primary``/``-canary`` if declared, else versions of ``<apex>``."""
    services = ctx.topology.services
    split = (f"{apex}-primary", f"{apex}-canary")
    if all(s in services for s in split):
        return Version(split[0]), Version(split[1])
    if ctx.mesh == "linkerd":
        raise node.error(
            f"with mesh: linkerd declare services {split[0]} and {split[1]} in spec.services: "
            f"Flagger's {'HTTPRoute' if router == 'gatewayapi' else 'TrafficSplit'} sends "
            "traffic to those Services, and Linkerd proxies balance over a Service's pods, not "
            "over versions")
    why = (f"Flagger's {split[0]} and {split[1]} map to versions primary and canary of {apex} "
           f"(or declare services {split[0]} and {split[1]})")
    primary = require_version(ctx.topology, apex, "primary", node, why)
    return primary, require_version(ctx.topology, apex, "canary", node, why)


def _strategy(analysis: Node, ctx: Context) -> Strategy:
    """``advanceCanary``'s order: A/B (match and iterations), blue/green (iterations), then
    the progressive canary (stepWeight or stepWeights); iterations win over step weights."""
    stepped = analysis.has("stepWeight") or analysis.has("stepWeights")
    iterations = analysis["iterations"].integer(0, minimum=0)
    matched = bool(analysis["match"].items())
    if iterations:
        if stepped:
            key = "stepWeight" if analysis.has("stepWeight") else "stepWeights"
            ctx.diagnostics.warn(analysis[key], f"{key} has no effect with iterations: Flagger "
                                 f"runs {'A/B testing' if matched else 'blue/green'} "
                                 "(iterations are checked first)", code="no-effect")
        return "ab" if matched else "bluegreen"
    if stepped:
        return "canary"
    raise analysis.error("analysis needs stepWeight or stepWeights (canary release) or "
                         "iterations (A/B testing with match, else blue/green)")


def _interval(node: Node, ctx: Context) -> float:
    seconds = go_duration(node, 60.0)
    if seconds < MIN_INTERVAL:
        ctx.diagnostics.warn(node, f"Flagger raises an analysis interval below 10s to 10s "
                             f"(got {node.string()})", code="approximated")
        return MIN_INTERVAL
    return seconds


def _step_weight(node: Node) -> float:
    """A written stepWeight of 0 never moves traffic: the canary would sit at 0 % forever."""
    return float(node.integer(0, minimum=1 if node.present else 0, maximum=100))


def _check_port(node: Node) -> None:
    """service.port is an int32 port the CRD requires; meshsim services have one port."""
    if node.present:
        node.integer(minimum=1, maximum=65535)


def _weights(node: Node) -> list[int]:
    weights = [item.integer(minimum=0, maximum=100) for item in node.items()]
    if any(b <= a for a, b in itertools.pairwise(weights)):
        raise node.error("stepWeights must increase")
    return weights


def _max_weight(analysis: Node, step_weights: tuple[float, ...]) -> float:
    written = analysis["maxWeight"].integer(0, minimum=0, maximum=100)
    if written:
        return float(written)
    return min(step_weights[-1], 100.0) if step_weights else 100.0


def _check(metric: Node, canary: Version, ctx: Context, router: Router, model: TemplateModel,
           templates: MetricTemplates) -> FlaggerCheck:
    name = metric["name"].string()
    if metric.has("templateRef"):
        return template_check(metric, model, templates, ctx)
    if metric.has("query"):
        raise metric["query"].error(
            f"an inline query (metric {name!r}) is not built: Flagger no longer runs it "
            "(runMetricChecks reads templateRef); put it in a MetricTemplate")
    if name not in BUILT_IN:
        raise metric["name"].error(f"unknown built-in metric {name!r} (Flagger has "
                                   f"{', '.join(BUILT_IN)}; others need a templateRef)")
    if router == "gatewayapi" and ctx.mesh == "linkerd":
        raise metric["name"].error(
            f"built-in {name} with the gatewayapi router queries Istio's metrics "
            "(observers/factory.go falls back to the Istio observer), which Linkerd does not "
            "export: every check would find no values and roll back; use a MetricTemplate over "
            "response_total as Linkerd's docs do")
    window = go_duration(metric["interval"], 60.0)
    if window <= 0:
        raise metric["interval"].error(f"metric interval must be greater than zero (the "
                                       f"query's range), got {metric['interval'].string()!r}")
    bounds = metric["thresholdRange"]
    low = bounds["min"].number() if bounds.has("min") else None
    high = bounds["max"].number() if bounds.has("max") else None
    if metric.has("threshold") and not bounds.present:
        legacy = metric["threshold"].number()
        low, high = (legacy, None) if name == BUILT_IN[0] else (None, legacy)
    if low is None and high is None:
        raise metric.error(f"metric {name!r} needs thresholdRange min or max")
    _check_range(metric, name, low, high)
    if name == BUILT_IN[0]:
        measure = Measure("success_rate", canary, window=window, scale=100.0)
    else:
        buckets = ISTIO_BUCKETS_MS if ctx.mesh == "istio" else LINKERD_BUCKETS_MS
        measure = Measure("latency", canary, window=window, quantile=0.99,
                          buckets=tuple(b / 1000.0 for b in buckets), scale=1000.0)
    return FlaggerCheck(name, measure, low, high)


def _check_range(metric: Node, name: str, low: float | None, high: float | None) -> None:
    """Bounds no measurement can meet fail every check: the canary could never promote."""
    where = metric["thresholdRange"] if metric["thresholdRange"].present else metric["threshold"]
    if low is not None and high is not None and low > high:
        raise where.error(f"metric {name!r}: thresholdRange min {low:g} is above max {high:g}: "
                          "no value passes, so every check fails")
    if name == BUILT_IN[0] and ((low is not None and low > 100) or
                                (high is not None and high < 0)):
        raise where.error(f"metric {name!r} is a percentage (0-100): thresholdRange "
                          f"{'min' if low is not None and low > 100 else 'max'} "
                          f"{low if low is not None and low > 100 else high:g} can never pass")


# -- the routes Flagger generates ------------------------------------------------------------


def _generate_routes(apex: str, primary: Version, canary: Version, spec: Node, strategy: str,
                     router: Router, ctx: Context) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """The host whose routes carry the weights, the weighted routes and the mirrored ones."""
    analysis = spec["analysis"] if spec.has("analysis") else spec["canaryAnalysis"]
    mirror = analysis["mirror"].boolean()
    if analysis.has("mirrorWeight") and not mirror:
        ctx.diagnostics.warn(analysis["mirrorWeight"], "mirrorWeight has no effect without "
                             "mirror: true", code="no-effect")
    if router == "gatewayapi":
        host, names = gateway_routes(apex, primary, canary, spec, strategy, mirror, ctx)
        if host != apex:
            ctx.claim(host, Node.root(spec.manifest))
        return host, names, ()
    if ctx.mesh == "linkerd":
        return apex, *_linkerd_routes(apex, primary, canary, spec, strategy, mirror, ctx)
    return apex, *_istio_routes(apex, primary, canary, spec, strategy, mirror, ctx)


def _istio_routes(apex: str, primary: Version, canary: Version, spec: Node, strategy: str,
                  mirror: bool, ctx: Context) -> tuple[tuple[str, ...], tuple[str, ...]]:
    analysis = spec["analysis"] if spec.has("analysis") else spec["canaryAnalysis"]
    service = spec["service"]
    matches = tuple(route_match(m, ctx.diagnostics, _no_gateway) for m in service["match"].items())
    pair = backends(primary, canary)
    set_headers, remove_headers = (
        header_operations(service["headers"], ctx.diagnostics) if service.has("headers")
        else ({}, ()))
    base = Route(
        name=f"{apex}.http[0]", matches=matches, backends=pair,
        timeout=go_duration(service["timeout"], 0.0),
        retry=convert_retries(service["retries"], ctx.profile, ctx.diagnostics,
                              consistent_hash=False),
        set_headers=set_headers, remove_headers=remove_headers,
    )
    _replace_user_routes(apex, spec, ctx)
    if analysis["match"].items():
        # router/istio.go lays out the A/B routes whenever analysis.match is set, whatever the
        # strategy: the weights go on the matched route, the rest goes to the primary. It
        # rebuilds them without the mirror, so a mirror never applies.
        _no_mirror_with_match(analysis, strategy, mirror, ctx)
        ab: tuple[RouteMatch, ...] = tuple(
            route_match(m, ctx.diagnostics, _no_gateway) for m in analysis["match"].items())
        for node, match in zip(analysis["match"].items(), ab, strict=True):
            if matches and dropped_by_merge(match):
                ctx.diagnostics.warn(node, "with service.match Flagger keeps only the headers "
                                     "and sourceLabels of an A/B match (mergeMatchConditions): "
                                     "its other conditions are dropped", code="overridden")
        matched = replace(base, matches=merge_matches(ab, matches))
        default = replace(base, name=f"{apex}.http[1]")
        _apply(apex, (matched, default), primary, service, ctx)
        return (matched.name,), ()
    _apply(apex, (base,), primary, service, ctx)
    return (base.name,), ((base.name,) if mirror else ())


def _apply(apex: str, routes: tuple[Route, ...], primary: Version, service: Node,
           ctx: Context) -> None:
    """The generated routes on the sidecars (``mesh``) and on the listed gateways."""
    if binds_mesh(service):
        ctx.routes[apex] = routes
    else:
        ctx.diagnostics.warn(service["gateways"], "without 'mesh' in gateways Flagger's "
                             f"VirtualService applies to the gateways only: in-mesh calls to "
                             f"{apex} go through its Kubernetes Service, which Flagger points "
                             "at the primary, so only gateway traffic is split", code="no-effect")
        ctx.routes[apex] = (default_route(apex, primary, ctx.policy),)
    bind_to_gateways(service, apex, routes, ctx)


def _no_mirror_with_match(analysis: Node, strategy: str, mirror: bool, ctx: Context) -> None:
    if not mirror:
        return
    if strategy == "canary":
        raise analysis["mirror"].error(
            "mirror with match and stepWeight never advances in Flagger: router/istio.go "
            "rebuilds the A/B routes without the mirror, so the scheduler never sees the "
            "mirror it asks for and keeps the canary at 0 % with no analysis")
    ctx.diagnostics.warn(analysis["mirror"], "mirror has no effect with match: Flagger's A/B "
                         "routes carry no mirror (the matched requests go to the canary)",
                         code="no-effect")


def _no_gateway(node: Node) -> str:
    raise node.error("match gateways are not modelled in a Canary (Flagger's route applies to "
                     "service.gateways)")


def _replace_user_routes(apex: str, spec: Node, ctx: Context) -> None:
    if apex in ctx.policy.routes:
        ctx.diagnostics.warn(spec["service"] if spec.has("service") else spec,
                             f"Flagger generates the routing of {apex} itself: the routes "
                             f"your manifests give {apex} are replaced by Flagger's",
                             code="overridden")


def _linkerd_routes(apex: str, primary: Version, canary: Version, spec: Node, strategy: str,
                    mirror: bool, ctx: Context) -> tuple[tuple[str, ...], tuple[str, ...]]:
    service = spec["service"]
    for key in ("retries", "timeout", "headers", "match", "gateways", "hosts"):
        if service.has(key):
            ctx.diagnostics.warn(service[key], f"service.{key} is not applied by the linkerd "
                                 "provider (Flagger's TrafficSplit carries only weights)",
                                 code="no-effect")
    analysis = spec["analysis"] if spec.has("analysis") else spec["canaryAnalysis"]
    if strategy == "ab":
        raise analysis["match"].error("A/B testing (analysis.match) with the linkerd provider is "
                                      "not built: Flagger's TrafficSplit cannot match headers")
    if analysis["match"].items():
        ctx.diagnostics.warn(analysis["match"], "match has no effect with the linkerd provider: "
                             "Flagger's TrafficSplit weighs all requests", code="no-effect")
    if mirror and strategy == "canary":
        raise analysis["mirror"].error(
            "mirror with stepWeight never advances with the linkerd provider: router/smi.go "
            "ignores the mirror and reports none, so the scheduler keeps asking for its mirror "
            "step and holds the canary at 0 % with no analysis")
    if mirror:
        ctx.diagnostics.warn(analysis["mirror"], "Linkerd does not mirror traffic: no request "
                             "is mirrored to the canary", code="unmodelled")
    routes = split_profile_routes(ctx.policy.routes.get(apex, ()), primary, canary)
    ctx.routes[apex] = routes
    return tuple(r.name for r in routes), ()
