"""Open-loop load: who sends what, how often, and when the calling app gives up."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from meshsim.model.geography import Place


@dataclass(frozen=True)
class RequestTemplate:
    """What a request looks like; several templates with weights make a mix."""

    method: str = "GET"
    path: str = "/"
    headers: Mapping[str, str] = field(default_factory=dict)
    weight: float = 1.0


@dataclass(frozen=True)
class RateStep:
    """From ``at`` seconds on, arrivals come at ``rate`` per second."""

    at: float
    rate: float


@dataclass(frozen=True)
class Workload:
    name: str
    target: str
    schedule: tuple[RateStep, ...]
    arrival: Literal["poisson", "constant"] = "poisson"
    clients: int = 1
    timeout: float = 0.0  # the calling app gives up after this long; 0 = never
    requests: tuple[RequestTemplate, ...] = (RequestTemplate(),)
    # The host the requests name when it is not ``target``: a Service that selects some of
    # ``target``'s pods (Flagger's ``<apex>-canary``), routed by ``TrafficPolicy.routes[host]``.
    host: str | None = None
    place: Place | None = None  # where the clients run (multi-cluster scenarios)

    def client_names(self) -> list[str]:
        return [f"{self.name}-{i}" for i in range(self.clients)]
