"""Multi-cluster checks (MSH0108-MSH0111) in the meshes' own terms: locality failover that
cannot happen, and east-west gateway hosts that outlier detection sees as one.

They read the compiled model: each DestinationRule's cluster policy and where the service's
pods and its callers run (``spec.topology``, ``placement``); reference/multicluster.md §1.2-1.4.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

from meshsim.analyze import messages as msg
from meshsim.analyze.messages import Finding, Resource, finding
from meshsim.analyze.resources import of_manifest, of_service
from meshsim.config import Manifest
from meshsim.model import Model
from meshsim.model.clusters import ClusterPolicy
from meshsim.model.geography import Place
from meshsim.model.topology import Call, CallStep, Parallel

LB = ("spec", "trafficPolicy", "loadBalancer", "localityLbSetting")
OD = ("spec", "trafficPolicy", "outlierDetection")


def check(model: Model, manifests: Sequence[Manifest]) -> list[Finding]:
    if model.policy is None:
        return []
    out: list[Finding] = []
    for (service, subset), policy in sorted(model.policy.clusters.items(),
                                            key=lambda kv: (kv[0][0], kv[0][1] or "")):
        if subset is not None:
            continue
        out += _rule_checks(model, manifests, service, policy)
        if model.topology.geography is not None and policy.outlier is not None:
            out += list(_place_checks(model, manifests, service, policy))
    return list(dict.fromkeys(out))


def destination_rule(manifests: Sequence[Manifest], model: Model, service: str,
                     path: tuple[str, ...]) -> Resource:
    """The DestinationRule whose host is ``service`` (short name or FQDN), else the Service."""
    for manifest in manifests:
        if manifest.kind != "DestinationRule":
            continue
        spec = manifest.data.get("spec")
        host = spec.get("host") if isinstance(spec, dict) else None
        if isinstance(host, str) and host.split(".")[0] == service:
            return of_manifest(manifest, path)
    return of_service(manifests, model, service)


def _rule_checks(model: Model, manifests: Sequence[Manifest], service: str,
                 policy: ClusterPolicy) -> list[Finding]:
    setting = policy.locality
    if setting is None:
        return []
    out = []
    where = destination_rule(manifests, model, service, LB)
    if policy.outlier is None and setting.enabled and (setting.failover
                                                       or setting.failover_priority):
        spec = model.topology.services.get(service)
        if spec is None or spec.traffic_distribution is None:
            written = "failover" if setting.failover else "failoverPriority"
            out.append(finding(msg.LocalityFailoverWithoutOutlierDetection, where, service,
                               written))
    for i, rule in enumerate(setting.distribute):
        total = sum(weight for _, weight in rule.to)
        if total != 100:
            out.append(finding(msg.DistributeWeightsNotHundred, where, i, service, rule.source,
                               total))
    return out


def _place_checks(model: Model, manifests: Sequence[Manifest], service: str,
                  policy: ClusterPolicy) -> Iterator[Finding]:
    spec = model.topology.services.get(service)
    if spec is None:
        return
    pods = [p for d in spec.deployments for p in d.places]
    if not pods:
        return
    outlier = policy.outlier
    assert outlier is not None
    for caller, place in _callers(model, service):
        local = [p for p in pods if p.network == place.network]
        same = [p for p in local if p.locality == place.locality]
        remote = [p for p in pods if p.network != place.network]
        hosts = len(local) + len({(p.network, p.locality) for p in remote})
        setting = policy.locality
        failover = setting is None or (setting.enabled and not setting.distribute)
        if failover and same and len(same) < hosts:
            cap = min(100.0, outlier.max_ejection_percent)
            most = math.floor(cap * hosts / 100 + 1e-9)
            k = len(same)
            spill = next(e for e in range(k + 1) if 140 * (k - e) // k < 100)
            if most < k:
                yield finding(msg.MaxEjectionTooLowForFailover,
                              destination_rule(manifests, model, service, OD),
                              f"{cap:g}", service, hosts, most, caller, place.locality, k,
                              spill, k, math.ceil(100 * k / hosts))
        groups: dict[tuple[str, str], int] = {}
        for p in remote:
            groups[(p.network, p.locality)] = groups.get((p.network, p.locality), 0) + 1
        for (network, locality), count in sorted(groups.items()):
            yield finding(msg.RemoteNetworkBehindOneGatewayHost,
                          destination_rule(manifests, model, service, OD), caller, count,
                          service, network, locality or "-")


def _callers(model: Model, service: str) -> list[tuple[str, Place]]:
    """Each calling service's and workload's places (one entry per distinct place)."""
    out: dict[tuple[str, Place], None] = {}
    for name, spec in model.topology.services.items():
        for dep in spec.deployments:
            if service in _called(dep.calls):
                for place in dep.places:
                    out[(name, place)] = None
    for workload in model.workloads:
        if workload.target == service and workload.place is not None:
            out[(workload.name, workload.place)] = None
    return list(out)


def _called(steps: Sequence[CallStep]) -> set[str]:
    names: set[str] = set()
    for step in steps:
        if isinstance(step, Call):
            names.add(step.service)
        elif isinstance(step, Parallel):
            names |= _called(step.calls)
    return names
