"""The Linkerd wing: linkerd2-proxy, the actors and the algorithms they run.

The actors are the outbound proxy (:mod:`~meshsim.sim.linkerd.proxy`) with a balancer per
backend (:mod:`~meshsim.sim.linkerd.pool`), and inbound authorization
(:mod:`~meshsim.sim.linkerd.inbound`, over the model's authorizations). This module re-exports
only the algorithms, ported as pure state machines; the engine runs each of them.

No algorithm module imports SimPy or the engine: time arrives as ``now`` (seconds), randomness
as injected zero-argument callables returning a uniform float in [0, 1), so tests can pin
draws. Each module names the upstream file it follows; see reference/linkerd.md.
"""

from meshsim.sim.linkerd.accrual import ConsecutiveFailures, is_failure
from meshsim.sim.linkerd.backoff import BackoffStream, ExponentialBackoff
from meshsim.sim.linkerd.budget import TpsBudget, budget_from_profile
from meshsim.sim.linkerd.distribute import pick_backend
from meshsim.sim.linkerd.errors import ERROR_STATUS, http_status
from meshsim.sim.linkerd.ewma import P2C, PeakEwma
from meshsim.sim.linkerd.queue import BalancerQueue
from meshsim.sim.linkerd.retry import (
    Decision,
    PolicyRetry,
    PolicyRetryConfig,
    ProfileRetry,
    classify,
    retryable,
)

__all__ = [
    "ERROR_STATUS",
    "P2C",
    "BackoffStream",
    "BalancerQueue",
    "ConsecutiveFailures",
    "Decision",
    "ExponentialBackoff",
    "PeakEwma",
    "PolicyRetry",
    "PolicyRetryConfig",
    "ProfileRetry",
    "TpsBudget",
    "budget_from_profile",
    "classify",
    "http_status",
    "is_failure",
    "pick_backend",
    "retryable",
]
