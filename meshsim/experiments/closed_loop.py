"""The closed-loop throughput/latency curve: one closed-loop workload run at several user
counts (a sweep over ``spec.workload[i].users``), each point read per user request.

Throughput climbs with users until the bottleneck saturates, then latency climbs instead
(each extra user only waits); the ``law_latency`` column is the response-time law N/X − Z
computed from the measured throughput, a check on each point.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from meshsim import api
from meshsim.config import Scenario
from meshsim.experiments.plan import scenario_of, seed_list
from meshsim.results.clients import closed_loop_point


def closed_loop_curve(
    scenario: Scenario | str | Path, users: Sequence[int], *, workload: int = 0,
    seeds: Sequence[int] | int = 1,
) -> pd.DataFrame:
    """One row per user count and seed: users, throughput, goodput, mean_latency, p99,
    law_latency (per user request of workload ``workload``, after warm-up)."""
    base = scenario_of(scenario)
    workloads = base.model.workloads
    if not 0 <= workload < len(workloads) or workloads[workload].closed is None:
        raise ValueError(f"workload {workload}: not a closed-loop workload (give it users or "
                         "connections)")
    spec = base.document.spec.workload[workload]
    field = "connections" if spec.connections is not None else "users"
    name = workloads[workload].name
    rows = []
    for count in users:
        point = base.with_overrides({f"spec.workload[{workload}].{field}": int(count)})
        loop = point.model.workloads[workload].closed
        think = loop.think.mean if loop is not None else 0.0
        for seed in seed_list(seeds):
            results = api.simulate(point, seed=seed)
            mine = results.requests[results.requests["workload"].astype(str) == name]
            row = closed_loop_point(mine, int(count), think, start=results.warmup,
                                    end=results.duration)
            rows.append({**row, "seed": seed})
    return pd.DataFrame(rows)
