"""Small rollout models for the engine tests (translator-free): one service, two versions."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
from builders import deployment, model

from meshsim.metrics import Recording
from meshsim.metrics.details import decode
from meshsim.model import Constant, Model
from meshsim.model.clusters import CircuitBreakers, ClusterPolicy, Subset
from meshsim.model.policy import TrafficPolicy
from meshsim.model.rollout import Measure, Rollout, TrafficTarget, Version
from meshsim.model.routes import Backend, Route
from meshsim.sim import Simulation

MS = 1e-3
BIG = 2**32 - 1
PRIMARY = Version("app", "primary")
CANARY = Version("app", "canary")
TARGET = TrafficTarget("app", PRIMARY, CANARY, routes=("app",))
SUBSETS = {
    ("app", "primary"): Subset("app", "primary", {"version": "primary"}),
    ("app", "canary"): Subset("app", "canary", {"version": "canary"}),
}


def success_rate(window: float = 10.0, scale: float = 100.0) -> Measure:
    """Flagger's ``request-success-rate`` on the canary, in percent."""
    return Measure("success_rate", CANARY, window=window, scale=scale)


def app_model(
    *rollouts: Rollout, rate: float, duration: float, canary_errors: float = 0.0,
    seed: int = 1, mirror_route: bool = False, canary_latency: float = 20 * MS,
) -> Model:
    """Users → app, whose route ``app`` splits primary 100 / canary 0 until a controller acts."""
    deps = [
        deployment("app", version="primary", latency=Constant(5 * MS), concurrency=64,
                   replicas=2),
        deployment("app", version="canary", latency=Constant(canary_latency), concurrency=64,
                   errors=canary_errors),
    ]
    m = model(deps, rate=rate, duration=duration, mesh="istio", seed=seed)
    route = Route("app", backends=(Backend("app", "primary", 100), Backend("app", "canary", 0)))
    policy = TrafficPolicy(
        routes={"app": (route,)}, subsets=SUBSETS,
        default_cluster=ClusterPolicy(circuit_breakers=CircuitBreakers(BIG, BIG, BIG, BIG)),
    )
    return replace(m, policy=policy, rollouts=rollouts)



def even_app_model(
    *rollouts: Rollout, duration: float, rate: float = 50.0, canary_errors: float = 0.0,
) -> Model:
    """``app_model`` with a canary as fast as the primary (5 ms), seed 3: checks see errors only."""
    return app_model(*rollouts, rate=rate, duration=duration, canary_errors=canary_errors,
                     seed=3, canary_latency=5 * MS)


def run(m: Model) -> Recording:
    return Simulation(m).run()


def events(rec: Recording, kind: str) -> list[tuple[float, dict[str, str]]]:
    """``(time, detail)`` of every event of ``kind``, in time order."""
    return [(e[0], decode(e[6])) for e in rec.events if e[1] == kind]


def names(rec: Recording, codes: np.ndarray) -> np.ndarray:
    return np.asarray(rec.names, dtype=object)[codes].astype(str)


def binomial_ok(count: int, n: int, p: float) -> bool:
    """Within four binomial standard errors (plus one for rounding)."""
    return abs(count - n * p) <= 4 * math.sqrt(n * p * (1 - p)) + 1
