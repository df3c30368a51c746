"""Load: who sends what, how often (open loop) or how many users (closed loop), and how the
calling app gives up and retries (its client policy, :mod:`.clients`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from meshsim.model.clients import ClientPolicy, ClosedLoop
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
    # True: the rate climbs linearly from the previous step's rate to ``rate``, reached at
    # ``at`` (a ramp); False: it jumps at ``at`` (a step).
    ramp: bool = False


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
    closed: ClosedLoop | None = None  # users who wait and think instead of a rate
    # k6 ``constant-arrival-rate``: the open-loop arrivals need a free VU; 0 = no cap
    max_vus: int = 0
    client: ClientPolicy | None = None  # the calling app's own timeouts, retries, breaker

    @property
    def ramps(self) -> bool:
        return any(step.ramp for step in self.schedule)
    place: Place | None = None  # where the clients run (multi-cluster scenarios)

    def client_names(self) -> list[str]:
        return [f"{self.name}-{i}" for i in range(self.clients)]
