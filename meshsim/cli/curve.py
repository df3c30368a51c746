"""``meshsim curve``: a closed-loop workload's throughput/latency curve over user counts.

A command module of its own, like :mod:`.sweep`: it registers ``curve`` on ``app`` when
:mod:`.main` imports it.
"""

from __future__ import annotations

from typing import Annotated

import pandas as pd
import typer
from rich.table import Table

import meshsim
from meshsim.cli.common import (
    BadInput,
    ScenarioArg,
    SetOpt,
    StrictOpt,
    app,
    load_scenario,
    print_warnings,
    stderr,
    stdout,
    user_errors,
)
from meshsim.units import format_duration

HEADERS = ("USERS", "THROUGHPUT", "GOODPUT", "MEAN", "P99", "N/X - Z")


def _users(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise BadInput(f"--users: expected whole numbers like 1,2,4,8, got {text!r}") from None
    if not values or min(values) < 1:
        raise BadInput(f"--users: expected user counts of at least 1, got {text!r}")
    return values


def _table(curve: pd.DataFrame) -> Table:
    table = Table(box=None, header_style="bold", pad_edge=False)
    for header in HEADERS:
        table.add_column(header, justify="right", no_wrap=True)
    means = curve.groupby("users", sort=True).mean(numeric_only=True)
    for users, row in zip(means.index, means.to_dict("records"), strict=True):
        table.add_row(f"{users:g}", f"{row['throughput']:.1f}/s", f"{row['goodput']:.1f}/s",
                      format_duration(row["mean_latency"]), format_duration(row["p99"]),
                      format_duration(row["law_latency"]))
    return table


@app.command()
def curve(
    scenario_file: ScenarioArg,
    users: Annotated[str, typer.Option("--users", metavar="N1,N2,...",
                                       help="User (connection) counts to run.")],
    workload: Annotated[int, typer.Option("--workload", min=0, metavar="I",
                                          help="Index of the closed-loop workload.")] = 0,
    seeds: Annotated[int, typer.Option("--seeds", min=1, metavar="N",
                                       help="Seeds per user count (0..N-1).")] = 1,
    sets: SetOpt = None,
    strict: StrictOpt = False,
) -> None:
    """Run a closed-loop workload at several user counts: throughput, latency, N/X − Z."""
    out, err = stdout(), stderr()
    with user_errors(err):
        counts = _users(users)
        scenario = load_scenario(scenario_file, sets or [], strict)
        print_warnings(err, scenario)
        try:
            result = meshsim.closed_loop_curve(scenario, counts, workload=workload, seeds=seeds)
        except ValueError as exc:
            raise BadInput(str(exc)) from None
    out.print(f"closed-loop curve of {scenario.name} (per user request, after warm-up)",
              style="bold", markup=False)
    out.print(_table(result))
