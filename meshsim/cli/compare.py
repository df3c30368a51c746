"""``meshsim compare A B``: two runs side by side, with deltas, SLO verdicts and overlaid plots.

A and B are run directories written by ``meshsim run`` or scenario files, which are simulated
here with the same seed (so the difference is the change, not the dice). Exit codes: 0 compared,
1 B regressed beyond the tolerance (only with ``--fail-on-regression``), 2 bad input.
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
    ForceOpt,
    StrictOpt,
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
from meshsim.cli.render import format_metric, outcome_text, verdict_text
from meshsim.units import format_duration

COLUMNS = (
    ("success_rate", "SUCCESS"), ("p50", "P50"), ("p99", "P99"), ("rps", "RPS"),
    ("retries", "RETRIES"), ("overflows", "OVERFLOWS"), ("ejections", "EJECTIONS"),
)
RunArg = Annotated[
    Path,
    typer.Argument(
        help="A run directory written by 'meshsim run', or a scenario file to simulate.",
        show_default=False,
    ),
]


SetAOpt = Annotated[
    list[str] | None,
    typer.Option("--set-a", metavar="PATH=VALUE", show_default=False,
                 help="Override a field of scenario file A (repeatable)."),
]
SetBOpt = Annotated[
    list[str] | None,
    typer.Option("--set-b", metavar="PATH=VALUE", show_default=False,
                 help="Override a field of scenario file B (repeatable), e.g. to compare a "
                 "scenario with a changed manifest field of itself."),
]


RunBArg = Annotated[
    Path | None,
    typer.Argument(
        help="A run directory or scenario file (not with --meshes).", show_default=False,
    ),
]
MeshesOpt = Annotated[
    str | None,
    typer.Option("--meshes", metavar="istio,linkerd", show_default=False,
                 help="Run scenario A under both meshes (translating it as needed) on one "
                 "seed and compare them: proxy CPU and memory, divergences, SLO verdicts."),
]


@app.command()
def compare(
    run_a: RunArg,
    run_b: RunBArg = None,
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed", min=0, metavar="N",
            help="Seed for scenario files (default: a run directory's seed, else A's spec.seed).",
            show_default=False,
        ),
    ] = None,
    duration: Annotated[
        str | None,
        typer.Option("--duration", metavar="DURATION", help="Simulated time for scenario files.",
                     show_default=False),
    ] = None,
    set_a: SetAOpt = None,
    set_b: SetBOpt = None,
    plot: Annotated[
        Path, typer.Option("--plot", metavar="FILE.png",
                           help="Where to save the overlaid plots (success rate, p99, goodput).")
    ] = Path("compare.png"),
    fail_on_regression: Annotated[
        bool, typer.Option("--fail-on-regression",
                           help="Exit 1 when B is worse than A beyond the tolerances.")
    ] = False,
    success_tolerance: Annotated[
        float, typer.Option("--success-tolerance", min=0.0, metavar="PP",
                            help="Allowed drop in success rate, in percentage points.")
    ] = 0.5,
    latency_tolerance: Annotated[
        float, typer.Option("--latency-tolerance", min=0.0, metavar="PCT",
                            help="Allowed rise in p50 or p99, in percent.")
    ] = 10.0,
    meshes: MeshesOpt = None,
    strict: StrictOpt = False,
    force: ForceOpt = False,
) -> None:
    """Compare run A (baseline) with run B: golden metrics with deltas, SLOs, overlaid plots.

    B regresses when its success rate is lower by more than --success-tolerance points, its
    p50 or p99 higher by more than --latency-tolerance percent, or an SLO that held in A fails.
    With --meshes istio,linkerd, A is one scenario run under both meshes.
    """
    out, err = stdout(), stderr()
    if meshes is not None:
        if set_a or set_b:
            with user_errors(err):
                raise BadInput("--set-a/--set-b compare two runs; with --meshes edit the scenario")
        compare_meshes_command(run_a, run_b, meshes, seed, duration, plot, strict, force)
        return
    with user_errors(err):
        if run_b is None:
            raise BadInput("compare needs two runs (A and B), or one scenario with --meshes")
        sim_duration = duration_option(duration)
        check_output("--plot", plot, force=force)
        stored = {p: meshsim.load_run(p) for p in (run_a, run_b) if p.is_dir()}
        if seed is None and stored:
            seed = next(iter(stored.values())).seed
        a = _side(run_a, stored, seed, sim_duration, set_a or [], strict, err)
        if seed is None and isinstance(a, meshsim.Results):
            seed = a.seed  # B gets A's seed, whatever B's spec.seed says
        b = _side(run_b, stored, seed, sim_duration, set_b or [], strict, err)
        tolerance = meshsim.Tolerance(success_tolerance / 100, latency_tolerance / 100)
        result = meshsim.compare(a, b, tolerance=tolerance, labels=(
            _label("A", a, run_a, set_a), _label("B", b, run_b, set_b),
        ))
        try:
            write_output("--plot", plot, result.save_plot, force=force)
        except ValueError as exc:  # matplotlib: a suffix that is no image format
            raise BadInput(f"--plot {plot}: cannot write ({exc})") from None
    _report(out, result, plot)
    regressed = fail_on_regression and result.regressed
    raise typer.Exit(EXIT_SLO_FAILED if regressed else EXIT_OK)


def _side(
    path: Path, stored: dict[Path, meshsim.StoredRun], seed: int | None, duration: float | None,
    sets: list[str], strict: bool, err: Console,
) -> meshsim.Results | meshsim.StoredRun:
    if path in stored:
        if sets:
            raise BadInput(f"{path}: --set-a/--set-b apply to scenario files, not run directories")
        return stored[path]
    scenario = load_scenario(path, sets, strict)
    if duration is not None and duration <= scenario.model.warmup:
        raise BadInput(f"--duration {format_duration(duration)} leaves nothing after the "
                       f"warm-up of {path}")
    if duration is not None:  # a cut says what it leaves out, as in meshsim run
        scenario = scenario.with_duration(duration)
    print_warnings(err, scenario)
    return meshsim.simulate(scenario, seed=seed)


def _label(
    side: str, run: meshsim.Results | meshsim.StoredRun, path: Path, sets: list[str] | None,
) -> str:
    changed = f", {' '.join(sets)}" if sets else ""
    return f"{side}: {run.name} (seed {run.seed}, {path.name}{changed})"


# -- output -------------------------------------------------------------------------------------
def _delta(metric: str, a: float, b: float) -> str:
    if a != a or b != b:  # NaN: the row is in one run only
        return "-"
    d = b - a
    if d == 0:
        return "0"
    if metric == "success_rate":
        return f"{d * 100:+.2f}pp"
    if metric in ("p50", "p99"):
        rel = f" ({d / a:+.0%})" if a else ""
        return ("+" if d >= 0 else "-") + format_duration(abs(d)) + rel
    if metric == "rps":
        return f"{d:+,.1f}/s"
    return f"{d:+,.0f}"


def side_by_side_table(result: meshsim.Comparison) -> Table:
    """Per service/subset and workload: a row for A, one for B and one for B − A."""
    table = Table(box=None, header_style="bold", pad_edge=False)
    for header in ("SERVICE", "SUBSET", "RUN"):
        table.add_column(header, no_wrap=True)
    for _, header in COLUMNS:
        table.add_column(header, justify="right", no_wrap=True)
    for row in result.table.to_dict("records"):
        name = f"workload {row['name']}" if row["kind"] == "workload" else str(row["name"])
        subset = str(row["subset"]) or "-"
        for side in ("a", "b"):
            cells = [format_metric(m, row[f"{m}_{side}"]) for m, _ in COLUMNS]
            first = side == "a"
            table.add_row(name if first else "", subset if first else "", side.upper(), *cells)
        deltas = [_delta(m, row[f"{m}_a"], row[f"{m}_b"]) for m, _ in COLUMNS]
        table.add_row("", "", "Δ", *deltas, style="dim", end_section=True)
    return table


def _report(out: Console, result: meshsim.Comparison, plot: Path) -> None:
    for label in result.labels:
        out.print(label, style="bold", markup=False)
    out.print()
    out.print(side_by_side_table(result))
    unicode = unicode_ok()
    if len(result.slo):
        out.print()
        out.print("SLOs (A | B)", style="bold")
        for row in result.slo.to_dict("records"):
            metric = str(row["metric"])
            cells: list[Text | str] = []
            for side in ("a", "b"):
                passed = row[f"passed_{side}"]
                if passed != passed:  # NaN: not in this run
                    cells.append(f"{side.upper()} -")
                elif row.get(f"outcome_{side}") == "cannot tell":  # not a pass, not a value
                    cells.append(outcome_text("cannot tell", f"{side.upper()} cannot tell",
                                              unicode=unicode))
                else:
                    value = format_metric(metric, row[f"value_{side}"])
                    cells.append(verdict_text(bool(passed), f"{side.upper()} {value}",
                                              unicode=unicode))
            out.print(Text.assemble(cells[0], " | ", cells[1], "  ", str(row["expectation"])))
    out.print()
    if result.regressions:
        out.print("B is worse than A:", style="bold red")
        for line in result.regressions:
            out.print(f"  {line}", markup=False)
    else:
        tol = result.tolerance
        out.print(f"no regression beyond the tolerances ({tol.success * 100:.2g}pp success rate, "
                  f"+{tol.latency:.0%} p50/p99)", style="green", markup=False)
    out.print(f"plots written to {plot}", markup=False)


# -- --meshes ----------------------------------------------------------------------------------
def compare_meshes_command(
    scenario_file: Path, extra: Path | None, meshes: str, seed: int | None,
    duration: str | None, plot: Path, strict: bool, force: bool,
) -> None:
    """``compare --meshes istio,linkerd SCENARIO``: both meshes, one seed, side by side."""
    out, err = stdout(), stderr()
    with user_errors(err):
        if extra is not None:
            raise BadInput("--meshes compares one scenario under two meshes: give one file")
        if scenario_file.is_dir():
            raise BadInput(f"{scenario_file}: --meshes needs a scenario file, not a run")
        sim_duration = duration_option(duration)
        check_output("--plot", plot, force=force)
        scenario = load_scenario(scenario_file, [], strict)
        print_warnings(err, scenario)
        if sim_duration is not None and sim_duration <= scenario.model.warmup:
            raise BadInput(f"--duration {format_duration(sim_duration)} leaves nothing after "
                           f"the warm-up of {scenario_file}")
        result = meshsim.compare_meshes(scenario, tuple(m.strip() for m in meshes.split(",")),
                                seed=seed, duration=sim_duration)
        try:
            write_output("--plot", plot, result.save_plot, force=force)
        except ValueError as exc:
            raise BadInput(f"--plot {plot}: cannot write ({exc})") from None
    _report_meshes(out, result, plot)
    raise typer.Exit(EXIT_OK)


def _report_meshes(out: Console, result: meshsim.MeshComparison, plot: Path) -> None:
    for label in result.comparison.labels:
        out.print(label, style="bold", markup=False)
    for mesh, translation in result.translations.items():
        out.print(f"{mesh}: translated ({len(translation.lost)} fields lost, "
                  f"{len(translation.approximated)} approximated; see meshsim translate)",
                  markup=False)
    out.print()
    out.print(side_by_side_table(result.comparison))
    if len(result.cost):
        out.print()
        out.print("proxy cost (whole run)", style="bold")
        table = Table(box=None, header_style="bold", pad_edge=False)
        a, b = result.meshes
        for header in ("SERVICE", f"CPU-S {a}", f"CPU-S {b}", f"MEMORY {a}", f"MEMORY {b}"):
            table.add_column(header, justify="left" if header == "SERVICE" else "right")
        for row in result.cost.fillna(0).to_dict("records"):
            table.add_row(str(row["service"]), f"{row['cpu_seconds_a']:,.2f}",
                          f"{row['cpu_seconds_b']:,.2f}", f"{row['memory_mb_a']:,.0f}MB",
                          f"{row['memory_mb_b']:,.0f}MB")
        out.print(table)
        totals = [run.data_plane_cost for run in result.runs]
        out.print(f"data plane: {a} {totals[0]['cpu_seconds']:,.2f} CPU-s, "
                  f"{totals[0]['memory_mb']:,.0f} MB; {b} {totals[1]['cpu_seconds']:,.2f} "
                  f"CPU-s, {totals[1]['memory_mb']:,.0f} MB", markup=False)
    out.print()
    if result.divergences:
        out.print("where the meshes diverge", style="bold")
        for line in result.divergences:
            out.print(f"  {line}", markup=False)
    else:
        out.print("no divergence beyond the thresholds (success 1pp, p99 25%, retries 2x)",
                  markup=False)
    if result.verdicts:
        out.print()
        out.print("SLO verdicts", style="bold")
        for line in result.verdicts:
            out.print(f"  {line}", markup=False)
    out.print(f"plots written to {plot}", markup=False)
