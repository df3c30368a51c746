"""Flagger's scheduler in the engine: the reference's worked examples, tick by tick."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from rollout_helpers import (
    CANARY,
    TARGET,
    app_model,
    even_app_model,
    events,
    names,
    run,
    success_rate,
)

from meshsim.model import Fault, FaultTarget
from meshsim.model.rollout import FlaggerCanary, FlaggerCheck, Measure, TrafficTarget
from meshsim.sim import Simulation
from meshsim.sim.rollout.flagger import FlaggerScheduler

INTERVAL = 10.0
START = 5.0


def canary(**kw: object) -> FlaggerCanary:
    spec: dict[str, object] = {
        "name": "app", "target": TARGET, "strategy": "canary", "interval": INTERVAL,
        "threshold": 5, "step_weight": 10, "max_weight": 50, "start": START,
        "checks": (FlaggerCheck("request-success-rate", success_rate(), min=99),),
    }
    spec.update(kw)
    return FlaggerCanary(**spec)  # type: ignore[arg-type]


def tick(k: int) -> float:
    """Tick 0 at START detects the revision (no traffic moved); tick k follows k intervals."""
    return START + k * INTERVAL


def test_healthy_canary_steps_10_to_50_then_promotes_at_tick_6() -> None:
    rec = run(app_model(canary(), rate=50, duration=90))
    weights = [(t, float(d["weight"]), d["phase"]) for t, d in events(rec, "canary-weight")]
    assert weights == [
        (tick(1), 10, "Progressing"), (tick(2), 20, "Progressing"),
        (tick(3), 30, "Progressing"), (tick(4), 40, "Progressing"),
        (tick(5), 50, "Progressing"), (tick(7), 0, "Promoting"),
    ]
    phases = [(t, d["phase"]) for t, d in events(rec, "canary-phase")]
    assert phases == [(tick(6), "Promoting"), (tick(7), "Finalising"), (tick(8), "Succeeded")]
    checks = events(rec, "canary-check")
    assert [t for t, _ in checks] == [tick(k) for k in range(2, 7)]  # none on tick 1
    assert all(d["passed"] == "true" for _, d in checks)
    (when, promoted), = events(rec, "canary-promoted")
    assert when == tick(8) and float(promoted["promoted_at"]) == tick(6)
    assert not events(rec, "canary-rolled-back")
    start, = events(rec, "canary-start")
    assert start[0] == START
    assert rec.events[0][3:5] == (CANARY.service, CANARY.subset)


def test_promotion_gives_the_primary_the_canary_code() -> None:
    rec = run(app_model(canary(), rate=50, duration=80))
    att = rec.attempts
    primary = names(rec, att["pod"]) != "app-canary-0"
    latency = att["end"] - att["start"]
    before = primary & (att["end"] < tick(6) - 0.1)
    after = primary & (att["start"] > tick(6) + 0.1)
    # Constant service times: 5 ms on the old primary, the canary's 20 ms once promoted.
    assert np.allclose(latency[before], 0.005) and np.allclose(latency[after], 0.020)


def test_five_percent_errors_hold_the_weight_at_10_and_roll_back_at_tick_7() -> None:
    rec = run(app_model(canary(), rate=300, duration=80, canary_errors=0.05))
    weights = [(t, float(d["weight"])) for t, d in events(rec, "canary-weight")]
    assert weights == [(tick(1), 10), (tick(7), 0)]
    checks = events(rec, "canary-check")
    assert [t for t, _ in checks] == [tick(k) for k in range(2, 7)]
    assert [d["passed"] for _, d in checks] == ["false"] * 5
    assert [int(d["failed_checks"]) for _, d in checks] == [1, 2, 3, 4, 5]
    values = [float(d["value"]) for _, d in checks]
    assert all(90 < v < 99 for v in values)  # ~95 % success, in percent
    (when, back), = events(rec, "canary-rolled-back")
    assert when == tick(7)
    assert back == {"controller": "flagger", "rollout": "app", "weight": "10",
                    "failed_checks": "5", "reason": "threshold", "step": "7"}
    # The canary gets no new requests after the rollback (in-flight ones finish there).
    att = rec.attempts
    to_canary = names(rec, att["pod"]) == "app-canary-0"
    assert not np.any(to_canary & (att["start"] > tick(7)))
    assert np.any(to_canary & (att["start"] < tick(7)))


def test_step_weights_and_overshoot_follow_the_docs() -> None:
    rec = run(app_model(canary(step_weight=0, step_weights=(1, 2, 10, 80)), rate=50,
                        duration=60))
    assert [float(d["weight"]) for _, d in events(rec, "canary-weight")][:4] == [1, 2, 10, 80]
    assert [t for t, d in events(rec, "canary-phase") if d["phase"] == "Promoting"] == [tick(5)]
    rec = run(app_model(canary(step_weight=20, max_weight=50), rate=50, duration=60))
    assert [float(d["weight"]) for _, d in events(rec, "canary-weight")][:3] == [20, 40, 60]
    assert [t for t, d in events(rec, "canary-phase") if d["phase"] == "Promoting"] == [tick(4)]


def test_no_traffic_is_no_values_and_a_failed_check() -> None:
    """Blue/green without a mirror: the canary gets no traffic, so every check has no value."""
    spec = canary(strategy="bluegreen", iterations=3, threshold=2, step_weight=0)
    rec = run(app_model(spec, rate=50, duration=50))
    checks = events(rec, "canary-check")
    assert [(t, d["value"], d["passed"]) for t, d in checks] == [
        (tick(2), "none", "false"), (tick(3), "none", "false")]
    (when, back), = events(rec, "canary-rolled-back")
    assert when == tick(4) and back["weight"] == "0"


def test_blue_green_with_mirror_shadows_then_switches() -> None:
    target = TrafficTarget("app", TARGET.primary, CANARY, routes=("app",),
                           mirror_routes=("app",))
    spec = canary(target=target, strategy="bluegreen", iterations=2, step_weight=0)
    rec = run(app_model(spec, rate=50, duration=70))
    weights = [(t, float(d["weight"]), d["mirror"]) for t, d in events(rec, "canary-weight")]
    assert weights == [(tick(1), 0, "true"), (tick(3), 100, "false"), (tick(5), 0, "false")]
    checks = events(rec, "canary-check")  # ticks 2-3 on mirrored traffic, 4 on live traffic
    assert [(t, d["passed"]) for t, d in checks] == [(tick(k), "true") for k in (2, 3, 4)]
    att = rec.attempts
    to_canary = names(rec, att["pod"]) == "app-canary-0"
    mirrored = att["mirror"] == 1
    during = (att["start"] > tick(1) + 0.1) & (att["start"] < tick(3) - 0.1)
    # While mirroring the canary sees shadows of every request and no live traffic.
    assert np.all(mirrored[to_canary & during])
    assert to_canary[during].sum() == (~to_canary & during & ~mirrored).sum()
    assert not np.any(mirrored & (att["start"] > tick(3) + 0.1))


def test_ab_routes_matched_traffic_to_the_canary_for_the_iterations() -> None:
    spec = canary(strategy="ab", iterations=2, step_weight=0)
    rec = run(app_model(spec, rate=50, duration=60))
    assert [(t, float(d["weight"])) for t, d in events(rec, "canary-weight")] == [
        (tick(1), 100), (tick(4), 0)]
    assert [t for t, _ in events(rec, "canary-check")] == [tick(2), tick(3)]
    assert [(t, d["phase"]) for t, d in events(rec, "canary-phase")] == [
        (tick(3), "Promoting"), (tick(4), "Finalising"), (tick(5), "Succeeded")]


def test_skip_analysis_promotes_on_the_first_tick() -> None:
    rec = run(app_model(canary(skip_analysis=True), rate=20, duration=30))
    (when, _), = events(rec, "canary-promoted")
    assert when == tick(1) and not events(rec, "canary-check")


def test_same_seed_same_frames_and_other_streams_unshifted() -> None:
    m = app_model(canary(), rate=100, duration=40, canary_errors=0.05)
    a, b = run(m), run(m)
    assert a.events == b.events
    assert all(np.array_equal(a.calls[k], b.calls[k]) for k in a.calls)
    plain = run(app_model(rate=100, duration=40, canary_errors=0.05))
    # Arrivals come from their own stream: adding a rollout does not move them.
    assert np.array_equal(np.sort(a.requests["start"]), np.sort(plain.requests["start"]))


def test_a_canary_down_past_the_progress_deadline_rolls_back() -> None:
    down = Fault(0.0, 100.0, FaultTarget("app", "canary"), down=True)
    m = replace(app_model(canary(progress_deadline=20.0), rate=20, duration=50), faults=(down,))
    rec = run(m)
    # Ticks 1-3 wait for the canary (unready since tick 1, 20 s is not past the deadline).
    assert not events(rec, "canary-check") and not events(rec, "canary-weight")
    (when, back), = events(rec, "canary-rolled-back")
    assert when == tick(4) and back["reason"] == "progress-deadline"


# -- the scheduler against scheduler.go and scheduler_metrics.go (fluxcd/flagger) -----------------


def quick_canary(**kw: object) -> FlaggerCanary:
    """``canary()`` with threshold 2 and steps of 25 %: weights 25, 50, then promotion."""
    return canary(**{"threshold": 2, "step_weight": 25, **kw})


def test_flagger_detection_tick_moves_no_traffic() -> None:
    """checkCanaryStatus: the tick that detects the revision scales the canary up and returns;
    the first step comes one interval later (it was taken at detection)."""
    rec = Simulation(even_app_model(quick_canary(), duration=60)).run()
    (started, _), = events(rec, "canary-start")
    weights = [(t, float(d["weight"])) for t, d in events(rec, "canary-weight")]
    assert started == START
    assert weights[:2] == [(START + INTERVAL, 25.0), (START + 2 * INTERVAL, 50.0)]
    calls = rec.calls
    subset = np.asarray(rec.names, dtype=object)[calls["subset"]].astype(str)
    early = calls["start"] < START + INTERVAL - 0.1
    assert not (subset[early] == "canary").any()  # no live traffic before tick 1


def test_flagger_skip_analysis_promotes_on_the_tick_after_detection() -> None:
    rec = Simulation(even_app_model(quick_canary(skip_analysis=True), duration=30)).run()
    (when, _), = events(rec, "canary-promoted")
    assert when == START + INTERVAL


def test_flagger_canary_past_its_deadline_rolls_back_even_while_promoting() -> None:
    """IsCanaryReady runs before the Promoting branch: a non-retriable error rolls back in any
    phase. Ticks: 15 weight 25, 25 weight 50, 35 Promoting; the canary is down from 36."""
    down = Fault(START + 3 * INTERVAL + 1, 200.0, FaultTarget("app", "canary"), down=True)
    spec = quick_canary(progress_deadline=5.0)
    rec = Simulation(replace(even_app_model(spec, duration=80), faults=(down,))).run()
    assert [t for t, d in events(rec, "canary-phase") if d["phase"] == "Promoting"] == [35.0]
    (when, back), = events(rec, "canary-rolled-back")
    assert when == START + 5 * INTERVAL and back["reason"] == "progress-deadline"
    assert not events(rec, "canary-promoted")


class _FixedTraffic:
    """A query that always answers ``value`` (the scheduler's checks in isolation)."""

    def __init__(self, value: float) -> None:
        self.value_ = value

    def value(self, measure: Measure, now: float) -> float | None:
        return self.value_


@pytest.mark.parametrize(("p99_ms", "max_ms", "passed"), [
    (500.7, 500.0, True),   # int64(500.7) = 500ms, not > 500ms
    (501.0, 500.9, False),  # time.Duration(500.9) = 500ms < 501ms
    (499.2, 499.9, True),
])
def test_flagger_request_duration_compares_whole_milliseconds(
        p99_ms: float, max_ms: float, passed: bool) -> None:
    """GetRequestDuration: time.Duration(int64(value)) * time.Millisecond, and the bound is
    time.Duration(*tr.Max) * time.Millisecond: both truncated to whole milliseconds."""
    check = FlaggerCheck("request-duration", Measure("latency", CANARY, scale=1000.0),
                         max=max_ms)
    sim = Simulation(even_app_model(duration=1))
    scheduler = FlaggerScheduler(sim, quick_canary(checks=(check,)), _FixedTraffic(p99_ms))  # type: ignore[arg-type]
    assert scheduler._checks_pass(0.0) is passed
