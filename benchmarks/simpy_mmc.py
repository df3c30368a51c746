"""The idiomatic SimPy M/M/c queue: the yardstick meshsim's engine speed is measured against.

One generator process per customer plus a ``simpy.Resource`` with ``c`` slots, fed by a source
process with Poisson arrivals, exactly as the SimPy documentation writes queueing models. Random
draws come from a seeded ``numpy.random.Generator`` in blocks, as meshsim draws them, so the
comparison measures the event kernel and not numpy's per-call overhead.
"""

from __future__ import annotations

import math
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass

import numpy as np
import simpy


@dataclass(frozen=True)
class MMcResult:
    customers: int
    wall: float  # seconds
    mean_response: float  # seconds of simulated time, arrival to departure

    @property
    def per_second(self) -> float:
        return self.customers / self.wall


def _draws(rng: np.random.Generator, mean: float, block: int = 4096) -> Iterator[float]:
    while True:
        yield from rng.exponential(mean, block).tolist()


def run_mmc(
    customers: int,
    *,
    servers: int = 4,
    arrival_rate: float = 3600.0,
    service_mean: float = 1e-3,
    seed: int = 1,
) -> MMcResult:
    """Simulate ``customers`` arrivals to an M/M/c queue; time the whole run."""
    rng = np.random.Generator(np.random.PCG64(seed))
    gaps = _draws(rng, 1.0 / arrival_rate)
    work = _draws(rng, service_mean)
    env = simpy.Environment()
    server = simpy.Resource(env, capacity=servers)
    total = 0.0
    done = 0

    def customer(service_time: float) -> Generator[simpy.Event, object, None]:
        nonlocal total, done
        arrived = env.now
        with server.request() as slot:
            yield slot
            yield env.timeout(service_time)
        total += env.now - arrived
        done += 1

    def source() -> Generator[simpy.Event, object, None]:
        for _ in range(customers):
            yield env.timeout(next(gaps))
            env.process(customer(next(work)))

    env.process(source())
    started = time.perf_counter()
    env.run()
    wall = time.perf_counter() - started
    return MMcResult(customers=done, wall=wall, mean_response=total / max(done, 1))


def erlang_c_response(servers: int, arrival_rate: float, service_mean: float) -> float:
    """Closed-form mean response time of M/M/c (Erlang C), to check both models against."""
    mu = 1.0 / service_mean
    a = arrival_rate / mu  # offered load in Erlangs
    rho = a / servers
    head = sum(a**k / math.factorial(k) for k in range(servers))
    tail = a**servers / (math.factorial(servers) * (1.0 - rho))
    wait_probability = tail / (head + tail)
    return wait_probability / (servers * mu - arrival_rate) + service_mean


if __name__ == "__main__":
    result = run_mmc(50_000)
    print(
        f"idiomatic SimPy M/M/4: {result.per_second:,.0f} customers/s, "
        f"mean response {result.mean_response * 1e3:.3f}ms "
        f"(Erlang C {erlang_c_response(4, 3600.0, 1e-3) * 1e3:.3f}ms)"
    )
