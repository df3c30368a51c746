"""Where the backlog sits: per service, queued and in flight at the end and at peak, read from
the time series' service rows (a service with subsets is read from its aggregate row)."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest
from builders import deployment

from meshsim.model import Constant, Service
from meshsim.results import Results
from meshsim.results.backlog import COLUMNS, backlog


def series(service: str, subset: str, queued: list[float], held: list[float]) -> pd.DataFrame:
    return pd.DataFrame({
        "time": [float(t) for t in range(len(queued))], "service": service, "subset": subset,
        "queue_depth": queued, "in_flight": held,
    })


def test_the_largest_queue_at_the_end_comes_first_with_its_peak() -> None:
    front = deployment("front", latency=Constant(0.001), replicas=3, concurrency=64)
    back = deployment("back", latency=Constant(0.001), replicas=2, concurrency=8)
    services = {"front": Service("front", "default", (front,)),
                "back": Service("back", "default", (back,))}
    frame = pd.concat([
        series("back", "", [0, 400, 70, 71], [8, 416, 86, 87]),  # peaked, then settled
        series("front", "", [0, 3000, 8000, 8900], [16, 3192, 8192, 9092]),  # still growing
        series("back", "v1", [0, 999, 999, 999], [0, 999, 999, 999]),  # a subset row: ignored
    ])
    out = backlog(frame, services)
    assert list(out.columns) == list(COLUMNS)
    assert out["service"].tolist() == ["front", "back"]
    front_row, back_row = out.iloc[0], out.iloc[1]
    assert front_row["slots"] == 192 and front_row["queued_end"] == 8900
    assert front_row["in_flight_end"] == 9092 and front_row["queued_peak_at"] == 3
    assert back_row["slots"] == 16 and back_row["queued_end"] == 71
    assert back_row["queued_peak"] == 400 and back_row["queued_peak_at"] == 1
    assert back_row["in_flight_peak"] == pytest.approx(416)


def test_the_results_frame_comes_from_the_run(standard_results: Callable[..., Results]) -> None:
    results = standard_results()
    out = results.backlog
    assert set(out["service"]) == set(results.model.topology.services)
