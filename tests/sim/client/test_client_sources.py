"""The app client and the k6 VU cap, run through the engine on one plain pod."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from builders import deployment, model

from meshsim.metrics.recorder import Recording
from meshsim.model import (
    Backoff,
    ClientBreaker,
    ClientPolicy,
    Constant,
    Exponential,
    Hedging,
    RetryQuota,
    Workload,
)
from meshsim.sim import Simulation

FAST = Backoff(base=0.001, cap=0.001, jitter="none")


def run(*, errors: float = 0.0, latency: float = 0.01, rate: float = 100.0,
        duration: float = 10.0, arrival: str = "constant", seed: int = 1,
        **workload: object) -> Recording:
    dep = deployment("api", latency=Constant(latency), concurrency=10_000, errors=errors)
    m = model([dep], rate=rate, duration=duration, arrival=arrival, seed=seed)
    load: Workload = dataclasses.replace(m.workloads[0], **workload)  # type: ignore[arg-type]
    return Simulation(dataclasses.replace(m, workloads=(load,))).run()


def per_user(rec: Recording) -> tuple[np.ndarray, np.ndarray]:
    """Tries per user request and whether each user request got an answer below 500."""
    req = rec.requests
    ids, tries = np.unique(req["id"], return_counts=True)
    ok = (req["status"] > 0) & (req["status"] < 500)
    good = np.isin(ids, req["id"][ok])
    return tries, good


def test_independent_failures_give_the_geometric_amplification() -> None:
    """Each try fails with p: tries per request 1 + p + p², success 1 − p³ (3 attempts)."""
    p = 0.3
    rec = run(errors=p, rate=400.0, duration=20.0,
              client=ClientPolicy(attempts=3, backoff=FAST))
    tries, good = per_user(rec)
    assert tries.mean() == pytest.approx(1 + p + p * p, rel=0.02)
    assert good.mean() == pytest.approx(1 - p**3, abs=0.006)
    assert tries.max() == 3


def test_the_retry_quota_stops_retries_after_its_500_tokens() -> None:
    """Everything fails: 100 retries of cost 5 empty the standard bucket, then none."""
    rec = run(errors=1.0, client=ClientPolicy(attempts=3, backoff=FAST, quota=RetryQuota()))
    tries, good = per_user(rec)
    assert len(tries) >= 990 and not good.any()
    assert tries.sum() == len(tries) + 100
    assert np.all(tries[60:] == 1)  # empty after the first 50-odd requests (they overlap)


def test_timeouts_per_try_and_overall_bound_the_tries() -> None:
    """1 s answers, 100 ms per try, 50·2^(n-1) ms back-off, 400 ms overall: tries at 0,
    150 and 350 ms; the next back-off (200 ms) would end past the overall deadline."""
    policy = ClientPolicy(attempts=10, per_try_timeout=0.1, timeout=0.4,
                          backoff=Backoff(base=0.05, cap=10.0, jitter="none"))
    rec = run(latency=1.0, rate=10.0, client=policy)
    tries, good = per_user(rec)
    tries, good = tries[:-10], good[:-10]  # the last second's requests are cut by the run end
    assert set(tries) == {3} and not good.any()
    first = rec.requests["id"] == rec.requests["id"][0]
    assert rec.requests["start"][first] == pytest.approx([0.1, 0.25, 0.45])
    assert rec.requests["end"][first][-1] == pytest.approx(0.5)


def test_a_hedge_goes_out_after_the_delay_and_the_loser_is_cancelled() -> None:
    rec = run(latency=0.1, rate=20.0, client=ClientPolicy(hedging=Hedging(0.03, 2)))
    tries, good = per_user(rec)
    assert set(tries) == {2} and good.all()
    req = rec.requests
    assert np.sum(req["status"] == 0) == len(tries)  # one cancelled try per request


def test_hedging_cuts_the_tail() -> None:
    """Exponential service: the first of two tries (the second 10 ms late) answers sooner."""
    dep = deployment("api", latency=Exponential(0.05), concurrency=10_000)
    m = model([dep], rate=50.0, duration=40.0, seed=1)
    load = dataclasses.replace(m.workloads[0], client=ClientPolicy(hedging=Hedging(0.01, 2)))
    hedged = Simulation(dataclasses.replace(m, workloads=(load,))).run()
    lone = Simulation(m).run()

    def p99(rec: Recording) -> float:
        ok = rec.requests["status"] == 200
        return float(np.quantile(rec.requests["end"][ok] - rec.requests["start"][ok], 0.99))

    # min(X, 10 ms + X') of two Exp(50 ms): its p99 is well under Exp(50 ms)'s 230 ms
    assert p99(hedged) < 0.75 * p99(lone)


def test_the_client_breaker_stops_tries_while_open() -> None:
    breaker = ClientBreaker(failure_rate=50.0, window=10, minimum_calls=10, open_wait=1.0,
                            half_open_calls=2)
    rec = run(errors=1.0, client=ClientPolicy(breaker=breaker))
    req = rec.requests
    refused = req["attempts"] == 0
    assert refused.sum() > 900
    sent = req["start"][~refused]
    # 10 tries to open it, then 2 half-open probes after each second of waiting
    assert len(sent) == 10 + 2 * 9
    assert np.all(req["status"][refused] == 0)


def test_constant_arrival_rate_drops_arrivals_without_a_free_vu() -> None:
    """100/s arrivals, 45 ms per request, 2 VUs: 2 of every 5 arrivals find a VU."""
    rec = run(latency=0.045, rate=100.0, max_vus=2)
    early = rec.requests["start"] < 9.0
    assert early.sum() == 360
    dropped = [e for e in rec.events if e[1] == "dropped-iteration" and e[0] < 9.0]
    assert len(dropped) == 540
