"""Frozen, mesh-agnostic description of a scenario: what the engine simulates."""

from meshsim.model.distributions import (
    Constant,
    Distribution,
    Empirical,
    Exponential,
    Gamma,
    LogNormal,
)
from meshsim.model.faults import Fault, FaultTarget
from meshsim.model.scenario import Cancellation, MeshName, MeshProfile, Model
from meshsim.model.slo import Expectation
from meshsim.model.topology import (
    Call,
    CallStep,
    Contention,
    Deployment,
    Parallel,
    Service,
    Topology,
)
from meshsim.model.workload import RateStep, RequestTemplate, Workload

__all__ = [
    "Call", "CallStep", "Cancellation", "Constant", "Contention", "Deployment", "Distribution",
    "Empirical", "Expectation", "Exponential", "Fault", "FaultTarget", "Gamma", "LogNormal",
    "MeshName", "MeshProfile", "Model", "Parallel", "RateStep", "RequestTemplate", "Service",
    "Topology", "Workload",
]
