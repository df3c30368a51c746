"""Small simulated runs for the viz and OpenMetrics tests, each saved as a run directory, and
the pandas the views must agree with."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from paths import FIXTURES, SCENARIOS

import meshsim
from meshsim import Results

ISTIO = FIXTURES / "viz" / "istio.yaml"
LINKERD = SCENARIOS / "linkerd" / "service-profile.yaml"
AUTHZ = SCENARIOS / "istio" / "authorization.yaml"


@dataclass(frozen=True)
class SavedRun:
    results: Results
    path: Path


def saved_run(scenario: Path, folder: Path, **overrides: str) -> SavedRun:
    loaded = meshsim.load(scenario)
    if overrides:
        loaded = loaded.with_overrides(overrides)
    results = meshsim.simulate(loaded)
    return SavedRun(results, results.save(folder / "run", plots=False))


def in_window(frame: pd.DataFrame, since: float, until: float) -> pd.DataFrame:
    """Rows that start in [since, until): the views' window."""
    t = frame["start"].to_numpy()
    return frame[(t >= since) & (t < until)]


def quantiles(values: pd.Series) -> list[float]:
    return [float(np.quantile(values.to_numpy(), q)) for q in (0.5, 0.95, 0.99)]


def owner_of(results: Results) -> dict[str, str]:
    """Pod or client proxy -> deployment (``reviews-v2``) or workload name."""
    found: dict[str, str] = {}
    for service in results.model.topology.services.values():
        for dep in service.deployments:
            name = service.name if dep.version is None else f"{service.name}-{dep.version}"
            found.update(dict.fromkeys(dep.pod_names(), name))
    for workload in results.model.workloads:
        found.update(dict.fromkeys(workload.client_names(), workload.name))
    return found


def promtool() -> str:
    """promtool's path; skip when Debian's ``prometheus`` package is absent, unless CI
    (``MESHSIM_REQUIRE_PROMTOOL=1``) says it must be there."""
    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("MESHSIM_REQUIRE_PROMTOOL") == "1":
            pytest.fail("promtool is required here (MESHSIM_REQUIRE_PROMTOOL=1): "
                        "apt-get install prometheus")
        pytest.skip("promtool not installed (Debian: apt-get install prometheus)")
    return found
