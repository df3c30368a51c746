"""``meshsim import traces``: a scenario from OTLP or Jaeger traces.

Services are the ``service.name`` of server spans: replicas from distinct instances
(``service.instance.id``, ``k8s.pod.name``), versions from ``service.version``, the namespace
from ``k8s.namespace.name``; their latency is their self time (fitted or empirical), their
``errors`` the share of requests they failed by themselves, their ``calls`` the steps
:mod:`.services` infers. Callees that never answer with a server span are ``external``.
Workloads are the traces' entry points: the root span's service when it is a client only (a
load generator), else ``<service>-callers``; their rate is traces per second over the
observed window, divided by the sampling probability (from ``tracestate`` ``ot=th:``, Jaeger's
``sampler.param``, or ``--sample``). The one-way network latency is half the median gap
between a client span and the server span answering it.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from meshsim.importers import fit as fitting
from meshsim.importers.emit import Imported
from meshsim.importers.graph import Graph, Invocation, build, infer_kinds
from meshsim.importers.services import Behaviour, StepCall, behaviour
from meshsim.importers.spans import Span, located
from meshsim.importers.tracefiles import read_spans

LatencyMode = Literal["auto", "empirical", "fit"]
MAX_SAMPLES = 20_000


@dataclass(frozen=True)
class TraceOptions:
    name: str = "imported"
    latency: LatencyMode = "auto"
    sample: float | None = None  # overrides what the spans say
    samples_dir: str = "samples"  # empirical CSVs, relative to the written scenario
    duration: str = "60s"
    warmup: str = "5s"


def import_traces(paths: Iterable[Path], options: TraceOptions) -> Imported:
    files = list(paths)
    spans = infer_kinds(read_spans(files))
    servers = [s for s in spans if s.kind == "server"]
    if not servers:
        raise located(str(files[0]) if files else "<traces>", "",
                      "no server spans (span kind SERVER): nothing says which services "
                      "answered requests")
    graph = build(spans)
    out = Imported(_shell(options))
    spec = out.scenario["spec"]
    out.header = [f"Imported by meshsim from {len(spans):,} spans in "
                  f"{len({s.trace for s in spans}):,} traces: " + ", ".join(map(str, files)),
                  "Values marked TODO(meshsim import) are guesses: traces cannot say them."]
    gap = _network(graph)
    spec["network"] = {"latency": fitting.ms(gap)}
    out.note(("spec", "network", "latency"), "half the median gap between client and server "
             "spans (sidecars and network)")
    by_service: dict[str, list[Invocation]] = defaultdict(list)
    for invocation in graph.invocations:
        by_service[invocation.server.service].append(invocation)
    for service in sorted(by_service):
        spec["services"][name_of(service)] = _service(out, service, by_service[service], options)
    for callee, calls in sorted(graph.external.items()):
        if callee not in by_service:
            spec["services"][name_of(callee)] = _external(out, callee, calls, gap)
    spec["workload"] = _workloads(out, graph, _sample(spans, options))
    return out


def name_of(service: str) -> str:
    """A service name as the scenario takes it: a DNS label."""
    label = re.sub(r"[^a-z0-9-]+", "-", service.lower()).strip("-")[:63].strip("-")
    return label or "service"


def _shell(options: TraceOptions) -> dict[str, Any]:
    return {
        "apiVersion": "meshsim/v1alpha1", "kind": "Scenario",
        "metadata": {"name": options.name, "description": "Imported from traces"},
        "spec": {"mesh": "none", "duration": options.duration, "warmup": options.warmup,
                 "seed": 1, "network": {}, "services": {}, "workload": []},
    }


def _service(out: Imported, service: str, invocations: list[Invocation],
             options: TraceOptions) -> dict[str, Any]:
    path = ("spec", "services", name_of(service))
    versions = sorted({inv.server.version for inv in invocations if inv.server.version})
    overall = behaviour(invocations)
    entry: dict[str, Any] = {}
    namespace = Counter(inv.server.namespace for inv in invocations
                        if inv.server.namespace).most_common(1)
    if namespace and namespace[0][0] != "default":
        entry["namespace"] = name_of(namespace[0][0])
    concurrency = max(16, 2 ** math.ceil(math.log2(2 * overall.peak_in_flight)))
    entry["concurrency"] = concurrency
    out.todo((*path, "concurrency"), f"worker slots per pod; traces show at most "
             f"{overall.peak_in_flight} sampled requests in flight on one pod")
    if len(versions) > 1:
        entry["versions"] = {}
        for version in versions:
            part = [inv for inv in invocations if inv.server.version == version]
            entry["versions"][name_of(version)] = _behaviour_fields(
                out, (*path, "versions", name_of(version)), f"{service}/{version}",
                behaviour(part), options, replicas=True)
        entry["calls"] = _calls(overall.steps)
        _retry_notes(out, path, overall.steps)
        return entry
    entry["replicas"] = max(1, len(overall.instances))
    entry.update(_behaviour_fields(out, path, service, overall, options, replicas=False))
    return entry


def _behaviour_fields(out: Imported, path: tuple[str | int, ...], label: str, seen: Behaviour,
                      options: TraceOptions, *, replicas: bool) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if replicas:
        fields["replicas"] = max(1, len(seen.instances))
    fields["latency"] = _latency(out, path, label, seen.self_times, options)
    if seen.errors > 0:
        fields["errors"] = round(seen.errors, 6)
    if not replicas:
        fields["calls"] = _calls(seen.steps)
        _retry_notes(out, path, seen.steps)
    return {k: v for k, v in fields.items() if v != []}


def _latency(out: Imported, path: tuple[str | int, ...], label: str, samples: np.ndarray,
             options: TraceOptions) -> str:
    best = fitting.best(samples)
    use_fit = options.latency == "fit" or (
        options.latency == "auto" and best.error <= fitting.AUTO_TOLERANCE)
    row = {"service": label, "samples": len(samples), "observed_p50": best.observed_p50,
           "observed_p99": best.observed_p99, "fitted": best.text, "fitted_p50": best.p50,
           "fitted_p99": best.p99, "written": "fit" if use_fit else "empirical"}
    out.report.append(row)
    if use_fit:
        out.note((*path, "latency"), f"self time fitted to {len(samples)} spans: observed "
                 f"p50 {fitting.ms(best.observed_p50)} p99 {fitting.ms(best.observed_p99)}")
        return best.text
    file = f"{options.samples_dir}/{name_of(label)}.csv"
    chosen = samples
    if len(samples) > MAX_SAMPLES:
        chosen = np.random.default_rng(0).choice(samples, MAX_SAMPLES, replace=False)
    out.files[file] = "latency_ms\n" + "".join(f"{v * 1e3:.6g}\n" for v in chosen)
    out.note((*path, "latency"), f"observed self times of {len(samples)} spans (best fit "
             f"{best.text} is off by {best.error:.0%} at p50/p99)")
    return f"empirical({file})"


def _calls(steps: list[list[StepCall]]) -> list[Any]:
    out: list[Any] = []
    for step in steps:
        entries = [_call(call) for call in step]
        out.append(entries[0] if len(entries) == 1 else {"parallel": entries})
    return out


def _retry_notes(out: Imported, path: tuple[str | int, ...], steps: list[list[StepCall]]
                 ) -> None:
    """Retries are the mesh's policy, not the app's: say where the traces show them."""
    for index, step in enumerate(steps):
        retried = [c for c in step if c.retried > 0]
        if retried:
            which = ", ".join(f"{c.callee} {c.retried:.1%}" for c in retried)
            out.note((*path, "calls", index), f"retried in the traces ({which} of calls): "
                     "retries come from the mesh's manifests (--into), not from here")


def _call(call: StepCall) -> Any:
    entry: dict[str, Any] = {"service": name_of(call.callee)}
    if call.path and call.path != "/":
        entry["path"] = call.path
    if call.method and call.method != "GET":
        entry["method"] = call.method
    if call.probability < 1.0:
        entry["probability"] = round(call.probability, 4)
    if call.optional:
        entry["optional"] = True
    return entry["service"] if len(entry) == 1 else entry


def _external(out: Imported, callee: str, calls: list[Any], gap: float) -> dict[str, Any]:
    durations = np.array([max(0.0, c.end - c.start - 2 * gap) for c in calls], dtype=float)
    best = fitting.best(durations)
    failed = sum(not c.ok for c in calls) / len(calls)
    out.note(("spec", "services", name_of(callee)), f"called as {callee!r} and never answered "
             "with a server span: outside the traces, modelled from its callers' client spans")
    out.report.append({"service": name_of(callee), "samples": len(durations),
                       "observed_p50": best.observed_p50, "observed_p99": best.observed_p99,
                       "fitted": best.text, "fitted_p50": best.p50, "fitted_p99": best.p99,
                       "written": "fit"})
    entry: dict[str, Any] = {"external": True, "latency": best.text}
    if failed > 0:
        entry["errors"] = round(failed, 6)
    return entry


def _network(graph: Graph) -> float:
    """Half the median gap of every client span answered by a server span: the services'
    calls and the entry points' (a load generator's client span over its server span)."""
    gaps = [c.gap for inv in graph.invocations for c in inv.calls if c.gap is not None]
    gaps += [root.duration - server.duration for root, server in graph.roots
             if server is not None and root is not server and root.kind == "client"]
    return max(0.0, float(np.median(gaps)) / 2) if gaps else 0.0


def _sample(spans: list[Span], options: TraceOptions) -> float:
    if options.sample is not None:
        return options.sample
    said = [s.sample for s in spans if s.sample is not None and s.sample > 0]
    return float(np.median(said)) if said else 1.0


def _workloads(out: Imported, graph: Graph, sample: float) -> list[dict[str, Any]]:
    servers = {inv.server.service for inv in graph.invocations}
    entries: dict[tuple[str, str], list[Span]] = defaultdict(list)
    for root, server in graph.roots:
        if server is None:
            continue
        source = root.service if root.kind != "server" and root.service not in servers \
            else f"{server.service}-callers"
        entries[(source, server.service)].append(root)
    starts = sorted(r.start for roots in entries.values() for r in roots)
    window = (starts[-1] - starts[0]) * len(starts) / max(1, len(starts) - 1) if starts else 0
    workloads = []
    for index, ((source, target), roots) in enumerate(sorted(entries.items())):
        rate = len(roots) / window / sample if window > 0 else 1.0
        clients = len({r.instance for r in roots if r.kind != "server" and r.instance}) or 1
        method = Counter(r.method or "GET" for r in roots).most_common(1)[0][0]
        path = Counter(r.path or "/" for r in roots).most_common(1)[0][0]
        workloads.append({"name": name_of(source), "target": name_of(target),
                          "rate": f"{float(f'{rate:.4g}'):g}/s", "arrival": "poisson",
                          "clients": clients, "request": {"method": method, "path": path}})
        out.note(("spec", "workload", index, "rate"), f"{len(roots)} traces over "
                 f"{window:.3g}s, sampled at {sample:.3g}")
    return workloads
