"""The ``spec.services`` part of a scenario: services, their versions, calls and contention.

Apart from :mod:`.schema` because it is the largest part of the document, with its own shapes
(a call given as a string, ``parallel`` fan-out, versions that inherit from their service)
and its own consistency checks.
"""

# Pydantic copies a field's default for each instance; ruff sees that only for classes whose
# BaseModel base is defined in the same file, and Strict is in schema_types.
# ruff: noqa: RUF012

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, StrictBool, model_validator

from meshsim.config import limits
from meshsim.config.fields import (
    Probability,
    choice,
    number,
    problem,
    sized,
    sized_within,
    whole,
    within,
)
from meshsim.config.limits import Limit
from meshsim.config.schema_clients import ClientSpec
from meshsim.config.schema_failures import ErrorsField, ErrorsSpec
from meshsim.config.schema_topology import PlacementSpec, TrafficDistribution
from meshsim.config.schema_types import Concurrency, Labels, Latency, Name, Queue, Replicas, Strict


def _replicas_from_placement(data: Any) -> Any:
    """``placement`` gives the pods: unset ``replicas`` is their sum; a set one must match."""
    if not isinstance(data, dict) or not isinstance(data.get("placement"), list):
        return data
    counts = [p.get("replicas", 1) if isinstance(p, dict) else None for p in data["placement"]]
    if not all(isinstance(c, int) and not isinstance(c, bool) for c in counts):
        return data  # the entries' own validation says what is wrong
    total = sum(c for c in counts if isinstance(c, int))
    if "replicas" not in data:
        return {**data, "replicas": total}
    if data["replicas"] != total:
        raise problem(
            f"replicas {data['replicas']} does not match the placement's replicas ({total}); "
            "drop replicas or make them agree", ["replicas"],
        )
    return data


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
    client: ClientSpec | None = None  # the app's own SDK around this call (docs/clients.md)
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
    errors: ErrorsField | None = None
    labels: Labels | None = None
    calls: Annotated[list[CallEntry] | None, *_calls_of(limits.CALLS)] = None
    contention: Contention | None = None
    placement: list[PlacementSpec] | None = None  # clusters and zones of the pods (topology)

    _from_placement = model_validator(mode="before")(_replicas_from_placement)


def _versions_shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: ({} if v is None else v) for k, v in value.items()}
    return value


class ServiceSpec(Strict):
    replicas: Replicas | None = None  # None: 1, or the sum of the versions
    concurrency: Concurrency = 16  # worker slots per pod
    queue: Queue | None = None  # waiting requests per pod; None = unbounded
    latency: Latency | None = None  # required unless every version sets one
    errors: ErrorsField = ErrorsSpec()
    calls: Annotated[list[CallEntry], *_calls_of(limits.CALLS)] = []
    versions: Annotated[
        dict[Name, VersionSpec], sized_within(limits.VERSIONS), BeforeValidator(_versions_shape),
        sized(limits.VERSIONS),
    ] | None = None
    namespace: Name = "default"
    external: StrictBool = False  # outside the mesh: no sidecar
    # gRPC over HTTP/2: failures answer 200 with a grpc-status (docs/failures.md#grpc)
    protocol: Annotated[Literal["http", "grpc"], choice("http", "grpc")] = "http"
    contention: Contention = ContentionSpec()
    labels: Labels = {}
    placement: list[PlacementSpec] | None = None  # clusters and zones of the pods (topology)
    trafficDistribution: TrafficDistribution | None = None  # Kubernetes Service field

    _from_placement = model_validator(mode="before")(_replicas_from_placement)

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


def pods_of(service: ServiceSpec) -> int:
    """The pods a service runs: its versions' replicas, else its own (at least 1)."""
    if service.versions:
        return sum(version.replicas for version in service.versions.values())
    return service.replicas or 1
