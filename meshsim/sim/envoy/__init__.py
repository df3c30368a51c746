"""The Envoy wing: Istio's data plane, the actors and the algorithms they run.

The actors are the sidecar (:mod:`~meshsim.sim.envoy.proxy`), its clusters
(:mod:`~meshsim.sim.envoy.cluster`), the ingress gateway (:mod:`~meshsim.sim.envoy.gateway`),
inbound mTLS and RBAC (:mod:`~meshsim.sim.envoy.rbac`) and the config-time route filters
(:mod:`~meshsim.sim.envoy.routes`). This module re-exports only the algorithms (balancers,
hashing, host selection, breakers, outlier detection, retries), ported as pure state machines.

No algorithm module imports SimPy or the engine: time arrives as ``now`` (seconds), randomness as
injected zero-argument callables returning non-negative integers (Envoy's
``RandomGenerator::random()``), so tests can pin draws exactly as Envoy's own tests do.
Every module names the upstream file it follows; see reference/envoy-istio.md §1–§5.
"""

from meshsim.sim.envoy.balancers import Balancer, LeastRequest, Random, RoundRobin
from meshsim.sim.envoy.breakers import ResourceManager
from meshsim.sim.envoy.hashing import Maglev, RingHash, stable_hash64
from meshsim.sim.envoy.host_selection import (
    PriorityLoad,
    choose_host,
    choose_priority,
    make_balancer,
    priority_load,
)
from meshsim.sim.envoy.outlier import OutlierDetector
from meshsim.sim.envoy.retry import (
    Decision,
    JitteredExponentialBackOff,
    RetryState,
    RetryStatus,
    wants_retry,
)

__all__ = [
    "Balancer",
    "Decision",
    "JitteredExponentialBackOff",
    "LeastRequest",
    "Maglev",
    "OutlierDetector",
    "PriorityLoad",
    "Random",
    "ResourceManager",
    "RetryState",
    "RetryStatus",
    "RingHash",
    "RoundRobin",
    "choose_host",
    "choose_priority",
    "make_balancer",
    "priority_load",
    "stable_hash64",
    "wants_retry",
]
