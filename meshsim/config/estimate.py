"""How big a run is before it starts: events, memory and wall time, from the model alone.

Each field of a scenario has its own limit (:mod:`.limits`), but sizes multiply: 100k
requests per second is fine for ten seconds and hours of work for a day. The estimate is
rates × duration × hops per request (fan-out and call probabilities included; retries are
left out, so a retry storm may cost a few times more), plus the per-proxy state of pods and
clients and the periodic timers of outlier detectors. ``simulate`` refuses a run above
:data:`limits.EVENTS_REFUSE` events or :data:`limits.MEMORY_REFUSE` bytes unless told
``allow_large``, and warns above the lower thresholds. The coefficients were measured on the
bundled scenarios (retry-storm: 5.0 kernel events and about 800 bytes of peak memory per hop
attempt; single-queue without sidecars: 2.0 events per hop).

Rows cost memory only where they stay in memory: a run that streams them to a run directory,
or records at ``summary``, holds a fixed set of buffers instead (issue 13: ten million
three-hop requests streamed at ``all`` peaked at 282 MB), plus its per-second series.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from meshsim.config import limits
from meshsim.errors import Location, ScenarioError
from meshsim.model import Model
from meshsim.model.topology import Call, CallStep, Parallel, Service
from meshsim.model.workload import Workload

EVENTS_PER_HOP = 5.0  # kernel events per hop attempt through sidecars
EVENTS_PER_REQUEST = 2.0  # arrival and end-to-end completion
BYTES_PER_HOP = 800.0  # recorded row, columnar frames and pandas copies at the peak
BYTES_PER_PROXY = 10_000.0  # a pod or client sidecar: streams, balancers, counters
BYTES_PER_PEER = 300.0  # per (client proxy, upstream endpoint): balancer and detector state
BASE_BYTES = 250 * 2**20  # the interpreter, numpy, pandas, matplotlib
STREAM_BYTES = 40 * 2**20  # streamed rows: the recorder's blocks, one Parquet row group per table
SERIES_BYTES = 64.0  # per proxy per simulated second: its time-weighted levels and counters
EVENTS_PER_SECOND = 80_000.0  # a loaded mesh on the 2-core development machine


class LargeRunWarning(UserWarning):
    """The run is large enough to take many minutes or a good part of the machine's memory."""


@dataclass(frozen=True)
class RunSize:
    """The estimated cost of one run."""

    requests: float  # end-to-end workload requests
    hops: float  # hop attempts, before retries
    timer_events: float  # periodic timers (outlier detection intervals)
    proxies: int  # pods and workload clients
    peers: float  # (client proxy, upstream endpoint) pairs
    events: float
    memory: float  # bytes at the peak

    @property
    def wall_seconds(self) -> float:
        return self.events / EVENTS_PER_SECOND

    def describe(self) -> str:
        """``about 1.2e+09 events (~4.2 h) and 9.8 GiB: 3.6e+08 requests × 3.0 hops ...``."""
        per = self.hops / self.requests if self.requests else 0.0
        parts = [f"{self.requests:.3g} requests × {per:.3g} hops"]
        if self.timer_events >= 0.1 * self.events:
            parts.append(f"{self.timer_events:.3g} timer ticks")
        parts.append(f"{self.proxies:,} sidecars")
        return (
            f"about {self.events:.3g} events (~{_wall(self.wall_seconds)} at "
            f"{EVENTS_PER_SECOND:,.0f}/s) and {_gib(self.memory)} of memory "
            f"({', '.join(parts)})"
        )


def estimate(model: Model, *, rows_in_memory: bool = True) -> RunSize:
    """The size of ``model``'s run, without building any of it. ``rows_in_memory`` is False
    for a run whose rows stream to a run directory or are not kept (``summary``)."""
    services = model.topology.services
    hops_of = _hops_per_request(services)
    deepest = max(hops_of.values(), default=1.0)
    requests = hops = 0.0
    for workload in model.workloads:
        count = _requests(workload, model.duration)
        requests += count
        hops += count * hops_of.get(workload.target, 1.0 + deepest)  # a gateway host: one more
    pods = sum(d.replicas for s in services.values() for d in s.deployments)
    clients = sum(w.clients for w in model.workloads)
    proxies = pods + clients
    peers = _peers(model, services)
    timers = _timer_events(model, proxies)
    events = hops * EVENTS_PER_HOP + requests * EVENTS_PER_REQUEST + timers
    rows = hops * BYTES_PER_HOP
    if not rows_in_memory:  # blocks leave as they fill: never more than the buffers
        rows = min(rows, STREAM_BYTES)
    series = proxies * model.duration * SERIES_BYTES
    memory = BASE_BYTES + rows + series + proxies * BYTES_PER_PROXY + peers * BYTES_PER_PEER
    return RunSize(requests, hops, timers, proxies, peers, events, memory)


def check_run_size(
    model: Model, *, allow_large: bool = False, file: str = "<model>",
    rows_in_memory: bool = True,
) -> str | None:
    """Refuse (ScenarioError) a run over the refusal thresholds unless ``allow_large``; return
    a warning for one over the warning thresholds (None when small or allowed)."""
    if allow_large:
        return None
    size = estimate(model, rows_in_memory=rows_in_memory)
    if size.events > limits.EVENTS_REFUSE or size.memory > limits.MEMORY_REFUSE:
        raise ScenarioError(
            f"this run is too large: {size.describe()}; meshsim refuses more than "
            f"{limits.EVENTS_REFUSE:.3g} events or {_gib(limits.MEMORY_REFUSE)} without "
            "`meshsim run --allow-large` or simulate(..., allow_large=True) (sweeps, "
            "checks, canary and what-if runs never go past it); shorten it (--duration) or "
            "lower the rate, replicas or clients",
            Location(file=file, path="spec"),
        )
    if size.events > limits.EVENTS_WARN or size.memory > limits.MEMORY_WARN:
        return f"a large run: {size.describe()}"
    return None


def warn_run_size(
    model: Model, *, allow_large: bool = False, file: str = "<model>",
    rows_in_memory: bool = True,
) -> None:
    """:func:`check_run_size` for the Python API: a warning is a :class:`LargeRunWarning`."""
    note = check_run_size(model, allow_large=allow_large, file=file,
                          rows_in_memory=rows_in_memory)
    if note is not None:
        warnings.warn(note, LargeRunWarning, stacklevel=3)


def _requests(workload: Workload, duration: float) -> float:
    """∫ rate dt over the run: the schedule is a step function from each step's ``at`` (a
    ramp step climbs linearly from the previous one). Closed-loop users: their total
    (``requests``) or one request per user per think time (1 ms at least) as a bound."""
    loop = workload.closed
    if loop is not None:
        per_user = max(loop.think.mean, 1e-3)
        bound = loop.users * (loop.duration or duration) / per_user
        return min(bound, loop.requests) if loop.requests else bound
    total = 0.0
    steps = sorted(workload.schedule, key=lambda step: step.at)
    for index, step in enumerate(steps):
        end = steps[index + 1].at if index + 1 < len(steps) else duration
        following = steps[index + 1] if index + 1 < len(steps) else None
        span = max(0.0, min(end, duration) - step.at)
        if following is not None and following.ramp and end > step.at:
            reached = step.rate + (following.rate - step.rate) * span / (end - step.at)
            total += (step.rate + reached) / 2 * span
        else:
            total += step.rate * span
    if steps and steps[0].ramp:
        total += steps[0].rate / 2 * min(steps[0].at, duration)
    return total


def _hops_per_request(services: Mapping[str, Service]) -> dict[str, float]:
    """Expected hop attempts a request to each service makes, its own hop included."""
    memo: dict[str, float] = {}

    def of(name: str) -> float:
        if name not in memo:
            service = services.get(name)
            if service is None:
                return 1.0
            memo[name] = 1.0  # the call graph is acyclic (compile checks); this guards anyway
            pods = sum(d.replicas for d in service.deployments) or 1
            memo[name] = 1.0 + sum(
                d.replicas / pods * _steps(d.calls, of) for d in service.deployments
            )
        return memo[name]

    return {name: of(name) for name in services}


def _steps(steps: Iterable[CallStep], of: object) -> float:
    total = 0.0
    for step in steps:
        if isinstance(step, Parallel):
            total += _steps(step.calls, of)
        elif isinstance(step, Call):
            total += step.probability * of(step.service)  # type: ignore[operator]
    return total


def _peers(model: Model, services: Mapping[str, Service]) -> float:
    """(client proxy, upstream pod) pairs: what per-endpoint balancer state costs."""
    pods = {name: sum(d.replicas for d in s.deployments) for name, s in services.items()}
    total = 0.0
    for service in services.values():
        for deployment in service.deployments:
            callees = {c.service for c in _calls(deployment.calls)}
            total += deployment.replicas * sum(pods.get(c, 0) for c in callees)
    for workload in model.workloads:
        total += workload.clients * pods.get(workload.target, 1)
    return total


def _calls(steps: Iterable[CallStep]) -> list[Call]:
    found: list[Call] = []
    for step in steps:
        found.extend(_calls(step.calls) if isinstance(step, Parallel) else [step])
    return found


def _timer_events(model: Model, proxies: int) -> float:
    """Outlier detectors tick every ``interval`` in each client proxy that uses the cluster."""
    policy = model.policy
    if policy is None:
        return 0.0
    clusters = [*policy.clusters.values(), policy.default_cluster]
    ticks = sum(
        model.duration / cluster.outlier.interval
        for cluster in clusters
        if cluster.outlier is not None and cluster.outlier.interval > 0
    )
    return ticks * proxies


def _wall(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172_800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86_400:,.0f} days"


def _gib(size: float) -> str:
    if size >= 2**40:
        return f"{size / 2**40:,.0f} TiB"
    return f"{size / 2**30:.1f} GiB" if size >= 2**30 else f"{size / 2**20:.0f} MiB"
