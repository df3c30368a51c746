"""``meshsim multicluster gateways SCENARIO``: run a multi-cluster scenario and show its
gateways as ``linkerd multicluster gateways`` does (CLUSTER, ALIVE, NUM_SVC, LATENCY), plus
when each went dead or alive. See docs/multicluster.md."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

import meshsim
from meshsim.cli.common import EXIT_OK, SetOpt, StrictOpt, app, load_scenario, stderr, user_errors

multicluster = typer.Typer(help="Multi-cluster views of a run.", no_args_is_help=True)
app.add_typer(multicluster, name="multicluster")


@multicluster.command("gateways")
def gateways_command(
    scenario_file: Annotated[Path, typer.Argument(
        metavar="SCENARIO", help="Scenario YAML file.", show_default=False)],
    duration: Annotated[str | None, typer.Option(
        "--duration", metavar="DURATION", help="Simulated time (default: spec.duration).",
        show_default=False)] = None,
    seed: Annotated[int | None, typer.Option(
        "--seed", min=0, metavar="N", help="Root random seed (default: spec.seed).",
        show_default=False)] = None,
    sets: SetOpt = None,
    strict: StrictOpt = False,
) -> None:
    """Simulate the scenario and list its gateways at the end of the run."""
    err = stderr()
    with user_errors(err):
        scenario = load_scenario(scenario_file, sets or [], strict)
        results = meshsim.simulate(scenario, seed=seed, duration=duration, record="all")
    table = results.gateways()
    lines = [("GATEWAY", "CLUSTER", "ALIVE", "NUM_SVC", "LATENCY", "DEAD_AT", "ALIVE_AT")]
    for row in table.to_dict("records"):
        p50 = float(row["latency_p50"])
        latency = "-" if p50 != p50 else f"{p50 * 1e3:.1f}ms"
        lines.append((str(row["gateway"]), str(row["cluster"]), str(row["alive"]),
                      str(row["num_svc"]), latency, _times(row["dead_at"]),
                      _times(row["alive_at"])))
    if len(lines) == 1:
        sys.stdout.write("no gateway carried traffic or changed state in this run\n")
        raise typer.Exit(EXIT_OK)
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    for line in lines:
        sys.stdout.write("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True))
                         .rstrip() + "\n")
    raise typer.Exit(EXIT_OK)


def _times(times: object) -> str:
    return ",".join(f"{t:g}s" for t in times) or "-" if isinstance(times, list) else "-"
