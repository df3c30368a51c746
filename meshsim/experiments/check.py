"""Many seeds against the SLOs: whether each ``spec.expect`` holds with a stated confidence.

The runs go where a sweep's go (:func:`~meshsim.experiments.execute.execute`); the verdict is
:func:`meshsim.results.check.assess`'s.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from meshsim import api
from meshsim.config import Scenario
from meshsim.experiments.execute import DaskTarget, execute
from meshsim.experiments.plan import scenario_of, seed_list
from meshsim.experiments.progress import progress_reporter
from meshsim.model import Model
from meshsim.results.check import CheckReport, assess


def check(
    scenario: Scenario | str | Path,
    seeds: Sequence[int] | int = 10,
    confidence: float = 0.95,
    *,
    duration: float | None = None,
    workers: int | None = None,
    progress: bool | Callable[[int, int], None] = False,
    dask: DaskTarget | None = None,
) -> CheckReport:
    """Run ``scenario`` once per seed and judge each ``spec.expect`` SLO over all of them.

    An SLO passes when its metric's one-sided Student-t confidence bound on the mean over the
    seeds (at ``confidence``) lies on the right side of its threshold, and the metric had
    traffic on every seed (see :func:`meshsim.results.check.assess`). Runs go where
    :func:`~meshsim.experiments.sweep.sweep`'s go (``workers``, ``dask``); ``duration``
    shortens every run.
    """
    base = scenario_of(scenario)
    seed_values = _check_seeds(seeds, confidence)
    if duration is not None:  # the spec.duration override, cut as meshsim.config.shorten says
        base = base.with_duration(duration)
    per_seed = run_seeds(base.model, seed_values, workers=workers, progress=progress, dask=dask)
    frame = pd.DataFrame.from_records(
        [{"seed": seed, **row} for seed in seed_values for row in per_seed.get(seed, [])]
    )
    return assess(base.name, frame, confidence, file=str(base.path), seeds=len(seed_values))


def _check_seeds(seeds: Sequence[int] | int, confidence: float) -> list[int]:
    seed_values = seed_list(seeds)
    if len(seed_values) < 2:
        raise ValueError("seeds: need at least 2 seeds to state a confidence")
    if not 0.5 < confidence < 1:
        raise ValueError(f"confidence {confidence}: expected a value in (0.5, 1), e.g. 0.95")
    return seed_values


def run_seeds(
    model: Model, seeds: list[int], *, workers: int | None,
    progress: bool | Callable[[int, int], None], dask: DaskTarget | None,
) -> dict[Hashable, list[dict[str, Any]]]:
    """Each seed's SLO rows; none at all when the scenario states no SLO."""
    per_seed: dict[Hashable, list[dict[str, Any]]] = {}
    total = len(seeds) if model.expectations else 0
    report, close = progress_reporter(progress, total)
    report(0, total)

    def finish(key: Hashable, rows: list[dict[str, Any]]) -> None:
        per_seed[key] = rows
        report(len(per_seed), total)

    tasks = [(seed, (model, seed)) for seed in seeds] if model.expectations else []
    try:
        execute(run_slo, tasks, finish, workers=workers, dask=dask)
    finally:
        close()
    return per_seed


def run_slo(model: Model, seed: int) -> list[dict[str, Any]]:
    """The SLO rows of one seed's run, as plain records (small to send back); top level so
    the pool and Dask pickle it by name."""
    results = api.simulate(model, seed=seed, record="summary")
    refused = "; ".join(results.refused["message"])  # every call answered 4xx: fails each SLO
    return [{**{str(k): v for k, v in row.items()}, "refused": refused}
            for row in results.slo().to_dict("records")]
