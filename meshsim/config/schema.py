"""The Scenario document of DESIGN §2 as pydantic models.

Every model forbids unknown fields. Values with units or several accepted shapes go through
before-validators (:mod:`meshsim.config.fields`) so a mistake gets one message. Checks that
need other parts of the scenario (does that service exist?) live in :mod:`.checks`.

This module holds the document and its ``spec``, and is where the scenario's models are
imported from. Its larger parts are modules of their own: the shared base and field types
(:mod:`.schema_types`), the services (:mod:`.schema_services`), the workload
(:mod:`.schema_workload`) and the SLOs (:mod:`.schema_expect`).
"""

# Pydantic copies a field's default for each instance; ruff sees that only for classes whose
# BaseModel base is defined in the same file, and Strict is in schema_types.
# ruff: noqa: RUF012

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, StrictBool, model_validator

from meshsim.config import limits
from meshsim.config.fields import (
    Duration,
    LatencyChange,
    PositiveDuration,
    choice,
    problem,
    sized,
    sized_within,
    whole,
)
from meshsim.config.schema_cost import CostSpec
from meshsim.config.schema_expect import LATENCY_METRICS, METRICS, SHARE_METRICS, ExpectSpec
from meshsim.config.schema_failures import ErrorsField
from meshsim.config.schema_services import (
    CallEntry,
    CallSpec,
    Contention,
    ContentionSpec,
    ServiceSpec,
    VersionSpec,
    pods_of,
)
from meshsim.config.schema_topology import TopologySpec
from meshsim.config.schema_types import (
    Concurrency,
    Labels,
    Latency,
    Name,
    Queue,
    Replicas,
    Strict,
    describe_text,
)
from meshsim.config.schema_workload import RateStepSpec, RequestSpec, WorkloadSpec
from meshsim.config.yamlsrc import NON_FINITE, first_non_finite
from meshsim.units import format_duration

__all__ = [
    "API_VERSION", "LATENCY_METRICS", "MESH_OVERHEAD", "METRICS", "SHARE_METRICS", "CallEntry",
    "CallSpec", "Concurrency", "Contention", "ContentionSpec", "CostSpec", "ExpectSpec",
    "FaultSpec", "Labels", "Latency", "Metadata", "Name", "NetworkSpec", "ProxySpec", "Queue",
    "RateStepSpec", "Replicas", "RequestSpec", "RolloutSpec", "ScenarioDocument",
    "ScenarioSpec", "ServiceSpec", "Strict", "VersionSpec", "WorkloadSpec", "describe_text",
]

API_VERSION = "meshsim/v1alpha1"
MESH_OVERHEAD = {"none": 0.0, "istio": 0.25e-3, "linkerd": 0.15e-3}
_RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def _run_name(name: str) -> str:
    """The scenario's name names its run directory: one path component, not '../../etc'."""
    if not _RUN_NAME.match(name):
        raise problem(
            f"{describe_text(name)} is not a usable scenario name: use up to 100 letters, "
            "digits, '.', '_' and '-', starting with a letter or digit (it names the run "
            "directory)"
        )
    return name


class Metadata(Strict):
    name: Annotated[str, AfterValidator(_run_name)] | None = None  # defaults to the file name
    description: str = ""


class NetworkSpec(Strict):
    latency: Duration = 0.5e-3  # one way, pod to pod


class ProxySpec(Strict):
    overhead: Duration | None = None  # per sidecar traversal; None = the mesh's default
    cost: CostSpec | None = None  # data-plane cost model (CPU, memory, queueing); None = off


class FaultSpec(Strict):
    at: Duration
    for_: PositiveDuration = Field(alias="for")
    target: str | None = None  # a service, service/version or pod; may be left out with a place
    zone: str | None = None  # only pods in this zone (spec.topology)
    cluster: str | None = None  # only pods in this cluster (spec.topology)
    gateway: str | None = None  # a cluster's east-west gateway (several networks)
    link: list[str] | None = None  # two clusters: traffic between them is cut (topology)
    freeze: str | None = None  # a cluster whose proxies get no endpoint updates meanwhile
    latency: LatencyChange | None = None
    errors: ErrorsField | None = None
    down: StrictBool = False
    blackhole: StrictBool = False  # connects time out (the caller's connectTimeout)

    @model_validator(mode="after")
    def _does_something(self) -> FaultSpec:
        if self.freeze is not None:
            if any(v is not None for v in (self.target, self.zone, self.cluster, self.gateway,
                                           self.link, self.latency, self.errors)) or (
                    self.down or self.blackhole):
                raise problem("a freeze fault takes only at, for and freeze", ["freeze"])
            return self
        if self.latency is None and self.errors is None and not self.down and not self.blackhole:
            raise problem(
                "a fault needs latency (x10 or +50ms), errors, down: true, blackhole: true or "
                "freeze: <cluster>"
            )
        if self.target is None and self.zone is None and self.cluster is None and (
                self.gateway is None and self.link is None):
            raise problem("a fault needs a target, a zone, a cluster, a gateway or a link")
        if self.link is not None and (len(self.link) != 2 or self.link[0] == self.link[1]):
            raise problem("a link names two different clusters: [east, west]", ["link"])
        if self.link is not None and (self.target or self.zone or self.cluster or self.gateway
                                      or self.latency or self.errors is not None):
            raise problem("a link fault takes only down: true or blackhole: true", ["link"])
        if self.gateway is not None and (self.target or self.zone or self.cluster or
                                         self.latency or self.errors is not None):
            raise problem("a gateway fault takes only down: true or blackhole: true",
                          ["gateway"])
        return self


def _version_text(value: Any) -> Any:
    """``meshVersion: 1.24`` is a float to YAML; the loader restores the text as written."""
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


class RolloutSpec(Strict):
    """When the new revision lands for Flagger/Argo manifests (default: the end of warm-up)."""

    start: Duration | None = None


class ScenarioSpec(Strict):
    mesh: Annotated[Literal["istio", "linkerd", "none"], choice("istio", "linkerd", "none")] = (
        "none"
    )
    meshVersion: Annotated[str | None, BeforeValidator(_version_text)] = None  # envoy-istio §13
    duration: PositiveDuration
    warmup: Duration = 0.0
    seed: Annotated[int, Field(ge=0), whole()] = 1
    network: NetworkSpec = NetworkSpec()
    proxy: ProxySpec = ProxySpec()
    cancellation: Annotated[
        Literal["none", "queued", "deadline"], choice("none", "queued", "deadline")
    ] = "none"
    services: Annotated[
        dict[Name, ServiceSpec], Field(min_length=1), sized_within(limits.SERVICES),
        sized(limits.SERVICES),
    ]
    workload: Annotated[
        list[WorkloadSpec], Field(min_length=1), sized_within(limits.WORKLOADS),
        sized(limits.WORKLOADS),
    ]
    faults: Annotated[list[FaultSpec], sized_within(limits.FAULTS), sized(limits.FAULTS)] = []
    manifests: Annotated[
        list[str], sized_within(limits.MANIFEST_FILES), sized(limits.MANIFEST_FILES)
    ] = []
    expect: Annotated[list[ExpectSpec], sized_within(limits.EXPECT), sized(limits.EXPECT)] = []
    rollout: RolloutSpec = RolloutSpec()
    topology: TopologySpec | None = None  # clusters, zones, latency matrix (multi-cluster)

    @property
    def proxy_overhead(self) -> float:
        overhead = self.proxy.overhead
        return MESH_OVERHEAD[self.mesh] if overhead is None else overhead

    @model_validator(mode="after")
    def _cost_has_a_mesh(self) -> ScenarioSpec:
        cost = self.proxy.cost
        if cost is None:
            return self
        if self.mesh == "none":
            raise problem("a cost model needs a mesh (istio or linkerd): without sidecars "
                          "there is no proxy to cost", ["proxy", "cost"])
        if cost.profile is not None and not cost.profile.startswith(self.mesh):
            raise problem(f"profile {cost.profile!r} is not a {self.mesh} release",
                          ["proxy", "cost", "profile"])
        if cost.mode == "ambient" and self.mesh != "istio":
            raise problem("ambient mode is Istio's", ["proxy", "cost", "mode"])
        return self

    @model_validator(mode="after")
    def _pods_bounded(self) -> ScenarioSpec:
        pods = sum(pods_of(service) for service in self.services.values())
        if limits.PODS.exceeded(pods):
            raise problem(limits.PODS.message(pods), ["services"])
        return self

    @model_validator(mode="after")
    def _within_run(self) -> ScenarioSpec:
        if self.warmup >= self.duration:
            raise problem(
                f"warmup ({format_duration(self.warmup)}) must be shorter than the duration "
                f"({format_duration(self.duration)})",
                ["warmup"],
            )
        for index, expect in enumerate(self.expect):
            if expect.window is not None and expect.window[1] > self.duration:
                raise problem(
                    f"window ends after the run ({format_duration(self.duration)})",
                    ["expect", index, "window"],
                )
        if self.rollout.start is not None and self.rollout.start >= self.duration:
            raise problem(
                f"the rollout starts after the run ({format_duration(self.duration)})",
                ["rollout", "start"],
            )
        for index, fault in enumerate(self.faults):
            if fault.at >= self.duration:
                raise problem(
                    f"fault starts after the run ends ({format_duration(self.duration)})",
                    ["faults", index, "at"],
                )
        return self


class ScenarioDocument(Strict):
    apiVersion: Annotated[Literal["meshsim/v1alpha1"], choice(API_VERSION)]
    kind: Annotated[Literal["Scenario"], choice("Scenario")]
    metadata: Metadata = Metadata()
    spec: ScenarioSpec

    @model_validator(mode="before")
    @classmethod
    def _finite(cls, data: Any) -> Any:
        """``.inf``, ``.nan`` anywhere (labels and headers too) are nothing meshsim can use."""
        path = first_non_finite(data)
        if path is not None:
            raise problem(NON_FINITE, path)
        return data
