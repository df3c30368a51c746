"""Validated scenario → the frozen, mesh-agnostic :class:`meshsim.model.Model`.

This is where names meet: calls, workload targets, fault targets and expectations must name
services, versions and pods that exist, and calls must not loop. Each failure points at the
line that names the missing thing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import cast

from meshsim.config import limits
from meshsim.config.checks import (
    duplicate_pods,
    find_cycle,
    pods_of,
    resolve_target,
    target_names,
)
from meshsim.config.compile_clients import client_policy
from meshsim.config.compile_topology import (
    EXPORTED,
    FEDERATED,
    geography,
    mirrors,
    place,
    places,
)
from meshsim.config.cost import compile_cost
from meshsim.config.distributions import EmpiricalRef, LatencySpec, SamplesError, read_samples
from meshsim.config.failures import error_model
from meshsim.config.fields import did_you_mean
from meshsim.config.locator import Locator
from meshsim.config.schema import (
    LATENCY_METRICS,
    CallSpec,
    ContentionSpec,
    ExpectSpec,
    FaultSpec,
    ScenarioDocument,
    ServiceSpec,
    VersionSpec,
    WorkloadSpec,
)
from meshsim.config.schema_failures import ErrorsSpec
from meshsim.config.schema_topology import PlacementSpec
from meshsim.config.yamlsrc import PathKey, YamlPath
from meshsim.errors import Location, ScenarioError
from meshsim.model import (
    Call,
    CallStep,
    ClosedLoop,
    Constant,
    Contention,
    Deployment,
    Distribution,
    Expectation,
    Fault,
    FaultTarget,
    MeshProfile,
    Model,
    Parallel,
    RateStep,
    RequestTemplate,
    Service,
    Topology,
    Workload,
)
from meshsim.model.failures import ErrorModel
from meshsim.model.slo import Metric
from meshsim.units import format_duration

_SPEC: YamlPath = ("spec",)


def compile_model(
    document: ScenarioDocument, locator: Locator, base_dir: Path, default_name: str
) -> Model:
    """Build the model; raise a located ScenarioError for a dangling name or a call cycle."""
    return _Compiler(document, locator, base_dir).model(default_name)


class _Compiler:
    def __init__(self, document: ScenarioDocument, locator: Locator, base_dir: Path) -> None:
        self.document = document
        self.spec = document.spec
        self.locator = locator
        self.base_dir = base_dir
        self.edges: dict[str, list[tuple[str, YamlPath]]] = {}
        self.samples: dict[Path, Distribution] = {}
        self.geo = geography(document.spec.topology)
        self.mirror_names = self._mirror_names()

    def error(self, message: str, path: Sequence[PathKey]) -> ScenarioError:
        return ScenarioError(message, self.locator.locate(path))

    def model(self, default_name: str) -> Model:
        services = {name: self.service(name, spec) for name, spec in self.spec.services.items()}
        if self.geo is not None and self.spec.mesh == "linkerd":
            labels = {name: dict(spec.labels) for name, spec in self.spec.services.items()}
            services.update(mirrors(services, labels, self.error))
        self.check_graph(services)
        topology = Topology(services, self.spec.network.latency, self.spec.proxy_overhead,
                            geography=self.geo)
        return Model(
            name=self.document.metadata.name or default_name,
            mesh=MeshProfile(self.spec.mesh, self.spec.meshVersion),
            duration=self.spec.duration,
            warmup=self.spec.warmup,
            seed=self.spec.seed,
            topology=topology,
            workloads=self.workloads(services),
            faults=self.faults(services),
            expectations=self.expectations(services),
            cancellation=self.spec.cancellation,
            description=self.document.metadata.description,
            cost=compile_cost(self.spec),
        )

    # -- services -----------------------------------------------------------------------------

    def service(self, name: str, spec: ServiceSpec) -> Service:
        path = (*_SPEC, "services", name)
        if spec.versions:
            deployments = tuple(
                self.deployment(name, spec, version, over, (*path, "versions", version))
                for version, over in spec.versions.items()
            )
        else:
            deployments = (self.deployment(name, spec, None, VersionSpec(), path),)
        return Service(name, spec.namespace, deployments, external=spec.external,
                       traffic_distribution=spec.trafficDistribution)

    def deployment(
        self, name: str, spec: ServiceSpec, version: str | None, over: VersionSpec, path: YamlPath
    ) -> Deployment:
        """One version's pods: the service's settings with the version's overrides on top."""
        service_path = path if version is None else path[:-2]
        latency, latency_path = (spec.latency, service_path)
        if over.latency is not None:
            latency, latency_path = over.latency, path
        assert latency is not None  # the schema requires one of them
        calls, calls_path = (spec.calls, service_path) if over.calls is None else (over.calls, path)
        labels = {"app": name, **spec.labels}
        if version is not None:
            labels.update({"version": version, **(over.labels or {})})
        replicas = over.replicas if version is not None else spec.replicas or 1
        errors, errors_path = (spec.errors, service_path)
        if over.errors is not None:
            errors, errors_path = over.errors, path
        failure = self.error_model(errors, (*errors_path, "errors"), replicas)
        placement, placement_path = spec.placement, (*service_path, "placement")
        if version is not None and over.placement is not None:
            placement, placement_path = over.placement, (*path, "placement")
        elif version is not None and spec.placement is not None:
            raise self.error("a service with versions places each version: move placement "
                             "into the versions", placement_path)
        if errors.grpcStatus is not None and spec.protocol != "grpc":
            raise self.error("grpcStatus needs 'protocol: grpc' on the service (an HTTP service "
                             "answers HTTP statuses: use 'status')",
                             (*errors_path, "errors", "grpcStatus"))
        return Deployment(
            service=name,
            version=version,
            replicas=replicas,
            concurrency=over.concurrency or spec.concurrency,
            queue=over.queue if "queue" in over.model_fields_set else spec.queue,
            latency=self.latency(latency, (*latency_path, "latency")),
            errors=errors.rate,
            contention=_contention(over.contention or spec.contention),
            calls=self.calls(name, calls, (*calls_path, "calls")),
            labels=labels,
            sidecar=not spec.external,
            failure=failure,
            places=places(self.geo, placement, replicas, placement_path, self.error),
            grpc=spec.protocol == "grpc",
        )

    def error_model(
        self, spec: ErrorsSpec, path: YamlPath, replicas: int | None = None
    ) -> ErrorModel | None:
        """The mapping form of ``errors`` (None for the short form: plain 500s). ``replicas``
        bounds bad-pod indexes; a fault (None) picks its pods by its target instead."""
        if spec.short:
            return None
        return error_model(spec, path, replicas, self.latency, self.error)

    def latency(self, spec: LatencySpec, path: YamlPath) -> Distribution:
        if not isinstance(spec, EmpiricalRef):
            return spec
        file = (self.base_dir / spec.file).resolve()
        if file not in self.samples:
            self.samples[file] = self.read_samples(spec.file, file, path)
        return self.samples[file]

    def read_samples(self, written: str, file: Path, path: YamlPath) -> Distribution:
        try:
            return read_samples(file)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise self.error(f"cannot read samples file {written!r}: {reason}", path) from None
        except SamplesError as exc:
            where = self.locator.locate(path)
            raise ScenarioError(
                str(exc), Location(str(self.base_dir / written), exc.row, path=where.path)
            ) from None

    def calls(
        self, caller: str, entries: Sequence[CallSpec], path: YamlPath
    ) -> tuple[CallStep, ...]:
        return tuple(self.call(caller, entry, (*path, i)) for i, entry in enumerate(entries))

    def call(self, caller: str, entry: CallSpec, path: YamlPath) -> CallStep:
        if entry.parallel is not None:
            return Parallel(self.calls(caller, entry.parallel, (*path, "parallel")))
        assert entry.service is not None  # the schema requires service or parallel
        if entry.service not in self.spec.services and entry.service not in self.mirror_names:
            raise self.error(
                f"call to unknown service {entry.service!r}"
                f"{did_you_mean(entry.service, self.spec.services)}",
                (*path, "service"),
            )
        self.edges.setdefault(caller, []).append((entry.service, (*path, "service")))
        return Call(
            entry.service, entry.path, entry.method, dict(entry.headers), entry.probability,
            entry.optional, client_policy(entry.client) if entry.client is not None else None,
        )

    def check_graph(self, services: dict[str, Service]) -> None:
        graph = {caller: [callee for callee, _ in calls] for caller, calls in self.edges.items()}
        cycle = find_cycle(graph)
        if cycle is not None:
            path = next(p for callee, p in self.edges[cycle[-2]] if callee == cycle[-1])
            raise self.error(
                f"call cycle {' → '.join(cycle)}: a request would recurse forever", path
            )
        chain = _longest_chain(graph)
        if limits.CALL_DEPTH.exceeded(len(chain)):
            raise self.error(
                f"{' → '.join(chain[:3])} → ... → {chain[-1]}: "
                f"{limits.CALL_DEPTH.message(len(chain))}",
                (*_SPEC, "services", chain[0], "calls"),
            )
        clash = duplicate_pods(services)
        if clash is not None:
            raise self.error(
                f"pod name {clash[0]!r} belongs to both {clash[1]} and {clash[2]}; rename one",
                (*_SPEC, "services", clash[2].split("/")[0]),
            )

    # -- load, chaos, objectives ------------------------------------------------------------

    def workloads(self, services: dict[str, Service]) -> tuple[Workload, ...]:
        pods = {pod for s in services.values() for d in s.deployments for pod in d.pod_names()}
        seen: set[str] = set()
        out = []
        for index, spec in enumerate(self.spec.workload):
            path = (*_SPEC, "workload", index)
            self.check_workload(spec, path, services, pods, seen)
            seen.add(spec.name)
            where = None
            if spec.placement is not None:
                where = place(self.geo, spec.placement, (*path, "placement"), self.error)
            elif self.geo is not None:
                where = places(self.geo, None, 1, path, self.error)[0]
            out.append(replace(self.workload(spec, path), place=where))
        return tuple(out)

    def _maybe_gateway_host(self, target: str) -> bool:
        """An Istio gateway host (``api.example.com``) is checked once gateways are known."""
        return self.spec.mesh == "istio" and "." in target

    def check_workload(
        self, spec: WorkloadSpec, path: YamlPath, services: dict[str, Service], pods: set[str],
        seen: set[str],
    ) -> None:
        if spec.target not in services and not self._maybe_gateway_host(spec.target):
            raise self.error(
                f"workload target {spec.target!r} is not a service"
                f"{did_you_mean(spec.target, services)}",
                (*path, "target"),
            )
        if spec.name in seen:
            raise self.error(f"a workload named {spec.name!r} already exists", (*path, "name"))
        clients = (f"{spec.name}-{i}" for i in range(spec.clients))
        clash = next((client for client in clients if client in pods), None)
        if clash is not None:
            raise self.error(
                f"workload client {clash!r} would have the same name as a pod; rename the workload",
                (*path, "name"),
            )

    def workload(self, spec: WorkloadSpec, path: YamlPath) -> Workload:
        users = spec.users or spec.connections
        closed = None
        if users is not None:
            think = (Constant(0.0) if spec.thinkTime is None
                     else self.latency(spec.thinkTime, (*path, "thinkTime")))
            closed = ClosedLoop(users, think, spec.qps, spec.requests, spec.duration)
        return Workload(
            name=spec.name,
            target=spec.target,
            schedule=tuple(RateStep(step.at, step.rate, step.ramp) for step in spec.rate or ()),
            arrival=spec.arrival,
            clients=spec.clients,
            timeout=spec.timeout,
            requests=tuple(
                RequestTemplate(r.method, r.path, dict(r.headers), r.weight) for r in spec.request
            ),
            closed=closed,
            max_vus=spec.maxVUs or 0,
            client=client_policy(spec.client) if spec.client is not None else None,
        )

    def faults(self, services: dict[str, Service]) -> tuple[Fault, ...]:
        pods = pods_of(services)  # once: per fault it was pods × faults (10k × 2k: 136 s)
        return tuple(
            self.fault(spec, (*_SPEC, "faults", i), services, pods)
            for i, spec in enumerate(self.spec.faults)
        )

    def fault(
        self, spec: FaultSpec, path: YamlPath, services: dict[str, Service],
        pods: Mapping[str, FaultTarget],
    ) -> Fault:
        self.check_fault_place(spec, path)
        if spec.target is None:
            link = (spec.link[0], spec.link[1]) if spec.link is not None else None
            factor, added = spec.latency or (1.0, 0.0)
            errors = None if spec.errors is None else spec.errors.rate
            return Fault(spec.at, spec.for_, FaultTarget(""), factor, added, errors, spec.down,
                         blackhole=spec.blackhole, zone=spec.zone, cluster=spec.cluster,
                         gateway=spec.gateway, link=link, freeze=spec.freeze)
        pod = "/" not in spec.target and spec.target not in services
        target = pods.get(spec.target) if pod else resolve_target(spec.target, services)
        name, slash, version = spec.target.partition("/")
        if target is None and slash and name in services:
            raise self.error(
                f"fault target {spec.target!r}: {_no_version(services[name], version)}",
                (*path, "target"),
            )
        if target is None:
            raise self.error(
                f"fault target {spec.target!r} is not a service, service/version or pod"
                f"{did_you_mean(spec.target, target_names(services))}",
                (*path, "target"),
            )
        factor, added = spec.latency or (1.0, 0.0)
        errors = None if spec.errors is None else spec.errors.rate
        failure = None if spec.errors is None else self.error_model(spec.errors, (*path, "errors"))
        target_service = services.get(name) if not pod else next(
            (s for s in services.values()
             if any(spec.target in d.pod_names() for d in s.deployments)), None)
        if (spec.errors is not None and spec.errors.grpcStatus is not None
                and target_service is not None
                and not all(d.grpc for d in target_service.deployments)):
            raise self.error("grpcStatus needs 'protocol: grpc' on the targeted service",
                             (*path, "errors", "grpcStatus"))
        return Fault(spec.at, spec.for_, target, factor, added, errors, spec.down, failure,
                     blackhole=spec.blackhole, zone=spec.zone, cluster=spec.cluster)

    def _mirror_names(self) -> set[str]:
        """Linkerd mirror Services the exported services will have (calls may name them)."""
        if self.geo is None or self.spec.mesh != "linkerd":
            return set()
        names: set[str] = set()
        only = next(iter(self.geo.clusters)) if len(self.geo.clusters) == 1 else None
        for name, spec in self.spec.services.items():
            labels = spec.labels
            if labels.get(EXPORTED) in ("true", "remote-discovery"):
                names |= {f"{name}-{p.cluster or only}" for p in _placements(spec)}
            if labels.get(FEDERATED) == "member":
                names.add(f"{name}-federated")
        return names

    def check_gateway(self, cluster: str, path: YamlPath) -> None:
        """An east-west gateway exists per network (its first cluster's) when there are two
        networks or more."""
        geo = self.geo
        if geo is not None and self.spec.mesh == "linkerd":
            if cluster not in geo.clusters:
                raise self.error(f"cluster {cluster!r} is not in spec.topology.clusters", path)
            return
        networks: dict[str, str] = {}
        for site in (geo.clusters.values() if geo is not None else ()):
            networks.setdefault(site.network, site.name)
        if len(networks) < 2:
            raise self.error("an east-west gateway fault needs spec.topology with two "
                             "networks or more", path)
        if cluster not in networks.values():
            raise self.error(f"cluster {cluster!r} has no east-west gateway (gateways: "
                             f"{', '.join(networks.values())}, one per network)", path)

    def check_fault_place(self, spec: FaultSpec, path: YamlPath) -> None:
        """A fault's ``zone``, ``cluster``, ``gateway`` and ``link`` name places of
        ``spec.topology``."""
        geo = self.geo
        if spec.gateway is not None:
            self.check_gateway(spec.gateway, (*path, "gateway"))
        if spec.freeze is not None and (geo is None or spec.freeze not in geo.clusters):
            raise self.error(f"freeze: {spec.freeze!r} is not a cluster of spec.topology",
                             (*path, "freeze"))
        for i, name in enumerate(spec.link or ()):
            if geo is None or name not in geo.clusters:
                raise self.error(f"link: {name!r} is not a cluster of spec.topology",
                                 (*path, "link", i))
        for key, value in (("cluster", spec.cluster), ("zone", spec.zone)):
            if value is None:
                continue
            if geo is None:
                raise self.error(f"a fault's {key} needs spec.topology", (*path, key))
            known = (list(geo.clusters) if key == "cluster"
                     else sorted(({p.zone for s in self.spec.services.values()
                                   for p in _placements(s)} | {
                                      z for site in geo.clusters.values() for z in site.zones})
                                 - {""}))
            if value not in known:
                raise self.error(f"{key} {value!r} is not in the topology "
                                 f"({', '.join(known) or 'none placed'})", (*path, key))

    def expectations(self, services: dict[str, Service]) -> tuple[Expectation, ...]:
        return tuple(
            self.expectation(spec, (*_SPEC, "expect", i), services)
            for i, spec in enumerate(self.spec.expect)
        )

    def expectation(
        self, spec: ExpectSpec, path: YamlPath, services: dict[str, Service]
    ) -> Expectation:
        service = services.get(spec.service)
        workloads = [w.name for w in self.spec.workload]
        if service is None and spec.service in workloads:
            if spec.subset is not None:  # a workload's end-to-end requests have no subset
                raise self.error(f"{spec.service!r} is a workload: its end-to-end requests "
                                 "have no subset", (*path, "subset"))
        elif service is None:
            raise self.error(
                f"expectation on unknown service or workload {spec.service!r}"
                f"{did_you_mean(spec.service, [*services, *workloads])}",
                (*path, "service"),
            )
        elif spec.subset is not None and spec.subset not in service.versions:
            raise self.error(
                _no_version(service, spec.subset) + did_you_mean(spec.subset, service.versions),
                (*path, "subset"),
            )
        window = None if spec.window is None else (spec.window[0], spec.window[1])
        return Expectation(
            cast(Metric, spec.metric), spec.service, spec.subset, window, spec.min, spec.max,
            label=_label(spec),
        )


def _longest_chain(graph: Mapping[str, Sequence[str]]) -> list[str]:
    """The longest call path of an acyclic call graph, found without recursion."""
    nodes = set(graph) | {callee for callees in graph.values() for callee in callees}
    waiting = {node: len(set(graph.get(node, ()))) for node in nodes}  # callees not yet done
    callers: dict[str, set[str]] = {}
    for caller, callees in graph.items():
        for callee in callees:
            callers.setdefault(callee, set()).add(caller)
    ready = [node for node, count in waiting.items() if count == 0]
    below: dict[str, tuple[int, str | None]] = {}  # length of the longest path, next service
    while ready:
        done = ready.pop()
        below[done] = max(
            ((below[c][0] + 1, c) for c in set(graph.get(done, ()))), default=(1, None)
        )
        for caller in callers.get(done, ()):
            waiting[caller] -= 1
            if waiting[caller] == 0:
                ready.append(caller)
    step: str | None = max(below, key=lambda n: (below[n][0], n), default=None)
    chain = []
    while step is not None:
        chain.append(step)
        step = below[step][1]
    return chain


def _no_version(service: Service, version: str) -> str:
    versions = ", ".join(service.versions)
    known = f"versions: {versions}" if versions else "it has no versions"
    return f"{service.name} has no version {version!r} ({known})"


def _contention(spec: ContentionSpec) -> Contention:
    return Contention(spec.model, spec.cores, spec.factor)


def _label(spec: ExpectSpec) -> str:
    """``p99 frontend <= 500ms``: how a report names the objective."""

    def show(value: float) -> str:
        return format_duration(value) if spec.metric in LATENCY_METRICS else f"{value:g}"

    who = spec.service if spec.subset is None else f"{spec.service}/{spec.subset}"
    bounds = []
    if spec.min is not None:
        bounds.append(f">= {show(spec.min)}")
    if spec.max is not None:
        bounds.append(f"<= {show(spec.max)}")
    return f"{spec.metric} {who} {' and '.join(bounds)}"


def _placements(spec: ServiceSpec) -> list[PlacementSpec]:
    entries = list(spec.placement or [])
    for version in (spec.versions or {}).values():
        entries.extend(version.placement or [])
    return entries
