"""The chaos timeline: what goes wrong, where, and for how long."""

from __future__ import annotations

from dataclasses import dataclass

from meshsim.model.failures import ErrorModel


@dataclass(frozen=True)
class FaultTarget:
    """A whole service, one version of it, or a single pod."""

    service: str
    version: str | None = None
    pod: str | None = None

    def __str__(self) -> str:
        if not self.service:
            return "*"
        if self.pod is not None:
            return self.pod
        return self.service if self.version is None else f"{self.service}/{self.version}"


@dataclass(frozen=True)
class Fault:
    at: float
    duration: float
    target: FaultTarget
    latency_factor: float = 1.0
    latency_add: float = 0.0
    errors: float | None = None  # extra failure probability while active
    down: bool = False  # pods refuse connections; in-flight work is lost
    failure: ErrorModel | None = None  # how the extra failures fail (None: plain 500s)
    blackhole: bool = False  # like down, but connects time out (connectTimeout) instead
    zone: str | None = None  # only the target's pods in this zone (or every pod there)
    cluster: str | None = None  # only the target's pods in this cluster (or every pod there)
    gateway: str | None = None  # the east-west gateway of this cluster (down or blackhole)
    link: tuple[str, str] | None = None  # the network path between two clusters
    freeze: str | None = None  # this cluster's control plane keeps its endpoint view

    @property
    def end(self) -> float:
        return self.at + self.duration
