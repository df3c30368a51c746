"""Latency distributions fitted to observed self times, and how well each fits.

Candidates are the scenario format's own distributions (``config/distributions.py``):
``constant``, ``exponential`` (mean), ``lognormal`` (maximum likelihood on the logs, written as
median and p99) and ``gamma`` (mean and coefficient of variation, by moments). The best is the
one whose p50 and p99 are closest to the observed ones (worst relative error of the two);
``auto`` keeps it when that error is within :data:`AUTO_TOLERANCE`, else writes the observed
samples as an ``empirical(...)`` CSV.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

AUTO_TOLERANCE = 0.05
Z99 = 2.3263478740408408  # standard normal 0.99 quantile
_GAMMA_DRAWS = 200_000


@dataclass(frozen=True)
class Fit:
    """A distribution in scenario syntax and its p50/p99 against the observed ones."""

    text: str  # e.g. "lognormal(median=5ms, p99=40ms)"
    p50: float
    p99: float
    observed_p50: float
    observed_p99: float
    samples: int

    @property
    def error(self) -> float:
        """Worst relative error of p50 and p99 (0 when the observed value is 0 and so is it)."""
        return max(_relative(self.p50, self.observed_p50), _relative(self.p99, self.observed_p99))


def _relative(value: float, observed: float) -> float:
    if observed <= 0:
        return 0.0 if value <= 1e-9 else math.inf
    return abs(value - observed) / observed


def ms(seconds: float) -> str:
    """A duration as the scenario writes it: milliseconds, 4 significant digits."""
    return f"{float(f'{seconds * 1e3:.4g}'):g}ms"


def candidates(samples: np.ndarray) -> list[Fit]:
    observed50, observed99 = (float(q) for q in np.quantile(samples, [0.5, 0.99]))
    mean = float(samples.mean())
    n = len(samples)
    fits = [Fit(f"constant({ms(mean)})", mean, mean, observed50, observed99, n)]
    if mean <= 0:
        return fits
    fits.append(Fit(f"exponential({ms(mean)})", mean * math.log(2), mean * math.log(100),
                    observed50, observed99, n))
    positive = samples[samples > 0]
    if len(positive) >= 2 and float(np.std(np.log(positive))) > 0:
        mu, sigma = float(np.mean(np.log(positive))), float(np.std(np.log(positive)))
        median, p99 = math.exp(mu), math.exp(mu + Z99 * sigma)
        fits.append(Fit(f"lognormal(median={ms(median)}, p99={ms(p99)})", median, p99,
                        observed50, observed99, n))
    cv = float(samples.std()) / mean
    if cv > 0:
        shape = 1.0 / cv**2
        draws = np.random.default_rng(0).gamma(shape, mean / shape, _GAMMA_DRAWS)
        g50, g99 = (float(q) for q in np.quantile(draws, [0.5, 0.99]))
        fits.append(Fit(f"gamma(mean={ms(mean)}, cv={cv:.3g})", g50, g99, observed50,
                        observed99, n))
    return fits


def best(samples: np.ndarray) -> Fit:
    return min(candidates(samples), key=lambda fit: fit.error)
