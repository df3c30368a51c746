"""``Kernel`` runs events exactly as SimPy's ``Environment`` does, on SimPy internals that exist.

The kernel replaces SimPy's ``step``/``run`` by its own loop (to keep the clock a plain
attribute) and reads SimPy's private attributes. These tests run the same processes on both
and compare what they observe, and fail loudly when a SimPy release moves what the kernel
relies on (pyproject pins the tested range).
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Generator
from typing import Any

import pytest
import simpy
import simpy.events
from hypothesis import given, settings
from hypothesis import strategies as st

from meshsim.sim.kernel import EventQueue, Kernel, Wake, call_later, order_key

Log = list[tuple[float, str]]


# -- the SimPy internals the kernel relies on ---------------------------------------------------
def _reads(fn: Any) -> set[str]:
    code = fn.fget.__code__ if isinstance(fn, property) else getattr(fn, "__code__", None)
    return set(code.co_names) if code is not None else set()


def test_simpy_has_the_internals_the_kernel_uses() -> None:
    env = simpy.Environment()
    assert isinstance(env._queue, list)
    assert isinstance(env._eid, itertools.count)
    assert env._now == 0
    event = env.event()
    assert event.callbacks == []
    event.succeed("v")
    assert (event._ok, event._value) == (True, "v")
    assert callable(simpy.core.StopSimulation.callback)
    assert issubclass(simpy.core.EmptySchedule, Exception)
    assert simpy.events.URGENT < simpy.events.NORMAL


def test_only_methods_the_kernel_overrides_read_simpys_clock() -> None:
    """The kernel keeps the time in ``now`` and drops ``_now``: every SimPy method that reads
    ``_now`` must be one the kernel overrides (or ``__init__``, which it wraps)."""
    readers = {name for name, fn in vars(simpy.Environment).items() if "_now" in _reads(fn)}
    assert readers <= {"__init__", "now", "schedule", "step"}
    for name in readers - {"__init__"}:
        assert name in vars(Kernel), name
    assert "run" in vars(Kernel)  # SimPy's run steps through ``step``: ours inlines it
    event_code = set().union(*(_reads(fn) for cls in vars(simpy.events).values()
                               if isinstance(cls, type) for fn in vars(cls).values()))
    assert "_now" not in event_code  # events schedule through ``env.schedule``


def test_the_kernel_exposes_simpys_heap_and_ids() -> None:
    env = Kernel()
    assert env.heap is env._queue
    assert env.ids is env._eid
    assert not hasattr(env, "_now")  # one clock


# -- same behaviour as SimPy --------------------------------------------------------------------
def _scenario(env: simpy.Environment, sleeps: list[list[float]], log: Log) -> None:
    """Processes that sleep and log, an event one of them triggers, and raw callbacks."""
    signal = env.event()

    def worker(i: int, delays: list[float]) -> Generator[simpy.Event, None, None]:
        for j, delay in enumerate(delays):
            yield env.timeout(delay)
            log.append((env.now, f"p{i}.{j}"))
            if i == 0 and j == 0:
                signal.succeed(i)

    def waiter() -> Generator[simpy.Event, None, None]:
        value = yield signal
        log.append((env.now, f"signal {value}"))

    for i, delays in enumerate(sleeps):
        env.process(worker(i, delays))
    env.process(waiter())
    for delay in (0.0, 1.0, 2.5):
        env.timeout(delay).callbacks.append(lambda ev, d=delay: log.append((env.now, f"t{d}")))


def _trace(cls: type[simpy.Environment], sleeps: list[list[float]],
           stops: list[float]) -> Log:
    env = cls()
    log: Log = []
    _scenario(env, sleeps, log)
    for stop in stops:
        if stop > env.now:
            env.run(until=stop)
            log.append((env.now, "stopped"))
    env.run()
    log.append((env.now, "drained"))
    return log


delays_st = st.lists(st.lists(st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.5]), max_size=5),
                     min_size=1, max_size=6)
stops_st = st.lists(st.sampled_from([0.5, 1.0, 1.5, 2.0, 2.5, 4.0]), max_size=3).map(sorted)


@settings(max_examples=200, deadline=None)
@given(delays_st, stops_st)
def test_the_kernel_runs_processes_as_simpy_does(
    sleeps: list[list[float]], stops: list[float]
) -> None:
    """Same order, same clock, same run-until stops (events at exactly ``until`` wait)."""
    assert _trace(Kernel, sleeps, stops) == _trace(simpy.Environment, sleeps, stops)


def test_events_at_the_until_time_run_on_the_next_run() -> None:
    env = Kernel()
    seen: list[float] = []
    call_later(env, 1.0, lambda ev: seen.append(env.now), None)
    env.run(until=1.0)
    assert (env.now, seen) == (1.0, [])
    env.run(until=2.0)
    assert seen == [1.0]


def test_the_clock_actors_read_is_the_kernels_at_every_event() -> None:
    env = Kernel(initial_time=2.0)
    seen: list[tuple[float, float]] = []

    def proc(env: Kernel) -> Generator[simpy.Event, None, None]:
        for delay in (0.25, 1.5):
            yield env.timeout(delay)
            seen.append((env.now, env.clock.now))

    assert env.clock.now == 2.0
    env.process(proc(env))
    for delay in (0.5, 3.0):
        call_later(env, delay, lambda ev: seen.append((env.now, env.clock.now)), None)
    env.run(until=10.0)
    assert seen == [(t, t) for t in (2.25, 2.5, 3.75, 5.0)]
    assert env.clock.now == env.now == 10.0
    call_later(env, 1.0, lambda ev: None, None)
    while env.peek() < float("inf"):  # single steps keep it too
        env.step()
        assert env.clock.now == env.now
    assert env.now == 11.0


def test_wakes_and_simpy_events_keep_insertion_order_at_one_time() -> None:
    env = Kernel()
    order: list[str] = []
    call_later(env, 1.0, lambda ev: order.append(ev.value), "wake 1")
    env.timeout(1.0).callbacks.append(lambda ev: order.append("timeout"))
    call_later(env, 1.0, lambda ev: order.append(ev.value), "wake 2")
    env.run()
    assert order == ["wake 1", "timeout", "wake 2"]


def test_run_until_an_event_returns_its_value_and_resumes_its_callbacks() -> None:
    results = []
    for cls in (Kernel, simpy.Environment):
        env = cls()
        done = env.timeout(1.0, value="v")
        after: list[float] = []

        def late(ev: object, env: simpy.Environment = env, after: list[float] = after) -> None:
            after.append(env.now)

        # Added once ``run`` has put its stop callback first: it runs when the run resumes.
        env.timeout(0.5).callbacks.append(lambda ev, done=done: done.callbacks.append(late))
        value = env.run(until=done)
        before_resume = list(after)
        env.run()
        results.append((value, before_resume, after, env.run(until=done)))
    assert results[0] == results[1] == ("v", [], [1.0], "v")


def test_a_failed_event_crashes_the_run_as_in_simpy() -> None:
    env = Kernel()
    env.event().fail(KeyError("lost"))
    with pytest.raises(KeyError) as info:
        env.run()
    assert isinstance(info.value.__cause__, KeyError)


def test_until_must_be_in_the_future() -> None:
    env = Kernel()
    env.run(until=1.0)
    with pytest.raises(ValueError, match="greater than the current simulation time"):
        env.run(until=1.0)


def test_step_processes_one_event() -> None:
    env = Kernel()
    seen: list[object] = []
    call_later(env, 0.5, lambda ev: seen.append(ev.value), "a")
    env.step()
    assert (env.now, seen) == (0.5, ["a"])
    with pytest.raises(simpy.core.EmptySchedule):
        env.step()


def test_events_scheduled_counts_every_event_id() -> None:
    env = Kernel()
    env.timeout(1.0)
    call_later(env, 1.0, lambda ev: None, None)
    assert env.events_scheduled() == 2


# -- the compiled build's event queue -----------------------------------------------------------
keys_st = st.lists(st.tuples(st.sampled_from([0.0, 0.25, 1.0, 1.0 + 1e-12, 3.0]),
                             st.sampled_from([-1, 0, 1])), max_size=60)
ops_st = st.lists(st.booleans(), max_size=120)  # True: push the next key; False: pop one


@settings(max_examples=300, deadline=None)
@given(keys_st, ops_st)
def test_the_event_queue_pops_in_heapq_tuple_order(
    keys: list[tuple[float, int]], ops: list[bool]
) -> None:
    """EventQueue (every event of the compiled build) and SimPy's heap of (time, priority,
    id) tuples give the same sequence for any interleaving of pushes and pops, ties
    included: the two builds run events in one order."""
    queue = EventQueue()
    tuples: list[tuple[float, int, int, object]] = []
    ids = itertools.count()
    popped_queue: list[object] = []
    popped_tuples: list[object] = []
    pending = iter(keys)
    for push in [*ops, *[False] * len(keys)]:
        if push:
            key = next(pending, None)
            if key is None:
                continue
            value = object()
            queue.push(key[0], key[1], Wake(None, value))
            heapq.heappush(tuples, (key[0], key[1], next(ids), value))
        elif tuples:
            popped_queue.append(queue.pop().value)
            popped_tuples.append(heapq.heappop(tuples)[3])
    assert popped_queue == popped_tuples
    assert queue.peek() == (tuples[0][0] if tuples else float("inf"))


def test_the_event_queue_numbers_events_in_push_order() -> None:
    queue = EventQueue()
    first = queue.take_id()
    queue.push(1.0, 1, Wake(None, "b"))
    queue.push_keyed(1.0, 1, first, Wake(None, "a"))  # an id taken before, as Timers do
    assert [queue.pop().value, queue.pop().value] == ["a", "b"]
    assert queue.next_id == 2 and not queue.size


def test_the_event_queue_grows_and_reuses_slots_in_heapq_order() -> None:
    """Thousands queued at once (the arrays and slots grow several times), popped and pushed
    in waves (freed slots are reused): still heapq's order of (time, priority, id)."""
    rng = random.Random(12)
    queue = EventQueue()
    tuples: list[tuple[float, int, int, object]] = []
    ids = itertools.count()
    popped_queue: list[object] = []
    popped_tuples: list[object] = []
    for wave in range(6):
        for _ in range(1500 * (wave % 3 + 1)):
            when, priority = rng.choice([0.5, 1.0, 2.0]) + wave, rng.choice([-1, 0, 1])
            value = object()
            queue.push(when, priority, Wake(None, value))
            heapq.heappush(tuples, (when, priority, next(ids), value))
        for _ in range(len(tuples) * 2 // 3):
            popped_queue.append(queue.pop().value)
            popped_tuples.append(heapq.heappop(tuples)[3])
    assert popped_queue == popped_tuples
    assert len(queue) == len(tuples) and len(queue.queued()) == len(tuples)
    queue.clear()
    assert len(queue) == 0 and queue.queued() == [] and queue.peek() == float("inf")
    queue.push(1.0, 1, Wake(None, "after"))
    assert queue.pop().value == "after"


def test_an_event_key_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="out of range"):
        order_key(2000, 1)
    with pytest.raises(ValueError, match="out of range"):
        order_key(1, 1 << 52)
    assert order_key(-1, 5) < order_key(0, 0) < order_key(0, 1) < order_key(1, 0)
    # ids far past 2**32 (a long run schedules millions of events) keep their order
    ids = [(1 << 20) - 1, 1 << 20, (1 << 31) + 1, (1 << 40) + 7, (1 << 52) - 1]
    assert [order_key(1, eid) for eid in ids] == sorted(order_key(1, eid) for eid in ids)
    assert order_key(-1, (1 << 52) - 1) < order_key(0, 0)


def test_a_queue_past_a_million_events_keeps_order() -> None:
    """Ids beyond 2**20 and 2**32 (the compiled key must not be cut to C ``int``)."""
    queue = EventQueue()
    queue.next_id = (1 << 32) - 3
    for i in range(6):
        queue.push(1.0, 1, Wake(None, i))
    assert [queue.pop().value for _ in range(6)] == list(range(6))
