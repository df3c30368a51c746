"""linkerd2-proxy outbound through the real engine (sim/linkerd/proxy.py), checked against
reference/linkerd.md: response timeouts, the balancer's pending counts, failure accrual."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from builders import deployment, model

from meshsim.model import Constant, Fault, FaultTarget, Model
from meshsim.model.linkerd import FailureAccrual, LinkerdBackend, PolicyRetrySpec
from meshsim.model.policy import TrafficPolicy
from meshsim.model.routes import Backend, Route
from meshsim.sim import Simulation

MS = 1e-3
LINKERD_BACKEND = LinkerdBackend()


def linkerd(m: Model, **policy: object) -> Model:
    base: dict[str, object] = {"default_backend": LINKERD_BACKEND}
    base.update(policy)
    return replace(m, policy=TrafficPolicy(**base))  # type: ignore[arg-type]


def test_response_timeout_is_not_a_retryable_error() -> None:
    deps = [deployment("api", latency=Constant(100 * MS), concurrency=64)]
    route = Route("r", backends=(Backend("api"),),
                  policy_retry=PolicyRetrySpec(((500, 599),), limit=1), response_timeout=0.05)
    rec = Simulation(linkerd(model(deps, rate=10, duration=1, mesh="linkerd",
                                   arrival="constant"), routes={"api": (route,)})).run()
    calls = rec.calls
    assert len(calls["status"]) > 0
    assert np.all(calls["status"] == 504)
    assert np.all(calls["attempts"] == 1)


def test_timed_out_attempt_releases_its_pending_count() -> None:
    deps = [deployment("api", latency=Constant(100 * MS), concurrency=64)]
    route = Route("r", backends=(Backend("api"),), response_timeout=0.02)
    sim = Simulation(linkerd(model(deps, rate=10, duration=2, mesh="linkerd",
                                   arrival="constant"), routes={"api": (route,)}))
    rec = sim.run()
    assert np.sum(rec.calls["status"] == 504) >= 10
    endpoint = sim.proxies["users-0"]._balancers["api"].endpoints[0]  # type: ignore[attr-defined]
    assert endpoint.ewma.pending <= 1


def test_queued_requests_go_out_once_the_probe_succeeds() -> None:
    deps = [deployment("api", latency=Constant(1 * MS), concurrency=64)]
    accrual = FailureAccrual(consecutive_failures=1, min_penalty=0.5, max_penalty=0.5, jitter=0.0)
    fault = Fault(at=0.0, duration=0.05, target=FaultTarget("api"), errors=1.0)
    m = linkerd(model(deps, rate=20, duration=1.0, mesh="linkerd", arrival="constant",
                      faults=(fault,)),
                backends={"api": replace(LINKERD_BACKEND, failure_accrual=accrual)})
    rec = Simulation(m).run()
    calls = rec.calls
    ok = calls["status"] == 200
    # Ejected at ~0 s until ~0.5 s (probe); everything queued meanwhile should be served by
    # ~0.51 s, well before the 3 s failfast.
    assert np.sum(ok) >= 15
    assert np.max(calls["end"][ok] - calls["start"][ok]) < 0.6

