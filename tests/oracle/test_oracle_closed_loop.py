"""Closed-loop users against closed-network closed forms (reference/queueing.md's methods).

N users think Exp(Z) and send to one pod of c workers serving Exp(S): the machine-repairman
model (M/M/c//N). Its throughput and response time as N grows come from the birth-death chain
(and from exact MVA for c = 1); the response-time law R = N/X − Z must hold on what the run
measured. Same protocol as test_oracle_queueing: pooled seeds, warm-up dropped, a relative
band that must be wider than 4 standard errors.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from builders import one_pod
from closed_forms import mva, repairman

from meshsim.model import ClosedLoop, Exponential, Model
from meshsim.sim import Simulation

SEEDS = (11, 12, 13, 14)
SERVICE, THINK = 0.010, 0.030


def closed(c: int, users: int, seed: int, requests: float = 30_000) -> Model:
    x, _ = repairman(users, c, THINK, SERVICE)
    m = one_pod(c=c, lam=1.0, mean=SERVICE, customers=1, seed=seed)
    load = dataclasses.replace(m.workloads[0], schedule=(),
                               closed=ClosedLoop(users, Exponential(THINK)))
    return dataclasses.replace(m, workloads=(load,), duration=requests / x)


def measure(m: Model) -> tuple[float, float]:
    """Throughput and mean response time after the first 10 % of the run."""
    req = Simulation(m).run().requests
    warm = m.duration / 10
    kept = req["start"] >= warm
    done = (req["end"] >= warm) & (req["end"] <= m.duration)
    return float(done.sum() / (m.duration - warm)), float(np.mean(
        req["end"][kept] - req["start"][kept]))


def pooled(c: int, users: int) -> tuple[tuple[float, float], tuple[float, float]]:
    runs = np.array([measure(closed(c, users, seed)) for seed in SEEDS])
    mean = runs.mean(axis=0)
    se = runs.std(axis=0, ddof=1) / math.sqrt(len(SEEDS))
    return (float(mean[0]), float(se[0])), (float(mean[1]), float(se[1]))


def assert_close(estimate: float, se: float, theory: float, rel: float) -> None:
    error = abs(estimate - theory) / theory
    assert error <= rel, f"estimate {estimate:.5g} vs theory {theory:.5g}: {error:.2%} > {rel:.0%}"
    assert 4 * se / theory <= rel * 1.5, f"noise too large for the band: se={se:.3g}"


@pytest.mark.parametrize(("c", "users"), [(2, 1), (2, 4), (2, 8), (4, 16)])
def test_throughput_and_response_time_match_the_repairman_model(c: int, users: int) -> None:
    (x, x_se), (r, r_se) = pooled(c, users)
    x_theory, r_theory = repairman(users, c, THINK, SERVICE)
    assert_close(x, x_se, x_theory, rel=0.03)
    assert_close(r, r_se, r_theory, rel=0.04)


def test_response_time_law_holds_on_the_measured_run() -> None:
    """R = N/X − Z with X and R both measured (Z is the think time's mean)."""
    for users in (3, 12):
        x, r = measure(closed(2, users, seed=5))
        assert abs(r - (users / x - THINK)) / r < 0.03, (users, x, r)


def test_single_server_matches_mean_value_analysis() -> None:
    (x, x_se), (r, r_se) = pooled(1, 5)
    x_theory, r_theory = mva(5, THINK, [SERVICE])
    assert (x_theory, r_theory) == pytest.approx(repairman(5, 1, THINK, SERVICE))
    assert_close(x, x_se, x_theory, rel=0.03)
    assert_close(r, r_se, r_theory, rel=0.04)


def test_throughput_saturates_at_c_over_s_and_latency_grows_linearly() -> None:
    """Past the knee N* = c (S + Z) / S the station is the bottleneck: X → c/S, and each
    extra user adds S/c to the response time (the asymptotic bounds of closed networks)."""
    x, r = measure(closed(2, 40, seed=3, requests=20_000))
    assert x == pytest.approx(2 / SERVICE, rel=0.02)
    assert r == pytest.approx(40 * SERVICE / 2 - THINK, rel=0.04)


def test_a_fixed_request_count_is_sent_exactly() -> None:
    """fortio -n 31 -c 3: 31 requests in all (11, 10, 10), then the users stop."""
    m = closed(1, 3, seed=1)
    load = dataclasses.replace(m.workloads[0], closed=ClosedLoop(3, Exponential(THINK),
                                                                   requests=31))
    rec = Simulation(dataclasses.replace(m, workloads=(load,), duration=60.0)).run()
    assert len(rec.requests["id"]) == 31
    assert rec.requests["end"].max() < 2.0  # well before the run's end: they stopped


def test_pacing_splits_the_total_qps_over_connections() -> None:
    """fortio -qps 40 -c 4 against a fast server: 10/s per connection, 40/s in all; with
    -t the connections stop starting requests at that time."""
    m = closed(4, 4, seed=2)
    load = dataclasses.replace(m.workloads[0], closed=ClosedLoop(4, qps=40.0, duration=50.0))
    rec = Simulation(dataclasses.replace(m, workloads=(load,), duration=60.0)).run()
    starts = rec.requests["start"]
    assert len(starts) == 4 * 500  # 10/s for 50 s on each connection, the first at 0 s
    assert starts.max() < 50.0
