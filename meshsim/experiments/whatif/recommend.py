"""The policy recommender: the cheapest setting in a space that meets the SLOs on every seed.

A *candidate* is one combination of values of the ``space`` (``--set`` paths: retry attempts,
``perTryTimeout``, a retry budget, outlier ejection settings, ...). Each runs under the
scenario's own faults for every seed, and is judged on ``spec.expect``:

- **meets SLOs**: every expectation passed on every seed (a pass on most seeds is not enough:
  the point is that the fault does not take the system down);
- **cost**: the extra attempts the mesh sent per user request after warm-up (retries on every
  hop, mirrors excluded), averaged over seeds. This is the load the policy adds: what retries
  cost the upstreams in steady state and what they amplify under a fault;
- **changes**: how many paths differ from the scenario as written (fewer is a smaller, safer
  change to review);
- **margin**: the worst headroom over SLOs and seeds as a share of each bound (see
  :func:`meshsim.experiments.whatif.runs.slo_margin`).

Ranking: candidates that meet the SLOs first. Among them, costs closer than
``cost_tolerance`` (default 0.01 extra attempts per request, i.e. 1 % of the load, below what
a few seeds resolve) count as equal: the cheapest group is ranked by fewer changes, then
larger margin, and so on down the list. Candidates that miss follow, by pass rate then margin.
The scenario as written is always run on the same seeds, so the table says how it compares.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from meshsim.config import Scenario
from meshsim.experiments.plan import check_path, scenario_of, seed_list
from meshsim.experiments.whatif.runs import Progress, run_all

AS_WRITTEN = "(as written)"
MAX_CANDIDATES = 256


@dataclass(frozen=True)
class Recommendation:
    """``options``: one ranked row per candidate; ``runs``: one row per (candidate, seed)."""

    options: pd.DataFrame
    runs: pd.DataFrame
    space: tuple[str, ...]
    seeds: tuple[int, ...]
    scenario_name: str
    current: dict[str, Any] = field(default_factory=dict)  # the as-written row of options

    @property
    def found(self) -> bool:
        """Whether any candidate met every SLO on every seed."""
        return bool(len(self.options)) and bool(self.options.iloc[0]["meets_slos"])

    @property
    def best(self) -> dict[str, object]:
        """The recommended overrides (``{path: value}``); empty when nothing met the SLOs."""
        if not self.found:
            return {}
        top = self.options.iloc[0]
        return {p: _native(top[p]) for p in self.space if top[p] != AS_WRITTEN}

    def to_csv(self, path: str | Path, *, runs: bool = False) -> Path:
        """Write the ranked options (or, with ``runs=True``, every run) as CSV."""
        out = Path(path)
        (self.runs if runs else self.options).to_csv(out, index=False)
        return out


def recommend(
    scenario: Scenario | str | Path,
    space: Mapping[str, Sequence[object]],
    seeds: Sequence[int] | int = 3,
    workers: int | None = None,
    progress: Progress = False,
    cost_tolerance: float = 0.01,
    max_candidates: int = MAX_CANDIDATES,
) -> Recommendation:
    """Search ``space`` for the cheapest setting that meets ``spec.expect`` on every seed.

    ``space`` maps ``--set`` paths to the values to try (the product is searched, up to
    ``max_candidates``). ``seeds`` is a count (``0..n-1``) or a list; the scenario as written
    runs on the same seeds. ``workers=1`` runs inline, otherwise a process pool.
    """
    base = scenario_of(scenario)
    paths = _check_space(base, space)
    seed_values = seed_list(seeds)
    candidates = _candidates(space, paths, max_candidates)
    cells, changed, current = _cells(base, space, paths, candidates)
    measured = run_all(
        base, [_overrides(c) for c in cells], seed_values, workers=workers, progress=progress
    )
    runs = pd.DataFrame.from_records([
        {**cell, "candidate": i, "seed": seed, **row}
        for i, (cell, rows) in enumerate(zip(cells, measured, strict=True))
        for seed, row in zip(seed_values, rows, strict=True)
    ])
    options = _options(cells, measured, changed, current, cost_tolerance)
    current_row = {str(k): v for k, v in options[options["current"]].iloc[0].items()}
    return Recommendation(
        options=options, runs=runs, space=paths, seeds=tuple(seed_values),
        scenario_name=base.name, current=current_row,
    )


def _check_space(base: Scenario, space: Mapping[str, Sequence[object]]) -> tuple[str, ...]:
    if not base.model.expectations:
        raise ValueError(f"{base.name}: no SLOs (spec.expect) to meet; add some first")
    paths = tuple(space)
    if not paths:
        raise ValueError("space: give at least one path and its values")
    for path in paths:
        check_path(path, space[path])
    return paths


def _candidates(
    space: Mapping[str, Sequence[object]], paths: tuple[str, ...], max_candidates: int,
) -> list[dict[str, object]]:
    candidates = [
        dict(zip(paths, combo, strict=True))
        for combo in itertools.product(*(list(space[p]) for p in paths))
    ]
    if len(candidates) > max_candidates:
        raise ValueError(
            f"space has {len(candidates)} candidates, more than {max_candidates}; "
            "narrow it or raise max_candidates"
        )
    return candidates


def _cells(
    base: Scenario, space: Mapping[str, Sequence[object]], paths: tuple[str, ...],
    candidates: list[dict[str, object]],
) -> tuple[list[dict[str, object]], list[int], int]:
    """The cells to run (the candidates, plus the scenario as written when it is none of
    them), how many paths each changes, and the index of the as-written cell."""
    current = {p: current_value(base, p, space[p]) for p in paths}
    as_written = next(
        (i for i, c in enumerate(candidates) if all(c[p] == current[p] for p in paths)), None
    )
    cells = list(candidates)
    if as_written is None:
        cells.append(dict(current))  # known values are no-ops, the rest stay as written
    changed = [sum(c[p] != current[p] for p in paths) for c in cells]
    return cells, changed, as_written if as_written is not None else len(cells) - 1


def _options(
    cells: list[dict[str, object]], measured: list[list[dict[str, Any]]], changed: list[int],
    current: int, cost_tolerance: float,
) -> pd.DataFrame:
    """One ranked row per cell, ``rank`` first."""
    summary = [
        _summarize(i, cell, rows, changed[i], is_current=(i == current))
        for i, (cell, rows) in enumerate(zip(cells, measured, strict=True))
    ]
    options = pd.DataFrame.from_records(rank(summary, cost_tolerance))
    options.insert(0, "rank", range(1, len(options) + 1))
    return options


def current_value(base: Scenario, path: str, values: Sequence[object]) -> object:
    """The value in ``values`` the scenario already has at ``path`` (compiled model equal), or
    :data:`AS_WRITTEN` when none of them is it. Comparing compiled models makes ``3`` and
    ``"3"``, or ``250ms`` and ``0.25s``, the same setting."""
    model = base.model
    for value in values:
        if base.with_overrides({path: value}).model == model:
            return value
    return AS_WRITTEN


def _native(value: object) -> object:
    """A plain Python value (a DataFrame cell may be a numpy scalar) for ``--set`` and JSON."""
    item = getattr(value, "item", None)
    return item() if callable(item) and not isinstance(value, str | list | dict) else value


def _overrides(cell: Mapping[str, object]) -> dict[str, object]:
    return {p: v for p, v in cell.items() if v != AS_WRITTEN}


def _summarize(
    index: int, cell: Mapping[str, object], rows: Sequence[Mapping[str, Any]], changes: int,
    *, is_current: bool,
) -> dict[str, Any]:
    passed = [bool(r["slo_passed"]) for r in rows]
    costs = [float(r["extra_attempts"]) for r in rows]
    recovered = [r["recovered"] for r in rows if r["recovered"] is not None]
    failed = sorted({r["slo_failed"] for r in rows if r["slo_failed"]})
    return {
        **cell,
        "candidate": index,
        "current": is_current,
        "meets_slos": all(passed),
        "pass_rate": sum(passed) / len(passed),
        "cost": _mean(costs),
        "changes": changes,
        "margin": min(float(r["slo_margin"]) for r in rows),
        "success_rate": _mean([float(r["success_rate"]) for r in rows]),
        "recovered_rate": _mean([float(bool(x)) for x in recovered]),
        "failed": "; ".join(failed),
    }


def rank(options: Sequence[dict[str, Any]], cost_tolerance: float) -> list[dict[str, Any]]:
    """Meeting candidates by cost (ties within ``cost_tolerance`` by changes, then margin),
    then the rest by pass rate and margin."""
    meeting = [o for o in options if o["meets_slos"]]
    ranked: list[dict[str, Any]] = []
    while meeting:
        cheapest = min(_cost_key(o) for o in meeting)
        group = [o for o in meeting if _cost_key(o) <= cheapest + cost_tolerance]
        pick = min(group, key=lambda o: (o["changes"], -o["margin"], _cost_key(o), o["candidate"]))
        ranked.append(pick)
        meeting.remove(pick)
    missing = [o for o in options if not o["meets_slos"]]
    ranked += sorted(missing, key=lambda o: (-o["pass_rate"], -o["margin"], o["candidate"]))
    return ranked


def _cost_key(option: Mapping[str, Any]) -> float:
    cost = float(option["cost"])
    return math.inf if math.isnan(cost) else cost


def _mean(values: Sequence[float]) -> float:
    clean = [v for v in values if not math.isnan(v)]
    return sum(clean) / len(clean) if clean else math.nan
