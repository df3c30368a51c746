"""Envoy outlier detection through the real engine (sim/envoy/outlier.py wired by the proxy).

The algorithm itself is certified against Envoy's own tests in
tests/conformance/envoy/test_conformance_outlier.py; the translation from a DestinationRule in
tests/config/istio/test_istio_outlier.py.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from builders import deployment, model

from meshsim.metrics import Recording
from meshsim.model import Exponential, Fault, FaultTarget, Model
from meshsim.model.clusters import CircuitBreakers, ClusterPolicy, OutlierDetection, Subset
from meshsim.model.policy import TrafficPolicy
from meshsim.sim import Simulation

MS = 1e-3
BIG = 2**32 - 1
ISTIO_CB = CircuitBreakers(BIG, BIG, BIG, BIG)
SUBSETS = {
    ("reviews", "v1"): Subset("reviews", "v1", {"version": "v1"}),
    ("reviews", "v2"): Subset("reviews", "v2", {"version": "v2"}),
}


def run(m: Model) -> Recording:
    return Simulation(m).run()


def names(rec: Recording, codes: np.ndarray) -> np.ndarray:
    return np.asarray(rec.names, dtype=object)[codes]


def with_policy(m: Model, **policy: object) -> Model:
    base = {"default_cluster": ClusterPolicy(circuit_breakers=ISTIO_CB), "subsets": SUBSETS}
    base.update(policy)
    return replace(m, policy=TrafficPolicy(**base))  # type: ignore[arg-type]


def test_outlier_detection_ejects_the_bad_pod_and_returns_it_on_a_tick() -> None:
    deps = [deployment("api", latency=Exponential(5 * MS), concurrency=32, replicas=3)]
    fault = Fault(at=5, duration=100, target=FaultTarget("api", pod="api-2"), errors=1.0)
    od = OutlierDetection(max_ejection_percent=100, interval=10, base_ejection_time=30)
    m = with_policy(model(deps, rate=300, duration=100, mesh="istio", clients=2, faults=(fault,)),
                    clusters={("api", None): ClusterPolicy(outlier=od, panic_threshold=0,
                                                           circuit_breakers=ISTIO_CB)},
                    default_retry=None)
    rec = run(m)
    ejects = [e for e in rec.events if e[1] == "eject"]
    unejects = [e for e in rec.events if e[1] == "uneject"]
    assert {e[2] for e in ejects} >= {"users-0", "users-1"}
    first: dict[str, float] = {}
    for e in ejects:
        first.setdefault(e[2], e[0])
    for proxy, t in first.items():
        assert 5 < t < 6  # five consecutive 5xx arrive within a second
        back = [e[0] for e in unejects if e[2] == proxy]
        assert back and back[0] == pytest.approx(10 * math.ceil((t + 30) / 10))
    att = rec.attempts
    pod2 = names(rec, att["pod"]) == "api-2"
    caller = names(rec, att["caller"])
    for proxy, t in first.items():
        out = (caller == proxy) & (att["start"] > t + 0.01) & (att["start"] < 10 * math.ceil(
            (t + 30) / 10))
        assert not np.any(pod2 & out), proxy


def test_default_max_ejection_percent_never_ejects_among_three_hosts() -> None:
    deps = [deployment("api", latency=Exponential(5 * MS), concurrency=32, replicas=3)]
    fault = Fault(at=1, duration=50, target=FaultTarget("api", pod="api-2"), errors=1.0)
    m = with_policy(model(deps, rate=200, duration=30, mesh="istio", faults=(fault,)),
                    clusters={("api", None): ClusterPolicy(outlier=OutlierDetection(),
                                                           panic_threshold=0)})
    rec = run(m)
    assert not [e for e in rec.events if e[1] == "eject"]
