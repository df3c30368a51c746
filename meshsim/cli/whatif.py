"""``meshsim whatif``: resilience maps and the policy recommender, over many seeded runs.

    meshsim whatif map SCENARIO --load PATH=V1,V2 --trigger PATH=V1,V2 [--seeds N]
    meshsim whatif recommend SCENARIO --space PATH=V1,V2 [--space ...] [--seeds N]

``map`` writes the runs CSV, the per-cell CSV and the heat map PNG and exits 0. ``recommend``
writes the ranked options CSV and exits 0 when a candidate met every SLO on every seed, 1 when
none did. Bad input exits 2 with one line on stderr.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

import meshsim
from meshsim.cli.common import (
    EXIT_OK,
    EXIT_SLO_FAILED,
    BadInput,
    ForceOpt,
    ScenarioArg,
    SetOpt,
    StrictOpt,
    WorkersOpt,
    app,
    check_output,
    load_scenario,
    parse_grid,
    print_warnings,
    stderr,
    stdout,
    user_errors,
    write_output,
)
from meshsim.units import format_duration

whatif = typer.Typer(
    name="whatif",
    help="What-if analysis over many seeded runs: resilience maps and policy recommendations.",
    no_args_is_help=True,
)
app.add_typer(whatif)

SeedsOpt = Annotated[
    int, typer.Option("--seeds", min=1, metavar="N", help="Seeds per cell or candidate (0..N-1).")
]
def _axis(option: str, item: str | None) -> tuple[str, list[str]]:
    if not item:
        raise BadInput(f"{option}: give PATH=V1,V2,..., e.g. spec.workload[0].rate=400/s,800/s")
    try:
        ((path, values),) = parse_grid([item]).items()
    except BadInput:
        raise BadInput(
            f"{option} {item!r}: expected PATH=V1,V2,..., e.g. spec.faults[0].for=1s,5s"
        ) from None
    return path, values


@whatif.command("map")
def map_command(
    scenario_file: ScenarioArg,
    load: Annotated[
        str | None,
        typer.Option("--load", metavar="PATH=V1,V2,...", help="Base load values (columns).",
                     show_default=False),
    ] = None,
    trigger: Annotated[
        str | None,
        typer.Option("--trigger", metavar="PATH=V1,V2,...", help="Trigger size or duration "
                     "values (rows).", show_default=False),
    ] = None,
    seeds: SeedsOpt = 3,
    workers: WorkersOpt = None,
    out: Annotated[
        Path,
        typer.Option("--out", "-o", metavar="PREFIX",
                     help="Writes PREFIX.csv (runs), PREFIX-cells.csv and PREFIX.png."),
    ] = Path("resilience-map"),
    sets: SetOpt = None,
    strict: StrictOpt = False,
    force: ForceOpt = False,
) -> None:
    """Map base load × trigger to recovered or collapsed, with P(collapse) and recovery time."""
    console, err = stdout(), stderr()
    with user_errors(err):
        load_axis, trigger_axis = _axis("--load", load), _axis("--trigger", trigger)
        scenario = load_scenario(scenario_file, sets or [], strict)
        runs_csv, cells_csv, png = (
            out.with_name(out.name + ".csv"), out.with_name(out.name + "-cells.csv"),
            out.with_name(out.name + ".png"),
        )
        for path in (runs_csv, cells_csv, png):
            check_output("--out", path, force=force)
        print_warnings(err, scenario)
        try:
            rmap = meshsim.resilience_map(
                scenario, load=load_axis, trigger=trigger_axis, seeds=seeds, workers=workers,
                progress=err.is_terminal,
            )
        except ValueError as exc:
            raise BadInput(str(exc)) from None
        write_output("--out", runs_csv, rmap.to_csv, force=force)
        write_output("--out", cells_csv, lambda p: rmap.to_csv(p, cells=True), force=force)
        write_output("--out", png, lambda p: rmap.plot().savefig(p, dpi=120), force=force)
    console.print(
        f"resilience map of {scenario.name}: {len(rmap.runs)} runs", style="bold", markup=False
    )
    console.print(_cells_table(rmap))
    console.print(f"written: {runs_csv}, {cells_csv}, {png}", markup=False)
    raise typer.Exit(EXIT_OK)


def _cells_table(rmap: meshsim.ResilienceMap) -> Table:
    table = Table(box=None, header_style="bold", pad_edge=False)
    for name in ("LOAD", "TRIGGER", "COLLAPSED", "P(COLLAPSE) 95%", "RECOVERY (MEDIAN)"):
        table.add_column(name, justify="left" if name in ("LOAD", "TRIGGER") else "right")
    for row in rmap.cells.to_dict("records"):
        band = "-" if math.isnan(row["p_collapse"]) else (
            f"{row['p_collapse']:.2f} [{row['p_collapse_low']:.2f}, "
            f"{row['p_collapse_high']:.2f}]")
        rec = float(row["recovery_time_median"])
        table.add_row(
            str(row["load"]), str(row["trigger"]), _collapsed_cell(row), band,
            "-" if math.isnan(rec) else (format_duration(rec) if rec > 0 else "0s"),
        )
    return table


def _collapsed_cell(row: dict[Any, Any]) -> str:
    """``1/3`` of the runs with a verdict; ``+1 undecided`` for runs that could not tell."""
    undecided = int(row.get("undecided", 0))
    text = f"{row['collapsed']}/{int(row['runs']) - undecided}"
    return text + (f" +{undecided} undecided" if undecided else "")


@whatif.command("recommend")
def recommend_command(
    scenario_file: ScenarioArg,
    space: Annotated[
        list[str] | None,
        typer.Option("--space", metavar="PATH=V1,V2,...",
                     help="Values to try for one --set path (repeatable: the product is searched).",
                     show_default=False),
    ] = None,
    seeds: SeedsOpt = 3,
    workers: WorkersOpt = None,
    out: Annotated[
        Path,
        typer.Option("--out", "-o", metavar="FILE.csv", help="Where to write the ranked options."),
    ] = Path("recommendation.csv"),
    sets: SetOpt = None,
    strict: StrictOpt = False,
    force: ForceOpt = False,
) -> None:
    """Find the cheapest setting in a policy space that meets the SLOs under the faults."""
    console, err = stdout(), stderr()
    with user_errors(err):
        grid = parse_grid(space or [])
        if not grid:
            raise BadInput("--space: give at least one PATH=V1,V2,...")
        scenario = load_scenario(scenario_file, sets or [], strict)
        check_output("--out", out, force=force)
        print_warnings(err, scenario)
        try:
            rec = meshsim.recommend(
                scenario, grid, seeds=seeds, workers=workers, progress=err.is_terminal
            )
        except ValueError as exc:
            raise BadInput(str(exc)) from None
        write_output("--out", out, rec.to_csv, force=force)
    console.print(
        f"recommendation for {scenario.name}: {len(rec.options)} options × {len(rec.seeds)} "
        "seeds (cost: extra attempts per user request)", style="bold", markup=False,
    )
    console.print(_options_table(rec))
    if rec.found:
        settings = " ".join(f"--set '{p}={v}'" for p, v in rec.best.items()) or "(as written)"
        console.print(f"recommended: {settings}", style="green", markup=False)
    else:
        console.print("no candidate met every SLO on every seed", style="red", markup=False)
    console.print(f"options written to {out}", markup=False)
    raise typer.Exit(EXIT_OK if rec.found else EXIT_SLO_FAILED)


def _options_table(rec: meshsim.Recommendation) -> Table:
    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column("#", justify="right")
    for path in rec.space:
        table.add_column(path, no_wrap=True)
    for name in ("MEETS SLOS", "PASS", "COST", "CHANGES", "MARGIN", "SUCCESS"):
        table.add_column(name, justify="right")
    for row in rec.options.to_dict("records"):
        table.add_row(
            str(row["rank"]) + ("*" if row["current"] else ""),
            *(str(row[path]) for path in rec.space),
            "yes" if row["meets_slos"] else "no", f"{row['pass_rate']:.0%}",
            f"{row['cost']:.3f}", str(row["changes"]), f"{row['margin']:+.1%}",
            f"{row['success_rate']:.2%}",
        )
    table.caption = "* the scenario as written"
    return table
