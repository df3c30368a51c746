"""What each proxy costs: CPU per request and per byte, memory, added latency, workers.

Off unless a scenario asks for it (``spec.proxy.cost``): a model without a :class:`CostModel`
runs exactly as before. The figures come from the projects' own benchmarks
(``reference/mesh-cost.md``), chosen per mesh release and mode by
:mod:`meshsim.config.cost_profiles`; a scenario can override any of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Role = Literal["sidecar", "ztunnel", "waypoint"]
Mode = Literal["sidecar", "ambient"]


@dataclass(frozen=True)
class ProxyCost:
    """One kind of proxy instance (a sidecar, a node's ztunnel, a waypoint)."""

    cpu_per_request: float  # CPU seconds per request through this proxy, mTLS included
    latency: float  # added one-way delay per traversal at low load (seconds), CPU included
    memory: float  # resident bytes per instance (tracks configuration, not load)
    workers: int  # worker threads: Envoy's concurrency, linkerd2-proxy's runtime workers
    cpu_limit: float | None = None  # cores; below ``workers`` each worker runs slower
    cpu_per_byte: float = 0.0  # CPU seconds per payload byte (bulk flows only matter)
    memory_per_connection: float = 0.0  # bytes per open upstream connection
    handshake: float = 0.0  # added delay of a new (m)TLS connection, seconds
    handshake_cpu: float = 0.0  # CPU seconds of one handshake

    @property
    def speed(self) -> float:
        """Fraction of a core each worker gets (a CPU limit below the worker count)."""
        if self.cpu_limit is None or self.cpu_limit >= self.workers:
            return 1.0
        return self.cpu_limit / self.workers


@dataclass(frozen=True)
class CostModel:
    """A run's data-plane cost model (``spec.proxy.cost`` compiled)."""

    profile: str  # e.g. ``istio-1.24``, ``linkerd-2.11``
    mode: Mode
    sidecar: ProxyCost | None  # sidecar mode
    ztunnel: ProxyCost | None = None  # ambient: one per node
    waypoint: ProxyCost | None = None  # ambient L7: one per destination service
    payload: float = 1024.0  # bytes per request and response (the benchmarks' 1 KB)
    keep_alive: bool = True  # False: every request opens (and pays for) a new connection
    nodes: int = 3  # ambient: nodes the pods are spread over (one ztunnel each)
    sources: tuple[str, ...] = field(default=())  # where the figures come from
