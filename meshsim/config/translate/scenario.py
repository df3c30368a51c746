"""A whole scenario to the other mesh: its Scenario document and its manifests.

The Scenario document is taken from the file as written (durations stay ``"250ms"``, not
seconds) with ``spec.mesh`` switched, ``spec.manifests`` inlined into the new stream, and, for
Istio subsets split by weight, the services rewritten as Linkerd needs them (one Service per
version, the faults and SLOs that named ``service/version`` following).
"""

from __future__ import annotations

import copy
from typing import Any

import yaml

from meshsim.config.scenario import Scenario
from meshsim.config.translate.common import Doc, subset_service
from meshsim.config.translate.notes import Notes, Translation
from meshsim.config.translate.rule_hosts import rule_hosts
from meshsim.config.translate.to_istio import ToIstio
from meshsim.config.translate.to_linkerd import ToLinkerd
from meshsim.errors import Location, ScenarioError

MESHES = ("istio", "linkerd")
INJECT = {"istio": ("sidecar.istio.io/inject", "false"), "linkerd": ("linkerd.io/inject",
                                                                      "disabled")}


def translate_scenario(scenario: Scenario, to: str) -> Translation:
    """``scenario`` under mesh ``to`` (``istio`` or ``linkerd``), with its notes."""
    origin = Location(file=str(scenario.path))
    if to not in MESHES:
        raise ScenarioError(f"--to {to!r}: expected one of 'istio', 'linkerd'", origin)
    source_mesh = scenario.spec.mesh
    if source_mesh == "none":
        raise ScenarioError("spec.mesh is none: there is no mesh intent to translate", origin)
    doc = _scenario_doc(scenario)
    notes = Notes(str(scenario.path))
    spec = doc["spec"]
    renamed: dict[str, tuple[str, str]] = {}
    if source_mesh == to:
        manifests = [dict(m.data) for m in scenario.manifests]
    else:
        namespaces = {str(s.get("namespace", "default")) for s in spec["services"].values()}
        namespaces.add("default")
        if to == "linkerd":
            rules = rule_hosts(scenario.manifests, scenario.model.topology)
            linkerd = ToLinkerd(scenario.manifests, notes, rules)
            manifests = linkerd.translate(namespaces)
            renamed = _split_versions(spec, linkerd.splits, notes)
            for workload in spec.get("workload", []):
                if workload.get("target") in linkerd.ingress:
                    workload["target"] = linkerd.ingress[workload["target"]]
            notes.approx(None, ("spec", "mesh"), "load balancing becomes P2C over peak EWMA "
                         "(Envoy's default is least request); outbound connect timeout 1 s "
                         "(Istio 10 s)")
        else:
            manifests = ToIstio(scenario.manifests, notes).translate(namespaces)
            notes.approx(None, ("spec", "mesh"), "load balancing becomes Envoy's least "
                         "request (Linkerd's P2C over peak EWMA is not configurable in Istio)")
        _switch_mesh(spec, source_mesh, to, notes)
    doc.setdefault("metadata", {})
    doc["metadata"]["name"] = f"{scenario.name}-{to}"[:100]
    spec.pop("manifests", None)
    return Translation(str(scenario.path), to, doc, manifests, tuple(notes.items), renamed)


def _scenario_doc(scenario: Scenario) -> Doc:
    for data in yaml.safe_load_all(scenario.source.text):
        if isinstance(data, dict) and data.get("kind") == "Scenario":
            return copy.deepcopy(data)
    raise ScenarioError("no Scenario document", Location(file=str(scenario.path)))


def _switch_mesh(spec: Doc, source: str, to: str, notes: Notes) -> None:
    spec["mesh"] = to
    if "meshVersion" in spec:
        notes.approx(None, ("spec", "meshVersion"), f"{source} release "
                     f"{spec.pop('meshVersion')!r} dropped: {to}'s newest behaviour applies")
    cost = dict(spec.get("proxy", {})).get("cost")
    if isinstance(cost, dict):
        if "profile" in cost:
            notes.approx(None, ("spec", "proxy", "cost", "profile"),
                         f"{cost.pop('profile')!r} → {to}'s newest cost profile")
        if cost.get("mode") == "ambient":
            cost.pop("mode")
            cost.pop("waypoint", None)
            notes.lost(None, ("spec", "proxy", "cost", "mode"), "Linkerd has no ambient mode")
    old_key, old_value = INJECT[source]
    new_key, new_value = INJECT[to]
    for name, service in spec["services"].items():
        for where in [service, *dict(service.get("versions") or {}).values()]:
            labels = where.get("labels") if isinstance(where, dict) else None
            if isinstance(labels, dict) and str(labels.get(old_key)) == old_value:
                labels.pop(old_key)
                labels[new_key] = new_value
                notes.approx(None, ("spec", "services", name, "labels", old_key),
                             f"→ {new_key}: {new_value}")


def _split_versions(spec: Doc, splits: dict[str, set[str]],
                    notes: Notes) -> dict[str, tuple[str, str]]:
    """Each split host's versions become Services ``<host>-<version>``; the host stays as the
    name callers use (one pod, which the HTTPRoute's backends bypass)."""
    services: dict[str, Any] = spec["services"]
    renamed: dict[str, tuple[str, str]] = {}
    for host in sorted(splits):
        service = services.get(host)
        if not isinstance(service, dict) or not service.get("versions"):
            continue
        versions = dict(service.pop("versions"))
        base = {k: v for k, v in service.items() if k not in ("replicas", "labels")}
        for version, over in versions.items():
            new = {**copy.deepcopy(base), **dict(over or {})}
            new.pop("labels", None)
            services[subset_service(host, version)] = new
            renamed[subset_service(host, version)] = (host, version)
        service["replicas"] = 1
        notes.approx(None, ("spec", "services", host, "versions"), "Linkerd has no subsets: "
                     f"each version is a Service {host}-<version>; {host} keeps one pod as "
                     "the apex the routes split")
        _retarget(spec, host, set(versions))
    return renamed


def _retarget(spec: Doc, host: str, versions: set[str]) -> None:
    for fault in spec.get("faults", []) or []:
        target = str(fault.get("target", ""))
        if "/" in target and target.split("/")[0] == host and target.split("/")[1] in versions:
            fault["target"] = subset_service(host, target.split("/")[1])
        elif target.startswith(f"{host}-") and target.split("-")[-2] in versions:
            version = target.split("-")[-2]
            fault["target"] = f"{subset_service(host, version)}-{target.split('-')[-1]}"
    for expect in spec.get("expect", []) or []:
        if expect.get("service") == host and expect.get("subset") in versions:
            expect["service"] = subset_service(host, expect.pop("subset"))
