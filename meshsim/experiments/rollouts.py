"""Canary rehearsal: the same rollout over many seeds, as probabilities with intervals.

One run says what *this* draw of traffic did; a team deciding whether to ship wants to know how
likely the controller is to promote a good release, roll back a bad one, and — at low traffic —
abort a healthy one because a check saw a handful of unlucky requests.

>>> result = meshsim.canary("scenarios/canary/flagger-low-traffic-false-rollback.yaml", runs=100)
>>> result.aggregate   # per rollout: P(promotion), P(rollback) with Wilson 95 % intervals, ...
>>> result.runs        # per run and rollout: outcome, time to decision, users hurt, ...

Runs go to a process pool as in :mod:`meshsim.experiments.sweep`: each worker loads the
scenario from its path and overrides, and rows come back in seed order whatever the number of
workers.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from meshsim import api
from meshsim.config import Scenario
from meshsim.results.rollout import OUTCOMES, SUMMARY_COLUMNS, spread, wilson

NOT_STARTED = "not started"
RUN_COLUMNS = ("seed", *SUMMARY_COLUMNS)
DISTRIBUTIONS = ("time_to_decision", "max_weight", "users_hurt", "canary_failed")


@dataclass(frozen=True)
class CanaryResult:
    """``runs``: one row per (seed, rollout); ``aggregate``: one row per rollout."""

    scenario: str
    runs: pd.DataFrame
    aggregate: pd.DataFrame

    def to_csv(self, path: str | Path, *, aggregate: bool = False) -> Path:
        """Write the runs (or, with ``aggregate=True``, the per-rollout aggregate) as CSV."""
        out = Path(path)
        (self.aggregate if aggregate else self.runs).to_csv(out, index=False)
        return out


def _run_one(path: str, overrides: dict[str, object], seed: int) -> list[dict[str, Any]]:
    """One seeded run's rollout rows; a rollout the run ended before gets a ``not started``
    row, so every run counts in the denominators."""
    scenario = api.load(path, overrides or None)
    results = api.simulate(scenario, seed=seed)
    rows = [{"seed": seed, **{str(k): v for k, v in row.items()}}
            for row in results.rollout.to_dict("records")]
    if not rows:
        rows = [{"seed": seed, "rollout": spec.name, "outcome": NOT_STARTED}
                for spec in scenario.model.rollouts]
    return rows


def canary(
    scenario: Scenario | str | Path,
    runs: int = 100,
    *,
    seed_base: int = 0,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> CanaryResult:
    """Simulate the scenario's rollout with seeds ``seed_base .. seed_base+runs-1``.

    ``workers=1`` runs inline; otherwise a process pool (default: CPU count). Raises
    ``ValueError`` when the scenario has no rollout (Flagger ``Canary`` or Argo ``Rollout``)
    or ``runs`` is below 1.
    """
    base = scenario if isinstance(scenario, Scenario) else api.load(scenario)
    if runs < 1:
        raise ValueError(f"runs: need at least one run, got {runs}")
    if not base.model.rollouts:
        raise ValueError(
            f"{base.path}: the scenario has no rollout; add a Flagger Canary "
            "(flagger.app/v1beta1) or an Argo Rollout (argoproj.io/v1alpha1)"
        )
    path = str(Path(base.path).resolve())
    overrides: dict[str, object] = dict(base.overrides)
    seeds = list(range(seed_base, seed_base + runs))
    report = progress or (lambda done, total: None)
    found: dict[int, list[dict[str, Any]]] = {}
    if workers == 1 or runs == 1:
        for seed in seeds:
            found[seed] = _run_one(path, overrides, seed)
            report(len(found), runs)
    else:
        n = min(workers or os.cpu_count() or 1, runs)
        with ProcessPoolExecutor(max_workers=n) as pool:
            futures = {pool.submit(_run_one, path, overrides, s): s for s in seeds}
            for future in as_completed(futures):
                found[futures[future]] = future.result()
                report(len(found), runs)
    records = [row for seed in seeds for row in found[seed]]
    table = pd.DataFrame.from_records(records, columns=list(RUN_COLUMNS))
    return CanaryResult(
        scenario=str(base.name), runs=table, aggregate=aggregate(table),
    )


def aggregate(runs: pd.DataFrame) -> pd.DataFrame:
    """Per rollout: outcome counts and probabilities with Wilson 95 % intervals, and the
    median, p10 and p90 of time to decision (decided runs only), weight reached, users hurt
    and canary failures."""
    records = []
    for name, part in runs.groupby("rollout", sort=False):
        n = len(part)
        row: dict[str, Any] = {"rollout": name, "runs": n}
        for outcome in (*OUTCOMES, NOT_STARTED):
            key = outcome.replace(" ", "_")
            k = int((part["outcome"] == outcome).sum())
            low, high = wilson(k, n)
            row[key] = k
            row[f"p_{key}"] = k / n
            row[f"p_{key}_low"], row[f"p_{key}_high"] = low, high
        for column in DISTRIBUTIONS:
            for stat, value in spread(part[column].to_numpy(dtype=float)).items():
                row[f"{column}_{stat}"] = value
        hurt = part["users_hurt"].to_numpy(dtype=float)
        hurt = hurt[np.isfinite(hurt)]
        row["users_hurt_mean"] = float(hurt.mean()) if len(hurt) else math.nan
        records.append(row)
    return pd.DataFrame.from_records(records)
