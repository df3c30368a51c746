"""``meshsim run`` on inputs too large to finish: refused at once (exit 2, one located line
that names the estimate and ``--allow-large``), warned about below the refusal, and run anyway
with ``--allow-large``; ``validate`` refuses huge sizes without building them."""

from __future__ import annotations

import re
import resource
import time
from pathlib import Path

import pytest
from test_cli import SMALL, assert_one_error_line, meshsim


def test_an_oversized_run_is_refused_before_simulating(tmp_path: Path) -> None:
    started = time.perf_counter()
    proc = meshsim("run", SMALL, "--set", "spec.workload[0].rate=1000000/s", "--set",
                   "spec.duration=24h", "--out", tmp_path / "run", cwd=tmp_path)
    assert time.perf_counter() - started < 60  # imports on a loaded machine; no simulation
    line = assert_one_error_line(proc, str(SMALL), "this run is too large", "--allow-large")
    # the rows stream to the run directory: the events refuse it, the memory is bounded
    assert re.search(r"\d+ MiB of memory", line), line
    assert not (tmp_path / "run").exists()
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert child < 1024 * 1024  # KiB: refusing took under 1 GB


def test_allow_large_runs_what_would_be_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a tiny run over a lowered threshold stands in for a large one
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    (tmp_path / "sitecustomize.py").write_text(
        "from meshsim.config import limits\nlimits.EVENTS_REFUSE = 10.0\n"
    )
    refused = meshsim("run", SMALL, "--out", tmp_path / "a", "--no-plots", cwd=tmp_path)
    assert_one_error_line(refused, "this run is too large")
    allowed = meshsim("run", SMALL, "--out", tmp_path / "b", "--no-plots", "--allow-large",
                      cwd=tmp_path)
    assert allowed.returncode in (0, 1), allowed.stderr
    assert (tmp_path / "b" / "run.json").exists()


def test_validate_refuses_a_billion_replicas_in_little_time_and_memory(tmp_path: Path) -> None:
    proc = meshsim("validate", SMALL, "--set", "spec.services.api.replicas=1000000000",
                   cwd=tmp_path)
    assert_one_error_line(proc, "spec.services.api.replicas", "limit of 1,000 replicas")


def test_a_large_run_is_warned_about_and_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    (tmp_path / "sitecustomize.py").write_text(
        "from meshsim.config import limits\nlimits.EVENTS_WARN = 10.0\n"
    )
    proc = meshsim("run", SMALL, "--out", tmp_path / "a", "--no-plots", cwd=tmp_path)
    assert proc.returncode in (0, 1), proc.stderr
    assert f"{SMALL}: warning: a large run: about " in proc.stderr
    assert (tmp_path / "a" / "run.json").exists()
