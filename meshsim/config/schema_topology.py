"""The ``spec.topology`` part of a scenario: clusters, networks, regions, zones and the latency
between them, and the ``placement`` a service, version or workload gives its pods.

Cross-references (does that zone belong to that cluster?) are checked at compile time, where
errors carry the YAML path (:mod:`.compile_topology`).
"""

# ruff: noqa: RUF012

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from meshsim.config.fields import Duration, PositiveDuration, choice
from meshsim.config.schema_types import Name, Replicas, Strict

TRAFFIC_DISTRIBUTIONS = ("PreferClose", "PreferSameZone", "PreferSameNode")


class LatencyMatrixSpec(Strict):
    """One-way latency by path; the same zone is ``network.latency``."""

    crossZone: Duration = 0.5e-3
    crossRegion: Duration = 15e-3
    gateway: Duration = 0.5e-3  # added between networks (the east-west gateway's hop)


class ProbeSpecSpec(Strict):
    """The ``probeSpec`` of the Linkerd ``Link`` other clusters hold for this cluster."""

    period: PositiveDuration = 3.0
    timeout: PositiveDuration = 30.0
    failureThreshold: Annotated[int, Field(ge=1, le=100)] = 3


class ClusterSpec(Strict):
    region: str = Field(min_length=1)
    network: str | None = None  # default: one network for every cluster (flat)
    zones: list[str] = []  # optional: when given, placements must name one of these
    probe: ProbeSpecSpec = ProbeSpecSpec()  # Linkerd: how its gateway is probed


class TopologySpec(Strict):
    clusters: Annotated[dict[Name, ClusterSpec], Field(min_length=1)]
    latency: LatencyMatrixSpec = LatencyMatrixSpec()


class PlacementSpec(Strict):
    """``replicas`` pods of a service (or version) in one cluster and zone."""

    cluster: Name | None = None  # default: the only cluster
    zone: str = ""
    subzone: str = ""
    replicas: Replicas = 1


class WherePlacement(Strict):
    """Where a workload's clients run."""

    cluster: Name | None = None
    zone: str = ""
    subzone: str = ""


TrafficDistribution = Annotated[
    Literal["PreferClose", "PreferSameZone", "PreferSameNode"], choice(*TRAFFIC_DISTRIBUTIONS)
]
