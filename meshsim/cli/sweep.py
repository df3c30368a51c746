"""``meshsim sweep``: a scenario over a grid of ``--set`` values and seeds, with means and 95 %
intervals per grid point.

A command module of its own, like :mod:`.check` and :mod:`.compare`: it registers ``sweep`` on
``app`` when :mod:`.main` imports it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

import meshsim
from meshsim.cli.common import (
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
    parse_grid,
    print_warnings,
    stderr,
    stdout,
    user_errors,
    write_output,
)
from meshsim.cli.render import HEADERS, format_metric


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
