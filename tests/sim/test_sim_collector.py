"""The run paces Python's garbage collector and always gives the old pace back."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
from paths import BENCHMARKS, SCENARIOS

from meshsim.sim.collector import RUN_THRESHOLDS, paced_collector

THREE_HOP = BENCHMARKS / "scenarios" / "three-hop.yaml"
LINKERD_RETRY_STORM = SCENARIOS / "linkerd" / "retry-storm.yaml"


@pytest.fixture
def thresholds() -> Iterator[tuple[int, int, int]]:
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield gc.get_threshold()
    gc.set_threshold(*before)


def test_a_run_collects_less_often_and_restores_the_pace(thresholds: tuple[int, ...]) -> None:
    with paced_collector():
        assert gc.get_threshold() == RUN_THRESHOLDS
    assert gc.get_threshold() == thresholds


def test_the_pace_comes_back_when_the_run_fails(thresholds: tuple[int, ...]) -> None:
    with pytest.raises(RuntimeError), paced_collector():
        raise RuntimeError("boom")
    assert gc.get_threshold() == thresholds


def test_a_collector_the_user_disabled_stays_disabled() -> None:
    before = gc.get_threshold()
    gc.set_threshold(0, 10, 10)
    try:
        with paced_collector():
            assert gc.get_threshold()[0] == 0
    finally:
        gc.set_threshold(*before)


def test_a_slower_pace_the_user_chose_is_kept() -> None:
    before = gc.get_threshold()
    gc.set_threshold(500_000, 100, 100)
    try:
        with paced_collector():
            assert gc.get_threshold() == (500_000, 100, 100)
    finally:
        gc.set_threshold(*before)


@pytest.mark.parametrize("path", [THREE_HOP, LINKERD_RETRY_STORM], ids=["envoy", "linkerd"])
def test_finished_requests_leave_no_cyclic_garbage(path: Path) -> None:
    """Reference counting frees finished calls, attempts and the proxies' per-request state
    (Envoy's Upstream, Linkerd's Flight): at the end of a run, before the simulation itself is
    dropped, none of them is cyclic garbage."""
    import meshsim
    from meshsim.sim.envoy.upstream import Upstream
    from meshsim.sim.linkerd.flight import Flight
    from meshsim.sim.messages import Attempt, Call

    scenario = meshsim.load(path)
    garbage: dict[str, int] = {}

    def at_the_end(now: float, duration: float) -> None:
        if now < duration:
            return
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        kinds = (Attempt, Call, Upstream, Flight)
        garbage.update({k.__name__: sum(isinstance(o, k) for o in gc.garbage) for k in kinds})
        gc.set_debug(0)
        gc.garbage.clear()

    gc.collect()
    meshsim.simulate(scenario, seed=1, duration="25s", progress=at_the_end)
    assert garbage == {"Attempt": 0, "Call": 0, "Upstream": 0, "Flight": 0}
