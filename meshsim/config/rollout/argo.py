"""An Argo ``Rollout`` (canary strategy) → an :class:`ArgoRollout`.

Without ``trafficRouting`` the weights are carried by replica counts (:mod:`.argo_basic`).

With ``trafficRouting.istio`` Argo edits the user's VirtualService: the named ``http`` routes
must send to the stable and canary destinations (subsets of ``destinationRule``, or the
``stableService``/``canaryService`` hosts), and Argo sets their weights. With
``trafficRouting.smi`` (Linkerd) it writes a TrafficSplit from ``rootService`` (default: the
stable service) to the two services. Analysis templates are resolved with their ``args``
substituted (:mod:`.argo_analysis`); the routers live in :mod:`.argo_routing`. This module
reads the strategy and its steps.
"""

from __future__ import annotations

import re

from meshsim.config.manifest.durations import parse_istio_duration
from meshsim.config.manifest.nodes import Node
from meshsim.config.manifests import Manifest
from meshsim.config.rollout.argo_analysis import Templates, translate_analysis
from meshsim.config.rollout.argo_basic import basic_canary
from meshsim.config.rollout.argo_routing import routed_target
from meshsim.config.rollout.context import Context
from meshsim.errors import UnitError
from meshsim.model.rollout import ArgoRollout, ArgoStep

NOT_BUILT = {
    "experiment": "experiments (baseline and canary ReplicaSets side by side) are not built",
    "setHeaderRoute": "header routes are not built",
    "setMirrorRoute": "mirror routes are not built",
    "plugin": "step plugins are not built",
}


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
        target = routed_target(manifest, canary, ctx)
    steps = tuple(_step(s, manifest, templates, ctx, routed=scaling is None)
                  for s in canary["steps"].items())
    background = canary["analysis"]
    return ArgoRollout(
        name=manifest.name,
        target=target,
        steps=steps,
        background=translate_analysis(background, manifest, templates, ctx)
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
    analysis = translate_analysis(step[key], manifest, templates, ctx)
    return ArgoStep("analysis", analysis=analysis)


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


