"""``meshsim``: the command line. Parse, call one public function, format.

Exit codes: 0 ok; 1 the rehearsal failed: an SLO (``spec.expect``) failed or cannot tell
(no data in its window, or a window the run does not cover), or a rollout was rolled back;
2 bad input (one line on stderr, never a traceback). An unexpected exception is a meshsim bug
and keeps its traceback.
"""

from __future__ import annotations

import json
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Any

import typer
from pandas import DataFrame
from rich.console import Console
from rich.table import Table

import meshsim
from meshsim import Results, Scenario
from meshsim.api import check_run_size
from meshsim.cli.common import (
    EXIT_OK,
    EXIT_SLO_FAILED,
    BadInput,
    DaskOpt,
    ForceOpt,
    ScenarioArg,
    SetOpt,
    StrictOpt,
    WorkersOpt,
    app,
    check_output,
    load_scenario,
    open_out,
    parse_grid,
    print_warnings,
    progress_bar,
    save,
    stderr,
    stdout,
    unicode_ok,
    user_errors,
    write_output,
)
from meshsim.cli.render import (
    HEADERS,
    backlog_table,
    format_metric,
    golden_table,
    outcome_text,
    records,
    slo_lines,
    workloads_table,
)
from meshsim.errors import ScenarioError
from meshsim.units import format_duration


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
) -> None:
    """Simulate a scenario, print golden metrics and SLO verdicts, and write a run directory."""
    out_console, err = stdout(), stderr()
    with user_errors(err):
        scenario = _load_run(scenario_file, sets or [], duration, strict)
        size = check_run_size(scenario.model, allow_large=allow_large, file=str(scenario.path))
        if size is not None and not quiet:
            err.print(f"{scenario.path}: warning: {size}", markup=False)
        if not quiet:
            print_warnings(err, scenario)
        with open_out(out, scenario.name, force=force) as staged:  # checked before the run
            results = _simulate(scenario, seed, err, show=not quiet)
            interactive = not quiet and err.is_terminal
            with err.status("writing the run directory") if interactive else nullcontext():
                run_dir = save(results, staged, plots=not no_plots)
    slo, passed = results.slo(), results.passed
    rolled_back = bool((results.rollout["outcome"] == "rolled back").any())
    _print_refusals(err, results.refused)

    if as_json:
        payload = {
            "run": results.run_info(),
            "run_dir": str(run_dir),
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
        sys.stdout.write(json.dumps(payload, default=str, allow_nan=False) + "\n")
    elif quiet:
        _print_quiet(out_console, results, slo)
    else:
        _print_report(out_console, results, slo, run_dir)
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


def _points_table(result: meshsim.SweepResult) -> Table:
    """One row per grid point: each metric as ``mean ± 95 % half-width`` over the seeds."""
    table = Table(box=None, header_style="bold", pad_edge=False)
    for path in result.grid:
        table.add_column(path, no_wrap=True)
    table.add_column("SEEDS", justify="right")
    for metric in result.metrics:
        table.add_column(f"{HEADERS.get(metric, metric.upper())} ± 95%", justify="right")
    table.add_column("SLO PASS", justify="right")
    for row in result.points.to_dict("records"):
        cells = [str(row[path]) for path in result.grid] + [str(row["n_seeds"])]
        for metric in result.metrics:
            mean, half = row[f"{metric}_mean"], row[f"{metric}_ci95"]
            text = format_metric(metric, mean)
            if half == half:  # not NaN (one seed gives no interval)
                text += f" ± {format_metric(metric, half)}"
            cells.append(text)
        cells.append(f"{row['slo_pass_rate']:.0%}")
        table.add_row(*cells)
    return table




@app.command()
def sweep(
    scenario_file: ScenarioArg,
    grid: Annotated[
        list[str] | None,
        typer.Option(
            "--grid",
            metavar="PATH=V1,V2,...",
            help="Values to sweep for one --set path (repeatable: the grid is the product).",
            show_default=False,
        ),
    ] = None,
    seeds: Annotated[
        int, typer.Option("--seeds", min=1, metavar="N", help="Seeds per grid point (0..N-1).")
    ] = 3,
    workers: WorkersOpt = None,
    service: Annotated[
        str | None,
        typer.Option(
            "--service", metavar="NAME",
            help="Service or workload to report (default: the first workload's target).",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path,
        typer.Option("--out", "-o", metavar="FILE.csv", help="Where to write the runs CSV."),
    ] = Path("sweep.csv"),
    cache_dir: Annotated[
        Path | None,
        typer.Option(
            "--cache-dir", metavar="DIR", help="Store finished runs here; a rerun skips them.",
            show_default=False,
        ),
    ] = None,
    dask: DaskOpt = None,
    sets: SetOpt = None,
    strict: StrictOpt = False,
    force: ForceOpt = False,
) -> None:
    """Run a scenario over a grid of --set values and seeds; print means and 95 % intervals."""
    out_console, err = stdout(), stderr()
    with user_errors(err):
        points = parse_grid(grid or [])
        if not points:
            raise BadInput("--grid: give at least one PATH=V1,V2,...")
        scenario = load_scenario(scenario_file, sets or [], strict)
        print_warnings(err, scenario)
        check_output("--out", out, force=force)
        try:
            result = meshsim.sweep(
                scenario, points, seeds=seeds, service=service, workers=workers,
                progress=err.is_terminal, cache_dir=cache_dir, dask=dask,
            )
        except ValueError as exc:
            raise BadInput(str(exc)) from None
        write_output("--out", out, result.to_csv, force=force)
    out_console.print(
        f"sweep of {scenario.name}: {result.service}, {len(result.runs)} runs "
        f"({result.executed} simulated)", style="bold", markup=False,
    )
    out_console.print(_points_table(result))
    out_console.print(f"runs written to {out}", markup=False)


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


def _simulate(scenario: Scenario, seed: int | None, err: Console, *, show: bool) -> Results:
    if not (show and err.is_terminal):  # run checked the size already: allow_large
        return meshsim.simulate(scenario, seed=seed, allow_large=True)
    with progress_bar(err, scenario.model.duration) as progress:
        return meshsim.simulate(scenario, seed=seed, progress=progress, allow_large=True)


def _print_report(console: Console, results: Results, slo: DataFrame, run_dir: Path) -> None:
    console.print("golden metrics (after warm-up)", style="bold")
    console.print(golden_table(results.summary))
    workloads = results.workloads
    if len(workloads):
        console.print()
        console.print("workloads (end to end)", style="bold")
        console.print(workloads_table(workloads))
    _print_open(console, results, always=True)
    recovery = results.recovery
    if len(recovery):
        console.print()
        console.print("after the faults", style="bold")
        for row in recovery.itertuples():
            console.print(str(row.verdict), style=_RECOVERY_STYLE.get(str(row.outcome)),
                          markup=False)
    _print_backlog(console, results.backlog)
    rollout = results.rollout
    if len(rollout):
        console.print()
        console.print("rollout", style="bold")
        for row in rollout.itertuples():
            console.print(_rollout_line(row), style=_ROLLOUT_STYLE.get(str(row.outcome)),
                          markup=False)
    _print_events(console, results.events)
    if len(slo):
        console.print()
        console.print("SLOs", style="bold")
        _print_slo(console, slo, only_failures=False)
    console.print()
    console.print(f"run directory: {run_dir}", markup=False)


_ROLLOUT_STYLE = {"promoted": "green", "rolled back": "red", "paused": "yellow"}
_RECOVERY_STYLE = {"recovered": "green", "collapsed": "red", "cannot tell": "yellow"}


def _rollout_line(row: Any) -> str:
    """``podinfo (flagger): rolled back at 100s, 80s after it started, canary weight ≤ 10%; ...``"""
    decided = " when the run ended: no decision yet;" if row.decided_at != row.decided_at else (
        f" at {format_duration(row.decided_at)}, {format_duration(row.time_to_decision)} after "
        "it started,"
    )
    return (
        f"{row.rollout} ({row.controller}): {row.outcome}{decided} canary weight reached "
        f"{row.max_weight:g}%; {row.failed_checks} of {row.checks} checks failed; "
        f"{row.canary_failed} of {row.canary_requests} canary requests failed, "
        f"{row.users_hurt} users hurt"
    )


def _print_events(console: Console, events: DataFrame) -> None:
    """Denied edges one per line; ejections counted per detector and service."""
    denied = events[events["kind"] == "authz-deny"]
    if len(denied):
        console.print()
        console.print("denied by authorization policy", style="bold")
        for row in denied.itertuples():
            console.print(f"{row.proxy} → {row.pod}: {row.detail}", style="red", markup=False)
    ejects = events[events["kind"] == "eject"]
    if len(ejects):
        console.print()
        console.print("ejections", style="bold")
        grouped = ejects.groupby(["service", "pod", "detail"], observed=True)["time"]
        table = grouped.agg(["size", "min"]).reset_index()
        for row in table.itertuples():
            console.print(
                f"{row.pod} ({row.service}) ejected {row.size} time(s) by client proxies "
                f"({row.detail}), first at {row.min:.1f}s", markup=False,
            )


def _print_refusals(err: Console, refused: DataFrame) -> None:
    """Every workload or service that got only 4xx answers: one loud line each, even --quiet."""
    for message in refused["message"]:
        err.print(f"refused: {message}", style="bold red", markup=False)


def _print_slo(console: Console, slo: DataFrame, *, only_failures: bool) -> None:
    unicode = unicode_ok()
    for outcome, line in slo_lines(slo):
        if not (only_failures and outcome == "pass"):
            console.print(outcome_text(outcome, line, unicode=unicode))


def _print_backlog(console: Console, backlog: DataFrame) -> None:
    """Where requests wait, per service, when any did: the queue holding a metastable state."""
    waiting = backlog[(backlog["queued_peak"] >= 0.5).to_numpy()]
    if len(waiting):
        console.print()
        console.print("where the backlog sits (queued and in flight at the end; peak)",
                      style="bold")
        console.print(backlog_table(waiting))


def _print_quiet(console: Console, results: Results, slo: DataFrame) -> None:
    """``--quiet``: no tables, but every verdict that is not good news still prints: recovery
    that collapsed or cannot tell, a rollout not promoted, and SLOs that fail or cannot tell."""
    for row in results.recovery.itertuples():
        if row.outcome != "recovered":
            console.print(str(row.verdict), style=_RECOVERY_STYLE.get(str(row.outcome)),
                          markup=False)
    for row in results.rollout.itertuples():
        if row.outcome != "promoted":
            console.print(_rollout_line(row), style=_ROLLOUT_STYLE.get(str(row.outcome)),
                          markup=False)
    _print_open(console, results, always=False)
    _print_slo(console, slo, only_failures=True)


def _print_open(console: Console, results: Results, *, always: bool) -> None:
    """Requests with no answer when the run ended are in no table (the tables count answered
    requests): say how many, so a stuck service cannot hide behind a 100 % SUCCESS.

    Some are always in flight; by Little's law about (answered per second) × (their mean
    latency). More than twice that (and over ten) means the answered ones do not speak for
    the rest: that is news, and ``--quiet`` prints it too."""
    still_open, issued = results.recording.in_flight_at_end, results.recording.issued
    requests = results.requests
    explained = (len(requests) / results.duration * float(requests["latency"].mean())
                 if len(requests) and results.duration > 0 else 0.0)
    news = still_open > max(10.0, 2.0 * explained)
    if still_open <= 0 or not (always or news):
        return
    text = (f"still open at the end: {still_open:,} of {issued:,} requests issued "
            f"({still_open / issued:.1%}) had no answer when the run ended; the tables count "
            "answered requests only")
    if news:
        text += f" (the answered requests' latency explains about {explained:,.0f} in flight)"
    console.print(text, style="yellow" if news else "dim", markup=False)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


# Commands in their own modules register themselves on ``app`` when imported.
from meshsim.cli import canary, check, compare, whatif  # noqa: E402, F401


def main() -> None:
    """Entry point of the ``meshsim`` console script and of ``python -m meshsim``."""
    app(prog_name="meshsim")
