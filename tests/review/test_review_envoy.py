"""Envoy wiring (sim/envoy/proxy.py, cluster.py) checked against reference/envoy-istio.md: cases
found in review, now fixed."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from builders import deployment, model

from meshsim.metrics import Recording
from meshsim.model import Constant, Model
from meshsim.model.clusters import CircuitBreakers, ClusterPolicy, Subset
from meshsim.model.policy import TrafficPolicy
from meshsim.model.routes import Backend, FaultInjection, Mirror, Route
from meshsim.sim import Simulation

MS = 1e-3
BIG = 2**32 - 1
ISTIO_CB = CircuitBreakers(BIG, BIG, BIG, BIG)
SUBSETS = {
    ("reviews", "v1"): Subset("reviews", "v1", {"version": "v1"}),
    ("reviews", "v2"): Subset("reviews", "v2", {"version": "v2"}),
    ("reviews", "v3"): Subset("reviews", "v3", {"version": "v3"}),  # matches no pod
}


def run(m: Model) -> Recording:
    return Simulation(m).run()


def names(rec: Recording, codes: np.ndarray) -> np.ndarray:
    return np.asarray(rec.names, dtype=object)[codes]


def versions() -> list:
    return [
        deployment("reviews", version="v1", latency=Constant(2 * MS), concurrency=64),
        deployment("reviews", version="v2", latency=Constant(2 * MS), concurrency=64),
    ]


def with_policy(m: Model, **policy: object) -> Model:
    base = {"default_cluster": ClusterPolicy(circuit_breakers=ISTIO_CB), "subsets": SUBSETS}
    base.update(policy)
    return replace(m, policy=TrafficPolicy(**base))  # type: ignore[arg-type]


@pytest.mark.parametrize(("subset", "flag"), [("v9", "NC"), ("v3", "UH")])
def test_mirror_not_sent_when_primary_is_nc_or_uh(subset: str, flag: str) -> None:
    routes = (Route("r", backends=(Backend("reviews", subset),),
                    mirrors=(Mirror("reviews", "v2", 100.0),)),)
    rec = run(with_policy(model(versions(), rate=50, duration=2, mesh="istio"),
                          routes={"reviews": routes}))
    assert set(names(rec, rec.requests["flags"])) == {flag}
    assert int(rec.calls["mirror"].sum()) == 0


def test_mirror_not_sent_when_first_attempt_overflows() -> None:
    cb = CircuitBreakers(max_connections=1, max_pending_requests=1, max_requests=BIG,
                         max_retries=BIG)
    deps = [
        deployment("reviews", version="v1", latency=Constant(50 * MS), concurrency=100),
        deployment("reviews", version="v2", latency=Constant(1 * MS), concurrency=100),
    ]
    routes = (Route("r", backends=(Backend("reviews", "v1"),),
                    mirrors=(Mirror("reviews", "v2", 100.0),)),)
    m = with_policy(model(deps, rate=100, duration=2, mesh="istio", latency=1 * MS,
                          arrival="constant"),
                    routes={"reviews": routes},
                    clusters={("reviews", "v1"): ClusterPolicy(circuit_breakers=cb)})
    rec = run(m)
    flags = names(rec, rec.requests["flags"])
    uo = int(np.sum(flags == "UO"))
    assert uo > 0
    # ±3 for requests still in flight when the run ends
    assert abs(int(rec.calls["mirror"].sum()) - (len(flags) - uo)) <= 3


def test_http1_max_requests_does_not_overflow_streams_that_can_pend() -> None:
    deps = [deployment("api", latency=Constant(15 * MS), concurrency=100)]
    cb = CircuitBreakers(max_connections=1, max_pending_requests=BIG, max_requests=1,
                         max_retries=BIG)
    m = with_policy(model(deps, rate=100, duration=1, mesh="istio", latency=1 * MS,
                          arrival="constant"),
                    clusters={("api", None): ClusterPolicy(circuit_breakers=cb)},
                    default_retry=None)
    rec = run(m)
    flags = set(names(rec, rec.requests["flags"]))
    assert "UO" not in flags
    assert np.all(rec.requests["status"] == 200)


def test_no_cluster_after_fault_delay_keeps_di_flag() -> None:
    routes = (Route("r", backends=(Backend("reviews", "v9"),),
                    fault=FaultInjection(delay_percent=100, delay=0.01)),)
    rec = run(with_policy(model(versions(), rate=50, duration=1, mesh="istio"),
                          routes={"reviews": routes}))
    assert set(rec.requests["status"]) == {503}
    flags = {frozenset(str(f).split(",")) for f in names(rec, rec.requests["flags"])}
    assert flags == {frozenset({"DI", "NC"})}
