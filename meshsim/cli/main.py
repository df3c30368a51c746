"""``meshsim``: the command line. Parse, call one public function, format.

Exit codes: 0 ok; 1 the rehearsal failed: an SLO (``spec.expect``) failed or cannot tell
(no data in its window, or a window the run does not cover), or a rollout was rolled back;
2 bad input (one line on stderr, never a traceback). An unexpected exception is a meshsim bug
and keeps its traceback.

Here: ``run``, ``validate`` and ``version``, and the entry point. What ``run`` prints is
:mod:`.report`; the other commands are modules named after them (:mod:`.sweep`,
:mod:`.canary`, :mod:`.check`, :mod:`.compare`, :mod:`.whatif`), imported below so that they
register on ``app``.
"""

from __future__ import annotations

import json
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

import meshsim
from meshsim import Results, Scenario
from meshsim.api import check_run_size, rows_in_memory
from meshsim.cli.common import (
    EXIT_OK,
    EXIT_SLO_FAILED,
    BadInput,
    ForceOpt,
    RecordLevelOpt,
    ScenarioArg,
    SetOpt,
    StrictOpt,
    app,
    load_scenario,
    open_out,
    print_warnings,
    progress_bar,
    save,
    stderr,
    stdout,
    user_errors,
)
from meshsim.cli.render import records
from meshsim.cli.report import print_quiet, print_refusals, print_report
from meshsim.errors import ScenarioError
from meshsim.results.atomic import StagedDir


# -- commands -----------------------------------------------------------------------------------
@app.command()
def run(
    scenario_file: ScenarioArg,
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed",
            min=0,
            metavar="N",
            help="Root random seed (default: spec.seed).",
            show_default=False,
        ),
    ] = None,
    duration: Annotated[
        str | None,
        typer.Option(
            "--duration",
            metavar="DURATION",
            help="Simulated time, e.g. 60s or 5m (default: spec.duration).",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            metavar="DIR",
            help="Run directory (default: runs/<scenario>-<YYYYmmdd-HHMMSS>).",
            show_default=False,
        ),
    ] = None,
    sets: SetOpt = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No tables: only the bad news (failed or "
                           "undecided SLOs and verdicts, rollbacks, refusals) and errors.")
    ] = False,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print one JSON object (run info, summary, SLOs) on stdout."),
    ] = False,
    strict: StrictOpt = False,
    no_plots: Annotated[bool, typer.Option("--no-plots", help="Do not write PNG plots.")] = False,
    force: ForceOpt = False,
    allow_large: Annotated[
        bool, typer.Option("--allow-large", help="Run even a scenario estimated too large to "
                           "finish in reasonable time or memory.")
    ] = False,
    html: Annotated[
        bool, typer.Option("--html", help="Also write the run's HTML report (meshsim report) "
                           "into the run directory and print its path.")
    ] = False,
    record: Annotated[
        RecordLevelOpt, typer.Option(
            "--record", help="Row tables to store, streamed to the run directory as the run "
            "goes: all (requests, calls, attempts), requests (no attempts), summary (none).",
            case_sensitive=False),
    ] = RecordLevelOpt.all,
) -> None:
    """Simulate a scenario, print golden metrics and SLO verdicts, and write a run directory."""
    out_console, err = stdout(), stderr()
    with user_errors(err):
        scenario = _load_run(scenario_file, sets or [], duration, strict)
        size = check_run_size(
            scenario.model, allow_large=allow_large, file=str(scenario.path),
            rows_in_memory=rows_in_memory(scenario.model, record.value, streamed=True))
        if size is not None and not quiet:
            err.print(f"{scenario.path}: warning: {size}", markup=False)
        if not quiet:
            print_warnings(err, scenario)
        with open_out(out, scenario.name, force=force) as staged:  # checked before the run
            results = _simulate(scenario, seed, err, show=not quiet, record=record.value,
                                staged=staged)
            interactive = not quiet and err.is_terminal
            with err.status("writing the run directory") if interactive else nullcontext():
                run_dir = save(results, staged, plots=not no_plots)
        report_file = html_report.write_run_report(run_dir) if html else None
    slo, passed = results.slo(), results.passed
    rolled_back = bool((results.rollout["outcome"] == "rolled back").any())
    print_refusals(err, results.refused)

    if as_json:
        payload = {
            "run": results.run_info(),
            "run_dir": str(run_dir),
            "report": str(report_file) if report_file is not None else None,
            "passed": passed,
            "rolled_back": rolled_back,
            "warnings": [warning.format() for warning in scenario.warnings],
            "summary": records(results.summary),
            "workloads": records(results.workloads),
            "recovery": records(results.recovery),
            "backlog": records(results.backlog),
            "rollout": records(results.rollout),
            "slo": records(slo),
            "refused": records(results.refused),
        }
        if not results.proxy_cost.empty:  # only when the scenario models proxy cost
            payload["proxy_cost"] = records(results.proxy_cost)
            payload["data_plane_cost"] = results.data_plane_cost
        sys.stdout.write(json.dumps(payload, default=str, allow_nan=False) + "\n")
    elif quiet:
        print_quiet(out_console, results, slo)
    else:
        print_report(out_console, results, slo, run_dir)
    if report_file is not None and not as_json:
        out_console.print(f"report: {report_file}", markup=False)
    raise typer.Exit(EXIT_OK if passed and not rolled_back else EXIT_SLO_FAILED)


@app.command()
def validate(scenario_file: ScenarioArg, sets: SetOpt = None, strict: StrictOpt = False) -> None:
    """Load and compile a scenario without running it; report what it contains."""
    out_console, err = stdout(), stderr()
    with user_errors(err):
        scenario = load_scenario(scenario_file, sets or [], strict)
    print_warnings(err, scenario)
    model = scenario.model
    counts = (
        _plural(len(model.topology.services), "service"),
        _plural(len(model.workloads), "workload"),
        _plural(len(scenario.manifests), "manifest"),
    )
    out_console.print(f"ok: {scenario.name}: {', '.join(counts)}", markup=False)
    _print_bindings(out_console, scenario)


def _print_bindings(console: Console, scenario: Scenario) -> None:
    """Per service: namespace, sidecar (and which setting decided it), the manifests bound."""
    for binding in scenario.bindings():
        console.print(
            f"  {binding.service} (namespace {binding.namespace}): sidecar "
            f"{'yes' if binding.sidecar else 'no'} ({binding.why})", markup=False, soft_wrap=True,
        )
        bound = ", ".join(binding.manifests) or "none"
        console.print(f"    manifests: {bound}", markup=False, soft_wrap=True)


# ``meshsim --help`` lists the commands in the order they register on ``app``: sweep, which
# registers itself when imported, comes between validate and version.
from meshsim.cli import query, sweep  # noqa: E402, F401


@app.command()
def version() -> None:
    """Print the meshsim version."""
    stdout().print(f"meshsim {meshsim.__version__}", markup=False)


# -- helpers of run -----------------------------------------------------------------------------
def _load_run(path: Path, sets: list[str], duration: str | None, strict: bool) -> Scenario:
    """``--duration`` is the override ``spec.duration``: validated like the file when longer,
    cut with warnings when shorter (``meshsim.config.shorten``); its errors name it."""
    if duration is None:
        return load_scenario(path, sets, strict)
    try:
        return load_scenario(path, [*sets, f"spec.duration={duration}"], strict)
    except ScenarioError as exc:
        if exc.location.line is None and exc.location.path == "spec.duration":
            raise BadInput(f"--duration {duration}: {exc.message}") from None
        raise


def _simulate(
    scenario: Scenario, seed: int | None, err: Console, *, show: bool, record: str,
    staged: StagedDir,
) -> Results:
    """The run streams the rows ``record`` stores into the opened run directory."""
    if not (show and err.is_terminal):  # run checked the size already: allow_large
        return meshsim.simulate(scenario, seed=seed, allow_large=True, record=record,
                                record_dir=staged)
    with progress_bar(err, scenario.model.duration) as progress:
        return meshsim.simulate(scenario, seed=seed, progress=progress, allow_large=True,
                                record=record, record_dir=staged)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


# Commands in their own modules register themselves on ``app`` when imported.
from meshsim.cli import (  # noqa: E402, F401
    analyze,
    canary,
    check,
    compare,
    curve,
    export,
    html_report,
    imports,
    multicluster,
    proxy_config,
    translate,
    viz,
    whatif,
)


def main() -> None:
    """Entry point of the ``meshsim`` console script and of ``python -m meshsim``."""
    app(prog_name="meshsim")

