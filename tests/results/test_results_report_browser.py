"""The HTML report in a real headless browser (Debian's ``chromium``), offline: it renders
with no script error, console error or fetch, and the numbers on the rendered page are the
run's (meshsim.results.report). Two browser starts in all: each costs seconds."""

from __future__ import annotations

import re
from pathlib import Path

from report_runs import CIRCUIT_BREAKER, dump_dom, parse, saved_run

from meshsim.api import write_report
from meshsim.results.formatting import golden_cells, slo_lines
from meshsim.results.report.graph import Edge, health
from meshsim.results.report.graph import mtls as edge_mtls
from meshsim.results.report.graph_svg import edge_label
from meshsim.results.viz.mesh import mesh_info


def test_the_report_renders_offline_with_the_runs_numbers(tmp_path: Path) -> None:
    run = saved_run(CIRCUIT_BREAKER, tmp_path, "12s")
    page_file = write_report(run.path, tmp_path / "report.html")
    dom = dump_dom(page_file)
    page = parse(dom)

    assert re.search(r'<html[^>]*data-rendered="ok"', dom), dom[:500]
    assert page.text("#js-errors") == [""]  # no script error, console.error or blocked fetch
    # the SLO verdicts and the golden table as meshsim run prints them
    assert page.text(".verdict") == [line for _, line in slo_lines(run.results.slo())]
    rows = re.findall(r"<tr>(.*?)</tr>", dom.split('id="golden"')[1].split("</table>")[0], re.S)
    cells = [[re.sub(r"<.*?>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", r)]
             for r in rows]
    assert [c for c in cells if c] == golden_cells(run.results.summary)[1]
    # the graph's edge label: the run's edge, coloured by Kiali's thresholds, with its lock
    info = mesh_info(run.results.model)
    row = run.results.edges.iloc[0]
    edge = Edge(str(row["source"]), str(row["destination"]), bool(row["mirror"]),
                int(row["requests"]), float(row["rps"]), float(row["error_rate"]),
                float(row["p95"]), edge_mtls(info, "users", "my-service"),
                health(int(row["requests"]), float(row["errors"])))
    assert page.text(".edge-label") == [edge_label(edge)]
    assert edge.health == "failure"  # 42 % of its requests failed: over Kiali's 10 %
    assert 'class="edge failure"' in dom and 'class="lock"' in dom
    # the script ran: the readout data it reads is there for every chart
    assert len(re.findall(r'<svg[^>]*class="chart"', dom)) == 3


def test_the_browser_check_catches_errors_and_fetches(tmp_path: Path) -> None:
    """The same page with a failing script and an external image: both are reported in the
    page, so the test above would fail on either."""
    run = saved_run(CIRCUIT_BREAKER, tmp_path, "6s")
    html = write_report(run.path, tmp_path / "report.html").read_text(encoding="utf-8")
    broken = html.replace('<pre id="js-errors"></pre>',
                          '<pre id="js-errors"></pre><img alt="" src="http://example.invalid/x.png">'
                          "<script>console.error('bad data');</script>")
    bad = tmp_path / "broken.html"
    bad.write_text(broken, encoding="utf-8")
    dom = dump_dom(bad)
    assert re.search(r'<html[^>]*data-rendered="errors"', dom)
    errors = parse(dom).text("#js-errors")[0]
    assert "bad data" in errors
    assert "blocked by the page policy" in errors and "example.invalid" in errors
