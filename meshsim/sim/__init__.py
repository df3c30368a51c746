"""The engine: workload clients, sidecar proxies and pods on SimPy's event kernel."""

from meshsim.sim.engine import Simulation

__all__ = ["Simulation"]
