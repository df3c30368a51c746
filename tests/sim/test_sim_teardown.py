"""The end of a run frees the requests still in flight by reference counting (teardown.py).

Each run stops with requests in flight: queued at pods, on the wire, waiting on timers. After
the run, none of them may be left for the cyclic collector (which would otherwise walk them
all at the next young collection, and free them only later); the frames must not change; and
``keep_state`` (``meshsim proxy-config --at``) must leave the state as the run left it.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

import meshsim
from meshsim.sim import Simulation
from meshsim.sim.kernel import Kernel, Timers, Wake, call_later

ROOT = Path(__file__).resolve().parents[2]
REQUEST_TYPES = {"Call", "Attempt", "Upstream", "Flight", "Wake"}
# Overloaded Istio (tier-1 queues grow, timers armed at the end) and Linkerd, cut short.
RUNS = [
    (ROOT / "benchmarks/scenarios/mesh-30-overloaded.yaml", 0.6),
    (ROOT / "benchmarks/scenarios/mesh-30-linkerd.yaml", 0.6),
    (ROOT / "scenarios/retry-storm.yaml", 25.0),
]


@pytest.fixture
def saved_garbage() -> Iterator[list[object]]:
    """The cyclic garbage a full collection finds, kept for inspection."""
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield gc.garbage
    finally:
        _free(gc.garbage)


def _free(garbage: list[object]) -> None:
    """Really free saved garbage (cleared while saving, it would be saved again)."""
    gc.set_debug(0)
    garbage.clear()
    gc.collect()


def _in_flight(sim: Simulation) -> int:
    """Requests held when the run stopped: started and queued at pods, events, timers."""
    queued = len(sim.env.queue) or len(sim.env.heap)
    return sum(len(pod.active) + pod.waiting for pod in sim.pods) + queued


@pytest.mark.parametrize(("path", "duration"), RUNS, ids=lambda v: getattr(v, "stem", v))
def test_a_finished_run_leaves_no_request_for_the_collector(
    path: Path, duration: float, saved_garbage: list[object],
) -> None:
    model = meshsim.load(path).with_duration(duration).model
    sim = Simulation(model)
    recording = sim.run(keep_state=True)
    assert _in_flight(sim) > 10, "the run must stop with requests in flight to test anything"
    del sim
    gc.collect()
    kept = Counter(type(o).__name__ for o in saved_garbage)
    assert sum(kept[name] for name in REQUEST_TYPES) > 100  # without the teardown: cyclic
    _free(saved_garbage)
    gc.set_debug(gc.DEBUG_SAVEALL)

    sim = Simulation(model)
    released = sim.run()
    del sim
    gc.collect()
    left = Counter(type(o).__name__ for o in saved_garbage  # a Wake that holds a request
                   if not (isinstance(o, Wake) and (o.fn is None or o.value is None)))
    assert {name: left[name] for name in REQUEST_TYPES if left[name]} == {}
    assert len(released.attempts["start"]) == len(recording.attempts["start"])


def test_keep_state_leaves_the_pods_queues_as_the_run_left_them() -> None:
    model = meshsim.load(RUNS[0][0]).with_duration(RUNS[0][1]).model
    kept, released = Simulation(model), Simulation(model)
    kept.run(keep_state=True)
    released.run()
    assert sum(len(pod.queue) + len(pod.active) for pod in kept.pods) > 0
    assert sum(len(pod.queue) + len(pod.active) for pod in released.pods) == 0


def test_take_wake_values_keeps_simpy_events_in_order_and_lets_go_of_timers() -> None:
    env = Kernel()
    order: list[str] = []
    timers = Timers(env, 5.0, lambda ev: order.append(f"timer {ev.value}"), lambda v: False)
    timers.start("armed")
    timers.start("behind it")
    call_later(env, 1.0, lambda ev: order.append("wake"), "on the wire")
    for at in (3.0, 2.0):
        env.timeout(at).callbacks.append(lambda ev, at=at: order.append(f"simpy {at}"))

    values = env.take_wake_values()

    assert sorted(values) == ["armed", "behind it", "on the wire"]
    assert timers.take_values() == []  # the timers let go of their values
    env.run()
    assert order == ["simpy 2.0", "simpy 3.0"]  # SimPy's events stay, in time order
