# cython: boundscheck=False, wraparound=False, initializedcheck=False
# (the compiled build trusts this module's indexes: the heap's and the timers' arrays are read
# at every event; the pure build, which runs the same code, and its tests check every index)
"""The event kernel: SimPy's ``Environment`` with a public clock and a direct scheduling path.

This is the only module that touches SimPy's private attributes (ruff SLF001 and an import
contract keep it so); pyproject pins simpy to the versions it is tested on, and
tests/sim/test_sim_kernel_loop.py fails on a SimPy that moves them.

Why :class:`Kernel` runs its own loop: SimPy keeps the clock in ``_now`` behind the ``now``
property, and a property call costs about four times a plain attribute read (measured: 55 ns
against 13 ns). The hot path reads the clock about twice per event (three-hop, 60 s: 1.8 M
reads in 0.9 M events), so ``env.now`` through the property would cost some 3 % of a run.
:class:`Kernel` keeps the clock in one place, :attr:`Kernel.clock`'s ``now`` (the
:class:`EventQueue`'s: a C field when compiled, a slot otherwise), which its loop sets as it
pops an event and the actors read directly; ``env.now`` is a property over it, for SimPy's
processes and extensions. (An instance attribute set per event instead was 4 % of a compiled
run's instructions: a dictionary store and a float object per event.) The kernel schedules
from that clock. Its loop is SimPy's, inlined (which also saves a method call per event):
the same heap, ordered by (time, priority, insertion id), the same callback and failure
handling, and the same run-until semantics (``run(until=t)`` schedules a stop event URGENT
at ``t``, so NORMAL events at exactly ``t`` do not run). Events made through SimPy's public
API (``env.timeout``, ``env.process``, ``env.event``) go through :meth:`Kernel.schedule`
and run as before.

The per-request hot path schedules two to six wake-ups per hop. A SimPy ``Timeout``
validates its delay, binds an environment and goes through ``Environment.schedule``; here
we push a minimal :class:`Wake` (a function and its argument) straight onto the same heap
under the same key, and the loop calls it directly: no callback list, no outcome to check
(about 15 % less per wake-up than a callback on a SimPy event). Everything else in meshsim,
including long-lived processes, uses SimPy's public API on the same kernel, so ordering
between the two kinds of event is the kernel's own.

Two queues, one order. The pure-Python build keeps SimPy's own heap of
``(time, priority, id, event)`` tuples: ``heapq`` is C, and nothing written in Python beats
it. The compiled build (``kernel.pxd``; :data:`WAKE_HEAP`) keeps every event, SimPy's
included, in an :class:`EventQueue`: a binary heap of C keys (time, and priority with id as
one integer) over :class:`Wake` objects that stay in fixed slots, so a push or a pop
compares and moves C numbers instead of tuples (``tuplerichcompare`` on boxed floats), and
allocates no tuple, float or counter object per event. A SimPy event rides in a ``Wake``
whose ``fn`` is None. The key is the same triple,
the ids are taken in the same sequence, and a key is unique, so both queues run events in
exactly the same order (``benchmarks/identical.py`` checks the frames of both builds).
"""

from __future__ import annotations

import os
import re
from array import array
from collections.abc import Callable
from heapq import heappop, heappush
from types import FunctionType
from typing import Any

import simpy
from simpy.core import EmptySchedule, StopSimulation
from simpy.events import NORMAL, URGENT, Event, EventPriority

Callback = Callable[[Any], None]

__all__ = [
    "NORMAL", "WAKE_HEAP", "Callback", "EventQueue", "Kernel", "Timers", "Wake", "call_later",
    "drain",
]


class Kernel(simpy.Environment):
    """A SimPy environment whose clock is ``clock.now`` (see the module docstring).

    ``heap`` is SimPy's event queue and ``ids`` its insertion-id counter (the same objects),
    for actors that push :class:`Wake` events themselves; with :data:`WAKE_HEAP` (the
    compiled build) ``queue`` is the :class:`EventQueue` that holds every event instead.
    ``clock`` is that queue in both builds, and its ``now`` the time (a C read when compiled).
    """

    def __init__(self, initial_time: float = 0) -> None:
        super().__init__(initial_time)
        del self._now  # one clock: a SimPy method we did not override fails, never reads stale
        self.heap: list[tuple[float, EventPriority, int, Any]] = self._queue
        self.ids = self._eid
        self.queue = EventQueue(initial_time)
        # The clock, and what the actors read the time from: the queue's ``now`` (a C field in
        # the compiled build, a slot in the pure one), which the loop sets as it pops an event.
        self.clock: EventQueue = self.queue
        self.timers: list[Timers] = []  # every Timers on this kernel (take_wake_values)

    @property
    def now(self) -> float:
        """The simulated time: the clock's (SimPy's ``now``, for processes and extensions)."""
        return self.clock.now

    def take_wake_values(self) -> list[Any]:
        """Drop every pending :class:`Wake` (the actors' wake-ups and timers, each let go of)
        and return what they carried; SimPy's own events stay, in order.

        For the end of a run (:mod:`meshsim.sim.teardown`): the values are the requests still
        in flight. The kernel must not run the actors' events again."""
        values = [value for timers in self.timers for value in timers.take_values()]
        if WAKE_HEAP:
            kept = []
            for wake in self.queue.queued():
                if wake.fn is None:
                    kept.append(wake)
                elif wake.value is not None:
                    values.append(wake.value)
                    wake.value = None
            self.queue.clear()
            for wake in kept:
                self.queue.push_keyed(wake.when, wake.priority, wake.eid, wake)
        else:
            entries = []
            for entry in self.heap:
                event = entry[3]
                if type(event) is not Wake:
                    entries.append(entry)
                elif event.value is not None:
                    values.append(event.value)
                    event.value = None
            entries.sort(key=lambda entry: entry[:3])
            self.heap[:] = entries
        return values

    def schedule(self, event: Event, priority: EventPriority = NORMAL, delay: float = 0) -> None:
        if WAKE_HEAP:
            self.queue.push(self.clock.now + delay, priority, Wake(None, event))
        else:
            heappush(self.heap, (self.clock.now + delay, priority, next(self.ids), event))

    def peek(self) -> float:
        """The time of the next event (infinity when there is none), as SimPy's ``peek``."""
        if WAKE_HEAP:
            return self.queue.peek()
        return self.heap[0][0] if self.heap else float("inf")

    def events_scheduled(self) -> int:
        """How many events were scheduled so far (the insertion-id counter's position)."""
        if WAKE_HEAP:
            return self.queue.next_id
        match = re.search(r"\d+", repr(self.ids))
        return int(match.group()) if match else 0

    def step(self) -> None:
        """Process the next event (SimPy's ``Environment.step``)."""
        if WAKE_HEAP:
            if not self.queue.size:
                raise EmptySchedule
            wake = self.queue.pop()  # the clock moves to its time
            if wake.fn is not None:
                wake.fn(wake)
                return
            event = wake.value
        else:
            try:
                self.clock.now, _, _, event = heappop(self.heap)
            except IndexError:
                raise EmptySchedule from None
            if type(event) is Wake:
                event.fn(event)  # type: ignore[misc]  # only EventQueue holds a None fn
                return
        _run_callbacks(self, event)

    def run(self, until: float | Event | None = None) -> Any:
        """SimPy's ``Environment.run``, stepping in an inlined loop."""
        if until is not None:
            if not isinstance(until, Event):
                at = until if isinstance(until, int) else float(until)
                if at <= self.now:
                    raise ValueError(
                        f"until ({at}) must be greater than the current simulation time")
                until = Event(self)  # before all regular events at ``at``
                until._ok = True
                until._value = None
                self.schedule(until, URGENT, at - self.now)
            elif until.callbacks is None:
                return until.value  # already processed
            until.callbacks.append(StopSimulation.callback)
        try:
            self._loop()
        except StopSimulation as exc:
            return exc.args[0]
        except EmptySchedule:
            if until is not None:
                assert not until.triggered
                raise RuntimeError(
                    f'No scheduled events left but "until" event was not triggered: {until}'
                ) from None
        return None

    def _loop(self) -> None:
        """:meth:`step` until the queue is empty (or a callback stops the simulation)."""
        if WAKE_HEAP:
            drain_queue(self, self.queue)
        else:
            drain(self, self.heap)
        raise EmptySchedule

    def _resume_later(self, event: Any, callbacks: list[Callback], stopped_at: Callback) -> None:
        """The simulation stopped inside ``event``'s callbacks: the rest run on resuming."""
        event.callbacks = callbacks[callbacks.index(stopped_at) + 1:]
        self.schedule(event, EventPriority(-1))


def drain(env: Kernel, heap: list[tuple[float, EventPriority, int, Any]]) -> None:
    """Run events until ``heap`` is empty or a callback raises (:class:`StopSimulation`).

    :meth:`Kernel.run`'s loop over SimPy's heap (the pure build); the ordering is the
    heap's, (time, priority, id)."""
    pop = heappop
    clock = env.clock
    while heap:
        clock.now, _, _, event = pop(heap)
        if type(event) is Wake:  # the hot path: one callback, never fails
            wake = event
            wake.fn(wake)  # type: ignore[misc]  # only EventQueue holds a None fn
            continue
        _run_callbacks(env, event)


def drain_queue(env: Kernel, queue: EventQueue) -> None:
    """:func:`drain` over an :class:`EventQueue` (the compiled build, :data:`WAKE_HEAP`)."""
    while queue.size:
        wake = queue.pop()  # the clock (``queue.now``) moves to its time
        fn = wake.fn
        if fn is not None:  # the hot path: one callback, never fails
            fn(wake)
            continue
        _run_callbacks(env, wake.value)


def _run_callbacks(env: Kernel, event: Any) -> None:
    """A SimPy event's callbacks, with SimPy's failure and stop handling."""
    callbacks, event.callbacks = event.callbacks, None
    try:
        for callback in callbacks:
            callback(event)
    except StopSimulation:
        env._resume_later(event, callbacks, callback)
        raise
    if not event._ok and not hasattr(event, "_defused"):
        raise _failure(event)


def _failure(event: Any) -> BaseException:
    """A failed event nobody defused crashes the run, with a copy of its exception."""
    exc: BaseException = type(event._value)(*event._value.args)
    exc.__cause__ = event._value
    return exc


class Wake:
    """A scheduled callback ``fn(wake)``; ``value`` carries its argument. Lighter than a SimPy
    event (no callback list, no outcome): only :class:`Kernel`'s loop runs it. In an
    :class:`EventQueue` it also carries its key (``when``, ``priority``, ``eid``), and a SimPy
    event rides in one with ``fn`` None."""

    __slots__ = ("eid", "fn", "priority", "value", "when")

    when: float  # the key, set when the wake is queued (EventQueue.push_keyed, Timers)
    priority: int
    eid: int

    def __init__(self, fn: Callback | None, value: object) -> None:
        self.fn = fn
        self.value: Any = value  # whatever the scheduler passed; the callback knows its type


# An event's order among events of one time: its priority and insertion id in one integer,
# ``(priority + _PRIORITY_BIAS) << _ID_BITS | eid``, so that a tie on time is one comparison.
_ID_BITS = 52
_ID_LIMIT = 4_503_599_627_370_496  # 2**52, written out: a C shift of 1 would be 32 bits wide
_PRIORITY_BIAS = 1 << 10


def order_key(priority: int, eid: int) -> int:
    """(priority, id) as one integer ordered like the pair (SimPy's priorities are -1, 0 and
    1; any in [-1024, 1024) works, with up to 2**52 events)."""
    if not (-_PRIORITY_BIAS <= priority < _PRIORITY_BIAS and 0 <= eid < _ID_LIMIT):
        raise ValueError(f"event priority {priority} or id {eid} out of range")
    return ((priority + _PRIORITY_BIAS) << _ID_BITS) | eid


class EventQueue:
    """A binary min-heap of :class:`Wake` keyed by (``when``, ``priority``, ``eid``), with its
    own id counter: SimPy's heap and ``_eid`` for the compiled build (module docstring).

    ``heapq``'s algorithm (a new entry sifts up; a pop moves the last entry to the root's
    place along the smaller children, then up), on keys alone: the heap is three parallel
    arrays (each entry's time, its :func:`order_key`, and its slot in ``wakes``), and a wake
    stays in its slot while it is queued. A push or a pop compares and moves C numbers, 20
    bytes an entry, and touches no :class:`Wake` but the one it adds or takes: a heap of
    Wake objects read two of them per level, each a pointer away and cold when the heap
    holds long timers (an overloaded mesh keeps thousands of events queued). Ids are
    unique, so the pop order is the key order whatever the heap's shape.
    """

    __slots__ = ("_free", "_nfree", "_order", "_slot", "_when", "next_id", "now", "size",
                 "wakes")

    def __init__(self, now: float = 0.0) -> None:
        self.next_id = 0
        self.now = now  # the time of the last wake popped: the compiled actors' clock
        self.size = 0  # entries queued
        self.wakes: list[Wake | None] = []  # by slot
        self._when = array("d")
        self._order = array("q")
        self._slot = array("i")  # heap position -> slot
        self._free = array("i")  # a stack of the free slots
        self._nfree = 0
        self._grow(64)

    def __len__(self) -> int:
        return self.size

    def take_id(self) -> int:
        """The next insertion id, as ``next(ids)`` (for a key built before it is pushed)."""
        eid = self.next_id
        self.next_id = eid + 1
        return eid

    def push(self, when: float, priority: int, wake: Wake) -> None:
        """Schedule ``wake`` at ``when`` under the next insertion id."""
        self.push_keyed(when, priority, self.take_id(), wake)

    def wake_at(self, when: float, fn: Callback, value: object) -> None:
        """``push(when, NORMAL, Wake(fn, value))``, the wake allocated directly when compiled
        (``Wake(...)`` there is a Python-level call of the class: a tuple of arguments, the
        type's call and ``__init__``); the actors' hot path schedules through this."""
        wake = Wake.__new__(Wake)
        wake.fn = fn
        wake.value = value
        self.push_keyed(when, NORMAL, self.take_id(), wake)

    def push_keyed(self, when: float, priority: int, eid: int, wake: Wake) -> None:
        """Schedule ``wake`` under an id taken earlier (:meth:`take_id`)."""
        wake.when = when
        wake.priority = priority
        wake.eid = eid
        if not self._nfree:
            self._grow(2 * len(self.wakes))
        self._nfree -= 1
        slot = self._free[self._nfree]
        self.wakes[slot] = wake
        pos = self.size
        self.size = pos + 1
        self._sift_up(pos, when, order_key(priority, eid), slot)

    def pop(self) -> Wake:
        """Remove and return the earliest wake (the queue must not be empty); the clock
        ``now`` moves to its time."""
        when, slot = self._when[0], self._slot[0]
        wake = self.wakes[slot]
        self.wakes[slot] = None
        self._free[self._nfree] = slot
        self._nfree += 1
        self.now = when
        size = self.size - 1
        self.size = size
        if size:
            self._sift_down(size)
        assert wake is not None
        return wake

    def peek(self) -> float:
        """The earliest time, or infinity when empty."""
        return self._when[0] if self.size else float("inf")

    def queued(self) -> list[Wake]:
        """The wakes queued, in no particular order."""
        return [wake for wake in self.wakes if wake is not None]

    def clear(self) -> None:
        """Drop every queued wake (the ids go on counting)."""
        size = len(self.wakes)
        for index in range(size):
            self.wakes[index] = None
        for index in range(size):
            self._free[index] = size - 1 - index
        self._nfree = size
        self.size = 0

    def _grow(self, capacity: int) -> None:
        """Room for ``capacity`` entries: more slots (free) and longer key arrays."""
        old = len(self.wakes)
        self.wakes.extend([None] * (capacity - old))
        when = array("d", bytes(8 * capacity))
        order = array("q", bytes(8 * capacity))
        slot = array("i", bytes(4 * capacity))
        free = array("i", bytes(4 * capacity))
        size = self.size
        when[:size] = self._when[:size]
        order[:size] = self._order[:size]
        slot[:size] = self._slot[:size]
        nfree = self._nfree
        free[:nfree] = self._free[:nfree]
        for index in range(capacity - 1, old - 1, -1):  # new slots, the lowest on top
            free[nfree] = index
            nfree += 1
        self._when, self._order, self._slot, self._free = when, order, slot, free
        self._nfree = nfree

    def _sift_up(self, pos: int, when: float, order: int, slot: int) -> None:
        """Put the entry (``when``, ``order``, ``slot``) at ``pos`` or above it, moving later
        parents down (``heapq``'s ``_siftdown``): a push's last step, and a pop's."""
        while pos > 0:
            up = (pos - 1) >> 1
            if when > self._when[up] or (when == self._when[up] and order > self._order[up]):
                break
            self._when[pos] = self._when[up]
            self._order[pos] = self._order[up]
            self._slot[pos] = self._slot[up]
            pos = up
        self._when[pos] = when
        self._order[pos] = order
        self._slot[pos] = slot

    def _sift_down(self, size: int) -> None:
        """After a pop: the last entry (at ``size``) fills the root's hole, which goes down
        along the smaller children, then up (``heapq``'s ``_siftup``)."""
        when, order, slot = self._when[size], self._order[size], self._slot[size]
        pos = 0
        child = 1
        while child < size:
            right = child + 1
            if right < size and (self._when[right] < self._when[child] or (
                    self._when[right] == self._when[child]
                    and self._order[right] < self._order[child])):
                child = right
            self._when[pos] = self._when[child]
            self._order[pos] = self._order[child]
            self._slot[pos] = self._slot[child]
            pos = child
            child = 2 * pos + 1
        self._sift_up(pos, when, order, slot)


def _compiled() -> bool:
    """This module runs compiled: a Cython function is not a Python ``FunctionType``."""
    return not isinstance(_compiled, FunctionType)


# Every event in an EventQueue (the compiled build), or SimPy's tuple heap (the pure build).
# ``MESHSIM_WAKE_HEAP=1`` runs the EventQueue in the pure build too (slower: it is written for
# the compiler), which tests its order against the tuple heap without a compiler.
WAKE_HEAP = _compiled() or os.environ.get("MESHSIM_WAKE_HEAP", "") == "1"


def call_later(env: Kernel, delay: float, fn: Callback, value: object) -> None:
    """Run ``fn(wake)`` after ``delay`` simulated seconds; ``wake.value`` is ``value``."""
    if WAKE_HEAP:
        queue = env.queue  # typed when compiled: its ``now`` is the kernel's, read in C
        queue.wake_at(queue.now + delay, fn, value)
    else:
        heappush(env.heap, (env.clock.now + delay, NORMAL, next(env.ids), Wake(fn, value)))


# Slots a Timers FIFO starts with; it doubles when more than half of them are armed.
_FIFO_SLOTS = 64


class Timers:
    """Timeouts of one fixed delay, most of which are over before they fire.

    Each timer takes its event id when it is armed, exactly as :func:`call_later` would, but
    waits in a FIFO (a fixed delay and a clock that only moves forward keep it sorted by
    time, then id); only the head is on the kernel's heap, under the very key its own event
    would have had. When the head fires, the timers behind it that are already ``over`` are
    dropped without ever becoming events, and the next live one goes on the heap under its
    own key. The kernel therefore runs the same callbacks, in the same order and with the
    same ties, as with one event per timer, minus the callbacks that would have found their
    timer over and done nothing. ``over(value)`` must be monotone: once over, always over.

    A timer is not an object but a slot of three parallel arrays (its time, its event id, its
    value), read from ``_first`` to ``_end``; the FIFO's one :class:`Wake` goes on the heap
    under the head's key. Nothing is allocated per timer, and the timers a busy run arms and
    lets go of (two or three per hop attempt, most over long before their time) take 24
    contiguous bytes each, read in order, where a ``Wake`` apiece was 80 scattered ones, read
    and freed cold when its time came. Arming returns the timer's ticket, for :meth:`let_go`.
    A value is never None: None marks a timer its owner let go of.
    """

    __slots__ = (
        "_armed",
        "_base",
        "_clock",
        "_eids",
        "_end",
        "_env",
        "_first",
        "_fn",
        "_head",
        "_heap",
        "_ids",
        "_over",
        "_queue",
        "_values",
        "_whens",
        "delay",
    )

    def __init__(
        self, env: Kernel, delay: float, fn: Callback, over: Callable[[Any], bool],
    ) -> None:
        self._env = env
        self._clock = env.clock  # ``now`` read in C when compiled (Kernel.clock)
        self._heap = env.heap
        self._ids = env.ids
        self._queue = env.queue
        self.delay = delay
        self._fn = fn
        self._over = over
        # slot i is the timer of ticket ``_base + i``; the slots before ``_first`` are spent
        self._whens = array("d", bytes(8 * _FIFO_SLOTS))
        self._eids = array("q", bytes(8 * _FIFO_SLOTS))
        self._values: list[Any] = [None] * _FIFO_SLOTS
        self._first = 0
        self._end = 0
        self._base = 0
        self._armed = False  # the head is on the kernel's heap, in ``_head``
        self._head = Wake(self._fire, None)
        env.timers.append(self)

    def start(self, value: object) -> int:
        """Arm a timer: ``fn(wake)`` after ``delay``, with ``wake.value`` = ``value``."""
        return self.start_after(self.delay, value)

    def start_after(self, delay: float, value: object) -> int:
        """Arm a timer of another delay (a deadline): it joins the FIFO when that keeps it
        sorted, else it becomes an ordinary event under the same key. Returns the timer's
        ticket, for :meth:`let_go` (-1 for an ordinary event: its handler finds it over)."""
        when = self._clock.now + delay
        eid = self._queue.take_id() if WAKE_HEAP else next(self._ids)
        end = self._end
        if end > self._first and when < self._whens[end - 1]:
            wake = Wake.__new__(Wake)  # allocated directly when compiled (EventQueue.wake_at)
            wake.fn = self._fn
            wake.value = value
            self._push(when, eid, wake)
            return -1
        if end == len(self._values):
            end = self._make_room()
        self._whens[end] = when
        self._eids[end] = eid
        self._values[end] = value
        self._end = end + 1
        if not self._armed:
            self._armed = True
            self._push(when, eid, self._head)
        return self._base + end

    def let_go(self, ticket: int) -> None:
        """The owner of a timer says it is over for good: drop its value now, so that what
        the value holds is freed at once (while still in the cache), not when the timer
        reaches the head of the FIFO. The timer itself leaves as an over one would, without
        a call of ``over`` or ``fn``. A ticket already spent (or -1) is ignored."""
        index = ticket - self._base
        if self._first <= index < self._end:
            self._values[index] = None

    def take_values(self) -> list[Any]:
        """Let go of every armed timer and return their values: only through
        :meth:`Kernel.take_wake_values`, which also drops the head's event."""
        values = [value for value in self._values[self._first:self._end] if value is not None]
        self._release(self._end)
        return values

    def _make_room(self) -> int:
        """Move the armed slots to the front, into arrays twice as large when more than
        half are armed; returns the new ``_end``."""
        first, end = self._first, self._end
        armed = end - first
        size = len(self._values)
        if 2 * armed > size:
            size *= 2
        whens = array("d", bytes(8 * size))
        eids = array("q", bytes(8 * size))
        whens[:armed] = self._whens[first:end]
        eids[:armed] = self._eids[first:end]
        values: list[Any] = [None] * size
        values[:armed] = self._values[first:end]
        self._whens, self._eids, self._values = whens, eids, values
        self._base += first
        self._first = 0
        self._end = armed
        return armed

    def _release(self, end: int) -> None:
        """Every slot up to ``end`` is spent: clear them and start the FIFO again empty."""
        values = self._values
        for index in range(self._first, end):
            values[index] = None
        self._base += end
        self._first = 0
        self._end = 0
        self._armed = False

    def _push(self, when: float, eid: int, wake: Wake) -> None:
        if WAKE_HEAP:
            self._queue.push_keyed(when, NORMAL, eid, wake)
        else:
            heappush(self._heap, (when, NORMAL, eid, wake))

    def _fire(self, wake: Wake) -> None:
        values = self._values
        first = self._first
        value = values[first]
        values[first] = None
        first += 1
        end = self._end
        over = self._over
        while first < end:
            head = values[first]
            if head is not None and not over(head):
                self._push(self._whens[first], self._eids[first], wake)
                break
            values[first] = None
            first += 1
        self._first = first
        if first == end:
            self._release(end)
        if value is not None:  # else let go of: over
            wake.value = value  # the head's Wake (on the heap again, under the next key)
            self._fn(wake)
            wake.value = None
