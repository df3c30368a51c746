"""A cluster's hosts by priority and locality, as Envoy's ``PrioritySet`` holds them: the
priority spill, per-priority panic and the locality-weighted pick inside a priority.

Upstream (envoyproxy/envoy): ``load_balancer_impl.cc`` (``recalculatePerPriorityState``,
``choosePriority``, ``chooseHostSet``), ``upstream_impl.cc:HostSetImpl::effectiveLocalityWeight``
and ``edf_scheduler.h``; reference/multicluster.md §1.3. Built only for a caller whose cluster
has more than one locality under locality load balancing (:mod:`.pilot_locality`): other
clusters keep the single-priority pick of :mod:`.cluster`, with no extra draw.

A retry with ``retryRemoteLocalities`` picks its priority from the load that
:mod:`.previous_priorities` adjusts. Deviations: degraded hosts are not modelled; the locality
schedule starts without Envoy's random warm-up picks.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Sequence
from typing import Generic, cast

from meshsim.model.clusters import LocalityLbSetting
from meshsim.model.geography import Place
from meshsim.sim.envoy.balancers import Active, Balancer, H
from meshsim.sim.envoy.host_selection import PriorityLoad, choose_priority, priority_load
from meshsim.sim.envoy.pilot_locality import assign
from meshsim.sim.envoy.previous_priorities import PreviousPriorities


def effective_locality_weight(weight: float, eligible: int, total: int,
                              factor: float = 1.4) -> float:
    """``effectiveLocalityWeight``: ``weight × min(1, factor × eligible / total)``."""
    if total == 0:
        return 0.0
    return weight * min(1.0, factor * eligible / total)


def locality_shares(weights: Sequence[float], eligible: Sequence[int], total: Sequence[int],
                    factor: float = 1.4) -> list[float]:
    """Each locality's share of its priority's traffic (fractions summing to 1, or all 0)."""
    effective = [effective_locality_weight(w, e, t, factor)
                 for w, e, t in zip(weights, eligible, total, strict=True)]
    whole = sum(effective)
    return [e / whole if whole else 0.0 for e in effective]


class _LocalitySchedule:
    """EDF over localities by effective weight (Envoy's locality scheduler)."""

    def __init__(self, weights: Sequence[float]) -> None:
        self.weights = list(weights)
        self.deadline = [1.0 / w if w > 0 else float("inf") for w in weights]

    def pick(self) -> int:
        best = min(range(len(self.deadline)), key=self.deadline.__getitem__)
        if self.deadline[best] == float("inf"):
            return -1
        self.deadline[best] += 1.0 / self.weights[best]
        return best


class Tiers(Generic[H]):
    """One cluster's priorities (each a list of localities, each a list of hosts)."""

    def __init__(self, hosts: Sequence[H], priority: Sequence[int],
                 locality: Sequence[Hashable], weight: Sequence[int] | None,
                 *, panic_threshold: float, factor: float = 1.4) -> None:
        count = max((p for p in priority if p >= 0), default=-1) + 1
        self.factor = factor
        self.panic_threshold = panic_threshold
        self.weighted = weight is not None
        self.hosts: list[list[H]] = [[] for _ in range(count)]
        self.groups: list[list[list[H]]] = [[] for _ in range(count)]
        self.group_weight: list[list[int]] = [[] for _ in range(count)]
        index: list[dict[Hashable, int]] = [{} for _ in range(count)]
        self.priority_of: dict[H, int] = {}  # for proxy-config's PRIORITY column
        for i, host in enumerate(hosts):
            p = priority[i]
            self.priority_of[host] = p
            if p < 0:
                continue  # not sent to this caller (distribute left its locality out)
            self.hosts[p].append(host)
            g = index[p].get(locality[i])
            if g is None:
                g = index[p][locality[i]] = len(self.groups[p])
                self.groups[p].append([])
                self.group_weight[p].append(weight[i] if weight is not None else 1)
            self.groups[p][g].append(host)
        self.plan = PriorityLoad((), (), ())
        self.healthy: list[list[H]] = []
        self.healthy_groups: list[list[list[H]]] = []
        self.schedules: list[_LocalitySchedule] = []
        self.refresh(())

    def refresh(self, ejected: Collection[H]) -> None:
        """Health changed (ejection, un-ejection): recompute the spill and locality weights."""
        self.healthy = [[h for h in hosts if h not in ejected] for hosts in self.hosts]
        self.healthy_groups = [[[h for h in g if h not in ejected] for g in groups]
                               for groups in self.groups]
        self.plan = priority_load([len(h) for h in self.healthy], [len(h) for h in self.hosts],
                                  self.factor, panic_threshold=self.panic_threshold)
        self.schedules = [
            _LocalitySchedule([
                effective_locality_weight(w, len(hg), len(g), self.factor)
                for w, hg, g in zip(weights, healthy, groups, strict=True)
            ])
            for weights, healthy, groups in zip(self.group_weight, self.healthy_groups,
                                                self.groups, strict=True)
        ]

    def source(self, rand: Callable[[], int],
               load: Sequence[int] | None = None) -> tuple[Sequence[H], Hashable]:
        """``chooseHostSet``: a priority by the spill (one draw; ``load`` is a retry
        priority's adjusted spill), then its locality (EDF) if weighted; the host list to pick
        from and its name for the balancer's state."""
        if not self.hosts:
            return (), "none"
        p = choose_priority(self.plan.load if load is None else load, rand())
        panic = self.plan.panic[p]
        if self.weighted and not panic:
            g = self.schedules[p].pick()
            if g < 0:
                return (), "none"
            return self.healthy_groups[p][g], ("healthy", p, g)
        if panic:
            return self.hosts[p], ("all", p)
        return self.healthy[p], ("healthy", p)

    def choose(self, balancer: Balancer[H], rand: Callable[[], int], *, active: Active[H],
               tries: int = 1, accept: Callable[[H], bool] | None = None,
               hash: int | None = None, retry_priority: PreviousPriorities | None = None,
               ) -> H | None:
        """The router's host-selection loop: each try picks the priority and locality anew."""
        host: H | None = None
        load = None
        if retry_priority is not None:  # determinePriorityLoad, once per attempt
            load = retry_priority.priority_load(self.plan.load, self.plan.health,
                                                self.priority_of)
        for attempt in range(tries):
            hosts, name = self.source(rand, load)
            if not hosts:
                return None
            host = balancer.pick(hosts, active=active, hash=hash, attempt=attempt, source=name)
            if host is None or accept is None or accept(host):
                return host
        return host

    def served(self) -> list[float]:
        """Each priority's load in percent (for events and views)."""
        return [float(x) for x in self.plan.load]


def tiers_for(caller: object, hosts: Sequence[H], *, setting: LocalityLbSetting | None,
              outlier: bool, panic_threshold: float,
              traffic_distribution: str | None = None) -> Tiers[H] | None:
    """The caller's priorities over ``hosts`` (pods with a ``place``), or None when pilot
    sends them all in one priority with no locality weights (nothing to model)."""
    where = getattr(caller, "place", None)
    places = [getattr(h, "place", None) for h in hosts]
    if where is None or any(p is None for p in places):
        return None
    placed = cast("list[Place]", places)
    labels = [{**getattr(h, "labels", {}), **p.labels()} for h, p in zip(hosts, placed,
                                                                         strict=True)]
    caller_labels = {**(getattr(caller, "labels", None) or {}), **where.labels()}
    plan = assign(setting, outlier=outlier, caller=where, endpoints=placed,
                  caller_labels=caller_labels, endpoint_labels=labels,
                  traffic_distribution=traffic_distribution,
                  weights=[float(getattr(h, "weight", 1.0)) for h in hosts])
    if plan is None:
        return None
    return Tiers(hosts, plan.priority, [p.locality for p in placed], plan.locality_weight,
                 panic_threshold=panic_threshold)
