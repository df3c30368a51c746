"""A pod promoted mid-run (``Pod.adopt``, a rollout's promotion) runs the new version's code for
requests it starts from then on; the requests part-way through their steps keep their own."""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from dataclasses import replace

import pytest
import simpy
from builders import deployment, model

from meshsim.model import Call as CallSpec
from meshsim.model import Constant, Contention, RateStep
from meshsim.sim import Simulation
from meshsim.sim.kernel import call_later
from meshsim.sim.messages import Attempt, Call


def _adopt_at(sim: Simulation, service: str, at: float, **changes: object) -> None:
    pod = next(p for p in sim.pods if p.service == service)
    spec = replace(pod.deployment, **changes)  # type: ignore[arg-type]

    def promote(_: simpy.Event) -> None:
        pod.adopt(spec, pod.service_time)

    call_later(sim.env, at, promote, None)


def test_a_request_part_way_through_its_steps_keeps_its_version_calls() -> None:
    """front calls a then b; at 1.005 s it adopts a version that calls c then d. Requests whose
    call to a is out then still call b (before the fix they went on to d: a call sequence
    neither version makes); requests started after it call c then d."""
    deps = [deployment("front", latency=Constant(0.001), concurrency=50,
                       calls=(CallSpec("a"), CallSpec("b")))]
    deps += [deployment(name, latency=Constant(0.010), concurrency=50) for name in "abcd"]
    sim = Simulation(model(deps, rate=200, duration=1.5, arrival="constant", target="front"))
    _adopt_at(sim, "front", 1.0051, calls=(CallSpec("c"), CallSpec("d")))
    recording = sim.run()
    calls, names = recording.calls, recording.names
    sequences: dict[int, list[str]] = defaultdict(list)
    for _start, request, service in sorted(
            zip(calls["start"], calls["request_id"], calls["service"], strict=True)):
        if names[service] != "front":
            sequences[int(request)].append(names[service])
    seen = Counter(tuple(s) for s in sequences.values() if len(s) == 2)
    assert set(seen) == {("a", "b"), ("c", "d")}, seen
    assert seen[("a", "b")] > 150 and seen[("c", "d")] > 50
    assert recording.held_workers == []


def test_processor_shared_work_done_before_adopting_counts_at_the_old_rate() -> None:
    """10 ms jobs arrive at 1 and 2 ms and share one core; at 10 ms the pod adopts two cores.
    By then they have done 5 and 4 ms of work and finish the rest at full speed, at 15 and
    16 ms (before the fix the pod kept the tick set for one core and counted the 18 ms since
    2 ms at the new rate: both ended at 20 ms)."""
    shared = Contention(model="processor-sharing", cores=1)
    deps = [deployment("ps", latency=Constant(0.010), concurrency=2, contention=shared)]
    m = model(deps, rate=1000, duration=0.1, arrival="constant")
    two = replace(m.workloads[0], schedule=(RateStep(0.0, 1000.0), RateStep(0.0025, 0.0)))
    sim = Simulation(replace(m, workloads=(two,)))
    _adopt_at(sim, "ps", 0.010, contention=Contention(model="processor-sharing", cores=2))
    recording = sim.run()
    ends = sorted(float(e) for e in recording.calls["end"])
    assert len(ends) == 2
    assert ends == pytest.approx([0.015, 0.016], abs=1e-6)


class _NoScan(deque):  # type: ignore[type-arg]
    """A pod queue that fails the test if anything looks an attempt up in it (O(queue))."""

    def __contains__(self, item: object) -> bool:
        raise AssertionError("a cancel scanned the queue")


def test_a_cancel_drops_only_queued_work_without_scanning_the_queue() -> None:
    """Cancellation (``queued``) drops an attempt still waiting in the queue, leaves one at
    work or still on the wire alone, and finds out which it is in O(1): an overloaded pod's
    queue holds thousands, and every caller that gives up cancels."""
    deps = [deployment("api", latency=Constant(1.0), concurrency=1, queue=10_000)]
    sim = Simulation(model(deps, rate=1, duration=1, cancellation="queued"))
    pod = sim.pods[0]
    pod.queue = _NoScan()
    call = Call(0, 0, pod.proxy, "api", "GET", "/", {}, 0, None, lambda c: None)
    working, *queued = [Attempt(call, pod, n, 0.0) for n in range(1, 2001)]
    on_the_wire = Attempt(call, pod, 9999, 0.0)
    for att in (working, *queued):
        pod.arrive(att)
    assert (pod.busy, pod.waiting) == (1, 1999)
    for att in (working, on_the_wire, queued[-1], queued[0]):
        pod.cancel(att)
    assert not working.dead and not on_the_wire.dead
    assert queued[-1].dead and queued[0].dead and not queued[1].dead
    assert pod.waiting == 1997
