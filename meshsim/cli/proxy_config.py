"""``meshsim proxy-config routes|clusters|endpoints POD SCENARIO``: a proxy's compiled
configuration, and with ``--at`` its state in a run, in ``istioctl proxy-config``'s table
shapes (Linkerd pods: routes with retry budgets, balancers, endpoints with Peak-EWMA).
See docs/proxy-config.md."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from meshsim.api import ConfigDump, View, proxy_config
from meshsim.cli.common import (
    EXIT_OK,
    SetOpt,
    StrictOpt,
    app,
    load_scenario,
    stderr,
    user_errors,
)


class What(StrEnum):
    routes = "routes"
    clusters = "clusters"
    endpoints = "endpoints"
    all = "all"


class Format(StrEnum):
    short = "short"
    wide = "wide"
    json = "json"


@app.command("proxy-config")
def proxy_config_command(
    what: Annotated[What, typer.Argument(help="routes, clusters, endpoints or all.")],
    pod: Annotated[str, typer.Argument(
        metavar="POD", help="A pod (frontend-0), workload client (users-0) or gateway pod; "
        "POD.NAMESPACE is accepted.", show_default=False)],
    scenario_file: Annotated[Path, typer.Argument(
        metavar="SCENARIO", help="Scenario YAML file.", show_default=False)],
    at: Annotated[str | None, typer.Option(
        "--at", metavar="TIME", help="Simulate the scenario this long (e.g. 30s) and show the "
        "proxy's state then: ejected hosts, active requests, EWMA (default: at the start).",
        show_default=False)] = None,
    output: Annotated[Format, typer.Option(
        "--output", "-o", help="short (istioctl's columns), wide (and the settings and state "
        "behind them) or json.")] = Format.short,
    seed: Annotated[int | None, typer.Option(
        "--seed", min=0, metavar="N", help="Root random seed of the --at run (default: "
        "spec.seed).", show_default=False)] = None,
    sets: SetOpt = None,
    strict: StrictOpt = False,
) -> None:
    """Show a proxy's routes, clusters or endpoints, as istioctl proxy-config does."""
    err = stderr()
    with user_errors(err):
        scenario = load_scenario(scenario_file, sets or [], strict)
        dumped = proxy_config(scenario, _pod_name(pod), at=at, seed=seed)
    views = _views(dumped, what)
    if output is Format.json:
        payload = {"proxy": dumped.proxy, "mesh": dumped.mesh, "at": dumped.at,
                   **{v.kind: v.rows for v in views}}
        sys.stdout.write(json.dumps(payload, indent=1, default=str) + "\n")
        raise typer.Exit(EXIT_OK)
    for i, view in enumerate(views):
        if i:
            sys.stdout.write("\n")
        sys.stdout.write(table(view, wide=output is Format.wide))
    raise typer.Exit(EXIT_OK)


def _pod_name(pod: str) -> str:
    """``frontend-0.default`` → ``frontend-0`` (istioctl's pod[.namespace])."""
    return pod.split(".", 1)[0]


def _views(dumped: ConfigDump, what: What) -> list[View]:
    if what is What.all:
        return [dumped.clusters, dumped.routes, dumped.endpoints]
    return [getattr(dumped, what.value)]


def table(view: View, *, wide: bool) -> str:
    """istioctl's tabwriter layout: columns left-aligned, three spaces apart."""
    columns = [*view.columns, *(view.wide if wide else ())]
    cells = [columns] + [[_cell(row.get(c)) for c in columns] for row in view.rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    lines = ["   ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
             for r in cells]
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
