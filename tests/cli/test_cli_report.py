"""``meshsim report RUN`` and ``meshsim run --html`` as a user runs them: one HTML file with
the run's analyze findings, the same bytes either way, bad input as one line and exit 2."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from paths import SCENARIOS
from report_runs import parse
from test_cli import assert_one_error_line, meshsim

RETRY_STORM = SCENARIOS / "retry-storm.yaml"
SHORT = ("--duration", "3s", "--set", "spec.warmup=1s", "--record", "summary")


@pytest.fixture(scope="module")
def html_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """``meshsim run --html`` of three seconds of the retry storm: (run directory, stdout)."""
    cwd = tmp_path_factory.mktemp("cli-report")
    proc = meshsim("run", RETRY_STORM, *SHORT, "--no-plots", "--html", "-o", "run", cwd=cwd)
    assert proc.returncode in (0, 1), proc.stderr  # its SLO window is past 3 s: cannot tell
    return cwd / "run", proc.stdout


def test_run_html_writes_the_report_and_prints_its_path(html_run: tuple[Path, str]) -> None:
    run, stdout = html_run
    assert stdout.splitlines()[-2:] == ["run directory: run", "report: run/report.html"]
    assert (run / "report.html").stat().st_size > 10_000


def test_slo_lines_are_those_meshsim_run_printed(html_run: tuple[Path, str]) -> None:
    run, stdout = html_run
    printed = stdout.split("\nSLOs\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert printed and all(line[:2] in ("✔ ", "✘ ", "? ") for line in printed)
    assert any("cannot tell: the run ends at 3s" in line for line in printed)
    page = parse((run / "report.html").read_text(encoding="utf-8"))
    shown = [f"{mark} {line}" for mark, line in zip(page.text(".mark"), page.text(".verdict"),
                                                   strict=True)]
    assert shown == printed


def test_the_findings_are_meshsim_analyzes(html_run: tuple[Path, str], tmp_path: Path) -> None:
    run, _ = html_run
    analyzed = meshsim("analyze", RETRY_STORM, "--set", "spec.duration=3s", "--set",
                       "spec.warmup=1s", cwd=tmp_path)
    expected = analyzed.stdout.strip().splitlines()
    assert expected and all("[MSH01" in line for line in expected)
    page = parse((run / "report.html").read_text(encoding="utf-8"))
    assert page.text(".finding") == expected


def test_report_rewrites_the_same_page(html_run: tuple[Path, str]) -> None:
    run, _ = html_run
    first = (run / "report.html").read_bytes()
    refused = meshsim("report", run, cwd=run.parent)
    assert_one_error_line(refused, "report.html", "already exists", "--force")
    again = meshsim("report", run, "--force", cwd=run.parent)
    assert again.returncode == 0, again.stderr
    assert re.fullmatch(r"wrote .*report\.html \(\d+ KiB\)\n", again.stderr)
    assert (run / "report.html").read_bytes() == first


def test_scenario_not_found_is_said_in_the_page(html_run: tuple[Path, str],
                                                tmp_path: Path) -> None:
    run, _ = html_run
    out = tmp_path / "r.html"
    # the run named its scenario by an absolute path; a copy of the run dir elsewhere with a
    # run.json naming a missing file stands for a run directory moved to another machine
    moved = tmp_path / "moved"
    moved.mkdir()
    for item in run.iterdir():
        if item.is_file():
            (moved / item.name).write_bytes(item.read_bytes())
    info = json.loads((moved / "run.json").read_text())
    info["scenario_meta"]["file"] = "gone/scenario.yaml"
    (moved / "run.json").write_text(json.dumps(info))
    proc = meshsim("report", moved, "-o", out, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    notes = parse(out.read_text(encoding="utf-8")).text(".note")
    assert any("gone/scenario.yaml is not there" in n for n in notes)
    named = meshsim("report", moved, "-o", out, "--force", "--scenario", RETRY_STORM,
                    cwd=tmp_path)
    assert named.returncode == 0, named.stderr
    assert parse(out.read_text(encoding="utf-8")).text(".finding")


def test_no_analyze_and_bad_input(html_run: tuple[Path, str], tmp_path: Path) -> None:
    run, _ = html_run
    out = tmp_path / "plain.html"
    proc = meshsim("report", run, "-o", out, "--no-analyze", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    page = parse(out.read_text(encoding="utf-8"))
    assert page.text(".finding") == [] and "(--no-analyze)" in " ".join(page.text(".note"))
    assert_one_error_line(meshsim("report", tmp_path / "nothing", cwd=tmp_path),
                          "not a run directory")
    (tmp_path / "folder").mkdir()
    assert_one_error_line(meshsim("report", run, "-o", tmp_path / "folder", cwd=tmp_path),
                          "is a directory")


def test_run_html_json_names_the_report(tmp_path: Path) -> None:
    proc = meshsim("run", RETRY_STORM, *SHORT, "--no-plots", "--html", "--json", "-o", "r",
                   cwd=tmp_path)
    assert proc.returncode in (0, 1), proc.stderr
    payload = json.loads(proc.stdout)
    assert payload["report"] == str(Path("r") / "report.html")
    assert (tmp_path / payload["report"]).is_file()
