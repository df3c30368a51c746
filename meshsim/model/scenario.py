"""The compiled, frozen scenario the engine runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from meshsim.model.cost import CostModel
from meshsim.model.faults import Fault
from meshsim.model.policy import TrafficPolicy
from meshsim.model.rollout import Rollout
from meshsim.model.slo import Expectation
from meshsim.model.topology import Topology
from meshsim.model.workload import Workload

MeshName = Literal["none", "istio", "linkerd"]
Cancellation = Literal["none", "queued", "deadline"]


@dataclass(frozen=True)
class MeshProfile:
    """Whose proxy semantics and defaults apply, and which release's (see envoy-istio.md §13)."""

    name: MeshName = "none"
    version: str | None = None

    @property
    def has_sidecars(self) -> bool:
        return self.name != "none"


@dataclass(frozen=True)
class Model:
    """Everything the engine needs; no YAML, no CRD kinds, no pydantic."""

    name: str
    mesh: MeshProfile
    duration: float
    warmup: float
    seed: int
    topology: Topology
    workloads: tuple[Workload, ...]
    faults: tuple[Fault, ...] = ()
    expectations: tuple[Expectation, ...] = ()
    cancellation: Cancellation = "none"
    description: str = ""
    record_attempts: bool = True
    policy: TrafficPolicy | None = None  # translated mesh policy; None = no policy applied
    rollouts: tuple[Rollout, ...] = ()  # progressive-delivery controllers (Flagger, Argo)
    cost: CostModel | None = None  # data-plane cost model; None = proxies cost nothing
