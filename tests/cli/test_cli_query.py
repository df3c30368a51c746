"""``meshsim run --record`` and ``meshsim query``: SQL over a stored run from the shell."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_cli import SMALL, assert_one_error_line, meshsim


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cwd = tmp_path_factory.mktemp("q")
    proc = meshsim("run", SMALL, "-o", "r", "--no-plots", "-q", "--record", "requests", cwd=cwd)
    assert proc.returncode in (0, 1), proc.stderr
    return cwd / "r"


def test_record_requests_stores_requests_and_calls_only(run_dir: Path) -> None:
    assert sorted(p.name for p in run_dir.iterdir() if p.is_dir()) == ["calls", "requests"]
    info = json.loads((run_dir / "run.json").read_text())
    assert info["record"] == "requests"
    assert info["stored_rows"] == {"requests": info["requests"], "calls": info["calls"]}


def test_query_answers_with_names_not_codes(run_dir: Path) -> None:
    proc = meshsim("query", run_dir, "SELECT workload, count(*) AS n FROM requests GROUP BY 1",
                   "--format", "json", cwd=run_dir.parent)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    info = json.loads((run_dir / "run.json").read_text())
    assert sum(row["n"] for row in rows) == info["requests"]
    assert all(isinstance(row["workload"], str) and row["workload"] for row in rows)


def test_query_prints_csv(run_dir: Path) -> None:
    proc = meshsim("query", run_dir, "SELECT count(*) AS n FROM calls", "--format", "csv",
                   cwd=run_dir.parent)
    assert proc.returncode == 0, proc.stderr
    info = json.loads((run_dir / "run.json").read_text())
    assert proc.stdout.split() == ["n", str(info["calls"])]


def test_bad_sql_is_one_line(run_dir: Path) -> None:
    proc = meshsim("query", run_dir, "SELECT * FROM attempts", cwd=run_dir.parent)
    assert_one_error_line(proc, str(run_dir), "attempts")  # not stored at this level


def test_a_path_that_is_no_run_is_one_line(tmp_path: Path) -> None:
    proc = meshsim("query", tmp_path / "nowhere", "SELECT 1", cwd=tmp_path)
    assert_one_error_line(proc, "not a run directory")


def test_an_unknown_record_level_is_a_usage_error(tmp_path: Path) -> None:
    proc = meshsim("run", SMALL, "--record", "raw", cwd=tmp_path)
    assert_one_error_line(proc, "--record")
    assert not (tmp_path / "runs").exists()
