"""An Argo canary without ``trafficRouting``: weights by replica counts.

The Rollout's Service selects the pods of both ReplicaSets, so the traffic share follows the
Ready pods; Argo scales the ReplicaSets (``spec.replicas``, ``maxSurge``/``maxUnavailable``,
25 % each by default, ``utils/defaults/defaults.go``). Scenario convention: the scenario
service named like the Rollout (else like its ``selector.matchLabels.app``) has versions
``stable`` and ``canary``; their ``replicas`` are the pools the simulation starts pods from,
the most pods each ReplicaSet may ever have, so both must hold ``spec.replicas`` (the canary
ReplicaSet reaches it at promotion, the stable one has it before and after an abort).
"""

from __future__ import annotations

import math
import re

from meshsim.config.manifest.nodes import Node
from meshsim.config.manifests import Manifest
from meshsim.config.rollout.context import Context
from meshsim.config.rollout.targets import require_version
from meshsim.model.rollout import ReplicaScaling, TrafficTarget

DEFAULT_SURGE = DEFAULT_UNAVAILABLE = "25%"
STABLE, CANARY = "stable", "canary"


def basic_canary(manifest: Manifest, canary: Node, ctx: Context,
                 ) -> tuple[TrafficTarget, ReplicaScaling]:
    """The service whose pods Argo scales, and how (``CalculateReplicaCountsForBasicCanary``)."""
    root = Node.root(manifest)
    spec = root["spec"]
    service = _service(manifest, spec, ctx)
    ctx.claim(service, root)
    why = ("without trafficRouting the Rollout's Service selects both ReplicaSets; meshsim "
           "takes version 'stable' as the stable ReplicaSet's pods and 'canary' as the new one's")
    stable = require_version(ctx.topology, service, STABLE, spec, why)
    new = require_version(ctx.topology, service, CANARY, spec, why)
    replicas = spec["replicas"].integer(1, minimum=0)
    _check_pools(ctx, service, replicas, spec["replicas"])
    surge, unavailable = _fenceposts(canary, replicas)
    for key in ("canaryService", "stableService"):
        if canary.has(key):
            ctx.diagnostics.warn(canary[key], f"{key} is not modelled without trafficRouting: "
                                 f"callers reach {service}, whose endpoints are the Ready pods "
                                 "of both ReplicaSets (analysis queries select the version)")
    scaling = ReplicaScaling(replicas, surge, unavailable, ready_after=_ready_after(spec),
                             min_ready=float(spec["minReadySeconds"].integer(0, minimum=0)))
    return TrafficTarget(service, stable, new, ()), scaling


def _service(manifest: Manifest, spec: Node, ctx: Context) -> str:
    names = [manifest.name]
    app = spec["selector"]["matchLabels"]["app"]
    if app.present and app.string() not in names:
        names.append(app.string())
    for name in names:
        found = ctx.index.resolve(name, manifest.namespace)
        if found is not None:
            return found.service
    raise Node.root(manifest)["metadata"]["name"].error(
        f"a canary without trafficRouting scales the pods of the scenario service named like "
        f"the Rollout ({' or '.join(repr(n) for n in names)}, the latter from "
        "spec.selector.matchLabels.app), and there is none"
        f"{ctx.index.suggestion(manifest.name)}")


def _check_pools(ctx: Context, service: str, replicas: int, node: Node) -> None:
    when = {STABLE: "before the rollout and after an abort", CANARY: "at promotion"}
    for deployment in ctx.topology.services[service].deployments:
        version = deployment.version
        if version in when and deployment.replicas < replicas:
            raise node.error(
                f"spec.replicas is {replicas} but spec.services.{service}.versions.{version}"
                f".replicas is {deployment.replicas}: without trafficRouting the {version} "
                f"ReplicaSet has {replicas} pods {when[version]}, so give that version "
                f"replicas: {replicas} (the pool meshsim starts pods from)")


def _fenceposts(canary: Node, replicas: int) -> tuple[int, int]:
    """``resolveFenceposts``: surge rounds up, unavailable down; both 0 → unavailable 1."""
    surge = _int_or_percent(canary["maxSurge"], DEFAULT_SURGE, replicas, math.ceil)
    unavailable = _int_or_percent(canary["maxUnavailable"], DEFAULT_UNAVAILABLE, replicas,
                                  math.floor)
    explicit = canary["maxSurge"].present and canary["maxUnavailable"].present
    if explicit and _is_zero(canary["maxSurge"]) and _is_zero(canary["maxUnavailable"]):
        raise canary["maxSurge"].error("maxSurge and maxUnavailable cannot both be 0 (Argo "
                                       "rejects the Rollout)")
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, min(unavailable, replicas)


def _is_zero(node: Node) -> bool:
    return str(node.value).strip() in ("0", "0%")


def _int_or_percent(node: Node, default: str, replicas: int, rounding: object) -> int:
    value = node.value if node.present else default
    text = str(value).strip()
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    match = re.fullmatch(r"(\d+)%", text)
    if match is None:
        raise node.error(f"{node.name} must be a count of pods or a percentage such as 25% "
                         f"(got {value!r})")
    assert callable(rounding)
    return int(rounding(int(match.group(1)) * replicas / 100))


def _ready_after(spec: Node) -> float:
    """When a new pod turns Ready: its readiness probes' ``initialDelaySeconds`` (the first
    probe, which passes); without a probe, as soon as it runs (start-up time not modelled)."""
    delay = 0
    for container in spec["template"]["spec"]["containers"].items():
        probe = container["readinessProbe"]
        if probe.present:
            delay = max(delay, probe["initialDelaySeconds"].integer(0, minimum=0))
    return float(delay)
