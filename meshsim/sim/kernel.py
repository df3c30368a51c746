"""Callback scheduling on SimPy's event queue without building a full ``Timeout``.

The per-request hot path schedules two to six wake-ups per hop. A SimPy ``Timeout`` validates
its delay, binds an environment and goes through ``Environment.schedule``; here we push a
minimal event straight onto the same heap, which ``Environment.step`` processes like any other
(it only needs ``callbacks``, ``_ok`` and ``_value``). Everything else in meshsim, including
long-lived processes, uses SimPy's public API on the same environment, so ordering between the
two kinds of event is the kernel's own (time, priority, insertion id).
"""

from __future__ import annotations

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
