"""The controllers' Prometheus-like queries over recorded traffic."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from rollout_helpers import CANARY, TARGET, app_model, events, run

from meshsim.metrics import Recorder
from meshsim.model.rollout import ArgoAnalysis, ArgoMetric, ArgoRollout, ArgoStep, Compare, Measure
from meshsim.sim.rollout.metrics import Traffic, histogram_quantile, quantile

BOUNDS = (0.1, 0.25, 0.5, 1.0)


def test_histogram_quantile_matches_a_hand_computation() -> None:
    values = np.array([0.05] * 3 + [0.2] * 5 + [0.4] * 2)
    # Cumulative counts per le bucket: 3, 8, 10, 10 and +Inf 10.
    # p50: rank 5 in (0.1, 0.25] holding 5, 2 of them past the 3 below: 0.1 + 0.15 × 2/5.
    assert quantile(values, 0.5, BOUNDS) == pytest.approx(0.16)
    # p99: rank 9.9 in (0.25, 0.5] holding 2, 1.9 past 8: 0.25 + 0.25 × 0.95.
    assert quantile(values, 0.99, BOUNDS) == pytest.approx(0.4875)
    # A rank in the +Inf bucket answers the highest finite bound; the first bucket starts at 0.
    assert quantile(np.array([0.05, 3.0, 4.0]), 0.9, BOUNDS) == 1.0
    assert histogram_quantile(0.5, BOUNDS, [4, 4, 4, 4, 4]) == pytest.approx(0.05)
    assert math.isnan(histogram_quantile(0.5, BOUNDS, [0, 0, 0, 0, 0]))
    # No buckets: the exact quantile.
    assert quantile(values, 0.5, ()) == pytest.approx(np.quantile(values, 0.5))


def recorder() -> tuple[Recorder, int, int, int]:
    rec = Recorder()
    return rec, rec.intern("app"), rec.intern("canary"), rec.intern("primary")


def test_destination_counts_what_reached_the_pod_source_what_callers_saw() -> None:
    rec, app, canary, primary = recorder()
    uo, ut = rec.intern("UO"), rec.intern("UT")
    rows = [  # (subset, start, end, status, flags, mirror)
        (canary, 0.0, 1.0, 200, 0, False), (canary, 0.5, 1.5, 503, 0, False),
        (canary, 1.0, 1.0, 503, uo, False),  # overflow: never reached the canary
        (canary, 1.0, 3.0, 504, ut, False),  # the caller timed out: a reset at the pod
        (canary, 2.0, 2.5, 500, 0, True),  # a shadow
        (primary, 2.0, 2.2, 500, 0, False),
    ]
    rows.sort(key=lambda row: row[2])  # the engine writes a row when its answer arrives
    for i, (subset, start, end, status, flags, mirror) in enumerate(rows):
        rec.attempt(i, i, 1, app, subset, 2, 1, start, end, status, flags, False, mirror)
        rec.call(i, i, 1, app, subset, start, end, status, flags, 1, 0, mirror)
    traffic = Traffic(rec)
    dest = Measure("error_rate", CANARY, window=10.0)
    # Reached: 200, 503, the reset (0), the shadow's 500 → 2 of 4 are 5xx.
    assert traffic.value(dest, 5.0) == pytest.approx(0.5)
    src = replace(dest, reporter="source")
    # Callers saw 200, 503, 503 (UO), 504 (UT); the shadow is nobody's answer.
    assert traffic.value(src, 5.0) == pytest.approx(0.75)
    assert traffic.value(replace(dest, kind="request_rate"), 5.0) == pytest.approx(0.4)
    # The window: only rows that ended in (now - window, now]: the 503, shadow and reset.
    assert traffic.value(replace(dest, window=2.0), 3.0) == pytest.approx(2 / 3)
    assert traffic.value(replace(dest, window=1.0), 10.0) is None
    late = replace(dest, kind="latency", quantile=1.0, scale=1000.0)
    assert traffic.value(late, 5.0) == pytest.approx(2000.0)  # the reset's 2 s, in ms


def test_destination_queries_work_without_recording_attempts() -> None:
    background = ArgoAnalysis("bg", (ArgoMetric(
        "rate", Measure("request_rate", CANARY, window=10.0), success=Compare(">", 0),
        interval=10.0, count=2, initial_delay=10.0),))
    spec = ArgoRollout("app", TARGET, (ArgoStep("setWeight", weight=50), ArgoStep("pause")),
                       background=background, start=0.0)
    m = app_model(spec, rate=40, duration=25)
    quiet = run(replace(m, record_attempts=False))
    assert len(quiet.attempts["start"]) == 0  # nothing leaks into the frame
    loud = run(m)
    values = [float(d["value"]) for _, d in events(quiet, "canary-check")]
    assert values == [float(d["value"]) for _, d in events(loud, "canary-check")]
    assert len(values) == 2 and all(10 < v < 30 for v in values)  # ~20/s reach the canary
