"""Callback scheduling on SimPy's event queue without building a full ``Timeout``.

The per-request hot path schedules two to six wake-ups per hop. A SimPy ``Timeout`` validates
its delay, binds an environment and goes through ``Environment.schedule``; here we push a
minimal event straight onto the same heap, which ``Environment.step`` processes like any other
(it only needs ``callbacks``, ``_ok`` and ``_value``). Everything else in meshsim, including
long-lived processes, uses SimPy's public API on the same environment, so ordering between the
two kinds of event is the kernel's own (time, priority, insertion id).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from heapq import heappush
from typing import Any

import simpy
from simpy.events import NORMAL

Callback = Callable[[Any], None]


class Wake:
    """A scheduled callback; ``_value`` carries its argument."""

    __slots__ = ("_ok", "_value", "callbacks")

    def __init__(self, fn: Callback, value: object) -> None:
        self.callbacks: list[Callback] | None = [fn]
        self._value = value
        self._ok = True


def call_later(env: simpy.Environment, delay: float, fn: Callback, value: object) -> None:
    """Run ``fn(event)`` after ``delay`` simulated seconds; ``event._value`` is ``value``."""
    queue: list[Any] = env._queue
    heappush(queue, (env._now + delay, NORMAL, next(env._eid), Wake(fn, value)))


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
    """

    __slots__ = ("_armed", "_eid", "_entries", "_env", "_fn", "_over", "_queue", "delay")

    def __init__(
        self, env: simpy.Environment, delay: float, fn: Callback,
        over: Callable[[Any], bool],
    ) -> None:
        self._env = env
        self._queue: list[Any] = env._queue
        self._eid = env._eid
        self.delay = delay
        self._fn = fn
        self._over = over
        self._entries: deque[tuple[float, int, object]] = deque()
        self._armed = False  # the head of ``_entries`` is on the kernel's heap

    def start(self, value: object) -> None:
        """Arm a timer: ``fn(event)`` after ``delay``, with ``event._value`` = ``value``."""
        self.start_after(self.delay, value)

    def start_after(self, delay: float, value: object) -> None:
        """Arm a timer of another delay (a deadline): it joins the FIFO when that keeps it
        sorted, else it becomes an ordinary event under the same key."""
        when = self._env._now + delay
        eid = next(self._eid)
        entries = self._entries
        if entries and when < entries[-1][0]:
            heappush(self._queue, (when, NORMAL, eid, Wake(self._fn, value)))
            return
        entries.append((when, eid, value))
        if not self._armed:
            self._armed = True
            heappush(self._queue, (when, NORMAL, eid, Wake(self._fire, None)))

    def _fire(self, ev: Any) -> None:
        entries = self._entries
        value = entries.popleft()[2]
        over = self._over
        while entries and over(entries[0][2]):
            entries.popleft()
        if entries:
            when, eid, _ = entries[0]
            heappush(self._queue, (when, NORMAL, eid, Wake(self._fire, None)))
        else:
            self._armed = False
        ev._value = value
        self._fn(ev)
