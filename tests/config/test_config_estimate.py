"""The run-size estimate: a run too large to finish is refused before it starts (quickly and in
little memory), a large one is warned about, and ``allow_large`` lets a user go ahead."""

from __future__ import annotations

import resource
import time
from collections.abc import Callable

import pytest

import meshsim
from meshsim.api import LargeRunWarning, check_run_size
from meshsim.config import Scenario, limits
from meshsim.config import estimate as estimate_module
from meshsim.config.estimate import SERIES_BYTES, STREAM_BYTES, estimate
from meshsim.errors import ScenarioError

Loader = Callable[..., Scenario]  # the `load` fixture of conftest.py

FAN_OUT = """\
apiVersion: meshsim/v1alpha1
kind: Scenario
metadata: {name: fan}
spec:
  duration: 100s
  services:
    front:
      latency: exponential(1ms)
      calls:
        - parallel: [a, b]
        - {service: c, probability: 0.5}
    a: {latency: exponential(1ms), calls: [c]}
    b: {latency: exponential(1ms)}
    c: {latency: exponential(1ms)}
  workload:
    - name: users
      target: front
      rate: [{at: 0s, rate: 10/s}, {at: 50s, rate: 30/s}]
"""


def test_requests_and_hops_follow_schedule_fan_out_and_probability(load: Loader) -> None:
    size = estimate(load(FAN_OUT).model)
    assert size.requests == pytest.approx(10 * 50 + 30 * 50)
    # front + a (+ c) + b + 0.5 c
    assert size.hops == pytest.approx(size.requests * (1 + 2 + 1 + 0.5))
    assert size.proxies == 4 + 1


def test_an_oversized_run_is_refused_fast_and_says_how_to_go_ahead(
    load: Loader, base: str
) -> None:
    scenario = load(base, {"spec.workload[0].rate": "1000000/s", "spec.duration": "24h"})
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    with pytest.raises(ScenarioError) as info:
        meshsim.simulate(scenario)
    assert time.perf_counter() - started < 3
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100 * 1024  # KiB
    message = info.value.message
    assert "this run is too large: about 1.04e+12 events" in message
    assert "8.64e+10 requests × 2 hops" in message
    assert "--allow-large" in message and "allow_large=True" in message
    assert info.value.location.file == str(scenario.path)


def test_a_large_run_warns_and_allow_large_silences_it(load: Loader, base: str) -> None:
    scenario = load(base, {"spec.workload[0].rate": "2000/s", "spec.duration": "1000s"})
    size = estimate(scenario.model)
    assert limits.MEMORY_WARN < size.memory < limits.MEMORY_REFUSE
    note = check_run_size(scenario.model)
    assert note is not None and note.startswith("a large run: about 2.4e+07 events")
    assert "and 3.2 GiB of memory (2e+06 requests × 2 hops, 4 sidecars)" in note
    assert check_run_size(scenario.model, allow_large=True) is None
    small = load(base)
    assert check_run_size(small.model) is None


def test_simulate_warns_with_a_large_run_warning(
    load: Loader, base: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "EVENTS_WARN", 10.0)
    scenario = load(base, {"spec.duration": "1s", "spec.workload[0].rate": "10/s"})
    with pytest.warns(LargeRunWarning, match="a large run"):
        meshsim.simulate(scenario)


def test_allow_large_lets_a_refused_run_go_ahead(
    load: Loader, base: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "EVENTS_REFUSE", 10.0)
    scenario = load(base, {"spec.duration": "1s", "spec.workload[0].rate": "10/s"})
    with pytest.raises(ScenarioError, match="too large"):
        meshsim.simulate(scenario)
    assert len(meshsim.simulate(scenario, allow_large=True).requests) > 0


def test_many_clients_and_pods_count_in_memory(load: Loader, base: str) -> None:
    few = estimate(load(base).model)
    many = estimate(load(base, {"spec.workload[0].clients": 10_000,
                                "spec.services.ratings.replicas": 1000}).model)
    # each client balances over frontend's pod; frontend's pod over 1000 ratings pods
    assert many.peers == 10_000 * 1 + 1 * 1000
    series = (11_001 - 4) * load(base).model.duration * SERIES_BYTES
    assert many.memory - few.memory == pytest.approx(
        (11_000 - 3) * 300 + (11_001 - 4) * 10_000 + series)


def test_streamed_rows_cost_buffers_not_bytes_per_hop(load: Loader, base: str) -> None:
    """Issue 13: rows streamed to a run directory (or not kept) leave memory as blocks fill,
    so a long run's estimate does not grow with its requests."""
    slow = load(base, {"spec.workload[0].rate": "20/s", "spec.duration": "1000s"}).model
    fast = load(base, {"spec.workload[0].rate": "20000/s", "spec.duration": "1000s"}).model
    in_memory = estimate(fast)
    streamed = estimate(fast, rows_in_memory=False)
    assert in_memory.memory > limits.MEMORY_REFUSE
    assert streamed.memory < limits.MEMORY_WARN
    # a hundred times the requests adds at most the buffers, never bytes per hop
    assert streamed.memory - estimate(slow, rows_in_memory=False).memory <= STREAM_BYTES
    assert streamed.events == in_memory.events  # wall time is the same either way


def test_simulate_counts_rows_only_where_they_stay(
    load: Loader, base: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(estimate_module, "BYTES_PER_HOP", 1e9)  # every kept row is huge
    scenario = load(base, {"spec.duration": "1s", "spec.workload[0].rate": "10/s"})
    with pytest.raises(ScenarioError, match="too large"):
        meshsim.simulate(scenario)  # rows kept in memory as frames
    results = meshsim.simulate(scenario, record="summary")  # no rows kept: not refused
    assert results.summary["requests"].sum() > 0
