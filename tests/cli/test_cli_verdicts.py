"""Verdicts that match the data: recovery and SLOs that cannot tell say so, --duration cuts the
run with warnings (or refuses it), --quiet keeps every bad verdict, a rollback fails the run,
and the report says where the backlog sits."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from test_cli import CLI_FIXTURES, SLO_FAILS, assert_one_error_line, meshsim

LATE_FAULT = CLI_FIXTURES / "late-fault.yaml"
ROLLED_BACK = CLI_FIXTURES / "rolled-back.yaml"
BACKLOG = CLI_FIXTURES / "backlog.yaml"


def section(stdout: str, title: str) -> list[str]:
    lines = stdout.splitlines()
    start = lines.index(title) + 1
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    return lines[start:end]


# -- item 1: recovery and SLO verdicts ------------------------------------------------------------
def test_a_late_fault_cannot_tell_instead_of_did_not_recover(tmp_path: Path) -> None:
    proc = meshsim("run", LATE_FAULT, "--no-plots", "-o", tmp_path / "run", cwd=tmp_path)
    (verdict,) = section(proc.stdout, "after the faults")
    assert "did not recover" not in verdict
    assert verdict.startswith("users: cannot tell whether it recovered after the last fault "
                              "ended at 10s: only 5s of data after it")


def test_ten_seconds_of_finished_requests_after_the_fault_show_the_recovery(
    tmp_path: Path,
) -> None:
    # the workload timeout (15 s) is longer than the data after the fault (10 s): every request
    # finished anyway, so they are data, and the verdict states the baseline it compared with
    proc = meshsim("run", LATE_FAULT, "--no-plots", "--set", "spec.duration=20s", "--json",
                   "-o", tmp_path / "run", cwd=tmp_path)
    (row,) = json.loads(proc.stdout)["recovery"]
    assert row["outcome"] == "recovered" and row["recovered"] is True
    assert row["data_after"] == 10 and row["baseline_source"] == "measured 1s-5s"
    assert "baseline measured 1s-5s" in row["verdict"]


# -- item 2: --duration, --set spec.duration and the API's duration= ---------------------------
def test_a_shorter_duration_cuts_faults_and_windows_with_warnings(tmp_path: Path) -> None:
    proc = meshsim("run", LATE_FAULT, "--no-plots", "--duration", "4s", "-o", tmp_path / "run",
                   cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr  # its SLO cannot tell: not a pass
    warnings = proc.stderr.splitlines()
    assert any("late-fault.yaml:" in w and "spec.faults[0]" in w
               and "the run is shortened to 4s: this fault at 5s never starts" in w
               for w in warnings), proc.stderr
    assert any("spec.expect[0].window" in w and "is past the end of the run" in w
               for w in warnings), proc.stderr
    assert "after the faults" not in proc.stdout  # no verdict about a fault that never ran
    (slo,) = section(proc.stdout, "SLOs")
    assert slo == ("? success_rate api [10s, 15s]: cannot tell: the run ends at 4s, before "
                   "this window starts")


def test_set_spec_duration_is_the_same_override(tmp_path: Path) -> None:
    by_set = meshsim("run", LATE_FAULT, "--no-plots", "--json", "--set", "spec.duration=4s",
                     "-o", tmp_path / "a", cwd=tmp_path)
    by_option = meshsim("run", LATE_FAULT, "--no-plots", "--json", "--duration", "4s",
                        "-o", tmp_path / "b", cwd=tmp_path)
    assert by_set.returncode == by_option.returncode == 1, by_set.stderr
    a, b = json.loads(by_set.stdout), json.loads(by_option.stdout)
    assert a["recovery"] == b["recovery"] == []
    assert a["slo"][0]["outcome"] == b["slo"][0]["outcome"] == "cannot tell"
    assert a["warnings"] == b["warnings"] and len(a["warnings"]) == 2


@pytest.mark.parametrize(
    ("args", "times"),
    [
        (["compare", LATE_FAULT, LATE_FAULT, "--duration", "4s", "--plot", "c.png"], 2),
        (["check", LATE_FAULT, "--seeds", "2", "--workers", "1", "--duration", "4s"], 1),
        (["sweep", LATE_FAULT, "--grid", "spec.services.api.replicas=1", "--workers", "1",
          "--set", "spec.duration=4s", "--out", "s.csv"], 1),
    ],
    ids=["compare", "check", "sweep"],
)
def test_every_command_says_what_a_shorter_duration_cuts(
    tmp_path: Path, args: list[object], times: int
) -> None:
    proc = meshsim(*args, cwd=tmp_path)
    cuts = [w for w in proc.stderr.splitlines() if "this fault at 5s never starts" in w]
    assert len(cuts) == times, proc.stderr
    assert all(w.startswith(f"{LATE_FAULT}:24:7: spec.faults[0]: warning:") for w in cuts)
    assert "Warning" not in proc.stderr  # one located line each, not Python's warning format


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--duration", "1s"], "--duration 1s: 1s leaves nothing after the 1s warm-up"),
        (["--set", "spec.duration=500ms"], "--set: spec.duration: 500ms leaves nothing"),
        (["--duration", "4 parsecs"], "--duration 4 parsecs: expected a duration"),
    ],
)
def test_a_duration_leaving_nothing_is_refused(
    tmp_path: Path, args: list[str], fragment: str
) -> None:
    assert_one_error_line(meshsim("run", LATE_FAULT, *args, cwd=tmp_path), fragment)


# -- item 7: --quiet and rollbacks --------------------------------------------------------------
def test_quiet_still_prints_a_verdict_that_cannot_tell(tmp_path: Path) -> None:
    proc = meshsim("run", LATE_FAULT, "--no-plots", "-q", "-o", tmp_path / "run", cwd=tmp_path)
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("users: cannot tell"), proc.stdout


def test_a_rolled_back_canary_fails_the_run_even_quiet(tmp_path: Path) -> None:
    proc = meshsim("run", ROLLED_BACK, "--no-plots", "-q", "-o", tmp_path / "q", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("api (flagger): rolled back at 31s")
    payload = json.loads(meshsim("run", ROLLED_BACK, "--no-plots", "--json", "-o",
                                 tmp_path / "j", cwd=tmp_path).stdout)
    assert payload["rolled_back"] is True and payload["passed"] is True  # no SLO failed


def test_quiet_prints_a_cannot_tell_slo(tmp_path: Path) -> None:
    proc = meshsim("run", SLO_FAILS, "-q", "--no-plots", "--set",
                   "spec.expect[0]={metric: success_rate, service: api, window: [2s, 3s], "
                   "min: 0.99}", "--duration", "1.8s", "-o", tmp_path / "run", cwd=tmp_path)
    assert proc.returncode == 1
    assert "? success_rate api [2s, 3s]: cannot tell: the run ends at 1.8s" in proc.stdout


# -- item 9: where the backlog sits ---------------------------------------------------------
def test_the_report_says_where_the_backlog_sits(tmp_path: Path) -> None:
    proc = meshsim("run", BACKLOG, "--no-plots", "-o", tmp_path / "run", cwd=tmp_path)
    rows = section(proc.stdout, "where the backlog sits (queued and in flight at the end; peak)")
    assert rows[0].split()[:2] == ["SERVICE", "SLOTS"]
    assert rows[1].split()[:2] == ["back", "2"]  # the largest queue first
    payload = json.loads(meshsim("run", BACKLOG, "--no-plots", "--json", "-o", tmp_path / "j",
                                 cwd=tmp_path).stdout)
    back = payload["backlog"][0]
    assert back["service"] == "back" and back["queued_end"] > 200  # ~100/s over 3 s
    assert back["in_flight_end"] == pytest.approx(back["queued_end"] + 2, abs=0.5)
    series = pd.read_parquet(tmp_path / "j" / "timeseries.parquet")
    last = series[(series["service"] == "back") & (series["time"] == series["time"].max())]
    assert back["queued_end"] == pytest.approx(float(last["queue_depth"].iloc[0]))


# -- requests no table counts --------------------------------------------------------------------
STUCK = CLI_FIXTURES / "stuck.yaml"


def test_requests_left_unanswered_are_said_even_quiet(tmp_path: Path) -> None:
    """A stuck pod and callers that never give up: the tables count the 150 answered requests
    (100 % SUCCESS), so the report must say that most requests never got an answer, and
    agree with run.json."""
    proc = meshsim("run", STUCK, "--no-plots", "-o", tmp_path / "run", cwd=tmp_path)
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    still_open, issued = info["in_flight_at_end"], info["issued"]
    assert still_open > issued / 2  # the pod holds most of them
    line = next(x for x in proc.stdout.splitlines() if x.startswith("still open at the end"))
    assert f"{still_open:,} of {issued:,} requests issued ({still_open / issued:.1%})" in line
    quiet = meshsim("run", STUCK, "--no-plots", "-q", "-o", tmp_path / "q", cwd=tmp_path)
    assert "golden metrics" not in quiet.stdout
    assert f"still open at the end: {still_open:,} of {issued:,}" in quiet.stdout
