"""Envoy's per-pick load balancers: round robin, least request and random, on an EDF scheduler.

Upstream sources followed (envoyproxy/envoy, ``source/extensions/load_balancing_policies/``):
``common/load_balancer_impl.cc`` (``EdfLoadBalancerBase``), ``round_robin/round_robin_lb.h``,
``least_request/least_request_lb.cc``, ``random/random_lb.cc`` and
``source/common/upstream/edf_scheduler.h``; reference/envoy-istio.md §5. The hashing policies
are in :mod:`~meshsim.sim.envoy.hashing`; panic, priorities and the host-selection loop in
:mod:`~meshsim.sim.envoy.host_selection`.

Deviation, deliberate: slow start and preconnect peeking are not modelled.

The classes are C types in the compiled build (balancers.pxd): they derive from
:class:`~meshsim.sim.generic.GenericBase` and a ``Generic[H]`` that only type checkers see,
and a compiled caller picks through :meth:`Balancer.pick_from` (positional: a C call).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from typing import ClassVar, TypeVar

from meshsim.sim.generic import Generic, GenericBase
from meshsim.sim.sampling import U64Blocks

H = TypeVar("H", bound=Hashable)

MASK64 = (1 << 64) - 1
Weights = Callable[[H], float] | Mapping[H, float] | None
Active = Callable[[H], int]


def _weight_fn(weights: Weights[H]) -> Callable[[H], float]:
    if weights is None:
        return lambda _h: 1.0
    if isinstance(weights, Mapping):
        table = weights
        return lambda h: float(table.get(h, 1.0))
    return weights


def _no_active(_host: object) -> int:
    return 0


_NEVER = object()  # the sentinel of a draw iterator made from a plain callable: never drawn


def draws(rand: Callable[[], int]) -> Iterator[int]:
    """``rand``'s values as an iterator, so that a compiled pick draws with ``next`` (a C slot
    call) rather than a Python call of a method wrapper.

    meshsim's streams already are one: the compiled build's
    (:class:`~meshsim.sim.sampling.U64Blocks`) is returned itself, and of the pure build's
    :func:`~meshsim.rng.Batched`, which is an iterator's ``__next__``, that iterator; so
    ``rand()`` and ``next()`` take from the same values in the same order. Any other callable
    (a test's pinned roll) is wrapped.
    """
    if isinstance(rand, Iterator):
        return rand
    owner = getattr(rand, "__self__", None)
    if isinstance(owner, Iterator) and rand == owner.__next__:
        return owner
    return iter(rand, _NEVER)


# -- EDF scheduler ------------------------------------------------------------------------------


class _Edf(GenericBase, Generic[H]):
    """``EdfScheduler``: earliest deadline first, deadline = now + 1/weight, FIFO on ties."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, H]] = []
        self._time = 0.0
        self._order = 0

    def add(self, weight: float, host: H) -> None:
        heapq.heappush(self._heap, (self._time + 1.0 / weight, self._order, host))
        self._order += 1

    def pop(self) -> H | None:
        """Take the host with the earliest deadline; its deadline becomes the current time."""
        if not self._heap:
            return None
        deadline, _, host = heapq.heappop(self._heap)
        self._time = deadline
        return host

    def pick_and_add(self, weight: Callable[[H], float]) -> H | None:
        host = self.pop()
        if host is not None:
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


class Balancer(GenericBase, Generic[H]):
    """One interface for every policy: ``pick`` one host from the given host source.

    ``source`` names the host list (Envoy keeps separate round-robin indexes and EDF schedules
    per ``HostsSource``: healthy hosts vs all hosts in panic). ``attempt`` is the index of the
    pick inside one host-selection loop; only the hashing balancers use it.
    """

    uses_hash: ClassVar[bool] = False

    def __init__(self, weights: Weights[H] = None, *, rand: Callable[[], int]) -> None:
        self._rand = rand
        self._draws = draws(rand)  # the same values: a pick's draw is ``next(self._draws)``
        # The compiled build's stream itself: a C call per draw, no int object made and read
        # back (a retry's picks, two draws each, are most of an overloaded mesh's draws).
        self._u64 = rand if isinstance(rand, U64Blocks) else None
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

    def pick_from(
        self, hosts: Sequence[H], active: Active[H] | None, hash: int | None, attempt: int,
        source: Hashable,
    ) -> H | None:
        """:meth:`pick` with positional arguments, which a compiled caller calls in C.

        The compiled balancers implement both; a balancer written in Python (the hashing ones)
        implements :meth:`pick` only, and this default calls it.
        """
        return self.pick(hosts, active=active, hash=hash, attempt=attempt, source=source)

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


class _EdfBalancer(Balancer, Generic[H]):
    """``EdfLoadBalancerBase``: EDF when weights differ, an unweighted pick when they are equal."""

    def __init__(self, weights: Weights[H] = None, *, rand: Callable[[], int]) -> None:
        super().__init__(weights, rand=rand)
        self.seed = rand() & MASK64  # seed_(random_.random()) at construction
        self._sched: dict[Hashable, tuple[tuple[H, ...], _Edf[H] | None, Sequence[H]]] = {}
        # The last pick's (source, host list, scheduler): ``_sched[source]`` as it stands, as
        # only a pick from that source changes it; the next pick is nearly always the same.
        self._last_source: Hashable = None
        self._last_hosts: Sequence[H] | None = None
        self._last_edf: _Edf[H] | None = None

    def refresh(self) -> None:
        # Envoy's refresh() recreates every scheduler with ``seed`` warm-up picks.
        self._sched.clear()
        self._last_hosts = None

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
        return self.pick_from(hosts, active, hash, attempt, source)

    def pick_from(
        self, hosts: Sequence[H], active: Active[H] | None, hash: int | None, attempt: int,
        source: Hashable,
    ) -> H | None:
        act = active if active is not None else _no_active
        if hosts is self._last_hosts and source is self._last_source:
            edf = self._last_edf  # the very list and source of the last pick: nearly every pick
        else:
            cached = self._sched.get(source)
            if cached is not None and cached[2] is hosts:
                edf = cached[1]  # _scheduler's first case, inlined
            else:
                edf = self._scheduler(hosts, source, act)
            self._last_source = source
            self._last_hosts = hosts
            self._last_edf = edf
        if edf is not None:  # pick_and_add, without a closure per pick
            host = edf.pop()
            if host is not None:
                edf.add(self._host_weight(host, act), host)
            return host
        if not hosts:
            return None
        return self._unweighted(hosts, source, act)


class RoundRobin(_EdfBalancer, Generic[H]):
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


class LeastRequest(_EdfBalancer, Generic[H]):
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
        n = len(hosts)
        candidate: H | None = None
        u64 = self._u64
        for _ in range(self.choice_count):
            # 64-bit unsigned: a C integer when compiled, as is ``n``
            draw = u64.next_u64() if u64 is not None else next(self._draws)
            sampled = hosts[draw % n]
            if candidate is None:
                candidate = sampled
            elif sampled is not candidate and active(sampled) < active(candidate):
                candidate = sampled  # (the same host drawn again has nothing to compare)
        assert candidate is not None
        return candidate


class Random(Balancer, Generic[H]):
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
        return self.pick_from(hosts, active, hash, attempt, source)

    def pick_from(
        self, hosts: Sequence[H], active: Active[H] | None, hash: int | None, attempt: int,
        source: Hashable,
    ) -> H | None:
        u64 = self._u64
        r = u64.next_u64() if u64 is not None else next(self._draws)
        if not hosts:
            return None
        return hosts[r % len(hosts)]
