"""The balancers' two entry points: ``pick`` (keywords, the API and upstream's tests) and
``pick_from`` (positional, what the compiled cluster calls in C) must be the same balancer.

The algorithms themselves are certified against Envoy's tests in
tests/conformance/envoy/test_conformance_balancers.py.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence

import numpy as np
import pytest
from envoy_mocks import Pinned

from meshsim.rng import Batched, Streams
from meshsim.sim.envoy import Balancer, LeastRequest, Maglev, Random, RingHash, RoundRobin
from meshsim.sim.envoy.balancers import Active, draws
from meshsim.sim.sampling import U64Blocks, block_sizes, random64

HOSTS = ["a", "b", "c", "d", "e"]
ACTIVE = {"a": 3, "b": 0, "c": 1, "d": 0, "e": 2}
DRAWS = (7, 3, 11, 2, 19, 5, 8, 13, 1, 4, 17, 6) * 4

Make = Callable[[Pinned], Balancer[str]]
POLICIES: dict[str, Make] = {
    "round_robin": lambda r: RoundRobin(rand=r),
    "weighted_round_robin": lambda r: RoundRobin({"a": 1.0, "b": 3.0, "c": 2.0}, rand=r),
    "least_request": lambda r: LeastRequest(rand=r),
    "weighted_least_request": lambda r: LeastRequest({"a": 2.0, "b": 1.0}, rand=r),
    "random": lambda r: Random(rand=r),
    "ring_hash": lambda r: RingHash(rand=r, min_ring_size=64),
    "maglev": lambda r: Maglev(rand=r, table_size=61),
}


def _picks(make: Make, positional: bool) -> tuple[list[str | None], int]:
    rand = Pinned(*DRAWS, repeat=9)
    lb = make(rand)
    out: list[str | None] = []
    for i in range(20):
        hosts = HOSTS if i < 12 else HOSTS[:3]  # a host-set change half-way
        source = "healthy" if i % 3 else "all"
        hash_ = 1000 + 37 * i if lb.uses_hash else None
        if positional:
            out.append(lb.pick_from(hosts, ACTIVE.__getitem__, hash_, 0, source))
        else:
            out.append(lb.pick(hosts, active=ACTIVE.__getitem__, hash=hash_, source=source))
    return out, rand.calls


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_pick_from_is_pick_with_positional_arguments(policy: str) -> None:
    picks, draws = _picks(POLICIES[policy], positional=True)
    assert (picks, draws) == _picks(POLICIES[policy], positional=False)
    assert None not in picks and len(set(picks)) > 1  # the sequence says something


def test_a_balancer_written_in_python_gets_pick_from() -> None:
    """A subclass that implements only ``pick`` (as the hashing balancers do) is still
    reachable through ``pick_from``, with every argument passed on."""
    seen: list[tuple[int | None, int, Hashable]] = []

    class First(Balancer[str]):
        def pick(
            self, hosts: Sequence[str], *, active: Active[str] | None = None,
            hash: int | None = None, attempt: int = 0, source: Hashable = "healthy",
        ) -> str | None:
            seen.append((hash, attempt, source))
            return hosts[0] if hosts else None

    lb = First(rand=Pinned())
    assert lb.pick_from(["x", "y"], None, 5, 2, "all") == "x"
    assert seen == [(5, 2, "all")]


def test_a_streams_draws_are_its_own_iterator_shared_with_rand() -> None:
    """A meshsim stream (``sampling.U64Blocks`` compiled, ``rng.Batched``'s chain otherwise)
    is drawn through its iterator, not a copy: picks (``next``) and other users of ``rand``
    (a random hash) take turns on one sequence."""
    rand = random64(np.random.Generator(np.random.PCG64(7)))
    expected = random64(np.random.Generator(np.random.PCG64(7)))
    it = draws(rand)
    assert it is getattr(rand, "__self__", rand)
    got = [next(it) if i % 2 else rand() for i in range(300)]  # across the first block
    assert got == [expected() for _ in range(300)]


@pytest.mark.parametrize("make", [LeastRequest, Random])
def test_picks_draw_from_a_typed_stream_what_they_draw_from_its_values(
    make: Callable[..., Balancer[str]],
) -> None:
    """LeastRequest and Random draw from a ``U64Blocks`` stream with a C call (``_u64``), from
    anything else with ``next``: the same values give the same picks (both builds run this)."""
    hosts = ["a", "b", "c", "d", "e"]
    load = {"a": 3, "b": 0, "c": 1, "d": 2, "e": 0}

    def active(host: str) -> int:
        return load[host]

    stream = U64Blocks(Streams(5).get("lb").bit_generator.random_raw, block_sizes(64))
    values = Batched(Streams(5).get("lb").bit_generator.random_raw, 4096, 64)
    typed, plain = make(rand=stream), make(rand=values)
    assert typed._u64 is stream and plain._u64 is None
    picks = [typed.pick_from(hosts, active, None, 0, "healthy") for _ in range(200)]
    assert picks == [plain.pick_from(hosts, active, None, 0, "healthy") for _ in range(200)]
    assert set(picks) == set(hosts) if make is Random else set(picks) <= set(hosts)


def test_a_plain_callable_is_drawn_call_by_call() -> None:
    pinned = Pinned(5, 9, repeat=2)
    it = draws(pinned)
    assert [next(it) for _ in range(4)] == [5, 9, 2, 2]
    assert pinned.calls == 4


def test_each_source_keeps_its_own_scheduler_between_interleaved_picks() -> None:
    """The balancer remembers the last pick's (source, hosts, scheduler): two sources picking
    in turn from one list must each get the picks they get alone, and a source's rebuilt
    host list right after its own pick a schedule over the new hosts."""
    weights = {"a": 1.0, "b": 3.0, "c": 2.0}
    hosts = ["a", "b", "c"]

    def alone(n: int) -> list[str | None]:
        lb = RoundRobin(weights, rand=Pinned(11))
        return [lb.pick_from(hosts, None, None, 0, "s") for _ in range(n)]

    lb = RoundRobin(weights, rand=Pinned(11))
    mixed = [(lb.pick_from(hosts, None, None, 0, "healthy"),
              lb.pick_from(hosts, None, None, 0, "all")) for _ in range(12)]
    assert [h for h, _ in mixed] == [a for _, a in mixed] == alone(12)

    lb.pick_from(hosts, None, None, 0, "healthy")
    smaller = ["b", "c"]  # the healthy list rebuilt (an ejection): the next pick sees it
    after = [lb.pick_from(smaller, None, None, 0, "healthy") for _ in range(10)]
    assert set(after) == {"b", "c"} and after.count("b") == 6
