"""``meshsim export``: a run's data in the formats of the user's own tools.
``export traces RUN``: its requests as OTLP JSON spans, to open in a trace viewer or to
round-trip through ``meshsim import traces``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from meshsim.api import export_traces
from meshsim.cli.common import (
    ForceOpt,
    OneLineErrors,
    app,
    check_output,
    stderr,
    user_errors,
    write_output,
)

export_app = typer.Typer(
    cls=OneLineErrors, name="export", no_args_is_help=True, add_completion=False,
    help="Write a run's data for other tools.",
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(export_app, name="export")


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
