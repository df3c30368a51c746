"""``meshsim compare --meshes istio,linkerd SCENARIO``: one intent under both meshes.

Each mesh runs the scenario as written or as translated (:func:`meshsim.api.translate`), on
the same seed, with the proxy cost model on (``spec.proxy.cost: {}`` unless the scenario sets
one: a mesh comparison is also a cost comparison). The Linkerd side's per-version Services
(Linkerd has no subsets) are reported under the Istio names (``service``, ``subset``) so rows
line up. The comparison itself is :func:`meshsim.results.compare.compare` plus
:mod:`meshsim.results.divergence` (where the runs differ and which proxy rule explains it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from meshsim import api
from meshsim.config import Scenario
from meshsim.config.translate import Translation
from meshsim.errors import Location, ScenarioError
from meshsim.results import Results
from meshsim.results.compare import Comparison, compare
from meshsim.results.divergence import (
    RenamedRun,
    Renames,
    cost_side_by_side,
    divergences,
    retry_ratios,
    slo_verdicts,
)

COST = "spec.proxy.cost"


@dataclass(frozen=True)
class MeshComparison:
    """Both meshes' runs, the side-by-side comparison, the cost table and the divergences."""

    meshes: tuple[str, str]
    runs: tuple[Results, Results]
    comparison: Comparison
    cost: pd.DataFrame  # per service and role: cpu_seconds_a/_b, memory_mb_a/_b
    divergences: tuple[str, ...]
    verdicts: tuple[str, ...]
    translations: dict[str, Translation] = field(default_factory=dict)

    def save_plot(self, path: str | Path) -> Path:
        return self.comparison.save_plot(path)


def compare_meshes(
    scenario: Scenario | str | Path, meshes: Sequence[str] = ("istio", "linkerd"), *,
    seed: int | None = None, duration: float | None = None, cost: bool = True,
) -> MeshComparison:
    """Run ``scenario`` under both ``meshes`` on one seed and compare them."""
    if isinstance(scenario, str | Path):
        scenario = api.load(scenario)
    origin = Location(file=str(scenario.path))
    if len(meshes) != 2 or set(meshes) - {"istio", "linkerd"} or meshes[0] == meshes[1]:
        raise ScenarioError(f"--meshes {','.join(meshes)}: expected istio,linkerd or "
                            "linkerd,istio", origin)
    seed = scenario.model.seed if seed is None else seed
    translations: dict[str, Translation] = {}
    runs: list[Results] = []
    renames: list[Renames] = []
    for mesh in meshes:
        if scenario.spec.mesh == mesh:
            side = scenario
            renames.append({})
        else:
            translation = api.translate(scenario, mesh)
            translations[mesh] = translation
            side = api.load_translation(
                translation, scenario.path.with_name(f"{scenario.path.stem}-{mesh}.yaml"))
            renames.append(dict(translation.renamed))
        if cost and side.spec.proxy.cost is None:
            written = side.spec.proxy.overhead is not None  # the file has a proxy block then
            side = side.with_overrides({COST: {}} if written else {"spec.proxy": {"cost": {}}})
        if duration is not None:
            side = side.with_duration(duration)
        runs.append(api.simulate(side, seed=seed))
    a, b = runs
    labels = (f"A: {meshes[0]} (seed {seed})", f"B: {meshes[1]} (seed {seed})")
    named = (RenamedRun.view(a, renames[0]), RenamedRun.view(b, renames[1]))
    comparison = compare(named[0], named[1], labels=labels)
    cost_table = cost_side_by_side(a, b, renames)
    return MeshComparison(
        meshes=(meshes[0], meshes[1]), runs=(a, b), comparison=comparison, cost=cost_table,
        divergences=tuple(divergences(comparison.table, meshes, (
            retry_ratios(named[0].summary), retry_ratios(named[1].summary)))),
        verdicts=tuple(slo_verdicts(comparison.slo, meshes)), translations=translations,
    )
