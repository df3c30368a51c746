"""One intent under both meshes: divergences known from the proxies' rules show in the
comparison (budgeted vs counted retries; P2C over peak EWMA vs least request)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from typer.testing import CliRunner

import meshsim
from meshsim.cli.main import app

ROOT = Path(__file__).parents[2]


def _compare(name: str, seed: int, duration: float | None = None) -> meshsim.MeshComparison:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return meshsim.compare_meshes(ROOT / "scenarios" / name, ("istio", "linkerd"),
                                      seed=seed, duration=duration)


def _row(result: meshsim.MeshComparison, name: str, subset: str = "") -> dict[str, float]:
    table = result.comparison.table
    rows = table[(table["kind"] == "service") & (table["name"] == name)
                 & (table["subset"] == subset)]
    return rows.iloc[0].to_dict()


@pytest.mark.parametrize("seed", [1, 2])
def test_p2c_ewma_starves_a_slow_pod_that_least_request_still_feeds(seed: int) -> None:
    """Least request (Envoy) keeps sending the slow pod about a fifth of the traffic (its
    active requests are the only signal); Linkerd's P2C over peak EWMA sends it a few per cent
    at most: at least three times less, and the p99 follows."""
    result = _compare("meshes/slow-pod.yaml", seed)
    slow, api = _row(result, "api", "slow"), _row(result, "api")
    share_istio = slow["rps_a"] / api["rps_a"]
    share_linkerd = slow["rps_b"] / api["rps_b"]
    assert 0.10 < share_istio < 1 / 3  # fewer than round robin's third, more than a tenth
    assert share_linkerd < share_istio / 3
    assert api["p99_b"] < api["p99_a"]
    assert any("api/slow: share of requests" in line for line in result.divergences)


@pytest.mark.parametrize("seed", [1, 2])
def test_counted_retries_outnumber_a_linkerd_budget_under_the_storm(seed: int) -> None:
    """The Linkerd retry storm (ServiceProfile retries held by a 20 % budget) translated to
    Istio (attempts 3 plus a 20 % Envoy budget, which limits concurrent retries, not their
    rate): Envoy retries at least 1.5x as often per request at the hop next to the slow
    service, and the comparison names it."""
    result = _compare("linkerd/retry-storm.yaml", seed, duration=35.0)
    ratios = [{(str(r["service"]), str(r["subset"] or "")): float(r["retry_ratio"])
               for r in run.summary.fillna({"subset": ""}).to_dict("records")}
              for run in result.runs]
    istio, linkerd = ratios[0][("ratings", "")], ratios[1][("ratings", "")]
    assert linkerd <= 0.2 + 0.05  # the budget's ratio (plus its small reserve)
    assert istio > 1.5 * linkerd
    assert any(line.startswith("ratings: retries per request") for line in result.divergences)
    assert result.translations["istio"].lost  # ttl has no Envoy equivalent, and says so


def test_both_runs_report_proxy_cost_and_linkerd_costs_less_memory() -> None:
    result = _compare("meshes/slow-pod.yaml", 1)
    istio, linkerd = (run.data_plane_cost for run in result.runs)
    assert istio["proxies"] == linkerd["proxies"] > 0
    assert linkerd["memory_mb"] < istio["memory_mb"]
    assert set(result.cost.columns) >= {"service", "cpu_seconds_a", "cpu_seconds_b"}


def test_cli_compare_meshes_prints_divergences_and_writes_the_plot(tmp_path: Path) -> None:
    plot = tmp_path / "meshes.png"
    result = CliRunner().invoke(app, ["compare", "--meshes", "istio,linkerd",
                                      str(ROOT / "scenarios/meshes/slow-pod.yaml"),
                                      "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    for text in ("A: istio", "B: linkerd", "proxy cost", "where the meshes diverge",
                 "SLO verdicts", "only linkerd meets it"):
        assert text in result.output
    assert plot.stat().st_size > 0


def test_cli_compare_needs_two_runs_without_meshes() -> None:
    result = CliRunner().invoke(app, ["compare", str(ROOT / "scenarios/meshes/slow-pod.yaml")])
    assert result.exit_code == 2
    assert "--meshes" in result.output and "Traceback" not in result.output


def test_a_canary_split_lines_up_as_subsets_under_both_meshes() -> None:
    """Linkerd runs the canary as Services my-service-stable/-canary; the comparison reports
    them as Istio's subsets, with the same 90/10 split and the same SLO rows."""
    result = _compare("istio/canary-split.yaml", 1, duration=20.0)
    canary, total = _row(result, "my-service", "canary"), _row(result, "my-service")
    for side in ("a", "b"):
        assert 0.05 < canary[f"rps_{side}"] / total[f"rps_{side}"] < 0.15
    slo = result.comparison.slo
    assert len(slo) == 3 and slo["passed_b"].notna().all()
