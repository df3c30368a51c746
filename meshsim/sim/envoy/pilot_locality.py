"""What istiod pushes one caller for one cluster's endpoints: each locality's priority, or its
``distribute`` weight.

Follows istio/istio ``pilot/pkg/networking/core/loadbalancer/loadbalancer.go``
(``ApplyLocalityLoadBalancer``, ``applyLocalityFailover``, ``applyLocalityWeights``,
``applyPriorityFailover``), ``networking/util/util.go:LbPriority`` and
``GetLocalityLbSetting``; reference/multicluster.md §1.2.

* Failover needs outlier detection (``enableFailover``) unless the Service's
  ``trafficDistribution`` forces it; without it every endpoint is in one priority.
* ``distribute`` wins and makes no priorities: per-locality weights, unmatched localities get
  no endpoints.
* A caller without a locality gets no locality load balancing (pilot returns early).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from meshsim.model.clusters import Distribute, Failover, LocalityLbSetting
from meshsim.model.geography import (
    NETWORK_LABEL,
    REGION_LABEL,
    SUBZONE_LABEL,
    ZONE_LABEL,
    Place,
)

HOSTNAME_LABEL = "kubernetes.io/hostname"
# GetLocalityLbSetting: the failoverPriority a Service's trafficDistribution injects.
FORCED_PRIORITY: Mapping[str, tuple[str, ...]] = {
    "PreferClose": (NETWORK_LABEL, REGION_LABEL, ZONE_LABEL, SUBZONE_LABEL),
    "PreferSameZone": (NETWORK_LABEL, REGION_LABEL, ZONE_LABEL),
    "PreferSameNode": (NETWORK_LABEL, REGION_LABEL, ZONE_LABEL, SUBZONE_LABEL, HOSTNAME_LABEL),
}


@dataclass(frozen=True)
class Assignment:
    """Per endpoint: its priority (0 = preferred) and locality weight (``None``: no locality
    weighting, hosts share their priority by host weight); ``priority`` −1 = not sent."""

    priority: tuple[int, ...]
    locality_weight: tuple[int, ...] | None


def lb_priority(caller: Place, endpoint: Place) -> int:
    """``util.LbPriority``: 0 region+zone+subzone match, 1 region+zone, 2 region, 3 none."""
    if caller.region == endpoint.region:
        if caller.zone == endpoint.zone:
            return 0 if caller.subzone == endpoint.subzone else 1
        return 2
    return 3


def _compact(raw: Sequence[int]) -> tuple[int, ...]:
    """Priorities must be consecutive: 0, 2, 3 become 0, 1, 2 (empty priorities dropped)."""
    rank = {p: i for i, p in enumerate(sorted(set(raw)))}
    return tuple(rank[p] for p in raw)


def failover_priorities(
    caller: Place, endpoints: Sequence[Place], failover: Sequence[Failover]
) -> tuple[int, ...]:
    """``applyLocalityFailover``: LbPriority, then another region than the rule's ``to`` → 4."""
    return _compact([_region_priority(caller, ep, failover) for ep in endpoints])


def _region_priority(caller: Place, endpoint: Place, failover: Sequence[Failover]) -> int:
    priority = lb_priority(caller, endpoint)
    if priority == 3:
        for rule in failover:
            if rule.source == caller.region:
                if endpoint.region != rule.target:
                    priority = 4
                break
    return priority


def _label_matches(key: str, caller: Mapping[str, str], endpoint: Mapping[str, str]) -> bool:
    """A failoverPriority entry: ``key`` (same value as the caller) or ``key=value``."""
    name, eq, value = key.partition("=")
    if eq:
        return endpoint.get(name) == value
    return caller.get(name, "") == endpoint.get(name, "")


def label_priorities(
    caller: Mapping[str, str], endpoints: Sequence[Mapping[str, str]], keys: Sequence[str],
    *, caller_place: Place | None = None, places: Sequence[Place] = (),
    failover: Sequence[Failover] = (),
) -> tuple[int, ...]:
    """``applyPriorityFailover``: P = N − (labels matched in order); with ``failover`` too,
    ``P × 5 + region priority``; compacted."""
    n = len(keys)
    raw = []
    for i, labels in enumerate(endpoints):
        matched = 0
        for key in keys:
            if not _label_matches(key, caller, labels):
                break
            matched += 1
        priority = n - matched
        if failover and caller_place is not None:
            priority = priority * 5 + _region_priority(caller_place, places[i], failover)
        raw.append(priority)
    return _compact(raw)


def _locality_match(place: Place, pattern: str) -> bool:
    """``util.LocalityMatch``: ``region/zone/subzone`` with ``*`` for any from there on."""
    parts = pattern.split("/")
    values = (place.region, place.zone, place.subzone)
    for i, part in enumerate(parts[:3]):
        if part == "*":
            return True
        if part != values[i]:
            return False
    return True


def distribute_weights(
    caller: Place, endpoints: Sequence[Place], rules: Sequence[Distribute],
    weights: Sequence[float] | None = None,
) -> tuple[int, ...] | None:
    """``applyLocalityWeights``: the first rule whose ``from`` matches the caller; each ``to``
    weight is split over the localities it matches by their pod counts (ceil); a locality no
    ``to`` matches gets weight 0 (its endpoints are not sent). None when no rule matches."""
    rule = next((r for r in rules if _locality_match(caller, r.source)), None)
    if rule is None:
        return None
    groups = _group_weights(endpoints, weights)
    weight: dict[Place, int] = dict.fromkeys(groups, 0)
    unmatched = set(groups)
    for pattern, share in rule.to:
        matched = [g for g in groups if g in unmatched and _locality_match(g, pattern)]
        total = sum(groups[g] for g in matched)
        for g in matched:
            unmatched.discard(g)
            value = groups[g] * share / total
            if value > 0:
                weight[g] = math.ceil(value)
    return tuple(weight[_group(place)] for place in endpoints)


def _group(place: Place) -> Place:
    """Envoy groups endpoints by locality (region, zone, subzone); cluster and network aside."""
    return Place("", "", place.region, place.zone, place.subzone)


def assign(
    setting: LocalityLbSetting | None, *, outlier: bool, caller: Place | None,
    endpoints: Sequence[Place], caller_labels: Mapping[str, str] | None = None,
    endpoint_labels: Sequence[Mapping[str, str]] = (), traffic_distribution: str | None = None,
    weights: Sequence[float] | None = None,
) -> Assignment | None:
    """The caller's view of the endpoints; None when pilot applies no locality LB at all."""
    forced = FORCED_PRIORITY.get(traffic_distribution or "")
    if forced is not None:
        setting = LocalityLbSetting(enabled=True, failover_priority=forced)
    if caller is None or len({_group(p) for p in endpoints}) < 2:
        return None
    setting = setting or LocalityLbSetting()
    if setting.distribute:
        shares = distribute_weights(caller, endpoints, setting.distribute, weights)
        if shares is None:
            return None
        return Assignment(tuple(0 if w > 0 else -1 for w in shares), shares)
    if not (forced is not None or outlier) or not setting.enabled:
        return None
    weighted = bool(setting.failover or setting.failover_priority)
    if setting.failover_priority:
        labels = list(endpoint_labels) or [p.labels() for p in endpoints]
        priority = label_priorities(
            caller_labels or caller.labels(), labels, setting.failover_priority,
            caller_place=caller, places=endpoints, failover=setting.failover,
        )
    else:
        priority = failover_priorities(caller, endpoints, setting.failover)
    return Assignment(priority, _pod_counts(endpoints, weights) if weighted else None)


def _group_weights(endpoints: Sequence[Place],
                   weights: Sequence[float] | None) -> dict[Place, int]:
    """A locality's weight in EDS: the sum of its endpoints' weights (1 per pod; an east-west
    gateway endpoint carries its remote pods')."""
    groups: dict[Place, int] = {}
    for i, place in enumerate(endpoints):
        key = _group(place)
        groups[key] = groups.get(key, 0) + (int(weights[i]) if weights is not None else 1)
    return groups


def _pod_counts(endpoints: Sequence[Place],
                weights: Sequence[float] | None = None) -> tuple[int, ...]:
    groups = _group_weights(endpoints, weights)
    return tuple(groups[_group(p)] for p in endpoints)
