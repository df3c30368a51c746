"""Host selection: Envoy's load balancers, panic routing and priority load split.

Upstream sources followed (envoyproxy/envoy, ``source/extensions/load_balancing_policies/``):
``common/load_balancer_impl.cc`` (panic, priority load, ``chooseHost`` retry loop,
``EdfLoadBalancerBase``), ``round_robin/round_robin_lb.h``, ``least_request/least_request_lb.cc``,
``random/random_lb.cc``, ``ring_hash/ring_hash_lb.cc``, ``maglev/maglev_lb.cc``,
``common/thread_aware_lb_impl.cc`` and ``source/common/upstream/edf_scheduler.h``;
reference/envoy-istio.md §2 and §5.

Deviations, all deliberate:

* Hashing uses :func:`stable_hash64` (BLAKE2b, 8-byte digest) instead of xxHash64, which is not
  installed here; rings and Maglev tables therefore place hosts differently from Envoy, but
  with the same construction, sizes and lookup rules.
* Envoy draws one random number per pick to choose a priority even when there is only one;
  the single-priority :func:`choose_host` does not, so pinned random sequences skip that draw.
* Slow start, locality-weighted and zone-aware routing, degraded hosts and preconnect
  peeking are not modelled.
"""

from __future__ import annotations

import bisect
import hashlib
import heapq
import math
from collections.abc import Callable, Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, Generic, TypeVar

from meshsim.model.clusters import LoadBalancer

H = TypeVar("H", bound=Hashable)

MASK64 = (1 << 64) - 1
Weights = Callable[[H], float] | Mapping[H, float] | None
Active = Callable[[H], int]


def stable_hash64(data: str | bytes, seed: int = 0) -> int:
    """A stable unsigned 64-bit hash standing in for Envoy's ``HashUtil::xxHash64(data, seed)``."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    salt = seed.to_bytes(16, "little") if seed else b""
    return int.from_bytes(hashlib.blake2b(raw, digest_size=8, salt=salt).digest(), "little")


def _weight_fn(weights: Weights[H]) -> Callable[[H], float]:
    if weights is None:
        return lambda _h: 1.0
    if isinstance(weights, Mapping):
        table = weights
        return lambda h: float(table.get(h, 1.0))
    return weights


def _no_active(_host: object) -> int:
    return 0


# -- EDF scheduler ------------------------------------------------------------------------------


class _Edf(Generic[H]):
    """``EdfScheduler``: earliest deadline first, deadline = now + 1/weight, FIFO on ties."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, H]] = []
        self._time = 0.0
        self._order = 0

    def add(self, weight: float, host: H) -> None:
        heapq.heappush(self._heap, (self._time + 1.0 / weight, self._order, host))
        self._order += 1

    def pick_and_add(self, weight: Callable[[H], float]) -> H | None:
        if not self._heap:
            return None
        deadline, _, host = heapq.heappop(self._heap)
        self._time = deadline
        self.add(weight(host), host)
        return host

    @classmethod
    def create_with_picks(
        cls, hosts: Sequence[H], weight: Callable[[H], float], picks: int
    ) -> _Edf[H]:
        """``EdfScheduler::createWithPicks``: the state after ``picks`` picks, built in O(n)."""
        picks = (picks & 0xFFFFFFFF) % 429496729
        edf: _Edf[H] = cls()
        if not hosts:
            return edf

        def aug(h: H) -> float:
            return weight(h) + 1e-13

        weights_sum = 0.0
        for h in hosts:
            weights_sum += aug(h)
        floor_picks = [int(aug(h) * picks / weights_sum) for h in hosts]
        picks_so_far = 0
        max_pick_time = 0.0
        for i, h in enumerate(hosts):
            w = aug(h)
            if floor_picks[i] > 0 and floor_picks[i] / w >= picks / weights_sum:
                floor_picks[i] -= 1
            max_pick_time = max(max_pick_time, floor_picks[i] / w)
            edf._heap.append(((floor_picks[i] + 1) / w, i, h))
            picks_so_far += floor_picks[i]
        heapq.heapify(edf._heap)
        edf._time = max_pick_time
        edf._order = len(hosts)
        while picks_so_far < picks:
            edf.pick_and_add(weight)
            picks_so_far += 1
        return edf


# -- balancers ----------------------------------------------------------------------------------


class Balancer(Generic[H]):
    """One interface for every policy: ``pick`` one host from the given host source.

    ``source`` names the host list (Envoy keeps separate round-robin indexes and EDF schedules
    per ``HostsSource``: healthy hosts vs all hosts in panic). ``attempt`` is the index of the
    pick inside one host-selection loop; only the hashing balancers use it.
    """

    uses_hash: ClassVar[bool] = False

    def __init__(self, weights: Weights[H] = None, *, rand: Callable[[], int]) -> None:
        self._rand = rand
        self._weight = _weight_fn(weights)
        self._observed: tuple[tuple[H, ...], tuple[H, ...]] | None = None

    def pick(
        self,
        hosts: Sequence[H],
        *,
        active: Active[H] | None = None,
        hash: int | None = None,
        attempt: int = 0,
        source: Hashable = "healthy",
    ) -> H | None:
        raise NotImplementedError

    def refresh(self) -> None:
        """The host set changed (membership or health): Envoy rebuilds per-source state."""

    def random_hash(self) -> int:
        return self._rand() & MASK64

    def observe(self, hosts: Sequence[H], healthy: Sequence[H]) -> None:
        """Call :meth:`refresh` when the (all, healthy) host lists differ from last time."""
        key = (tuple(hosts), tuple(healthy))
        if key != self._observed:
            self._observed = key
            self.refresh()


class _EdfBalancer(Balancer[H]):
    """``EdfLoadBalancerBase``: EDF when weights differ, an unweighted pick when they are equal."""

    def __init__(self, weights: Weights[H] = None, *, rand: Callable[[], int]) -> None:
        super().__init__(weights, rand=rand)
        self.seed = rand() & MASK64  # seed_(random_.random()) at construction
        self._sched: dict[Hashable, tuple[tuple[H, ...], _Edf[H] | None, Sequence[H]]] = {}

    def refresh(self) -> None:
        # Envoy's refresh() recreates every scheduler with ``seed`` warm-up picks.
        self._sched.clear()

    def _host_weight(self, host: H, active: Active[H]) -> float:
        raise NotImplementedError

    def _unweighted(self, hosts: Sequence[H], source: Hashable, active: Active[H]) -> H:
        raise NotImplementedError

    def _scheduler(self, hosts: Sequence[H], source: Hashable, active: Active[H]) -> _Edf[H] | None:
        cached = self._sched.get(source)
        if cached is not None and cached[2] is hosts:
            return cached[1]  # the very list seen last time (callers rebuild it on change)
        key = tuple(hosts)
        if cached is not None and cached[0] == key:
            self._sched[source] = (key, cached[1], hosts)
            return cached[1]
        edf: _Edf[H] | None = None
        if len(hosts) > 1 and len({self._weight(h) for h in hosts}) > 1:
            edf = _Edf.create_with_picks(hosts, lambda h: self._host_weight(h, active), self.seed)
        self._sched[source] = (key, edf, hosts)
        return edf

    def pick(
        self,
        hosts: Sequence[H],
        *,
        active: Active[H] | None = None,
        hash: int | None = None,
        attempt: int = 0,
        source: Hashable = "healthy",
    ) -> H | None:
        act = active or _no_active
        cached = self._sched.get(source)
        if cached is not None and cached[2] is hosts:
            edf = cached[1]  # _scheduler's first case, inlined: nearly every pick
        else:
            edf = self._scheduler(hosts, source, act)
        if edf is not None:
            return edf.pick_and_add(lambda h: self._host_weight(h, act))
        if not hosts:
            return None
        return self._unweighted(hosts, source, act)


class RoundRobin(_EdfBalancer[H]):
    """ROUND_ROBIN: index rotation from ``seed`` when weights are equal, else EDF on weight."""

    def __init__(self, weights: Weights[H] = None, *, rand: Callable[[], int]) -> None:
        super().__init__(weights, rand=rand)
        self._rr: dict[Hashable, int] = {}  # survives refresh(), like rr_indexes_.insert()

    def _host_weight(self, host: H, active: Active[H]) -> float:
        return self._weight(host)

    def _unweighted(self, hosts: Sequence[H], source: Hashable, active: Active[H]) -> H:
        index = self._rr.get(source, self.seed)
        self._rr[source] = index + 1
        return hosts[index % len(hosts)]


class LeastRequest(_EdfBalancer[H]):
    """LEAST_REQUEST: N random choices (with replacement) when weights are equal, else EDF on
    ``weight / (active + 1) ** active_request_bias``."""

    def __init__(
        self,
        weights: Weights[H] = None,
        *,
        rand: Callable[[], int],
        choice_count: int = 2,
        active_request_bias: float = 1.0,
    ) -> None:
        if choice_count < 2:
            raise ValueError("least_request choice_count must be >= 2 (Envoy proto validation)")
        super().__init__(weights, rand=rand)
        self.choice_count = choice_count
        # Envoy falls back to 1.0 for a negative (invalid) runtime bias.
        self.bias = active_request_bias if active_request_bias >= 0 else 1.0

    def _host_weight(self, host: H, active: Active[H]) -> float:
        weight = self._weight(host)
        value = active(host) + 1
        if self.bias == 1.0:
            return weight / value
        if self.bias != 0.0:
            return weight / value**self.bias
        return weight

    def _unweighted(self, hosts: Sequence[H], source: Hashable, active: Active[H]) -> H:
        candidate: H | None = None
        for _ in range(self.choice_count):
            sampled = hosts[self._rand() % len(hosts)]
            if candidate is None or active(sampled) < active(candidate):
                candidate = sampled
        assert candidate is not None
        return candidate


class Random(Balancer[H]):
    """RANDOM: one draw, ``hosts[r % n]`` (drawn even when the host list is empty)."""

    def pick(
        self,
        hosts: Sequence[H],
        *,
        active: Active[H] | None = None,
        hash: int | None = None,
        attempt: int = 0,
        source: Hashable = "healthy",
    ) -> H | None:
        r = self._rand()
        if not hosts:
            return None
        return hosts[r % len(hosts)]


# A hashing balancer's lookup structure: (ring hashes or Maglev slots, owners).
Table = tuple[list[int], list[H]]


class _HashingBalancer(Balancer[H]):
    """Thread-aware hashing LBs: a table per host list, no hash → a random one."""

    uses_hash = True
    _CACHE = 8

    def __init__(
        self, weights: Weights[H] = None, *, rand: Callable[[], int], key: Callable[[H], str] = str
    ) -> None:
        super().__init__(weights, rand=rand)
        self._key = key
        self._tables: dict[tuple[tuple[H, ...], tuple[float, ...]], Table[H]] = {}
        self._last: tuple[Sequence[H], Table[H]] | None = None  # the list seen last time
        self._equal_weights = weights is None  # weights that cannot change under us

    def _normalized(self, hosts: Sequence[H]) -> list[tuple[H, float]]:
        weights = [self._weight(h) for h in hosts]
        total = sum(weights)
        return [(h, w * 1.0 / total) for h, w in zip(hosts, weights, strict=True)]

    def _cached(self, hosts: Sequence[H]) -> Table[H]:
        last = self._last
        if self._equal_weights and last is not None and last[0] is hosts:
            return last[1]  # callers rebuild their host list when it changes
        cache_key = (tuple(hosts), tuple(self._weight(h) for h in hosts))
        table = self._tables.get(cache_key)
        if table is None:
            if len(self._tables) >= self._CACHE:
                self._tables.pop(next(iter(self._tables)))
            table = self._build(hosts)
            self._tables[cache_key] = table
        self._last = (hosts, table)
        return table

    def _build(self, hosts: Sequence[H]) -> Table[H]:
        raise NotImplementedError

    def _lookup(self, table: Table[H], h: int, attempt: int) -> H:
        raise NotImplementedError

    def pick(
        self,
        hosts: Sequence[H],
        *,
        active: Active[H] | None = None,
        hash: int | None = None,
        attempt: int = 0,
        source: Hashable = "healthy",
    ) -> H | None:
        """One hash per request (a random one without a key); ``attempt`` moves the lookup."""
        h = (hash if hash is not None else self.random_hash()) & MASK64
        table = self._cached(hosts)
        if not table[0]:
            return None
        return self._lookup(table, h, attempt)


class RingHash(_HashingBalancer[H]):
    """RING_HASH (ketama): ``ceil(scale)`` entries keyed ``"<key>_<i>"``; lookup = first entry
    with hash >= request hash (wrapping); host-selection attempt k walks k entries further."""

    def __init__(
        self,
        weights: Weights[H] = None,
        *,
        rand: Callable[[], int],
        key: Callable[[H], str] = str,
        min_ring_size: int = 1024,
        max_ring_size: int = 8 * 1024 * 1024,
    ) -> None:
        if min_ring_size > max_ring_size:
            raise ValueError("ring hash: minimum_ring_size > maximum_ring_size")
        super().__init__(weights, rand=rand, key=key)
        self.min_ring_size = min_ring_size
        self.max_ring_size = max_ring_size

    def _build(self, hosts: Sequence[H]) -> tuple[list[int], list[H]]:
        normalized = self._normalized(hosts)
        if not normalized:
            return [], []
        min_weight = min(1.0, *(w for _, w in normalized))
        scale = min(
            math.ceil(min_weight * self.min_ring_size) / min_weight, float(self.max_ring_size)
        )
        entries: list[tuple[int, H]] = []
        current = 0.0
        target = 0.0
        for host, weight in normalized:
            prefix = f"{self._key(host)}_"
            target += scale * weight
            i = 0
            while current < target:
                entries.append((stable_hash64(f"{prefix}{i}"), host))
                i += 1
                current += 1
        entries.sort(key=lambda e: e[0])
        return [e[0] for e in entries], [e[1] for e in entries]

    def ring(self, hosts: Sequence[H]) -> Table[H]:
        """The sorted (hashes, hosts) ring for this host list (cached)."""
        return self._cached(hosts)

    def _lookup(self, table: Table[H], h: int, attempt: int) -> H:
        hashes, owners = table
        index = bisect.bisect_left(hashes, h)
        if index == len(hashes):
            index = 0
        if attempt > 0:
            index = (index + attempt) % len(hashes)
        return owners[index]


def _is_prime(n: int) -> bool:
    if n < 2:
        return False
    if n % 2 == 0:
        return n == 2
    return all(n % d for d in range(3, math.isqrt(n) + 1, 2))


class Maglev(_HashingBalancer[H]):
    """MAGLEV: the paper's permutation table (offset/skip per host, weighted turns); attempt
    k > 0 XORs the hash with ``~0 - k + 1`` before the lookup."""

    def __init__(
        self,
        weights: Weights[H] = None,
        *,
        rand: Callable[[], int],
        key: Callable[[H], str] = str,
        table_size: int = 65537,
    ) -> None:
        if not _is_prime(table_size):
            raise ValueError("The table size of maglev must be prime number")
        super().__init__(weights, rand=rand, key=key)
        self.table_size = table_size

    def _build(self, hosts: Sequence[H]) -> tuple[list[int], list[H]]:
        normalized = self._normalized(hosts)
        if not normalized:
            return [], []
        size = self.table_size
        max_weight = max(0.0, *(w for _, w in normalized))
        order = sorted(range(len(normalized)), key=lambda i: self._key(normalized[i][0]))
        owners = [normalized[i][0] for i in order]
        weights = [normalized[i][1] for i in order]
        keys = [self._key(h) for h in owners]
        offsets = [stable_hash64(k) % size for k in keys]
        skips = [stable_hash64(k, 1) % (size - 1) + 1 for k in keys]
        targets = [0.0] * len(owners)
        nexts = [0] * len(owners)
        table = [-1] * size
        filled = 0
        iteration = 1
        while filled < size:
            for i in range(len(owners)):
                if filled >= size:
                    break
                if iteration * weights[i] < targets[i]:
                    continue
                targets[i] += max_weight
                offset, skip, nxt = offsets[i], skips[i], nexts[i]
                c = (offset + skip * nxt) % size
                while table[c] != -1:
                    nxt += 1
                    c = (offset + skip * nxt) % size
                table[c] = i
                nexts[i] = nxt + 1
                filled += 1
            iteration += 1
        return table, owners

    def table(self, hosts: Sequence[H]) -> Table[H]:
        """(slot → owner index, owners) for this host list (cached)."""
        return self._cached(hosts)

    def _lookup(self, table: Table[H], h: int, attempt: int) -> H:
        slots, owners = table
        if attempt > 0:
            h ^= (MASK64 - attempt + 1) & MASK64
        return owners[slots[h % self.table_size]]


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
