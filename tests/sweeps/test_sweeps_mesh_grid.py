"""``--grid mesh=istio,linkerd``: one intent, translated per grid point, swept over seeds."""

from __future__ import annotations

from pathlib import Path

import meshsim

ROOT = Path(__file__).parents[2]


def test_a_mesh_grid_runs_the_translation_for_the_other_mesh() -> None:
    result = meshsim.sweep(ROOT / "scenarios/meshes/slow-pod.yaml",
                           grid={"mesh": ["istio", "linkerd"]}, seeds=[1, 2], workers=1)
    p99 = {str(row["mesh"]): float(row["p99_mean"]) for row in result.points.to_dict("records")}
    assert set(p99) == {"istio", "linkerd"}
    assert p99["linkerd"] < p99["istio"] / 2  # P2C over peak EWMA avoids the slow pod
