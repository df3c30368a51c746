"""The HTML report's numbers are the run's own: the golden table, workloads and SLO verdicts
print the same cells and lines as ``meshsim run``, the graph's edges add up to the summary,
and what a run did not record is named (meshsim.results.report)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from report_runs import CANARY, CIRCUIT_BREAKER, RETRY_STORM, SavedRun, parse, saved_run

import meshsim
from meshsim.api import ReportFinding, ReportFindings, report_html
from meshsim.results.formatting import golden_cells, slo_lines, workload_cells
from meshsim.results.report.graph_svg import rate_label


@pytest.fixture(scope="module")
def breaker(tmp_path_factory: pytest.TempPathFactory) -> SavedRun:
    return saved_run(CIRCUIT_BREAKER, tmp_path_factory.mktemp("breaker"), "12s")


@pytest.fixture(scope="module")
def breaker_html(breaker: SavedRun) -> str:
    return report_html(breaker.path)


def _cells(html: str, table: str) -> list[list[str]]:
    body = re.search(rf'<table id="{table}">.*?<tbody>(.*?)</tbody>', html, re.S)
    assert body is not None
    return [[re.sub(r"<.*?>", "", c).replace("&amp;", "&") for c in
             re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)]


def test_golden_and_workload_tables_print_the_runs_cells(breaker: SavedRun,
                                                         breaker_html: str) -> None:
    assert _cells(breaker_html, "golden") == golden_cells(breaker.results.summary)[1]
    assert _cells(breaker_html, "workloads") == workload_cells(breaker.results.workloads)[1]


def test_slo_lines_are_meshsim_runs_lines(breaker: SavedRun, breaker_html: str) -> None:
    page = parse(breaker_html)
    expected = list(slo_lines(breaker.results.slo()))
    assert len(expected) == 3
    assert page.text(".verdict") == [line for _, line in expected]
    assert [a["data-outcome"] for a in page.with_attr("data-outcome")] == \
        [outcome for outcome, _ in expected]


def test_edges_add_up_to_the_summary(breaker: SavedRun, breaker_html: str) -> None:
    summary = breaker.results.summary.set_index("service")
    edges = breaker.results.edges
    into = edges[~edges["mirror"]].groupby("destination")["requests"].sum()
    for service, requests in into.items():
        assert requests == summary.loc[service, "requests"]
    only = edges.iloc[0]  # users → my-service is my-service's only caller: the same sketch
    assert (only["source"], only["destination"]) == ("users", "my-service")
    assert only["p50"] == summary.loc["my-service", "p50"]
    assert only["p99"] == summary.loc["my-service", "p99"]
    assert only["rps"] == pytest.approx(summary.loc["my-service", "rps"])
    shown = [a["data-rps"] for a in parse(breaker_html).with_attr("data-rps")]
    assert shown == [rate_label(r) for r in edges.sort_values(["source", "destination"])["rps"]]


def test_edge_quantiles_match_the_calls_rows(breaker: SavedRun) -> None:
    calls = breaker.results.calls
    after = calls[(calls["start"] >= 5.0) & (calls["start"] < 12.0) & (calls["depth"] == 0)]
    edge = breaker.results.edges.iloc[0]
    assert edge["requests"] == len(after)
    assert edge["errors"] == int((~after["ok"]).sum())
    exact = float(np.quantile(after["latency"], 0.95))
    assert edge["p95"] == pytest.approx(exact, rel=0.02)  # the sketch's relative accuracy


def test_stored_and_in_memory_runs_give_the_same_page(breaker: SavedRun,
                                                      breaker_html: str) -> None:
    assert report_html(breaker.results) == breaker_html


def test_fault_windows_and_ejections_are_drawn(breaker: SavedRun, breaker_html: str) -> None:
    page = parse(breaker_html)
    assert 'class="fault"' in breaker_html and "fault 5s–12s: my-service-3" in breaker_html
    events = breaker.results.events
    ejects = events[events["kind"] == "eject"]
    bars = page.with_attr("data-proxy")
    assert sorted((b["data-pod"], b["data-proxy"]) for b in bars) == sorted(
        zip(ejects["pod"].astype(str), ejects["proxy"].astype(str), strict=True))
    assert sorted(float(b["data-start"]) for b in bars) == pytest.approx(
        sorted(ejects["time"].astype(float)), abs=1e-6)


def test_embedded_data_is_the_runs(breaker: SavedRun, breaker_html: str) -> None:
    text = re.search(r'<script type="application/json" id="report-data">(.*?)</script>',
                     breaker_html, re.S)
    assert text is not None
    data = json.loads(text.group(1))
    assert data["summary"][0]["requests"] == int(breaker.results.summary["requests"].iloc[0])
    series = breaker.results.timeseries
    own = series[series["service"] == "my-service"].sort_values("time")
    assert data["series"]["my-service"]["rate"]["offered"] == own["offered"].tolist()
    assert data["header"]["seed"] == 1 and data["header"]["build"] == meshsim.build()


def test_the_page_names_nothing_to_fetch(breaker_html: str) -> None:
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", breaker_html))
    assert urls <= {"http://www.w3.org/2000/svg"}, urls
    assert not re.search(r"\s(src|href)=", breaker_html)
    assert "default-src 'none'" in breaker_html


def test_header_names_the_run(breaker_html: str) -> None:
    for key, value in (("scenario", "istio-circuit-breaker"), ("mesh", "istio"), ("seed", "1"),
                       ("meshsim", meshsim.__version__), ("build", meshsim.build())):
        assert re.search(rf'data-key="{key}">{re.escape(value)}<', breaker_html), key


def test_findings_and_their_note_are_printed(breaker: SavedRun) -> None:
    findings = ReportFindings(items=(ReportFinding("Warning", "MSH0101", "Warning [MSH0101] x"),),
                              note="changed since the run")
    page = parse(report_html(breaker.path, findings=findings))
    assert page.text(".finding") == ["Warning [MSH0101] x"]
    assert "changed since the run" in page.text(".note")


def test_a_summary_run_says_what_it_leaves_out(tmp_path: Path) -> None:
    run = saved_run(RETRY_STORM, tmp_path, "3s", record="summary", **{"spec.warmup": "1s"})
    html = report_html(run.path)
    page = parse(html)
    assert any("p95 over time is left out" in t for t in page.text("#omitted"))
    assert "p95" not in json.loads(re.search(
        r'id="report-data">(.*?)</script>', html, re.S).group(1))["series"]["frontend"]["duration"]  # type: ignore[union-attr]
    # the graph still has its figures: they come from the aggregates, not rows
    edges = run.results.edges
    assert set(zip(edges["source"], edges["destination"], strict=True)) == {
        ("users", "frontend"), ("frontend", "reviews"), ("reviews", "ratings")}
    layers = {a["data-node"]: a for a in page.with_attr("data-node")}
    assert set(layers) == {"users", "frontend", "reviews", "ratings"}
    assert [a["data-rps"] for a in page.with_attr("data-rps")] == [
        rate_label(r) for r in edges.sort_values(["source", "destination"])["rps"]]


def test_a_run_directory_without_edges_draws_the_call_graph(breaker: SavedRun,
                                                            tmp_path: Path) -> None:
    import shutil

    old = tmp_path / "old"
    shutil.copytree(breaker.path, old)
    (old / "edges.parquet").unlink()
    page = parse(report_html(old))
    assert any("no edges.parquet" in t for t in page.text("#omitted"))
    assert page.text(".edge-label") == ["no traffic figures"]


def test_a_canary_run_has_its_strip_and_verdict(tmp_path: Path) -> None:
    run = saved_run(CANARY, tmp_path, "90s", record="summary")
    html = report_html(run.path)
    page = parse(html)
    decisions = run.results.rollout_decisions()
    checks = decisions[decisions["kind"] == "check"]
    marks = re.findall(r'class="check-(pass|fail)"', html)
    assert len(marks) == len(checks) > 0
    assert marks.count("pass") == int(checks["passed"].astype(bool).sum())
    assert page.with_attr("data-rollout")[0]["data-rollout"] == "podinfo"
    assert len(page.text(".rollout-" + str(run.results.rollout["outcome"].iloc[0])
                         .replace(" ", "-"))) == 1
