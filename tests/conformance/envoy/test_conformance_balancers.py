"""Load balancing and panic routing against Envoy's own tests (reference/envoy-istio.md §2, §5,
§12 S11–S13, S15).

Sources: envoyproxy/envoy test/extensions/load_balancing_policies/round_robin/
round_robin_lb_test.cc, least_request/least_request_lb_test.cc and
common/load_balancer_impl_base_test.cc. Envoy's mocks also feed one random draw per pick to the
priority choice; the single-priority pipeline here does not draw it, so those values are
dropped from the pinned sequences.
"""

from __future__ import annotations

import bisect
from collections import Counter

import pytest
from envoy_mocks import Pinned
from hypothesis import given, settings
from hypothesis import strategies as st

from meshsim.model.clusters import LoadBalancer
from meshsim.sim.envoy import (
    LeastRequest,
    Maglev,
    Random,
    RingHash,
    RoundRobin,
    choose_host,
    choose_priority,
    make_balancer,
    priority_load,
    stable_hash64,
)

A, B, C, D = "A", "B", "C", "D"


def picks(lb: RoundRobin[str] | LeastRequest[str], hosts: list[str], n: int, **kw: object) -> str:
    return "".join(str(choose_host(lb, hosts, **kw)) for _ in range(n))  # type: ignore[arg-type]


# -- S11 -----------------------------------------------------------------------------------------


def test_s11_weighted_round_robin_order_and_weight_change() -> None:
    weights = {A: 1.0, B: 2.0}
    lb = RoundRobin(weights, rand=Pinned(repeat=0))
    hosts = [A, B]
    assert picks(lb, hosts, 6) == "BABBAB"
    weights.update({A: 2.0, B: 1.0})  # takes effect as hosts are re-inserted
    assert picks(lb, hosts, 8) == "BAABAABA"
    weights[C] = 3.0  # a new host: the host set changes, schedules are rebuilt
    assert picks(lb, [A, B, C], 12) == "CACBACCACBAC"
    weights.update({A: 1.0, D: 4.0})  # B and C removed, D added
    assert picks(lb, [A, D], 10) == "DDDADDDDAD"


def test_s11_weighted_seed() -> None:
    lb = RoundRobin({A: 1.0, B: 2.0}, rand=Pinned(repeat=1))
    assert picks(lb, [A, B], 6) == "ABBABB"


def test_s11_weighted_initialization_picks_all_hosts() -> None:
    weights = {A: 6.0, B: 3.0, C: 1.0}
    first = Counter(
        picks(RoundRobin(weights, rand=Pinned(seed)), [A, B, C], 1) for seed in range(10)
    )
    assert first == {A: 6, B: 3, C: 1}


def test_round_robin_seed_sets_the_start() -> None:
    lb = RoundRobin(None, rand=Pinned(repeat=1))
    assert picks(lb, [A, B, C], 4) == "BCAB"


@settings(deadline=None)
@given(
    n=st.integers(1, 8),
    k=st.integers(1, 5),
    seed=st.integers(0, 2**64 - 1),
    skip=st.integers(0, 20),
)
def test_property_equal_weight_round_robin_is_balanced(
    n: int, k: int, seed: int, skip: int
) -> None:
    hosts = [f"h{i}" for i in range(n)]
    lb = RoundRobin(None, rand=Pinned(seed))
    seq = [choose_host(lb, hosts) for _ in range(skip + 3 * n * k)]
    for start in range(skip, skip + n * k + 1):
        counts = Counter(seq[start : start + n * k])
        assert all(counts[h] == k for h in hosts)


@settings(deadline=None)
@given(weights=st.lists(st.integers(1, 6), min_size=2, max_size=5), seed=st.integers(0, 10**6))
def test_property_weighted_round_robin_follows_weights(weights: list[int], seed: int) -> None:
    hosts = [f"h{i}" for i in range(len(weights))]
    lb = RoundRobin(dict(zip(hosts, map(float, weights), strict=True)), rand=Pinned(seed))
    rounds = 4
    counts = Counter(choose_host(lb, hosts) for _ in range(sum(weights) * rounds))
    for h, w in zip(hosts, weights, strict=True):
        assert abs(counts[h] - w * rounds) <= 1


# -- S12 -----------------------------------------------------------------------------------------


def test_s12_least_request_weight_imbalance() -> None:
    active = {A: 0, B: 0}
    lb = LeastRequest({A: 1.0, B: 2.0}, rand=Pinned(repeat=0))
    kw = {"active": active.__getitem__}
    assert picks(lb, [A, B], 6, **kw) == "BABBAB"  # 2:1
    active[B] = 1
    assert picks(lb, [A, B], 5, **kw) == "BABAB"  # 1:1
    active.update({A: 1, B: 0})
    assert picks(lb, [A, B], 10, **kw) == "ABBBABBBBA"  # 4:1


def test_s12_active_request_bias_zero_is_plain_weighted_round_robin() -> None:
    active = {A: 0, B: 5}
    lb = LeastRequest({A: 1.0, B: 2.0}, rand=Pinned(repeat=0), active_request_bias=0.0)
    assert picks(lb, [A, B], 6, active=active.__getitem__) == "BABBAB"


def test_s12_p2c_fewer_active_wins() -> None:
    active = {A: 1, B: 2}
    rand = Pinned(2, 3)
    lb = LeastRequest(None, rand=rand)
    assert rand.calls == 1  # the EDF seed drawn at construction
    assert choose_host(lb, [A, B], active=active.__getitem__) == A
    active.update({A: 2, B: 1})
    rand.set(2, 3)
    assert choose_host(lb, [A, B], active=active.__getitem__) == B
    assert rand.calls == 5


def test_s12_n_choices() -> None:
    hosts = [A, B, C, D]
    active = {A: 4, B: 3, C: 2, D: 1}.__getitem__
    rand = Pinned(repeat=0)
    lb5 = LeastRequest(None, rand=rand, choice_count=5)
    assert choose_host(lb5, hosts, active=active) == A  # five samples of index 0
    assert rand.calls == 1 + 5
    rand.set(3, 0, 3, 2, 1)
    assert choose_host(lb5, hosts, active=active) == D
    with pytest.raises(ValueError, match="choice_count"):
        LeastRequest(None, rand=rand, choice_count=1)


def test_s12_ties_keep_the_first_sample() -> None:
    lb = LeastRequest(None, rand=Pinned(0, 1, 0))
    assert choose_host(lb, [A, B], active=lambda h: 3) == B


# -- S13 -----------------------------------------------------------------------------------------


def test_s13_max_unhealthy_panic() -> None:
    hosts = [f"h{i}" for i in range(6)]
    stats: dict[str, int] = {}
    lb = RoundRobin(None, rand=Pinned(repeat=0))
    two = set(hosts[:2])
    got = [choose_host(lb, hosts, healthy=two, stats=stats) for _ in range(3)]
    assert got == hosts[:3]  # panic: rotate over all six hosts
    four = set(hosts[:4])
    got = [choose_host(lb, hosts, healthy=four, stats=stats) for _ in range(2)]
    assert got == hosts[:2]  # healthy source, its own rotation index
    assert stats["lb_healthy_panic"] == 3


def test_s13_disable_panic_mode() -> None:
    stats: dict[str, int] = {}
    lb = RoundRobin(None, rand=Pinned())
    assert choose_host(lb, [A], healthy=set(), panic_threshold=0, stats=stats) is None
    assert stats.get("lb_healthy_panic", 0) == 0


def test_s13_no_hosts_at_all() -> None:
    assert choose_host(RoundRobin(None, rand=Pinned()), []) is None
    assert choose_host(LeastRequest(None, rand=Pinned()), []) is None


def test_s13_panic_not_entered_when_overprovisioned_health_is_full() -> None:
    # 75 % healthy × 1.4 ≥ 100 %: no panic even though 75 < threshold 80.
    hosts = [A, B, C, D]
    lb = RoundRobin(None, rand=Pinned())
    got = {choose_host(lb, hosts, healthy={A, B, C}, panic_threshold=80) for _ in range(8)}
    assert got == {A, B, C}


@pytest.mark.parametrize(
    ("healthy", "total", "load", "panic"),
    [
        ([2, 2], [4, 4], (70, 30), (False, False)),
        ([1, 1], [1, 1], (100, 0), (False, False)),
        ([1, 2], [4, 2], (35, 65), (False, False)),  # total health 100 %: no panic in P0
        ([1, 1], [4, 4], (50, 50), (True, True)),  # total panic: split by host count
        ([0, 0], [2, 6], (25, 75), (True, True)),
    ],
)
def test_s13_priority_spill_over(
    healthy: list[int], total: list[int], load: tuple[int, ...], panic: tuple[bool, ...]
) -> None:
    result = priority_load(healthy, total, 1.4)
    assert result.load == load
    assert result.panic == panic


def test_s13_priority_load_threshold_zero_and_nothing_healthy() -> None:
    result = priority_load([0, 0], [3, 3], panic_threshold=0)
    assert result.load == (100, 0)
    assert result.panic == (False, False)


def test_choose_priority_uses_hash_mod_100() -> None:
    assert [choose_priority((70, 30), h) for h in (0, 69, 70, 99, 170)] == [0, 0, 1, 1, 1]


@given(
    st.lists(st.tuples(st.integers(0, 20), st.integers(0, 20)), min_size=1, max_size=5),
    st.integers(0, 100),
)
def test_property_priority_load_sums_to_100(counts: list[tuple[int, int]], threshold: int) -> None:
    healthy = [min(h, t) for h, t in counts]
    total = [t for _, t in counts]
    result = priority_load(healthy, total, panic_threshold=threshold)
    assert sum(result.load) == 100
    assert all(0 <= x <= 100 for x in result.health)


# -- S15 -----------------------------------------------------------------------------------------


def test_s15_host_selection_with_filter() -> None:
    lb = RoundRobin(None, rand=Pinned(repeat=0))
    hosts = [A, B]

    def only_a(h: str) -> bool:
        return h == A

    assert [choose_host(lb, hosts, accept=only_a, host_selection_attempts=2) for _ in range(3)] == [
        A,
        A,
        A,
    ]
    # Zero extra attempts: the predicate is not consulted again, the picks alternate.
    assert [choose_host(lb, hosts, accept=only_a, host_selection_attempts=0) for _ in range(3)] == [
        B,
        A,
        B,
    ]


def test_s15_last_candidate_used_when_all_rejected() -> None:
    lb = RoundRobin(None, rand=Pinned(repeat=0))
    assert choose_host(lb, [A, B], accept=lambda h: False, host_selection_attempts=2) == A


# -- RANDOM, RING_HASH, MAGLEV -------------------------------------------------------------------


def test_random_is_draw_mod_n() -> None:
    rand = Pinned(7, 8)
    lb = Random(None, rand=rand)
    assert [choose_host(lb, [A, B, C]) for _ in range(2)] == [B, C]
    assert choose_host(lb, []) is None
    assert rand.calls == 3  # Envoy draws before looking at the host list


def test_ring_hash_size_and_weights() -> None:
    lb = RingHash({A: 1.0, B: 2.0}, rand=Pinned())
    hashes, owners = lb.ring([A, B])
    assert len(hashes) == 1026  # ceil(1024 × 1/3) / (1/3), rounded up
    assert Counter(owners) == {A: 342, B: 684}
    assert hashes == sorted(hashes)
    equal = RingHash(None, rand=Pinned())
    assert Counter(equal.ring([A, B, C, D])[1]) == {A: 256, B: 256, C: 256, D: 256}


def test_ring_hash_lookup_walk_and_wrap() -> None:
    lb = RingHash(None, rand=Pinned())
    hashes, owners = lb.ring([A, B, C])
    i = 100
    assert lb.pick([A, B, C], hash=hashes[i]) == owners[i]  # first entry >= hash
    assert lb.pick([A, B, C], hash=hashes[i] + 1) == owners[i + 1]
    assert lb.pick([A, B, C], hash=hashes[-1] + 1) == owners[0]  # wraps
    assert lb.pick([A, B, C], hash=hashes[i], attempt=3) == owners[i + 3]
    entry = stable_hash64(f"{A}_0")
    assert owners[hashes.index(entry)] == A  # entries are "<address>_<i>"


def test_ring_hash_retry_walks_in_the_selection_loop() -> None:
    lb = RingHash(None, rand=Pinned())
    hashes, owners = lb.ring([A, B, C])
    i = next(j for j in range(len(owners) - 1) if owners[j] == A and owners[j + 1] != A)
    got = choose_host(
        lb, [A, B, C], hash=hashes[i], accept=lambda h: h != A, host_selection_attempts=5
    )
    assert got == owners[i + 1]


def test_ring_hash_without_hash_uses_one_random_value() -> None:
    rand = Pinned(12345)
    lb = RingHash(None, rand=rand)
    hashes, owners = lb.ring([A, B])
    expected = owners[next((j for j, h in enumerate(hashes) if h >= 12345), 0)]
    assert choose_host(lb, [A, B], accept=lambda h: False, host_selection_attempts=3) is not None
    assert rand.calls == 1
    assert RingHash(None, rand=Pinned(12345)).pick([A, B]) == expected


def test_ring_hash_is_consistent_under_removal() -> None:
    # The ring keeps ~1024 entries, so the survivors gain entries "<host>_256".."_341": a key
    # that changes owner (other than D's keys) must have landed on one of those new entries.
    lb = RingHash(None, rand=Pinned())
    survivors = [A, B, C]
    index = {stable_hash64(f"{h}_{i}"): i for h in survivors for i in range(400)}
    hashes, _ = lb.ring(survivors)
    keys = [stable_hash64(f"user-{i}") for i in range(2000)]
    moved = 0
    for k in keys:
        old, new = lb.pick([A, B, C, D], hash=k), lb.pick(survivors, hash=k)
        if old != D and new != old:
            moved += 1
            j = bisect.bisect_left(hashes, k) % len(hashes)
            assert index[hashes[j]] >= 256
    assert moved < len(keys) // 4


def test_maglev_table_and_attempt_rehash() -> None:
    lb = Maglev({A: 1.0, B: 1.0, C: 1.0}, rand=Pinned(), table_size=101)
    slots, owners = lb.table([A, B, C])
    assert len(slots) == 101 and -1 not in slots
    counts = Counter(owners[s] for s in slots)
    assert max(counts.values()) - min(counts.values()) <= 1  # equal weights: turns alternate
    h = 2**64 - 5
    assert lb.pick([A, B, C], hash=h) == owners[slots[h % 101]]
    rehashed = h ^ (2**64 - 2)  # ~0 - attempt + 1 with attempt 2
    assert lb.pick([A, B, C], hash=h, attempt=2) == owners[slots[rehashed % 101]]


def test_maglev_default_table_is_65537_and_weighted() -> None:
    lb = Maglev({A: 1.0, B: 3.0}, rand=Pinned())
    slots, owners = lb.table([A, B])
    assert len(slots) == 65537 and -1 not in slots
    counts = Counter(owners[s] for s in slots)
    assert counts[B] / counts[A] == pytest.approx(3.0, rel=0.01)
    with pytest.raises(ValueError, match="prime"):
        Maglev(None, rand=Pinned(), table_size=65536)


def test_make_balancer_follows_the_spec() -> None:
    rand = Pinned()
    assert isinstance(make_balancer(LoadBalancer(), rand=rand), LeastRequest)
    assert isinstance(make_balancer(LoadBalancer(policy="round_robin"), rand=rand), RoundRobin)
    assert isinstance(make_balancer(LoadBalancer(policy="random"), rand=rand), Random)
    ring = make_balancer(LoadBalancer(policy="ring_hash", ring_size=2048), rand=rand)
    assert isinstance(ring, RingHash) and ring.min_ring_size == 2048
    mag = make_balancer(LoadBalancer(policy="maglev", maglev_table_size=5003), rand=rand)
    assert isinstance(mag, Maglev) and mag.table_size == 5003
