"""The public API: the one module that crosses every stage of the pipeline.

``load`` (config) → ``Scenario.model`` (compile) → ``simulate`` (sim + metrics) → ``Results``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path

from meshsim.config import Scenario, load_scenario
from meshsim.config.estimate import LargeRunWarning, check_run_size, warn_run_size
from meshsim.model import Model
from meshsim.results import Results
from meshsim.sim import Simulation

__all__ = ["LargeRunWarning", "check_run_size", "load", "simulate"]


def load(
    path: str | Path, overrides: Mapping[str, object] | None = None, *, strict: bool = False
) -> Scenario:
    """Read a scenario file (and the manifests it names), validate it, and compile it."""
    return load_scenario(Path(path), overrides=overrides, strict=strict)


def simulate(
    scenario: Scenario | Model | str | Path,
    seed: int | None = None,
    duration: float | None = None,
    *,
    progress: Callable[[float, float], None] | None = None,
    allow_large: bool = False,
) -> Results:
    """Run one simulation. ``progress(now, duration)`` is called as simulated time advances."""
    if isinstance(scenario, str | Path):
        scenario = load(scenario)
    model = scenario.model if isinstance(scenario, Scenario) else scenario
    if seed is not None:
        model = replace(model, seed=int(seed))
    if duration is not None:
        model = replace(model, duration=float(duration), warmup=min(model.warmup, float(duration)))
    file = str(scenario.path) if isinstance(scenario, Scenario) else "<model>"
    warn_run_size(model, allow_large=allow_large, file=file)  # refuses a run too large to finish
    started = time.perf_counter()
    recording = Simulation(model).run(progress=progress)
    wall = time.perf_counter() - started
    meta = scenario.metadata() if isinstance(scenario, Scenario) else {"name": model.name}
    return Results(model, recording, wall_time=wall, scenario_meta=meta)
