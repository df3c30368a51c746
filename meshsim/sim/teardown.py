"""The end of a run: the requests still in flight let go of each other.

A request in flight holds reference cycles: a call and its current attempt, a parent attempt
and its downstream calls, a call and its proxy's per-request state (Envoy's ``Upstream``,
Linkerd's ``Flight``), a timer and its owner. Its completion breaks them
(:meth:`~meshsim.sim.proxy.Proxy.complete`), so finished requests are freed by reference
counting. When the run stops, the requests still in flight are held by the kernel's queue and
timers and by the pods' queues, inside a simulation that is itself one cyclic structure: only
the cyclic collector could free them. Worse, the collector's pace is restored as the run ends
(:mod:`~meshsim.sim.collector`), and its first young collection walks every one of them and
finds them alive: on mesh-30 overloaded (3.8 s, about 10,000 requests waiting in pod queues)
that pass took 30-40 ms of a 0.3 s run, and the 51,000 objects were then left for a later
collection to free.

:func:`release` drops what holds them (the kernel's wakes and timers, the pods' queues and
workers, the proxies' connection and balancer queues) and breaks their cycles, so that
reference counting frees them at once, before the collector's pace is restored: 3-4 ms at
the end of that run. It runs after everything that reads in-flight state (the recording,
the workers still held) and only when nothing will read it again (``meshsim proxy-config
--at`` keeps the state). Whatever it does not reach is left to the collector, as before.
Nothing a run computes depends on it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from meshsim.sim.envoy.upstream import Upstream
from meshsim.sim.linkerd.flight import Flight
from meshsim.sim.messages import Attempt, Call
from meshsim.sim.pod import Pod

if TYPE_CHECKING:
    from collections.abc import Iterable

    from meshsim.sim.kernel import Kernel
    from meshsim.sim.proxy import Proxy


def release(env: Kernel, pods: Iterable[Pod], proxies: Iterable[Proxy]) -> int:
    """Free the requests in flight when a run is over; returns how many values held them."""
    held = env.take_wake_values()
    for pod in pods:
        if isinstance(pod, Pod):
            held.extend(pod.take_in_flight())
    for proxy in proxies:
        held.extend(proxy.take_in_flight())
    for value in held:
        unlink(value)
    return len(held)


def unlink(value: object) -> None:
    """Break the cycles through one in-flight request (or a tuple of them)."""
    kind = type(value)
    if kind is Attempt:
        _unlink_attempt(value)  # type: ignore[arg-type]
    elif kind is Upstream:
        up: Upstream = value  # type: ignore[assignment]
        _unlink_call(up.call)
        up.attempt = None
    elif kind is Flight:
        flight: Flight = value  # type: ignore[assignment]
        _unlink_call(flight.call)
        flight.attempt = None
    elif kind is Call:
        _unlink_call(value)  # type: ignore[arg-type]
    elif kind is tuple:
        for item in value:  # type: ignore[attr-defined]
            unlink(item)


def _unlink_attempt(att: Attempt) -> None:
    _unlink_call(att.call)
    att.downstream = ()  # its calls name it as their parent


def _unlink_call(call: Call | None) -> None:
    """What :meth:`~meshsim.sim.proxy.Proxy.complete` drops when a call completes."""
    if call is None:
        return
    call.attempt = None
    call.parent = None
    call.state = None
