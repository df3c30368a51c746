"""``meshsim multicluster gateways``: linkerd's table shape over a run."""

from __future__ import annotations

from pathlib import Path

from paths import SCENARIOS
from typer.testing import CliRunner

from meshsim.cli.main import app


def gateways(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["multicluster", "gateways", *args])
    return result.exit_code, result.output


def test_linkerd_gateway_shows_detection_and_recovery() -> None:
    code, out = gateways(str(SCENARIOS / "multicluster" / "linkerd-failover.yaml"))
    assert code == 0
    header, row = out.splitlines()[:2]
    assert header.split() == ["GATEWAY", "CLUSTER", "ALIVE", "NUM_SVC", "LATENCY", "DEAD_AT",
                              "ALIVE_AT"]
    cells = row.split()
    assert cells[:4] == ["linkerd-gateway-west", "west", "True", "1"]
    dead, alive = float(cells[5].rstrip("s")), float(cells[6].rstrip("s"))
    assert 16 <= dead <= 20 and 30 <= alive <= 33.4


def test_dead_at_the_end_reads_false() -> None:
    code, out = gateways(str(SCENARIOS / "multicluster" / "linkerd-gateway.yaml"),
                         "--duration", "25s")
    assert code == 0
    assert out.splitlines()[1].split()[2] == "False"


def test_a_bad_scenario_is_one_located_line() -> None:
    code, out = gateways(str(SCENARIOS / "multicluster" / "linkerd-gateway.yaml"),
                         "--set", "spec.faults[0].gateway=north")
    assert code == 2
    assert "spec.faults[0].gateway" in out


def test_run_prints_golden_metrics_by_cluster_and_zone(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, [
        "run", str(SCENARIOS / "multicluster" / "zone-outage.yaml"), "--duration", "20s",
        "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    start = lines.index("golden metrics by cluster and zone (attempts, after warm-up)")
    assert lines[start + 1].split() == ["SERVICE", "CLUSTER", "ZONE", "ATTEMPTS", "RPS",
                                       "SUCCESS", "P50", "P99"]
    rows = [line.split() for line in lines[start + 2:start + 5]]
    assert [r[:3] for r in rows] == [["frontend", "east", "us-east1-a"],
                                     ["reviews", "east", "us-east1-a"],
                                     ["reviews", "east", "us-east1-b"]]


def test_a_single_cluster_run_has_no_place_table(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, [
        "run", str(SCENARIOS / "single-queue.yaml"), "--out", str(tmp_path / "run")])
    assert "by cluster and zone" not in result.output
