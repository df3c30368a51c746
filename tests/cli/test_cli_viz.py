"""``meshsim viz`` and ``meshsim export openmetrics`` as a user runs them: linkerd's tables,
JSON equal to the views, bad input as one line and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_cli import assert_one_error_line, meshsim
from viz_runs import ISTIO, SavedRun, saved_run

from meshsim.results import viz


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> SavedRun:
    return saved_run(ISTIO, tmp_path_factory.mktemp("cli-viz"))


def test_stat_prints_linkerds_columns(saved: SavedRun, tmp_path: Path) -> None:
    proc = meshsim("viz", "stat", saved.path, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["NAME", "MESHED", "SUCCESS", "RPS", "LATENCY_P50",
                                "LATENCY_P95", "LATENCY_P99", "TCP_CONN"]
    legacy = next(line.split() for line in lines if line.startswith("legacy "))
    assert legacy[1] == "0/1" and legacy[2].endswith("%") and legacy[3].endswith("rps")
    users = next(line.split() for line in lines if line.startswith("users "))
    assert users[2:7] == ["-"] * 5


def test_json_equals_the_view(saved: SavedRun, tmp_path: Path) -> None:
    proc = meshsim("viz", "routes", saved.path, "deploy/frontend", "--to", "svc/reviews",
                   "-o", "json", "--since", "3s", "--until", "9s", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    run = viz.from_run_dir(saved.path)
    expected = viz.routes(run, run.window(3.0, 9.0), viz.parse_resource("deploy/frontend"),
                          to=viz.parse_resource("svc/reviews"), wide=True).iloc[0]
    assert rows[0]["effective_success"] == pytest.approx(expected["effective_success"])
    assert rows[0]["actual_rps"] == pytest.approx(expected["actual_rps"])
    assert rows[0]["latency_ms_p99"] == pytest.approx(expected["latency_p99"] * 1e3)


def test_wide_routes_edges_top_and_tap(saved: SavedRun, tmp_path: Path) -> None:
    routes = meshsim("viz", "routes", saved.path, "svc/reviews", "-o", "wide", cwd=tmp_path)
    assert routes.stdout.split("\n")[0].split() == [
        "ROUTE", "SERVICE", "EFFECTIVE_SUCCESS", "EFFECTIVE_RPS", "ACTUAL_SUCCESS",
        "ACTUAL_RPS", "LATENCY_P50", "LATENCY_P95", "LATENCY_P99"]
    edges = meshsim("viz", "edges", saved.path, "-o", "wide", cwd=tmp_path)
    assert edges.stdout.split("\n")[0].split() == [
        "SRC", "DST", "SRC_NS", "DST_NS", "CLIENT_ID", "SERVER_ID", "SECURED"]
    top = meshsim("viz", "top", saved.path, "-n", "2", "--to", "deploy/reviews-v2",
                  cwd=tmp_path)
    assert len(top.stdout.splitlines()) == 3  # the header and the two most frequent pairs
    assert all("reviews-v2-0" in line for line in top.stdout.splitlines()[1:])
    tap = meshsim("viz", "tap", saved.path, "-t", "1s", "-n", "2", cwd=tmp_path)
    assert [line.split()[0] for line in tap.stdout.splitlines()].count("req") == 2


@pytest.mark.parametrize(("args", "fragment"), [
    (["viz", "stat", "{run}", "gadget/x"], "unknown resource type 'gadget'"),
    (["viz", "stat", "{run}", "--since", "9s", "--until", "3s"], "empty time window"),
    (["viz", "stat", "{run}", "-t", "soon"], "--time-window soon"),
    (["viz", "edges", "{run}", "-o", "yaml"], "--output yaml"),
    (["viz", "stat", "{missing}"], "not a run directory"),
    (["export", "openmetrics", "{run}", "--mesh", "consul"], "--mesh consul"),
    (["export", "openmetrics", "{run}", "--epoch", "yesterday"], "--epoch yesterday"),
])
def test_bad_input_is_one_line(
    saved: SavedRun, tmp_path: Path, args: list[str], fragment: str,
) -> None:
    filled = [a.format(run=saved.path, missing=tmp_path / "nope") for a in args]
    assert_one_error_line(meshsim(*filled, cwd=tmp_path), fragment)


def test_export_writes_a_file_ending_with_eof(saved: SavedRun, tmp_path: Path) -> None:
    out = tmp_path / "run.om"
    proc = meshsim("export", "openmetrics", saved.path, "-o", out, "--mesh", "linkerd",
                   "--scrape-interval", "3s", "--epoch", "1700000000", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert text.endswith("# EOF\n") and "# TYPE response counter" in text
    stamps = {float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
              if not line.startswith("#")}
    assert min(stamps) == 1700000000.0 and max(stamps) == 1700000012.0
    again = meshsim("export", "openmetrics", saved.path, "-o", out, cwd=tmp_path)
    assert_one_error_line(again, "exists")


def test_statuses_prints_codes_and_flags(saved: SavedRun, tmp_path: Path) -> None:
    proc = meshsim("viz", "statuses", saved.path, "svc", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["NAME", "STATUS", "FLAGS", "CLASS", "ATTEMPTS", "SHARE"]
    rows = [line.split() for line in lines[1:]]
    assert all(row[5].endswith("%") for row in rows)
    run = viz.from_run_dir(saved.path)
    table = viz.statuses(run, run.default_window, viz.Resource("svc"))
    assert sum(int(row[4]) for row in rows) == int(table["attempts"].sum())
