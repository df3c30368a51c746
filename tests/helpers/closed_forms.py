"""Queueing closed forms (reference/queueing.md), computed for any parameters."""

from __future__ import annotations

import math


def erlang_c(c: int, a: float) -> float:
    """Probability that an arrival waits in M/M/c with offered load a = λ/μ."""
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


def mmc_mean_response(c: int, lam: float, mu: float) -> float:
    return erlang_c(c, lam / mu) / (c * mu - lam) + 1.0 / mu


def mm1_response_quantile(lam: float, mu: float, p: float) -> float:
    return -math.log(1.0 - p) / (mu - lam)


def erlang_b(c: int, a: float) -> float:
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


def mmck_blocking(c: int, k: int, lam: float, mu: float) -> float:
    """P(an arrival finds the system full) in M/M/c/K (K = slots + waiting room)."""
    a = lam / mu
    weights = []
    for n in range(k + 1):
        if n <= c:
            weights.append(a**n / math.factorial(n))
        else:
            weights.append(a**c / math.factorial(c) * (a / c) ** (n - c))
    return weights[-1] / sum(weights)


def md1_mean_response(lam: float, d: float) -> float:
    rho = lam * d
    return d + rho * d / (2.0 * (1.0 - rho))


def ps_mean_response(lam: float, mean_service: float) -> float:
    return mean_service / (1.0 - lam * mean_service)


def retry_attempts(q: float, retries: int) -> tuple[float, float]:
    """Mean and variance of attempts per request when each attempt independently fails in a
    retriable way with probability ``q`` and up to ``retries`` retries follow: the mean is
    (1 - q^(N+1)) / (1 - q), a geometric law cut at N + 1."""
    probs = [q ** (k - 1) * (1.0 - q) for k in range(1, retries + 1)] + [q**retries]
    mean = sum(k * p for k, p in enumerate(probs, start=1))
    var = sum((k - mean) ** 2 * p for k, p in enumerate(probs, start=1))
    return mean, var


def repairman(users: int, c: int, think: float, service: float) -> tuple[float, float]:
    """Machine repairman (M/M/c//N, finite source): throughput X and mean response time R of
    ``users`` who think Exp(``think``) and are served by ``c`` servers at Exp(``service``),
    from the birth-death chain of the number at the station; R = N/X - Z (response-time law)."""
    weights = [1.0]
    for k in range(users):
        weights.append(weights[-1] * (users - k) / think * service / min(k + 1, c))
    total = sum(weights)
    throughput = sum(w * min(k, c) / service for k, w in enumerate(weights)) / total
    return throughput, users / throughput - think


def mva(users: int, think: float, demands: list[float]) -> tuple[float, float]:
    """Exact Mean Value Analysis of a closed product-form network of single-server FCFS
    stations (``demands`` = service time per visit) with a delay (think) station ``think``."""
    queue = [0.0] * len(demands)
    throughput, response = 0.0, 0.0
    for n in range(1, users + 1):
        times = [d * (1.0 + q) for d, q in zip(demands, queue, strict=True)]
        response = sum(times)
        throughput = n / (response + think)
        queue = [throughput * t for t in times]
    return throughput, response
