"""Envoy's consistent-hashing load balancers: ring hash (ketama) and Maglev.

Upstream sources followed (envoyproxy/envoy, ``source/extensions/load_balancing_policies/``):
``ring_hash/ring_hash_lb.cc``, ``maglev/maglev_lb.cc`` and ``common/thread_aware_lb_impl.cc``
(a table per host list, a random hash when the request has none); the hash function stands in
for ``source/common/common/hash.h``. Reference/envoy-istio.md §5.

Deviation, deliberate: hashing uses :func:`stable_hash64` (BLAKE2b, 8-byte digest) instead of
xxHash64, which is not installed here; rings and Maglev tables therefore place hosts differently
from Envoy, but with the same construction, sizes and lookup rules.
"""

from __future__ import annotations

import bisect
import hashlib
import math
from collections.abc import Callable, Hashable, Sequence

from meshsim.sim.envoy.balancers import MASK64, Active, Balancer, H, Weights


def stable_hash64(data: str | bytes, seed: int = 0) -> int:
    """A stable unsigned 64-bit hash standing in for Envoy's ``HashUtil::xxHash64(data, seed)``."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    salt = seed.to_bytes(16, "little") if seed else b""
    return int.from_bytes(hashlib.blake2b(raw, digest_size=8, salt=salt).digest(), "little")


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
