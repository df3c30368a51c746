"""The Scenario document of DESIGN §2 as pydantic models.

Every model forbids unknown fields. Values with units or several accepted shapes go through
before-validators (:mod:`meshsim.config.fields`) so a mistake gets one message. Checks that
need other parts of the scenario (does that service exist?) live in :mod:`.checks`.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    StrictBool,
    ValidationInfo,
    field_validator,
    model_validator,
)

from meshsim.config import limits
from meshsim.config.distributions import LatencySpec, parse_latency
from meshsim.config.fields import (
    Duration,
    LatencyChange,
    PositiveDuration,
    Probability,
    Rate,
    choice,
    number,
    problem,
    sized,
    sized_within,
    whole,
    within,
)
from meshsim.config.limits import Limit
from meshsim.config.yamlsrc import NON_FINITE, first_non_finite
from meshsim.errors import UnitError
from meshsim.units import format_duration, parse_duration, parse_probability, parse_rate

API_VERSION = "meshsim/v1alpha1"
MESH_OVERHEAD = {"none": 0.0, "istio": 0.25e-3, "linkerd": 0.15e-3}
LATENCY_METRICS = ("p50", "p90", "p99", "mean_latency")
METRICS = (
    "success_rate", "p50", "p90", "p99", "rps", "retry_ratio", "mean_latency", "timeouts",
    "overflows", "ejections", "denied", "denied_rate", "client_errors", "client_error_rate",
)
SHARE_METRICS = {"success_rate": "success rate", "denied_rate": "denied rate",
                 "client_error_rate": "client error rate"}
_RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def describe_text(text: str) -> str:
    return repr(text) if len(text) <= 40 else repr(text[:37] + "...")


def _dns_label(name: str) -> str:
    if len(name) > 63:
        raise problem(
            f"{describe_text(name)} is longer than 63 characters, the most a Kubernetes DNS "
            "label holds (pod names and hosts are built from it)"
        )
    if not _DNS_LABEL.match(name):
        raise problem(
            f"{name!r} is not a valid name: use lowercase letters, digits and '-' "
            "(a Kubernetes DNS label), since pod names and hosts are built from it"
        )
    return name


Name = Annotated[str, AfterValidator(_dns_label)]
Latency = Annotated[LatencySpec, PlainValidator(parse_latency)]
Replicas = Annotated[int, within(limits.REPLICAS, ge=0), whole(limits.REPLICAS)]
Concurrency = Annotated[int, within(limits.CONCURRENCY, ge=1), whole(limits.CONCURRENCY)]
Queue = Annotated[int, within(limits.QUEUE, ge=0), whole(limits.QUEUE)]
Labels = Annotated[dict[str, str], sized_within(limits.ENTRIES), sized(limits.ENTRIES)]


def _call_depth(value: Any) -> Any:
    """Nested ``parallel`` levels, counted on the raw data before pydantic recurses into it."""
    level, depth = [value], 0
    while level:
        depth += 1
        if limits.PARALLEL_DEPTH.exceeded(depth - 1):
            raise problem(limits.PARALLEL_DEPTH.message(depth - 1))
        level = [
            entry["parallel"] for items in level if isinstance(items, list) for entry in items
            if isinstance(entry, dict) and isinstance(entry.get("parallel"), list)
        ]
    return value


def _calls_of(limit: Limit) -> Any:
    return (sized_within(limit), sized(limit), BeforeValidator(_call_depth))


class Strict(BaseModel):
    """Unknown fields are errors (DESIGN §8); parsed documents are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


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


def _contention_shape(value: Any) -> Any:
    return {"model": value} if isinstance(value, str) else value


class ContentionSpec(Strict):
    model: Annotated[
        Literal["fifo", "processor-sharing", "inflight"],
        choice("fifo", "processor-sharing", "inflight"),
    ] = "fifo"
    cores: Annotated[int, within(limits.CORES, ge=1), whole(limits.CORES)] = 1
    factor: Annotated[float, Field(ge=0), number()] = 0.0

    @model_validator(mode="after")
    def _fits_model(self) -> ContentionSpec:
        if "cores" in self.model_fields_set and self.model != "processor-sharing":
            raise problem("cores applies only to model: processor-sharing", ["cores"])
        if "factor" in self.model_fields_set and self.model != "inflight":
            raise problem("factor applies only to model: inflight", ["factor"])
        if self.model == "inflight" and "factor" not in self.model_fields_set:
            raise problem("inflight contention needs a factor: {model: inflight, factor: 0.05}")
        return self


Contention = Annotated[ContentionSpec, BeforeValidator(_contention_shape)]


def _call_shape(value: Any) -> Any:
    return {"service": value} if isinstance(value, str) else value


class CallSpec(Strict):
    """A downstream call, or ``parallel: [...]`` fan-out of calls."""

    service: str | None = None
    path: str = "/"
    method: str = "GET"
    headers: Labels = {}
    probability: Probability = 1.0
    optional: StrictBool = False
    parallel: Annotated[list[CallEntry] | None, *_calls_of(limits.CALLS)] = None

    @model_validator(mode="after")
    def _one_kind(self) -> CallSpec:
        if self.parallel is not None:
            others = sorted(self.model_fields_set - {"parallel"})
            if others:
                raise problem(f"a parallel entry takes only 'parallel', not {others[0]!r}")
            if not self.parallel:
                raise problem("parallel needs at least one call", ["parallel"])
        elif self.service is None:
            raise problem("a call needs 'service' (or 'parallel: [...]' for fan-out)")
        return self


CallEntry = Annotated[CallSpec, BeforeValidator(_call_shape)]
CallSpec.model_rebuild()


class VersionSpec(Strict):
    """Overrides one version (subset) makes to its service; unset fields inherit."""

    replicas: Replicas = 1
    concurrency: Concurrency | None = None
    queue: Queue | None = None
    latency: Latency | None = None
    errors: Probability | None = None
    labels: Labels | None = None
    calls: Annotated[list[CallEntry] | None, *_calls_of(limits.CALLS)] = None
    contention: Contention | None = None


def _versions_shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: ({} if v is None else v) for k, v in value.items()}
    return value


class ServiceSpec(Strict):
    replicas: Replicas | None = None  # None: 1, or the sum of the versions
    concurrency: Concurrency = 16  # worker slots per pod
    queue: Queue | None = None  # waiting requests per pod; None = unbounded
    latency: Latency | None = None  # required unless every version sets one
    errors: Probability = 0.0
    calls: Annotated[list[CallEntry], *_calls_of(limits.CALLS)] = []
    versions: Annotated[
        dict[Name, VersionSpec], sized_within(limits.VERSIONS), BeforeValidator(_versions_shape),
        sized(limits.VERSIONS),
    ] | None = None
    namespace: Name = "default"
    external: StrictBool = False  # outside the mesh: no sidecar
    contention: Contention = ContentionSpec()
    labels: Labels = {}

    @model_validator(mode="after")
    def _consistent(self) -> ServiceSpec:
        versions = self.versions or {}
        unset = [v for v in versions.values() if v.latency is None]
        if self.latency is None and (unset or not versions):
            raise problem("missing required field", ["latency"])
        if not versions:
            if self.replicas is not None and self.replicas < 1:
                raise problem(
                    f"a service without versions needs at least 1 replica, got {self.replicas}",
                    ["replicas"],
                )
            return self
        total = sum(v.replicas for v in versions.values())
        if self.replicas is not None and self.replicas != total:
            parts = " + ".join(str(v.replicas) for v in versions.values())
            raise problem(
                f"replicas {self.replicas} does not match the versions' replicas "
                f"({parts} = {total}); set replicas on each version",
                ["replicas"],
            )
        if total < 1:
            raise problem("every version has 0 replicas: the service has no pods", ["versions"])
        return self


class RequestSpec(Strict):
    method: str = "GET"
    path: str = "/"
    headers: Labels = {}
    weight: Annotated[float, Field(gt=0, le=limits.WEIGHT.maximum), number()] = 1.0


class RateStepSpec(Strict):
    at: Duration
    rate: Rate


def _schedule_shape(value: Any) -> Any:
    """``rate: 400/s`` is a one-step schedule starting at 0s."""
    return value if isinstance(value, list) else [{"at": 0.0, "rate": value}]


def _requests_shape(value: Any) -> Any:
    return [value] if isinstance(value, dict) else value


class WorkloadSpec(Strict):
    name: Name
    target: str
    rate: Annotated[
        list[RateStepSpec], Field(min_length=1), sized_within(limits.SCHEDULE),
        sized(limits.SCHEDULE), BeforeValidator(_schedule_shape),
    ]
    arrival: Annotated[Literal["poisson", "constant"], choice("poisson", "constant")] = "poisson"
    clients: Annotated[int, within(limits.CLIENTS, ge=1), whole(limits.CLIENTS)] = 1
    timeout: Duration = 0.0  # 0 = the calling app never gives up
    request: Annotated[
        list[RequestSpec], Field(min_length=1), sized_within(limits.REQUESTS),
        sized(limits.REQUESTS), BeforeValidator(_requests_shape),
    ] = [RequestSpec()]

    @field_validator("rate")
    @classmethod
    def _increasing(cls, steps: list[RateStepSpec]) -> list[RateStepSpec]:
        for index in range(1, len(steps)):
            if steps[index].at <= steps[index - 1].at:
                raise problem(
                    "schedule steps must be in increasing order of 'at'", [index, "at"]
                )
        return steps


class FaultSpec(Strict):
    at: Duration
    for_: PositiveDuration = Field(alias="for")
    target: str
    latency: LatencyChange | None = None
    errors: Probability | None = None
    down: StrictBool = False

    @model_validator(mode="after")
    def _does_something(self) -> FaultSpec:
        if self.latency is None and self.errors is None and not self.down:
            raise problem("a fault needs latency (x10 or +50ms), errors, or down: true")
        return self


def _bound(metric: str, value: object) -> float:
    """An SLO bound in the unit its metric has."""
    if metric in LATENCY_METRICS:
        return parse_duration(value)
    if metric in SHARE_METRICS:
        return parse_probability(value, SHARE_METRICS[metric])
    if metric == "rps" and isinstance(value, str):
        return parse_rate(value)
    if isinstance(value, str) and value.strip().endswith("%"):
        return float(value.strip()[:-1]) / 100.0
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise UnitError(f"{metric} bound must be a number >= 0, got {value!r}")
    return float(value)


def _window_shape(value: Any) -> Any:
    if value is not None and (not isinstance(value, list) or len(value) != 2):
        raise problem(f"expected a window [start, end] like [150s, 300s], got {value!r}")
    return value


class ExpectSpec(Strict):
    metric: Annotated[str, choice(*METRICS)]
    service: str
    subset: str | None = None
    window: Annotated[list[Duration] | None, BeforeValidator(_window_shape)] = None
    min: float | None = None
    max: float | None = None

    @field_validator("min", "max", mode="before")
    @classmethod
    def _unit(cls, value: Any, info: ValidationInfo) -> Any:
        metric = info.data.get("metric")
        if value is None or metric is None:
            return value
        try:
            bound = _bound(metric, value)
        except (UnitError, ValueError) as exc:
            raise problem(str(exc)) from None
        if not math.isfinite(bound):
            raise problem(f"{metric} bound must be a finite number, got {value!r}")
        return bound

    @model_validator(mode="after")
    def _bounds(self) -> ExpectSpec:
        if self.min is None and self.max is None:
            raise problem("an expectation needs min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise problem(f"min ({self.min:g}) is greater than max ({self.max:g})", ["min"])
        if self.window is not None and self.window[0] >= self.window[1]:
            raise problem("window start must be before its end", ["window"])
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

    @property
    def proxy_overhead(self) -> float:
        overhead = self.proxy.overhead
        return MESH_OVERHEAD[self.mesh] if overhead is None else overhead

    @model_validator(mode="after")
    def _pods_bounded(self) -> ScenarioSpec:
        pods = sum(_pods(service) for service in self.services.values())
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


def _pods(service: ServiceSpec) -> int:
    if service.versions:
        return sum(version.replicas for version in service.versions.values())
    return service.replicas or 1


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
