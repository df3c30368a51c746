"""The engine against queueing closed forms (reference/queueing.md).

Each check pools several seeds (so it is not tuned to one seed's noise), drops each run's first
10 % as warm-up, and asserts both a relative band and that the band is wider than 4 standard
errors of the pooled estimate, so the tolerance is meaningful rather than lucky.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from builders import chain, model, one_pod
from closed_forms import (
    md1_mean_response,
    mm1_response_quantile,
    mmc_mean_response,
    mmck_blocking,
    ps_mean_response,
)

from meshsim.model import Constant, Contention, Exponential, Gamma, LogNormal, Model
from meshsim.sim import Simulation

SEEDS = (11, 12, 13, 14)


def latencies(m: Model) -> np.ndarray:
    rec = Simulation(m).run()
    req = rec.requests
    lat = (req["end"] - req["start"])[np.argsort(req["start"])]
    return lat[len(lat) // 10 :]


def pooled_mean(make: object, n_seeds: int = len(SEEDS)) -> tuple[float, float]:
    """Mean over seeds and its standard error from the spread between seeds."""
    means = [latencies(make(seed)).mean() for seed in SEEDS[:n_seeds]]  # type: ignore[operator]
    return float(np.mean(means)), float(np.std(means, ddof=1) / math.sqrt(len(means)))


def assert_close(estimate: float, se: float, theory: float, rel: float) -> None:
    error = abs(estimate - theory) / theory
    assert error <= rel, f"estimate {estimate:.5g} vs theory {theory:.5g}: {error:.2%} > {rel:.0%}"
    assert 4 * se / theory <= rel * 1.5, f"noise too large for the band: se={se:.3g}"


@pytest.mark.parametrize(
    ("c", "lam", "mean"),
    [
        (1, 21.0, 0.031),  # M/M/1, ρ = 0.651
        (3, 87.0, 0.023),  # M/M/3, ρ = 0.667
        (7, 260.0, 0.0215),  # M/M/7, ρ = 0.799
    ],
)
def test_mmc_mean_response_matches_erlang_c(c: int, lam: float, mean: float) -> None:
    per_seed = 50_000
    est, se = pooled_mean(lambda s: one_pod(c=c, lam=lam, mean=mean, customers=per_seed, seed=s))
    assert_close(est, se, mmc_mean_response(c, lam, 1.0 / mean), rel=0.03)


def test_mm1_p99_matches_exponential_sojourn() -> None:
    lam, mean = 13.0, 0.047  # ρ = 0.611
    pooled = np.concatenate(
        [latencies(one_pod(c=1, lam=lam, mean=mean, customers=50_000, seed=s)) for s in SEEDS]
    )
    for p in (0.5, 0.9, 0.99):
        theory = mm1_response_quantile(lam, 1.0 / mean, p)
        got = float(np.quantile(pooled, p))
        assert abs(got - theory) / theory < 0.05, (p, got, theory)


def test_md1_waits_half_as_long_as_mm1() -> None:
    lam, d = 6.3, 0.11  # ρ = 0.693
    est, se = pooled_mean(
        lambda s: one_pod(c=1, lam=lam, mean=d, latency=Constant(d), customers=40_000, seed=s)
    )
    assert_close(est, se, md1_mean_response(lam, d), rel=0.03)


@pytest.mark.parametrize(
    "latency",
    [LogNormal(median=0.012, p99=0.09), Gamma(mean=0.02, cv=0.4), Exponential(0.02)],
    ids=["lognormal", "gamma", "exponential"],
)
def test_processor_sharing_is_insensitive_to_the_service_distribution(latency: object) -> None:
    mean = latency.mean  # type: ignore[attr-defined]
    lam = 0.6 / mean
    est, se = pooled_mean(
        lambda s: one_pod(
            c=10_000, lam=lam, mean=mean, latency=latency, customers=40_000, seed=s,  # type: ignore[arg-type]
            contention=Contention("processor-sharing", cores=1),
        )
    )
    assert_close(est, se, ps_mean_response(lam, mean), rel=0.04)


@pytest.mark.parametrize(("c", "queue", "lam", "mean"), [(1, 9, 1.2, 1.0), (4, 6, 5.1, 1.0)])
def test_finite_queue_rejects_like_mmck(c: int, queue: int, lam: float, mean: float) -> None:
    rejected = []
    for seed in SEEDS:
        rec = Simulation(
            one_pod(c=c, lam=lam, mean=mean, customers=50_000, seed=seed, queue=queue)
        ).run()
        rejected.append(float(np.mean(rec.requests["status"] == 503)))
    theory = mmck_blocking(c, c + queue, lam, 1.0 / mean)
    got = float(np.mean(rejected))
    assert abs(got - theory) / theory < 0.10, (got, theory)


def test_littles_law_holds_at_every_hop() -> None:
    """Time-average number in each service's pods (the engine's integrated level) equals
    arrival rate × mean time there, computed independently from the attempt records."""
    deps = chain("front", "mid", "leaf", latency=Exponential(0.004))
    m = model(deps, rate=300.0, duration=300.0, seed=5)
    rec = Simulation(m).run()
    att = rec.attempts
    for service in ("front", "mid", "leaf"):
        mine = att["service"] == rec.names.index(service)
        lam = mine.sum() / rec.end_time
        w = float(np.mean(att["end"][mine] - att["start"][mine]))
        level = float(rec.levels[("in_flight", service, "")].mean())
        assert abs(level - lam * w) / (lam * w) < 0.02, (service, level, lam * w)
