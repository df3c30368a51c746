"""A run whose every call is denied by authorization policy fails, loudly, in text and JSON."""

from __future__ import annotations

import json
from pathlib import Path

from test_cli import CLI_FIXTURES, meshsim

ALL_DENIED = CLI_FIXTURES / "all-denied.yaml"


def test_an_all_denied_run_exits_1_and_says_so(tmp_path: Path) -> None:
    proc = meshsim("run", ALL_DENIED, "--no-plots", "--out", tmp_path / "run", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "refused: every request of workload users after warm-up (" in proc.stderr
    assert "denied by authorization policy (403)" in proc.stderr
    header = next(line for line in proc.stdout.splitlines() if "SERVICE" in line)
    assert "DENIED" in header.split()
    assert "(100.0%)" in proc.stdout


def test_quiet_and_json_still_carry_the_refusal(tmp_path: Path) -> None:
    quiet = meshsim("run", ALL_DENIED, "--no-plots", "--quiet", "--out", tmp_path / "q",
                    cwd=tmp_path)
    assert quiet.returncode == 1 and "refused:" in quiet.stderr
    proc = meshsim("run", ALL_DENIED, "--no-plots", "--json", "--out", tmp_path / "j",
                   cwd=tmp_path)
    assert proc.returncode == 1
    payload = json.loads(proc.stdout)
    assert payload["passed"] is False
    assert [(r["kind"], r["name"]) for r in payload["refused"]] == [
        ("workload", "users"), ("service", "web")]
    (users,) = payload["workloads"]
    assert users["success_rate"] == 1.0 and users["denied_rate"] == 1.0
    info = json.loads((tmp_path / "j" / "run.json").read_text())
    assert info["passed"] is False


def test_an_expectation_on_denials_makes_them_meant(tmp_path: Path) -> None:
    meant = tmp_path / "meant.yaml"
    meant.write_text(ALL_DENIED.read_text().replace(
        "  workload:", "  expect: [{metric: denied_rate, service: web, min: 100%}]\n  workload:"))
    proc = meshsim("run", meant, "--no-plots", "--out", tmp_path / "run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "refused" not in proc.stderr
    assert "✔ denied_rate web" in proc.stdout and "100.00%" in proc.stdout
