"""``meshsim canary``: rehearse a rollout over many seeds before shipping it.

Prints, per rollout, P(promotion) and P(rollback) with Wilson 95 % intervals and the spread of
time to decision, weight reached, users hurt and canary failures; writes one CSV row per run.
Exit codes: 0 ok, 2 bad input (including a scenario without a Flagger Canary or Argo Rollout).
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

import meshsim
from meshsim.cli.common import (
    BadInput,
    ForceOpt,
    ScenarioArg,
    SetOpt,
    StrictOpt,
    WorkersOpt,
    app,
    check_output,
    load_scenario,
    print_warnings,
    stderr,
    stdout,
    user_errors,
    write_output,
)
from meshsim.cli.render import records
from meshsim.units import format_duration


def _share(row: Mapping[Hashable, Any], key: str) -> str:
    return (f"{row[f'p_{key}']:.1%} [{row[f'p_{key}_low']:.1%}, {row[f'p_{key}_high']:.1%}]"
            f" ({row[key]}/{row['runs']})")


def _spread(row: Mapping[Hashable, Any], column: str, fmt: str) -> str:
    median, p10, p90 = (row[f"{column}_{s}"] for s in ("median", "p10", "p90"))
    if median is None or math.isnan(median):
        return "-"

    def one(value: float) -> str:
        return format_duration(value) if fmt == "time" else f"{value:,.0f}{fmt}"

    return f"{one(median)} (p10 {one(p10)}, p90 {one(p90)})"


def _table(result: meshsim.CanaryResult) -> Table:
    """One row per rollout and quantity; columns are what a release manager reads."""
    table = Table(box=None, header_style="bold", pad_edge=False, show_header=True)
    table.add_column("ROLLOUT", no_wrap=True)
    table.add_column("", no_wrap=True)
    table.add_column("VALUE (95 % Wilson interval / median, p10, p90)", no_wrap=True)
    for row in result.aggregate.to_dict("records"):
        lines = [
            ("P(promotion)", _share(row, "promoted")),
            ("P(rollback)", _share(row, "rolled_back")),
        ]
        for key in ("promoting", "paused", "progressing", "not_started"):
            if row[key]:
                lines.append((f"P({key.replace('_', ' ')})", _share(row, key)))
        lines += [
            ("time to decision", _spread(row, "time_to_decision", "time")),
            ("weight reached", _spread(row, "max_weight", "%")),
            ("users hurt", _spread(row, "users_hurt", "")),
            ("canary failures", _spread(row, "canary_failed", "")),
        ]
        for i, (label, text) in enumerate(lines):
            table.add_row(str(row["rollout"]) if i == 0 else "", label, text)
    return table


@app.command()
def canary(
    scenario_file: ScenarioArg,
    runs: Annotated[
        int, typer.Option("--runs", "-n", min=1, metavar="N", help="Seeded runs.")
    ] = 100,
    seed_base: Annotated[
        int, typer.Option("--seed-base", min=0, metavar="S", help="Seeds are S..S+N-1.")
    ] = 0,
    workers: WorkersOpt = None,
    out: Annotated[
        Path,
        typer.Option("--out", "-o", metavar="FILE.csv", help="Where to write one row per run."),
    ] = Path("canary.csv"),
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the aggregate as one JSON object on stdout.")
    ] = False,
    sets: SetOpt = None,
    strict: StrictOpt = False,
    force: ForceOpt = False,
) -> None:
    """Run a scenario's rollout over N seeds: how likely it promotes, rolls back, and at what
    cost to users."""
    out_console, err = stdout(), stderr()
    with user_errors(err):
        scenario = load_scenario(scenario_file, sets or [], strict)
        check_output("--out", out, force=force)
        try:
            result = meshsim.canary(scenario, runs=runs, seed_base=seed_base, workers=workers)
        except ValueError as exc:
            raise BadInput(str(exc)) from None
        write_output("--out", out, result.to_csv, force=force)
    if as_json:
        payload = {"scenario": result.scenario, "runs_csv": str(out),
                   "aggregate": records(result.aggregate)}
        sys.stdout.write(json.dumps(payload, default=str, allow_nan=False) + "\n")
        return
    print_warnings(err, scenario)
    _report(out_console, result, runs, seed_base, out)


def _report(
    console: Console, result: meshsim.CanaryResult, runs: int, seed_base: int, out: Path
) -> None:
    console.print(
        f"canary rehearsal of {result.scenario}: {runs} runs, seeds {seed_base}.."
        f"{seed_base + runs - 1}", style="bold", markup=False,
    )
    console.print(_table(result))
    console.print(f"runs written to {out}", markup=False)
