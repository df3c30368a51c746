"""``meshsim export openmetrics RUN``: a run as OpenMetrics text with Istio's or Linkerd's
metric names and labels, for ``promtool tsdb create-blocks-from openmetrics`` (then Grafana
dashboards and Flagger's PromQL over simulated traffic)."""

from __future__ import annotations

import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from meshsim.cli.common import BadInput, ForceOpt, app, stderr, user_errors, write_output
from meshsim.errors import UnitError
from meshsim.results import viz
from meshsim.results.openmetrics import horizon, write_openmetrics
from meshsim.units import parse_duration

export_app = typer.Typer(
    name="export", no_args_is_help=True, add_completion=False,
    help="Write a run in another tool's format (openmetrics).",
)
app.add_typer(export_app, name="export")


def parse_epoch(text: str, run: viz.VizRun) -> float:
    """Unix seconds, an ISO 8601 time, or ``now`` (the run then ends at the current time)."""
    if text == "now":
        return time.time() - horizon(run)
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise BadInput(f"--epoch {text}: expected Unix seconds, an ISO 8601 time "
                       "(2024-01-01T00:00:00Z) or now") from None


@export_app.command()
def openmetrics(
    run_dir: Annotated[Path, typer.Argument(help="A run directory written by 'meshsim run'.",
                                            show_default=False)],
    out: Annotated[Path | None, typer.Option(
        "--output", "-o", metavar="FILE", show_default=False,
        help="Write here (default: standard output).")] = None,
    mesh: Annotated[str | None, typer.Option(
        "--mesh", metavar="istio|linkerd", show_default=False,
        help="Whose metric names and labels (default: the run's mesh; istio for none).")] = None,
    interval: Annotated[str, typer.Option(
        "--scrape-interval", metavar="DURATION",
        help="Simulated time between samples of each series.")] = "5s",
    epoch: Annotated[str, typer.Option(
        "--epoch", metavar="TIME",
        help="Unix time of simulated t=0: seconds, ISO 8601, or 'now' (the run ends now).")
    ] = "2024-01-01T00:00:00Z",
    force: ForceOpt = False,
) -> None:
    """Write the run as OpenMetrics (istio_requests_total, istio_request_duration_milliseconds;
    or Linkerd's request_total, response_total, response_latency_ms), ending with # EOF."""
    with user_errors(stderr()):
        try:
            step = parse_duration(interval, allow_zero=False)
        except UnitError as exc:
            raise BadInput(f"--scrape-interval {interval}: {exc}") from None
        run = viz.from_run_dir(run_dir)
        chosen = mesh or (run.info.mesh if run.info.mesh in ("istio", "linkerd") else "istio")
        if chosen not in ("istio", "linkerd"):
            raise BadInput(f"--mesh {chosen}: expected istio or linkerd")
        start = parse_epoch(epoch, run)
        if out is None:
            write_openmetrics(run, sys.stdout, mesh=chosen, interval=step, epoch=start)
            return

        def write(path: Path) -> None:
            with path.open("w", encoding="utf-8") as handle:
                write_openmetrics(run, handle, mesh=chosen, interval=step, epoch=start)

        write_output("--output", out, write, force=force)
