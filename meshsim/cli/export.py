"""``meshsim export``: a run's data in the formats of the user's own tools.

``export openmetrics RUN``: the run as OpenMetrics text with Istio's or Linkerd's metric names
and labels, for ``promtool tsdb create-blocks-from openmetrics`` (then Grafana dashboards and
Flagger's PromQL over simulated traffic). ``export traces RUN``: its requests as OTLP JSON
spans, to open in a trace viewer or to round-trip through ``meshsim import traces``."""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from meshsim.api import export_traces
from meshsim.cli.common import (
    BadInput,
    ForceOpt,
    OneLineErrors,
    app,
    check_output,
    stderr,
    user_errors,
    write_output,
)
from meshsim.errors import UnitError
from meshsim.results import viz
from meshsim.results.openmetrics import horizon, write_openmetrics
from meshsim.units import parse_duration

export_app = typer.Typer(
    cls=OneLineErrors, name="export", no_args_is_help=True, add_completion=False,
    help="Write a run in another tool's format (openmetrics, traces).",
    context_settings={"help_option_names": ["-h", "--help"]},
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


@export_app.command("traces")
def traces(
    run: Annotated[Path, typer.Argument(metavar="RUN", help="A run directory (meshsim run).")],
    out: Annotated[Path, typer.Option("--out", "-o", metavar="FILE",
                   help="OTLP JSON file to write (one TracesData object per line, as the "
                   "collector's file exporter writes).")],
    sample: Annotated[float, typer.Option("--sample", metavar="P", min=0.0, max=1.0,
                      help="Keep each request's whole trace with this probability "
                      "(seeded by the run's seed).")] = 1.0,
    seed: Annotated[int | None, typer.Option("--seed", metavar="N", min=0, help="Seed of the "
                    "sample (default: the run's seed).", show_default=False)] = None,
    force: ForceOpt = False,
) -> None:
    """Write a run's requests as OTLP JSON spans: a client span per attempt, a server span
    per attempt that reached a pod."""
    err = stderr()
    with user_errors(err):
        check_output("--out", out, force=force)
        if sample <= 0:
            raise typer.BadParameter("expected a probability above 0", param_hint="--sample")
        data = export_traces(run, sample=sample, seed=seed)
        text = json.dumps(data, separators=(",", ":")) + "\n"
        write_output("--out", out, lambda path: path.write_text(text, encoding="utf-8"),
                     force=force)
    spans = sum(len(s["spans"]) for r in data["resourceSpans"] for s in r["scopeSpans"])
    err.print(f"wrote {out}: {spans:,} spans", markup=False)
