"""Canary rehearsal: the same rollout over many seeds, as probabilities with intervals.

One run says what *this* draw of traffic did; a team deciding whether to ship wants to know how
likely the controller is to promote a good release, roll back a bad one, and — at low traffic —
abort a healthy one because a check saw a handful of unlucky requests.

>>> result = meshsim.canary("scenarios/canary/flagger-low-traffic-false-rollback.yaml", runs=100)
>>> result.aggregate   # per rollout: P(promotion), P(rollback) with Wilson 95 % intervals, ...
>>> result.runs        # per run and rollout: outcome, time to decision, users hurt, ...

Runs go through :func:`~meshsim.experiments.execute.execute` like a sweep's: each worker loads
the scenario from its path and overrides, and rows come back in seed order whatever the number
of workers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from meshsim import api
from meshsim.config import Scenario
from meshsim.experiments.execute import execute
from meshsim.experiments.plan import scenario_of
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


def run_rollout(path: str, overrides: dict[str, object], seed: int) -> list[dict[str, Any]]:
    """One seeded run's rollout rows; a rollout the run ended before gets a ``not started``
    row, so every run counts in the denominators. Top level: the pool pickles it by name."""
    scenario = api.load(path, overrides or None)
    results = api.simulate(scenario, seed=seed, record="summary")
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
    base = scenario_of(scenario)
    _check_rollout(base, runs)
    seeds = list(range(seed_base, seed_base + runs))
    found = _run_seeds(base, seeds, workers, progress or (lambda done, total: None))
    records = [row for seed in seeds for row in found[seed]]
    table = pd.DataFrame.from_records(records, columns=list(RUN_COLUMNS))
    return CanaryResult(scenario=str(base.name), runs=table, aggregate=rollout_stats(table))


def _run_seeds(
    base: Scenario, seeds: list[int], workers: int | None, report: Callable[[int, int], None],
) -> dict[Hashable, list[dict[str, Any]]]:
    """Each seed's rollout rows; workers load the scenario from its path and overrides."""
    path = str(Path(base.path).resolve())
    overrides: dict[str, object] = dict(base.overrides)
    found: dict[Hashable, list[dict[str, Any]]] = {}

    def finish(seed: Hashable, rows: list[dict[str, Any]]) -> None:
        found[seed] = rows
        report(len(found), len(seeds))

    tasks = [(seed, (path, overrides, seed)) for seed in seeds]
    execute(run_rollout, tasks, finish, workers=workers)
    return found


def _check_rollout(base: Scenario, runs: int) -> None:
    if runs < 1:
        raise ValueError(f"runs: need at least one run, got {runs}")
    if not base.model.rollouts:
        raise ValueError(
            f"{base.path}: the scenario has no rollout; add a Flagger Canary "
            "(flagger.app/v1beta1) or an Argo Rollout (argoproj.io/v1alpha1)"
        )


def rollout_stats(runs: pd.DataFrame) -> pd.DataFrame:
    """Per rollout: outcome counts and probabilities with Wilson 95 % intervals, and the
    median, p10 and p90 of time to decision (decided runs only), weight reached, users hurt
    and canary failures."""
    records = []
    for name, part in runs.groupby("rollout", sort=False):
        n = len(part)
        row: dict[str, Any] = {"rollout": name, "runs": n, **_outcome_odds(part["outcome"])}
        for column in DISTRIBUTIONS:
            for stat, value in spread(part[column].to_numpy(dtype=float)).items():
                row[f"{column}_{stat}"] = value
        hurt = part["users_hurt"].to_numpy(dtype=float)
        hurt = hurt[np.isfinite(hurt)]
        row["users_hurt_mean"] = float(hurt.mean()) if len(hurt) else math.nan
        records.append(row)
    return pd.DataFrame.from_records(records)


def _outcome_odds(outcomes: pd.Series) -> dict[str, Any]:
    """Per outcome: its count, its share and that share's Wilson 95 % interval."""
    n = len(outcomes)
    row: dict[str, Any] = {}
    for outcome in (*OUTCOMES, NOT_STARTED):
        key = outcome.replace(" ", "_")
        k = int((outcomes == outcome).sum())
        low, high = wilson(k, n)
        row[key] = k
        row[f"p_{key}"] = k / n
        row[f"p_{key}_low"], row[f"p_{key}_high"] = low, high
    return row
