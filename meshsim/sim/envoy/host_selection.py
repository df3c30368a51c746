"""Host selection: which balancer a cluster runs, panic routing and the priority load split.

Upstream sources followed (envoyproxy/envoy): ``source/extensions/load_balancing_policies/
common/load_balancer_impl.cc`` (``LoadBalancerBase``: ``recalculatePerPriorityState``,
``recalculatePerPriorityPanic``, ``choosePriority``) and the router's ``chooseHost`` retry loop
over the retry host predicates; reference/envoy-istio.md §2 and §4.4.

Deviations, all deliberate:

* Envoy draws one random number per pick to choose a priority even when there is only one;
  the single-priority :func:`choose_host` does not, so pinned random sequences skip that draw.
* Locality-weighted and zone-aware routing and degraded hosts are not modelled.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from meshsim.model.clusters import LoadBalancer
from meshsim.sim.envoy.balancers import (
    Active,
    Balancer,
    H,
    LeastRequest,
    Random,
    RoundRobin,
    Weights,
)
from meshsim.sim.envoy.hashing import Maglev, RingHash


def make_balancer(
    spec: LoadBalancer,
    *,
    rand: Callable[[], int],
    weights: Weights[H] = None,
    key: Callable[[H], str] = str,
) -> Balancer[H]:
    """The balancer a cluster's ``LoadBalancer`` spec asks for."""
    if spec.policy == "round_robin":
        return RoundRobin(weights, rand=rand)
    if spec.policy == "least_request":
        return LeastRequest(
            weights,
            rand=rand,
            choice_count=spec.choice_count,
            active_request_bias=spec.active_request_bias,
        )
    if spec.policy == "random":
        return Random(weights, rand=rand)
    if spec.policy == "ring_hash":
        return RingHash(weights, rand=rand, key=key, min_ring_size=spec.ring_size)
    if spec.policy == "maglev":
        return Maglev(weights, rand=rand, key=key, table_size=spec.maglev_table_size)
    raise ValueError(f"unknown load balancing policy {spec.policy!r}")


# -- priorities and panic -----------------------------------------------------------------------


@dataclass(frozen=True)
class PriorityLoad:
    """Per-priority result of ``recalculatePerPriorityState`` / ``recalculatePerPriorityPanic``."""

    load: tuple[int, ...]  # percent of requests per priority, sums to 100
    health: tuple[int, ...]  # min(100, factor% × healthy / total), integer arithmetic
    panic: tuple[bool, ...]

    @property
    def total_panic(self) -> bool:
        return bool(self.panic) and all(self.panic)


def _round_percent(value: float) -> int:
    """``PROTOBUF_PERCENT_TO_ROUNDED_INTEGER``: round half away from zero, capped at 100."""
    return min(100, math.floor(value + 0.5))


def priority_load(
    healthy_per_priority: Sequence[int],
    total_per_priority: Sequence[int],
    factor: float = 1.4,
    *,
    panic_threshold: float = 50.0,
) -> PriorityLoad:
    """Envoy's overprovisioned spill-over between priorities, with panic per priority.

    Health of a priority = min(100, 140 × healthy / total) (integer); load is poured into P0
    up to its health, the rest into P1, …; rounding leftovers go to the first available
    priority. Panic is never set when the normalized total health is 100; if every priority
    is in panic, load is split by raw host count. Threshold 0 with no healthy host sends 100%
    to P0 (which then has no host to offer: 503 UH).
    """
    n = len(total_per_priority)
    if len(healthy_per_priority) != n:
        raise ValueError("healthy and total host counts must cover the same priorities")
    over = round(factor * 100)
    health = [
        min(100, over * healthy_per_priority[i] // total_per_priority[i])
        if total_per_priority[i] > 0
        else 0
        for i in range(n)
    ]
    load = [0] * n
    normalized = min(100, sum(health))
    if normalized > 0:
        remaining = 100
        first = -1
        for i in range(n):
            if first < 0 and health[i] > 0:
                first = i
            load[i] = min(remaining, health[i] * 100 // normalized)
            remaining -= load[i]
        if remaining:
            load[first] += remaining

    threshold = _round_percent(panic_threshold)
    if threshold == 0 and normalized == 0:
        if n:
            load[0] = 100
        return PriorityLoad(tuple(load), tuple(health), tuple(False for _ in range(n)))

    def in_panic(i: int) -> bool:
        count = total_per_priority[i]
        healthy_percent = 0.0 if count == 0 else 100.0 * healthy_per_priority[i] / count
        return healthy_percent < threshold

    panic = [False if normalized == 100 else in_panic(i) for i in range(n)]
    if n and all(panic):
        total_hosts = sum(total_per_priority)
        load = [0] * n
        if total_hosts == 0:
            load[0] = 100
        else:
            remaining = 100
            first_non_empty = -1
            for i in range(n):
                if first_non_empty < 0 and total_per_priority[i]:
                    first_non_empty = i
                load[i] = 100 * total_per_priority[i] // total_hosts
                remaining -= load[i]
            load[first_non_empty] += remaining
    return PriorityLoad(tuple(load), tuple(health), tuple(panic))


def choose_priority(load: Sequence[int], hash: int) -> int:
    """``LoadBalancerBase::choosePriority``: ``hash % 100 + 1`` against the cumulative load."""
    h = hash % 100 + 1
    aggregate = 0
    for priority, share in enumerate(load):
        aggregate += share
        if h <= aggregate:
            return priority
    return 0


def choose_host(
    balancer: Balancer[H],
    hosts: Sequence[H],
    *,
    healthy: Callable[[H], bool] | Collection[H] | None = None,
    panic_threshold: float = 50.0,
    active: Active[H] | None = None,
    hash: int | None = None,
    accept: Callable[[H], bool] | None = None,
    host_selection_attempts: int = 0,
    overprovisioning_factor: float = 1.4,
    stats: dict[str, int] | None = None,
) -> H | None:
    """One priority's pick: panic routing (§2) then the host-selection retry loop (§4.4).

    ``healthy`` filters ``hosts`` (e.g. "not ejected"); in panic every host is eligible, with
    threshold 0 panic is off and no healthy host means ``None`` (503 UH). Up to
    ``host_selection_attempts + 1`` candidates are offered to ``accept`` (the retry host
    predicates, e.g. previous_hosts); the first accepted wins, else the last candidate is used.
    ``stats`` (if given) counts ``lb_healthy_panic`` like Envoy.
    """
    if healthy is None:
        healthy_hosts: Sequence[H] = hosts
    elif callable(healthy):
        is_healthy = healthy
        healthy_hosts = [h for h in hosts if is_healthy(h)]
    else:
        members = healthy
        healthy_hosts = [h for h in hosts if h in members]
    balancer.observe(hosts, healthy_hosts)
    plan = priority_load(
        [len(healthy_hosts)], [len(hosts)], overprovisioning_factor, panic_threshold=panic_threshold
    )
    panic = plan.panic[0]
    source_hosts, source = (hosts, "all") if panic else (healthy_hosts, "healthy")
    max_attempts = host_selection_attempts + 1
    h = None
    if balancer.uses_hash:
        h = hash if hash is not None else balancer.random_hash()
        if panic and stats is not None:
            stats["lb_healthy_panic"] = stats.get("lb_healthy_panic", 0) + 1
    host: H | None = None
    for attempt in range(max_attempts):
        if panic and not balancer.uses_hash and stats is not None:
            stats["lb_healthy_panic"] = stats.get("lb_healthy_panic", 0) + 1
        host = balancer.pick(source_hosts, active=active, hash=h, attempt=attempt, source=source)
        if host is None or accept is None or accept(host):
            return host
    return host
