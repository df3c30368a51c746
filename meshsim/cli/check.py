"""``meshsim check``: do the scenarios' SLOs hold with confidence over many seeds? For CI.

Each scenario runs once per seed; each ``spec.expect`` SLO passes when the one-sided Student-t
bound on its metric's mean over the seeds (at ``--confidence``) is on the right side of its
threshold and the metric had traffic on every seed. Writes JUnit XML with ``--junit``.
Exit codes: 0 every SLO passed, 1 an SLO failed, 2 bad input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

import meshsim
from meshsim.cli.common import (
    EXIT_OK,
    EXIT_SLO_FAILED,
    BadInput,
    DaskOpt,
    ForceOpt,
    SetOpt,
    StrictOpt,
    WorkersOpt,
    app,
    check_output,
    duration_option,
    load_scenario,
    print_warnings,
    stderr,
    stdout,
    unicode_ok,
    user_errors,
    write_output,
)
from meshsim.cli.render import format_metric, verdict_text


@app.command()
def check(
    scenario_files: Annotated[
        list[Path],
        typer.Argument(metavar="SCENARIO...", help="Scenario files whose spec.expect to check.",
                       show_default=False),
    ],
    seeds: Annotated[
        int, typer.Option("--seeds", min=2, metavar="N", help="Seeds per scenario (0..N-1).")
    ] = 10,
    confidence: Annotated[
        float,
        typer.Option("--confidence", min=0.5, max=0.999999, metavar="P",
                     help="One-sided confidence each SLO bound must hold with."),
    ] = 0.95,
    junit: Annotated[
        Path | None,
        typer.Option("--junit", metavar="FILE.xml",
                     help="Write a JUnit report: a testsuite per scenario, a testcase per SLO.",
                     show_default=False),
    ] = None,
    duration: Annotated[
        str | None,
        typer.Option("--duration", metavar="DURATION",
                     help="Simulated time of every run (default: spec.duration).",
                     show_default=False),
    ] = None,
    workers: WorkersOpt = None,
    dask: DaskOpt = None,
    sets: SetOpt = None,
    strict: StrictOpt = False,
    force: ForceOpt = False,
) -> None:
    """Run each scenario over N seeds and check every SLO with a stated confidence.

    An SLO passes when, over the seeds, the metric's mean minus the one-sided Student-t bound
    t(P, N-1)·s/√N is at least its min (mean plus the bound at most its max), and the metric had
    traffic on every seed. Shown per SLO: seeds passed, mean and that interval.
    """
    out, err = stdout(), stderr()
    reports: list[meshsim.CheckReport] = []
    with user_errors(err):
        sim_duration = duration_option(duration)
        scenarios = [load_scenario(path, sets or [], strict) for path in scenario_files]
        if junit is not None:
            check_output("--junit", junit, force=force)
        for scenario in scenarios:
            warmup = scenario.model.warmup
            if sim_duration is not None and sim_duration <= warmup:
                raise BadInput(f"--duration {duration} leaves nothing after the warm-up of "
                               f"{scenario.path}")
            if not scenario.model.expectations:  # a gate with nothing to check passes nothing
                raise BadInput(f"{scenario.path}: no SLOs to check (spec.expect is empty); "
                               "add expectations or leave the scenario out of the check")
        for scenario in scenarios:
            if sim_duration is not None:  # cut here, so its warnings print with the rest
                scenario = scenario.with_duration(sim_duration)
            print_warnings(err, scenario)
            try:
                report = meshsim.check(
                    scenario, seeds=seeds, confidence=confidence,
                    workers=workers, dask=dask, progress=err.is_terminal,
                )
            except ValueError as exc:
                raise BadInput(str(exc)) from None
            reports.append(report)
            _print_report(out, report)
        if junit is not None:
            xml = meshsim.junit_xml(reports)
            write_output("--junit", junit, lambda p: p.write_text(xml, encoding="utf-8"),
                         force=force)
    failed = sum(not v.passed for r in reports for v in r.verdicts)
    total = sum(len(r.verdicts) for r in reports)
    style = "bold red" if failed else "bold green"
    out.print(f"{total - failed}/{total} SLOs passed over {seeds} seeds at {confidence:.0%} "
              f"confidence", style=style, markup=False)
    if junit is not None:
        out.print(f"JUnit report written to {junit}", markup=False)
    raise typer.Exit(EXIT_SLO_FAILED if failed else EXIT_OK)


def verdict_table(report: meshsim.CheckReport) -> Table:
    """One row per SLO: verdict, seeds passed, mean, interval, and why."""
    unicode = unicode_ok()
    level = f"{report.confidence:.0%}"
    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column("", no_wrap=True)
    table.add_column("SLO")
    table.add_column("SEEDS OK", justify="right", no_wrap=True)
    table.add_column("MEAN", justify="right", no_wrap=True)
    table.add_column(f"{level} INTERVAL", justify="right", no_wrap=True)
    table.add_column("VERDICT")
    for v in report.verdicts:
        interval = "-" if v.low != v.low else (
            f"[{format_metric(v.metric, v.low)}, {format_metric(v.metric, v.high)}]"
        )
        table.add_row(
            verdict_text(v.passed, "", unicode=unicode), Text(v.expectation),
            f"{v.seeds_passed}/{v.seeds}", format_metric(v.metric, v.mean), Text(interval),
            Text(v.reason),
        )
    return table


def _print_report(out: Console, report: meshsim.CheckReport) -> None:
    out.print(f"{report.scenario} ({report.file}): {report.seeds} seeds", style="bold",
              markup=False)
    if report.verdicts:
        out.print(verdict_table(report))
    else:
        out.print("no SLOs (spec.expect is empty)", markup=False)
    out.print()
