"""Frozen, mesh-agnostic description of a scenario: what the engine simulates."""

from meshsim.model.clients import (
    AdaptiveRate,
    Backoff,
    ClientBreaker,
    ClientPolicy,
    ClosedLoop,
    Hedging,
    RetryQuota,
)
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
    "AdaptiveRate", "Backoff", "Call", "CallStep", "Cancellation", "ClientBreaker",
    "ClientPolicy", "ClosedLoop",
    "Constant", "Contention", "Deployment", "Distribution", "Empirical", "Expectation",
    "Exponential", "Fault", "FaultTarget", "Gamma", "Hedging", "LogNormal", "MeshName",
    "MeshProfile", "Model", "Parallel", "RateStep", "RequestTemplate", "RetryQuota", "Service",
    "Topology", "Workload",
]
