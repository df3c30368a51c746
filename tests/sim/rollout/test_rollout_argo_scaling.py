"""Argo's canary without a traffic router in the engine: replica counts carry the weight."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from builders import deployment, model
from rollout_helpers import BIG, binomial_ok, events, names, run

from meshsim.metrics import Recording
from meshsim.model import Constant, Model
from meshsim.model.clusters import CircuitBreakers, ClusterPolicy
from meshsim.model.policy import TrafficPolicy
from meshsim.model.rollout import (
    ArgoAnalysis,
    ArgoMetric,
    ArgoRollout,
    ArgoStep,
    Compare,
    Measure,
    ReplicaScaling,
    TrafficTarget,
    Version,
)
from meshsim.sim.rollout.scaling import Status, approximate, basic_canary_counts

T0 = 5.0
N = 10
TARGET = TrafficTarget("app", Version("app", "stable"), Version("app", "canary"), ())
DEFAULTS = ReplicaScaling(N, max_surge=3, max_unavailable=2)  # 25 % of 10: ceil 3, floor 2


# -- Argo's arithmetic (utils/replicaset/canary.go) ----------------------------------------------
@pytest.mark.parametrize(("replicas", "weight", "surge", "expected"), [
    (10, 15, 3, (2, 9)),   # the docs' example: rounding both up, one pod of surge
    (10, 12, 3, (1, 9)),   # 1/10 is closer to 12 % than 2/10 or 2/11: not simply ceil
    (10, 50, 3, (5, 5)),
    (3, 50, 1, (2, 2)),    # 1/3 and 2/3 tie; surging to 4 pods gives exactly 50 %
    (1, 5, 1, (1, 1)),     # a weight of 1-99 never leaves a side empty when it can surge
    (1, 5, 0, (0, 1)),
    (4, 0, 1, (0, 4)),
    (4, 100, 1, (4, 0)),
])
def test_approximate_is_argos_closest_split(replicas: int, weight: int, surge: int,
                                            expected: tuple[int, int]) -> None:
    assert approximate(replicas, weight, surge) == expected


@pytest.mark.parametrize(("replicas", "weight", "surge", "unavailable", "expected"), [
    # The examples of CalculateReplicaCountsForBasicCanary's doc comment, from 0 canary pods.
    (10, 10, 1, 1, (1, 9)),
    (10, 30, 3, 0, (3, 10)),
    (10, 30, 0, 5, (0, 7)),
    # (the comment says 1 + 9, from before v1.2's closest-split rounding: 1 of 11 pods is
    # closer to 5 % than 1 of 10, so the stable ReplicaSet keeps its 10)
    (10, 5, 1, 1, (1, 10)),
    (1, 5, 1, 0, (1, 1)),
    (1, 95, 1, 0, (1, 1)),
    (10, 15, 3, 2, (2, 9)),  # reference/progressive-delivery.md, with the 25 % defaults
])
def test_first_scaling_matches_argos_examples(replicas: int, weight: int, surge: int,
                                              unavailable: int,
                                              expected: tuple[int, int]) -> None:
    counts = basic_canary_counts(replicas, weight, surge, unavailable, Status(0, 0),
                                 Status(replicas, replicas))
    assert counts == expected


def test_abort_counts_drop_the_canary_and_restore_the_stable() -> None:
    assert basic_canary_counts(10, 0, 3, 2, Status(2, 2), Status(9, 9)) == (0, 10)


# -- the engine ---------------------------------------------------------------------------------
def basic_model(*steps: ArgoStep, scaling: ReplicaScaling = DEFAULTS, mesh: str = "istio",
                latency: float = 0.005, canary_errors: float = 0.0, rate: float = 200.0,
                duration: float = 40.0, seed: int = 1, **kw: object) -> Model:
    deps = [
        deployment("app", version="stable", latency=Constant(latency), concurrency=64,
                   replicas=N),
        deployment("app", version="canary", latency=Constant(latency), concurrency=64,
                   replicas=N, errors=canary_errors),
    ]
    m = model(deps, rate=rate, duration=duration, mesh=mesh, clients=4, seed=seed)
    spec = ArgoRollout("app", TARGET, steps, start=T0, scaling=scaling, **kw)  # type: ignore[arg-type]
    policy = TrafficPolicy(
        default_cluster=ClusterPolicy(circuit_breakers=CircuitBreakers(BIG, BIG, BIG, BIG)))
    return replace(m, policy=policy, rollouts=(spec,))


def scales(rec: Recording) -> list[tuple[float, int, int, int, int]]:
    return [(t, int(d["stable"]), int(d["canary"]), int(d["stable_ready"]),
             int(d["canary_ready"])) for t, d in events(rec, "canary-scale")]


def canary_share(rec: Recording, lo: float, hi: float) -> tuple[int, int]:
    att = rec.attempts
    sel = (att["start"] >= lo) & (att["start"] < hi)
    pods = names(rec, att["pod"][sel])
    return int(np.char.startswith(pods, "app-canary").sum()), int(sel.sum())


def test_setweight_waits_for_available_pods_and_traffic_follows_them() -> None:
    slow = replace(DEFAULTS, ready_after=2.0, min_ready=1.0)
    rec = run(basic_model(ArgoStep("setWeight", weight=15), ArgoStep("pause", duration=20),
                          ArgoStep("setWeight", weight=50), ArgoStep("pause", duration=10),
                          scaling=slow, duration=30))
    history = scales(rec)
    assert history[0] == (T0, 9, 2, 9, 0)  # 2 canary pods created, one stable pod deleted
    assert history[1][0] == history[2][0] == T0 + 2  # Ready after the probe's initial delay
    assert history[2][1:] == (9, 2, 9, 2)
    # The step completes when the canary pods are Available (minReadySeconds later).
    (paused, detail), *_ = events(rec, "canary-paused")
    assert (paused, detail["until"]) == (T0 + 3, str(int(T0 + 23)))
    canary, total = canary_share(rec, T0 + 3, T0 + 23)  # 2 of 11 endpoints
    assert total > 3000
    assert binomial_ok(canary, total, 2 / 11), (canary, total)
    canary, total = canary_share(rec, 0, T0 + 2)
    assert canary == 0 < total


def test_promotion_ends_with_every_pod_of_the_new_revision() -> None:
    rec = run(basic_model(ArgoStep("setWeight", weight=50), ArgoStep("pause", duration=5)))
    (when, _), = events(rec, "canary-promoted")
    assert scales(rec)[-1] == (when, 0, N, 0, N)
    weights = [float(d["weight"]) for _, d in events(rec, "canary-weight")]
    assert weights == [50, 100]
    canary, total = canary_share(rec, when + 0.1, 40)
    assert canary == total > 0


def test_abort_scales_the_canary_to_zero_and_the_stable_back() -> None:
    rate = Measure("success_rate", Version("app", "canary"), window=5.0)
    metric = ArgoMetric("sr", rate, success=Compare(">=", 0.95), interval=5.0,
                        initial_delay=4.0)
    rec = run(basic_model(ArgoStep("setWeight", weight=30), ArgoStep("pause", duration=60),
                          canary_errors=0.5, background=ArgoAnalysis("bg", (metric,))))
    (when, detail), = events(rec, "canary-rolled-back")
    assert detail["weight"] == "30"
    assert scales(rec)[-1] == (when, N, 0, N, 0)
    att = rec.attempts
    late = att["start"] > when
    assert not np.char.startswith(names(rec, att["pod"][late]), "app-canary").any()


def test_requests_on_a_removed_pod_finish_there() -> None:
    """Slow requests (2 s) in flight on the stable pod deleted at T0 still answer 200."""
    rec = run(basic_model(ArgoStep("setWeight", weight=10), latency=2.0, rate=20,
                          duration=12))
    att = rec.attempts
    pods = names(rec, att["pod"])
    removed = pods == f"app-stable-{N - 1}"
    assert scales(rec)[0][:3] == (T0, N - 1, 1)
    draining = removed & (att["start"] < T0) & (att["end"] > T0)
    assert draining.sum() >= 3
    assert set(att["status"][draining]) == {200}
    assert not (removed & (att["start"] > T0)).any()


def test_linkerd_balancers_add_and_remove_endpoints() -> None:
    rec = run(basic_model(ArgoStep("setWeight", weight=50), ArgoStep("pause", duration=10),
                          mesh="linkerd", duration=40))
    (when, _), = events(rec, "canary-promoted")
    att = rec.attempts
    pods = names(rec, att["pod"])
    canary = np.char.startswith(pods, "app-canary")
    assert canary.any() and not (canary & (att["start"] < T0)).any()
    assert not (~canary & (att["start"] > when + 0.1)).any()  # every stable pod is gone


def test_same_seed_same_frames() -> None:
    m = basic_model(ArgoStep("setWeight", weight=20), ArgoStep("pause", duration=3),
                    duration=15, scaling=replace(DEFAULTS, ready_after=1.0))
    a, b = run(m), run(m)
    assert a.events == b.events
    for column in ("start", "end", "pod", "status"):
        assert np.array_equal(a.attempts[column], b.attempts[column])
