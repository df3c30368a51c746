"""Envoy's priority spill and locality weights, pinned to the worked examples E1–E13 of
reference/multicluster.md §3 (shares to the percent)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from meshsim.model.clusters import OutlierDetection
from meshsim.sim.envoy import OutlierDetector, RoundRobin, priority_load
from meshsim.sim.envoy.locality import Tiers, effective_locality_weight, locality_shares


def load(healthy: list[int], total: list[int], panic: float = 0.0) -> tuple[int, ...]:
    return priority_load(healthy, total, panic_threshold=panic).load


@pytest.mark.parametrize(("healthy", "total", "expected"), [
    ([3, 5], [5, 5], (84, 16)),  # E1
    ([4, 5], [5, 5], (100, 0)),  # E2: 140·4//5 = 112 → 100
    ([7, 10], [10, 10], (98, 2)),  # E3
    ([8, 10], [10, 10], (100, 0)),  # E3
    ([2, 4], [4, 4], (70, 30)),  # E4
    ([2, 1, 5], [5, 5, 5], (56, 28, 16)),  # E5
    ([1, 1], [5, 4], (45, 55)),  # E6, panic 0: N = 63 → 44 (+1 rounding)
    ([2, 1], [3, 1], (93, 7)),  # E11: local 2/3, one gateway host
    ([2, 0], [3, 1], (100, 0)),  # E11: gateway down
])
def test_priority_spill_matches_the_worked_examples(
    healthy: list[int], total: list[int], expected: tuple[int, ...]
) -> None:
    assert load(healthy, total) == expected


def test_e5_health_is_integer_percent() -> None:
    assert priority_load([2, 1, 5], [5, 5, 5], panic_threshold=0).health == (56, 28, 100)


def test_e6_with_envoys_default_panic_splits_by_host_count() -> None:
    assert load([1, 1], [5, 4], panic=50) == (56, 44)


def test_e7_all_ejected_sends_everything_to_p0_with_no_host() -> None:
    assert load([0, 0], [5, 5]) == (100, 0)
    tiers = Tiers(list("abcdefghij"), [0] * 5 + [1] * 5, ["x"] * 5 + ["y"] * 5, None,
                  panic_threshold=0)
    tiers.refresh(set("abcdefghij"))
    assert tiers.choose(RoundRobin(rand=lambda: 0), lambda: 7, active=lambda h: 0) is None
    assert load([0, 0], [5, 5], panic=50) == (50, 50)


def test_e12_distribute_weights_scale_by_zone_health() -> None:
    shares = locality_shares([80, 20], [3, 5], [5, 5])
    assert round(shares[0] * 100, 2) == 77.06
    assert round(shares[1] * 100, 2) == 22.94
    shares = locality_shares([80, 20], [2, 5], [5, 5])
    assert (round(shares[0] * 100, 2), round(shares[1] * 100, 2)) == (69.14, 30.86)


def test_e13_envoy_doc_locality_weights() -> None:
    assert round(locality_shares([1, 2], [1, 2], [2, 2])[0] * 100, 1) == 25.9
    assert round(locality_shares([1, 2], [7, 10], [10, 10])[0] * 100, 1) == 32.9
    assert effective_locality_weight(2, 10, 10) == 2  # fully healthy: the weight as given


def _picks(tiers: Tiers[str], n: int, seed: int = 1) -> Counter[str]:
    rng = np.random.default_rng(seed)
    draws = iter(rng.integers(0, 2**63, n * 2, dtype=np.int64).tolist())
    balancer: RoundRobin[str] = RoundRobin(rand=lambda: next(draws))
    picked = Counter[str]()
    for _ in range(n):
        host = tiers.choose(balancer, lambda: next(draws), active=lambda h: 0)
        assert host is not None
        picked[host] += 1
    return picked


def test_tiers_send_the_spill_share_to_the_next_priority() -> None:
    """E1 in picks: 2 of 5 P0 hosts ejected, 16 % of picks land in P1."""
    hosts = [f"a{i}" for i in range(5)] + [f"b{i}" for i in range(5)]
    tiers = Tiers(hosts, [0] * 5 + [1] * 5, ["a"] * 5 + ["b"] * 5, None, panic_threshold=0)
    tiers.refresh({"a0", "a1"})
    picked = _picks(tiers, 20_000)
    spilled = sum(v for k, v in picked.items() if k.startswith("b")) / 20_000
    assert spilled == pytest.approx(0.16, abs=0.01)
    assert picked["a0"] == picked["a1"] == 0


def test_tiers_weigh_localities_inside_a_priority() -> None:
    """E12 in picks: distribute 80/20, zone1 3/5 healthy → 77.06 % / 22.94 %."""
    hosts = [f"a{i}" for i in range(5)] + [f"b{i}" for i in range(5)]
    tiers = Tiers(hosts, [0] * 10, ["z1"] * 5 + ["z2"] * 5, [80] * 5 + [20] * 5,
                  panic_threshold=0)
    tiers.refresh({"a0", "a1"})
    picked = _picks(tiers, 10_000)
    zone1 = sum(v for k, v in picked.items() if k.startswith("a")) / 10_000
    assert zone1 == pytest.approx(0.7706, abs=0.002)  # EDF: exact up to rounding


@pytest.mark.parametrize(("max_ejection", "expected"), [
    (10, (100, 0)),  # E8: one ejection allowed, zone A 4/5 looks healthy: no failover
    (30, (56, 44)),
    (50, (0, 100)),
])
def test_e8_max_ejection_percent_counts_hosts_in_every_priority(
    max_ejection: float, expected: tuple[int, int]
) -> None:
    hosts = [f"a{i}" for i in range(5)] + [f"b{i}" for i in range(5)]
    od = OutlierDetection(consecutive_5xx=1, interval=1.0, max_ejection_percent=max_ejection,
                          enforcing_success_rate=0)
    detector: OutlierDetector[str] = OutlierDetector(od, hosts, rand=lambda: 0)
    for now in range(3):
        for host in hosts[:5]:
            detector.report_status(host, 503, float(now))
        detector.tick(float(now) + 0.5)
    tiers = Tiers(hosts, [0] * 5 + [1] * 5, ["a"] * 5 + ["b"] * 5, None, panic_threshold=0)
    tiers.refresh(detector.ejected)
    assert tiers.plan.load == expected
