"""``--into``: traces fill in the placeholders of a scenario imported from Kubernetes.

The scenario keeps what the cluster said (services, namespaces, replicas, versions, labels,
mesh and manifests); the traces give latency, errors, calls, the network and the load.
A service the traces saw and the scenario lacks is added; one the traces never saw keeps its
placeholders, marked. Comments of the scenario file are not kept: notes are written anew.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from meshsim.config.yamlsrc import load_stream, read_text
from meshsim.errors import Location, ScenarioError
from meshsim.importers.emit import Imported

_FROM_TRACES = ("latency", "errors", "calls")


def merge(traces: Imported, into: Path) -> Imported:
    base, manifests = _read(into)
    out = Imported(copy.deepcopy(base), manifests=manifests, files=traces.files,
                   report=traces.report)
    out.header = [*traces.header, f"merged into {into} (services, replicas, versions and "
                  "manifests from there)."]
    spec, seen = out.scenario.setdefault("spec", {}), traces.scenario["spec"]
    spec["network"] = seen["network"]
    out.notes[("spec", "network", "latency")] = traces.notes.get(("spec", "network", "latency"),
                                                                 "")
    if spec.get("mesh", "none") != "none":
        spec["proxy"] = {"overhead": "0ms"}
        out.note(("spec", "proxy", "overhead"), "the traces' client-server gap, sidecars "
                 "included, is in network.latency")
    services = spec.setdefault("services", {})
    for name, entry in seen["services"].items():
        path = ("spec", "services", name)
        if name not in services:
            services[name] = entry
            out.note(path, "seen in the traces only, not in the Kubernetes scenario")
            _copy_notes(traces, out, path)
            continue
        _fill(services[name], entry)
        _copy_notes(traces, out, path)
    for name in services:
        if name not in seen["services"]:
            out.todo(("spec", "services", name, "latency"), "no spans of this service in the "
                     "traces: still a placeholder")
    spec["workload"] = _workloads(spec.get("workload") or [], seen["workload"])
    for key, note in traces.notes.items():
        if key[:2] == ("spec", "workload"):
            out.notes[key] = note
    return out


def _workloads(base: list[Any], seen: list[dict[str, Any]]) -> list[Any]:
    """The traces' entry points and rates; a workload of the scenario with the same target
    keeps its name and what traces cannot tell (timeout, headers, arrival, a request mix)."""
    out = []
    for workload in seen:
        match = next((w for w in base if isinstance(w, dict)
                      and w.get("target") == workload["target"]), None)
        if match is None:
            out.append(workload)
            continue
        merged = copy.deepcopy(match)
        merged["rate"] = workload["rate"]
        merged.setdefault("clients", workload["clients"])
        out.append(merged)
    return out


def _fill(target: dict[str, Any], seen: dict[str, Any]) -> None:
    versions = target.get("versions") or {}
    seen_versions = seen.get("versions") or {}
    for key in _FROM_TRACES:
        if key in seen:
            target[key] = seen[key]
    target["concurrency"] = max(int(target.get("concurrency", 16)), int(seen["concurrency"]))
    if seen_versions and not versions:  # the cluster runs one version: take the busiest
        busiest = max(seen_versions.values(), key=lambda v: v.get("replicas", 1))
        for key in ("latency", "errors"):
            if key in busiest:
                target[key] = busiest[key]
    for name, version in versions.items():
        match = seen_versions.get(name) or seen_versions.get(
            str((version.get("labels") or {}).get("version", "")))
        if match:
            version.update({k: match[k] for k in ("latency", "errors") if k in match})
    if seen_versions and "latency" not in target:
        target["latency"] = next(iter(seen_versions.values()))["latency"]
    if versions and all("latency" in v for v in versions.values()):
        target.pop("latency", None)  # every version has its own: no placeholder left over


def _copy_notes(traces: Imported, out: Imported, path: tuple[str | int, ...]) -> None:
    for key, note in traces.notes.items():
        if key[:len(path)] == path:
            out.notes[key] = note


def _read(into: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    documents = load_stream(read_text(into, "scenario file"), str(into))
    scenarios = [d.data for d in documents if isinstance(d.data, dict)
                 and d.data.get("kind") == "Scenario"]
    if len(scenarios) != 1 or not isinstance(scenarios[0].get("spec"), dict):
        raise ScenarioError("--into needs a scenario file with one kind: Scenario document",
                            Location(file=str(into)))
    manifests = [d.data for d in documents if isinstance(d.data, dict)
                 and d.data.get("kind") != "Scenario"]
    return scenarios[0], manifests
