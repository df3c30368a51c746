"""Engine behaviour: call graphs, errors, timeouts, cancellation, chaos, arrivals, balancing.

Deterministic set-ups (constant latencies) assert exact values; random ones assert shares
within four binomial standard errors.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from builders import deployment, model

from meshsim.metrics import Recording
from meshsim.model import (
    Call,
    Constant,
    Contention,
    Exponential,
    Fault,
    FaultTarget,
    Model,
    Parallel,
    RateStep,
    Workload,
)
from meshsim.sim import Simulation

MS = 1e-3


def run(m: Model) -> Recording:
    return Simulation(m).run()


def latency(rec: Recording) -> np.ndarray:
    return rec.requests["end"] - rec.requests["start"]


def within_binomial(count: int, n: int, p: float) -> bool:
    return abs(count - n * p) <= 4 * math.sqrt(n * p * (1 - p)) + 1


def code(rec: Recording, name: str) -> int:
    return rec.names.index(name)


def test_sequential_calls_add_and_parallel_calls_wait_for_the_slowest() -> None:
    net = 1 * MS
    deps = [
        deployment("front", latency=Constant(5 * MS), concurrency=100,
                   calls=(Call("a"), Parallel((Call("a"), Call("b"))))),
        deployment("a", latency=Constant(10 * MS), concurrency=100),
        deployment("b", latency=Constant(30 * MS), concurrency=100),
    ]
    rec = run(model(deps, rate=20, duration=20, latency=net, arrival="constant"))
    hop = lambda own: 2 * net + own  # noqa: E731
    expected = hop(5 * MS + hop(10 * MS) + hop(30 * MS))
    assert np.allclose(latency(rec), expected)
    assert np.all(rec.requests["status"] == 200)
    # Every finished request made three downstream calls (plus its own depth-0 call).
    mine = np.isin(rec.calls["request_id"], rec.requests["id"])
    assert mine.sum() == 4 * len(rec.requests["id"])


def test_proxy_overhead_applies_once_per_sidecar_on_the_request_path() -> None:
    deps = [deployment("front", latency=Constant(5 * MS), concurrency=100)]
    rec = run(model(deps, rate=10, duration=10, latency=1 * MS, overhead=0.3 * MS,
                    mesh="istio", arrival="constant"))
    # client sidecar + pod sidecar on the way in, network both ways.
    assert np.allclose(latency(rec), 5 * MS + 2 * 1 * MS + 2 * 0.3 * MS)


def test_required_call_failure_fails_the_handler_and_optional_does_not() -> None:
    deps = [
        deployment("front", latency=Constant(1 * MS), concurrency=100,
                   calls=(Call("flaky", optional=True), Call("broken"))),
        deployment("flaky", latency=Constant(1 * MS), concurrency=100, errors=1.0),
        deployment("broken", latency=Constant(1 * MS), concurrency=100, errors=1.0),
    ]
    rec = run(model(deps, rate=50, duration=4))
    assert np.all(rec.requests["status"] == 500)
    deps[2] = deployment("broken", latency=Constant(1 * MS), concurrency=100)
    rec = run(model(deps, rate=50, duration=4))
    assert np.all(rec.requests["status"] == 200)


def test_failed_required_call_stops_the_sequence() -> None:
    deps = [
        deployment("front", latency=Constant(1 * MS), concurrency=100,
                   calls=(Call("broken"), Call("never"))),
        deployment("broken", latency=Constant(1 * MS), concurrency=100, errors=1.0),
        deployment("never", latency=Constant(1 * MS), concurrency=100),
    ]
    rec = run(model(deps, rate=50, duration=4))
    assert np.all(rec.requests["status"] == 500)
    assert "never" not in rec.names or not np.any(rec.calls["service"] == code(rec, "never"))


def test_call_probability_and_error_share_are_binomial() -> None:
    deps = [
        deployment("front", latency=Constant(1 * MS), concurrency=100,
                   calls=(Call("maybe", probability=0.3, optional=True),)),
        deployment("maybe", latency=Constant(1 * MS), concurrency=100, errors=0.2),
    ]
    rec = run(model(deps, rate=200, duration=50, seed=3))
    n = len(rec.requests["id"])
    maybe = rec.calls["service"] == code(rec, "maybe")
    assert within_binomial(int(maybe.sum()), n, 0.3)
    assert within_binomial(int((rec.calls["status"][maybe] == 500).sum()), int(maybe.sum()), 0.2)


def test_worker_slot_is_held_while_downstream_calls_run() -> None:
    """front has one slot, own work 1 ms, and waits 9 ms on backend: at most 100 requests/s."""
    deps = [
        deployment("front", latency=Constant(1 * MS), concurrency=1, calls=(Call("backend"),)),
        deployment("backend", latency=Constant(9 * MS), concurrency=50),
    ]
    rec = run(model(deps, rate=150, duration=20, arrival="constant"))
    done = rec.requests["end"] <= 20
    assert len(rec.requests["id"][done]) == pytest.approx(100 * 20, rel=0.02)


def test_same_seed_same_recording_and_other_seed_differs() -> None:
    deps = [deployment("front", latency=Exponential(5 * MS), concurrency=2, errors=0.05,
                       calls=(Call("back"),)),
            deployment("back", latency=Exponential(3 * MS), replicas=3, concurrency=2)]
    a, b = run(model(deps, rate=200, duration=5, seed=9, mesh="istio", clients=3)), None
    b = run(model(deps, rate=200, duration=5, seed=9, mesh="istio", clients=3))
    c = run(model(deps, rate=200, duration=5, seed=10, mesh="istio", clients=3))
    for table in ("attempts", "calls", "requests"):
        for col, values in getattr(a, table).items():
            assert np.array_equal(values, getattr(b, table)[col]), (table, col)
    assert not np.array_equal(a.requests["end"], c.requests["end"])


def test_requests_are_conserved() -> None:
    deps = [deployment("front", latency=Exponential(50 * MS), concurrency=2)]
    rec = run(model(deps, rate=60, duration=30, seed=2))  # overloaded: many still open
    assert rec.in_flight_at_end > 0
    assert rec.issued == len(rec.requests["id"]) + rec.in_flight_at_end
    assert len(np.unique(rec.requests["id"])) == len(rec.requests["id"])


def test_app_timeout_gives_status_0_and_work_goes_on_without_cancellation() -> None:
    deps = [deployment("slow", latency=Constant(100 * MS), concurrency=100)]
    rec = run(model(deps, rate=20, duration=5, timeout=0.05, arrival="constant"))
    assert np.all(rec.requests["status"] == 0)
    assert np.allclose(latency(rec), 0.05)
    assert {rec.names[f] for f in rec.requests["flags"]} == {"DC"}


def _goodput(cancellation: str) -> float:
    deps = [deployment("api", latency=Constant(10 * MS), concurrency=1)]
    rec = run(model(deps, rate=150, duration=60, timeout=0.1, cancellation=cancellation))
    ok = (rec.requests["status"] == 200) & (rec.requests["start"] > 30)
    return float(ok.sum() / 30)


def test_dropping_abandoned_queued_work_keeps_an_overloaded_pod_useful() -> None:
    """Overloaded 1.5×: without cancellation the queue fills with requests nobody waits for
    and goodput collapses; dropping them when the caller gives up keeps a useful share."""
    assert _goodput("none") < 5
    assert _goodput("queued") > 25


def test_deadline_propagation_keeps_a_deep_overloaded_hop_useful() -> None:
    """front does not cancel its call to back when the user gives up (``queued``), so back's
    queue grows without bound; with deadlines back drops work its caller no longer wants."""
    deps = [
        deployment("front", latency=Constant(1 * MS), concurrency=100, calls=(Call("back"),)),
        deployment("back", latency=Constant(10 * MS), concurrency=1),
    ]
    goodput = {}
    for mode in ("queued", "deadline"):
        rec = run(model(deps, rate=150, duration=40, timeout=0.05, cancellation=mode))
        late = rec.requests["start"] > 20
        goodput[mode] = int((rec.requests["status"][late] == 200).sum())
    assert goodput["queued"] < 50
    assert goodput["deadline"] > 500


def test_latency_fault_multiplies_service_time_in_its_window() -> None:
    deps = [deployment("api", latency=Constant(2 * MS), concurrency=100)]
    fault = Fault(at=10, duration=5, target=FaultTarget("api"), latency_factor=10)
    rec = run(model(deps, rate=100, duration=20, faults=(fault,), arrival="constant"))
    start = rec.requests["start"]
    inside = (start >= 10.01) & (start < 14.99)
    assert np.allclose(latency(rec)[inside], 20 * MS)
    assert np.allclose(latency(rec)[start < 9.99], 2 * MS)
    assert [e[1] for e in rec.events] == ["fault-start", "fault-end"]


def test_down_pod_refuses_connections_and_loses_in_flight_work() -> None:
    deps = [deployment("api", latency=Constant(50 * MS), concurrency=100, replicas=2)]
    fault = Fault(at=10, duration=5, target=FaultTarget("api", pod="api-1"), down=True)
    rec = run(model(deps, rate=100, duration=20, faults=(fault,), mesh="istio"))
    att = rec.attempts
    pod1 = att["pod"] == code(rec, "api-1")
    flags = np.array([rec.names[f] for f in att["flags"]])
    refused = pod1 & (att["start"] > 10.001) & (att["start"] < 14.99)
    assert refused.sum() > 100 and np.all(flags[refused] == "UF")
    assert np.all(att["status"][refused] == 503)
    assert 0 < np.sum(flags == "UC") <= 10  # the requests it held at the crash
    healthy = ~pod1 | (att["start"] > 15.01)
    assert np.all(att["status"][healthy & (flags == "")] == 200)


def test_rate_schedule_and_constant_arrivals() -> None:
    deps = [deployment("api", latency=Constant(1 * MS), concurrency=100)]
    m = model(deps, rate=1, duration=30, arrival="constant")
    wl = Workload(name="users", target="api", arrival="constant",
                  schedule=(RateStep(0, 10), RateStep(10, 0), RateStep(20, 50)))
    from dataclasses import replace
    rec = run(replace(m, workloads=(wl,)))
    start = rec.requests["start"]
    assert np.sum(start < 10) == pytest.approx(100, abs=1)
    assert np.sum((start >= 10) & (start < 20)) == 0
    assert np.sum(start >= 20) == pytest.approx(500, abs=1)


def test_poisson_arrivals_spread_over_clients() -> None:
    deps = [deployment("api", latency=Constant(1 * MS), concurrency=100)]
    rec = run(model(deps, rate=500, duration=40, clients=4, seed=4))
    n = len(rec.requests["id"])
    assert within_binomial(n, 500 * 40, 0.5) or abs(n - 20000) < 4 * math.sqrt(20000)
    _, counts = np.unique(rec.requests["client"], return_counts=True)
    assert len(counts) == 4
    assert all(within_binomial(int(c), n, 0.25) for c in counts)


def test_meshed_proxies_round_robin_over_every_pod() -> None:
    deps = [deployment("api", latency=Constant(1 * MS), concurrency=100, replicas=3)]
    rec = run(model(deps, rate=300, duration=10, mesh="istio", clients=1))
    _, counts = np.unique(rec.attempts["pod"], return_counts=True)
    assert counts.max() - counts.min() <= 1


def test_inflight_contention_slows_a_busy_pod() -> None:
    base = deployment("api", latency=Exponential(10 * MS), concurrency=50)
    slow = deployment("api", latency=Exponential(10 * MS), concurrency=50,
                      contention=Contention("inflight", factor=0.2))
    light = latency(run(model([base], rate=200, duration=60, seed=1))).mean()
    heavy = latency(run(model([slow], rate=200, duration=60, seed=1))).mean()
    # ~2 requests in service on average → about 1.4× slower, not a rounding error.
    assert heavy > 1.25 * light
