"""``meshsim report RUN``: one self-contained HTML file for a run directory, to attach to a
ticket (docs/report.md); ``meshsim run --html`` writes the same file into the run directory.

The page (:func:`meshsim.api.report_html`) holds the service graph, RED series, ejection
timeline, canary strip, golden metrics, SLO verdicts and the analyze findings of the run's
scenario file (:func:`meshsim.analyze.run.run_findings`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from meshsim.analyze.run import run_findings
from meshsim.api import ReportFindings, load_run, write_report
from meshsim.cli.common import BadInput, ForceOpt, app, stderr, user_errors
from meshsim.results.atomic import OutputError

REPORT_FILE = "report.html"


def write_run_report(run_dir: Path, out: Path | None = None, *, scenario: Path | None = None,
                     analyze: bool = True, force: bool = False) -> Path:
    """Read the run directory, analyze its scenario, write the page; returns its path."""
    run = load_run(run_dir)
    findings = run_findings(run.info, scenario) if analyze else ReportFindings(
        note="Analyze findings are left out (--no-analyze).")
    dest = out if out is not None else run_dir / REPORT_FILE
    try:
        return write_report(run, dest, findings=findings, force=force)
    except OutputError as exc:
        raise BadInput(f"--output {exc}") from None


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(metavar="RUN", help="A run directory written by "
                                            "'meshsim run'.", show_default=False)],
    out: Annotated[Path | None, typer.Option(
        "--output", "-o", metavar="FILE", show_default=False,
        help=f"Write here (default: RUN/{REPORT_FILE}).")] = None,
    scenario: Annotated[Path | None, typer.Option(
        "--scenario", metavar="FILE", show_default=False,
        help="The run's scenario file, for the analyze findings (default: the file run.json "
        "names).")] = None,
    no_analyze: Annotated[bool, typer.Option(
        "--no-analyze", help="Leave the analyze findings out.")] = False,
    force: ForceOpt = False,
) -> None:
    """Write a run as one self-contained HTML file: service graph, RED series, ejections,
    canary, SLO verdicts and analyze findings; it opens offline."""
    err = stderr()
    with user_errors(err):
        written = write_run_report(run_dir, out, scenario=scenario, analyze=not no_analyze,
                                   force=force)
    err.print(f"wrote {written} ({written.stat().st_size / 1024:,.0f} KiB)", markup=False)
