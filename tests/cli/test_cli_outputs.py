"""Where commands write: checked before any simulation, never over something without --force,
renamed into place whole; and usage errors as one line like every other bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from test_cli import CLI_FIXTURES, SMALL, assert_one_error_line, meshsim
from typer.testing import CliRunner

from meshsim.cli.main import app

LONG = "3000s"  # a run that would take minutes: a refusal must come before it starts


def _entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _refused_quickly(*args: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The command, which must give up before simulating LONG seconds of traffic."""
    command = [sys.executable, "-m", "meshsim", *map(str, args)]
    start = time.monotonic()
    proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120,
                          check=False, env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    assert time.monotonic() - start < 60, "the refusal came after a simulation"
    return proc


# -- usage errors -------------------------------------------------------------------------------
@pytest.mark.parametrize(("args", "fragments"), [
    (["run", SMALL, "--seed", "-1"], ["meshsim run", "--seed", "greater than or equal to 0"]),
    (["run", SMALL, "--seed", "abc"], ["meshsim run", "--seed", "integer"]),
    (["run", SMALL, "--sed", "1"], ["No such option: --sed", "--seed"]),
    (["run"], ["meshsim run", "Missing argument 'SCENARIO'"]),
    (["run", SMALL, "extra"], ["unexpected extra argument"]),
    (["runn", SMALL], ["No such command 'runn'"]),
    (["whatif", "map"], ["meshsim whatif map", "Missing argument"]),
    (["sweep", SMALL, "--seeds", "0"], ["--seeds"]),
    (["check", SMALL, "--confidence", "2"], ["--confidence"]),
    (["run", CLI_FIXTURES], ["not a file"]),
    (["validate", "missing.yaml"], ["missing.yaml", "no such file"]),
])
def test_usage_errors_are_one_line(tmp_path: Path, args: list[object],
                                   fragments: list[str]) -> None:
    line = assert_one_error_line(meshsim(*args, cwd=tmp_path), *fragments)
    assert line.startswith("error: ")
    assert "╭" not in line and "Usage:" not in line


def test_an_unreadable_scenario_is_one_line(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    scenario = tmp_path / "secret.yaml"
    scenario.write_text(SMALL.read_text())
    real = Path.open  # tests run as root, for whom chmod 000 reads fine: deny it here

    def denied(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self.name == "secret.yaml":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", denied)
    result = CliRunner().invoke(app, ["validate", str(scenario)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "secret.yaml" in lines[0] and "Permission denied" in lines[0]


def test_no_arguments_still_prints_the_help(tmp_path: Path) -> None:
    proc = meshsim(cwd=tmp_path)
    assert proc.returncode == 2 and "Commands" in proc.stdout


# -- run directories ----------------------------------------------------------------------------
def test_a_reused_out_is_refused_before_simulating(tmp_path: Path) -> None:
    first = meshsim("run", SMALL, "--out", "run", "--no-plots", "-q", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    before = (tmp_path / "run" / "run.json").read_bytes()
    proc = _refused_quickly("run", SMALL, "--out", "run", "--duration", LONG, cwd=tmp_path)
    assert_one_error_line(proc, "--out run", "already holds a run directory", "--force")
    assert (tmp_path / "run" / "run.json").read_bytes() == before
    assert _entries(tmp_path) == ["run"]


def test_force_replaces_the_run_without_leaving_stale_files(tmp_path: Path) -> None:
    meshsim("run", SMALL, "--out", "run", "--no-plots", "-q", cwd=tmp_path)
    (tmp_path / "run" / "rollout.csv").write_text("rollout\nfrom another run\n")
    proc = meshsim("run", SMALL, "--out", "run", "--seed", "3", "--no-plots", "-q", "--force",
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "run" / "rollout.csv").exists()
    assert json.loads((tmp_path / "run" / "run.json").read_text())["seed"] == 3
    assert _entries(tmp_path) == ["run"]


@pytest.mark.parametrize(("out", "fragment"), [
    ("", "current directory"),
    (".", "current directory"),
    ("a-file", "is not a directory"),
    ("a-file/run", "a-file is not a directory"),
    ("notes", "is not a run directory"),
])
def test_destinations_that_cannot_be_a_run_directory(tmp_path: Path, out: str,
                                                     fragment: str) -> None:
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("keep me")
    proc = _refused_quickly("run", SMALL, "--out", out, "--duration", LONG, "--force",
                            cwd=tmp_path)
    assert_one_error_line(proc, "--out", fragment)
    assert _entries(tmp_path) == ["a-file", "notes"]
    assert _entries(tmp_path / "notes") == ["todo.txt"]


def test_an_interrupted_run_leaves_nothing(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "meshsim", "run", str(SMALL), "--out", "run",
               "--duration", LONG]
    proc = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not any(p.name.startswith(".partial-") for p in tmp_path.iterdir()):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    time.sleep(0.5)  # well into the simulation
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    assert _entries(tmp_path) == []  # no run directory, no temporary one


# -- output files of the other commands ---------------------------------------------------------
def test_sweep_refuses_to_overwrite_its_csv_before_running(tmp_path: Path) -> None:
    (tmp_path / "sweep.csv").write_text("precious\n")
    proc = _refused_quickly("sweep", SMALL, "--grid", "spec.services.api.replicas=1,2",
                            "--set", f"spec.duration={LONG}", cwd=tmp_path)
    assert_one_error_line(proc, "--out sweep.csv", "already exists", "--force")
    assert (tmp_path / "sweep.csv").read_text() == "precious\n"


def test_sweep_with_force_replaces_the_csv_whole(tmp_path: Path) -> None:
    (tmp_path / "sweep.csv").write_text("precious\n")
    proc = meshsim("sweep", SMALL, "--grid", "spec.services.api.replicas=1,2", "--seeds", "1",
                   "--workers", "1", "--force", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "sweep.csv").read_text().startswith("spec.services.api.replicas")
    assert _entries(tmp_path) == ["sweep.csv"]


def test_canary_refuses_to_overwrite_its_csv(tmp_path: Path) -> None:
    (tmp_path / "canary.csv").write_text("precious\n")
    proc = _refused_quickly("canary", SMALL, "--runs", "2", cwd=tmp_path)
    assert_one_error_line(proc, "--out canary.csv", "already exists")
    assert (tmp_path / "canary.csv").read_text() == "precious\n"


@pytest.mark.parametrize(("args", "existing"), [
    (["compare", SMALL, SMALL, "--duration", LONG], "compare.png"),
    (["compare", SMALL, SMALL, "--duration", LONG, "--plot", "out"], "out"),
    (["check", SMALL, "--duration", LONG, "--junit", "report.xml"], "report.xml"),
    (["whatif", "recommend", SMALL, "--space", "spec.services.api.replicas=1,2"],
     "recommendation.csv"),
    (["whatif", "map", SMALL, "--load", "spec.workload[0].rate=10/s",
      "--trigger", "spec.services.api.replicas=1"], "resilience-map-cells.csv"),
])
def test_other_outputs_are_not_overwritten(tmp_path: Path, args: list[object],
                                           existing: str) -> None:
    (tmp_path / existing).write_text("precious\n")
    proc = _refused_quickly(*args, cwd=tmp_path)
    assert_one_error_line(proc, existing, "already exists")
    assert _entries(tmp_path) == [existing]
