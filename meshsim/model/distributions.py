"""Service-time and latency distributions as frozen, mesh-agnostic specs.

The engine turns a spec into a sampler (:mod:`meshsim.sim.sampling`); the spec itself only
knows its parameters and its mean, which the closed-form checks need.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# z-score of the 99th percentile of the standard normal.
Z99 = 2.3263478740408408


@dataclass(frozen=True)
class Constant:
    """Deterministic time (M/D/c)."""

    value: float

    @property
    def mean(self) -> float:
        return self.value


@dataclass(frozen=True)
class Exponential:
    """Memoryless time with the given mean (M/M/c)."""

    mean: float


@dataclass(frozen=True)
class LogNormal:
    """Heavy-tailed time given by its median and 99th percentile, as latency SLOs are written."""

    median: float
    p99: float

    @property
    def mu(self) -> float:
        return math.log(self.median)

    @property
    def sigma(self) -> float:
        return math.log(self.p99 / self.median) / Z99

    @property
    def mean(self) -> float:
        return math.exp(self.mu + self.sigma**2 / 2.0)


@dataclass(frozen=True)
class Gamma:
    """Time with a given mean and coefficient of variation (cv < 1 is tighter than exponential)."""

    mean: float
    cv: float

    @property
    def shape(self) -> float:
        return 1.0 / (self.cv**2)

    @property
    def scale(self) -> float:
        return self.mean * self.cv**2


@dataclass(frozen=True)
class Empirical:
    """Resampling of measured latencies (seconds), e.g. from a CSV of production traces."""

    samples: tuple[float, ...]
    source: str = ""

    @property
    def mean(self) -> float:
        return sum(self.samples) / len(self.samples)


Distribution = Constant | Exponential | LogNormal | Gamma | Empirical
