"""``meshsim import kubernetes`` and ``meshsim import traces``: scenarios from the system a user
runs. The YAML goes to ``--out`` (or stdout for Kubernetes), the fit report to the terminal;
the written scenario is loaded once, as ``meshsim validate`` would, and its verdict printed."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

import meshsim
from meshsim.api import Imported, import_kubernetes, import_traces
from meshsim.cli.common import (
    BadInput,
    ForceOpt,
    OneLineErrors,
    app,
    one_line,
    stderr,
    stdout,
    user_errors,
)
from meshsim.errors import MeshsimError

import_app = typer.Typer(
    cls=OneLineErrors, name="import", no_args_is_help=True, add_completion=False,
    help="Write a scenario from Kubernetes objects or traces.",
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(import_app, name="import")

OutOpt = Annotated[
    Path | None,
    typer.Option("--out", "-o", metavar="FILE", help="Scenario YAML to write.",
                 show_default=False),
]
NameOpt = Annotated[str, typer.Option("--name", help="metadata.name of the scenario.")]


@import_app.command("kubernetes")
def kubernetes(
    dumps: Annotated[list[Path], typer.Argument(metavar="DUMP...", help="`kubectl get ... -o "
                                                "yaml` output: a List or a stream of objects.")],
    out: OutOpt = None, name: NameOpt = "imported",
    mesh: Annotated[str | None, typer.Option("--mesh", metavar="istio|linkerd|none",
                    help="Whose proxies (default: what the objects show).",
                    show_default=False)] = None,
    force: ForceOpt = False,
) -> None:
    """A scenario from Deployments, StatefulSets, Services, Namespaces and mesh objects;
    latency, concurrency and load are placeholders marked TODO(meshsim import)."""
    err = stderr()
    with user_errors(err):
        _exist(dumps)
        if mesh not in (None, "istio", "linkerd", "none"):
            raise BadInput(f"--mesh {mesh}: expected istio, linkerd or none")
        imported = import_kubernetes(dumps, name=name, mesh=mesh)
        _emit(imported, out, force, err)
    ignored = ", ".join(f"{r['count']} {r['kind']}" for r in imported.report)
    if ignored:
        err.print(f"not used (meshsim does not model them): {ignored}", markup=False)


@import_app.command("traces")
def traces(
    files: Annotated[list[Path], typer.Argument(metavar="FILE...", help="OTLP JSON (the "
                                                "collector's file exporter) or Jaeger JSON.")],
    out: Annotated[Path, typer.Option("--out", "-o", metavar="FILE",
                   help="Scenario YAML to write (empirical samples go beside it).")],
    into: Annotated[Path | None, typer.Option("--into", metavar="SCENARIO", help="Merge into "
                    "this scenario (e.g. one from `meshsim import kubernetes`).",
                    show_default=False)] = None,
    name: NameOpt = "imported",
    latency: Annotated[str, typer.Option("--latency", metavar="auto|empirical|fit",
                       help="Self-time distributions: fitted, the observed samples, or the "
                       "fit when within 5% at p50 and p99.")] = "auto",
    sample: Annotated[float | None, typer.Option("--sample", metavar="P", min=0.0, max=1.0,
                      help="The traces' sampling probability (default: what the spans say, "
                      "else 1).", show_default=False)] = None,
    duration: Annotated[str, typer.Option("--duration", help="spec.duration to write.")] = "60s",
    warmup: Annotated[str, typer.Option("--warmup", help="spec.warmup to write.")] = "5s",
    force: ForceOpt = False,
) -> None:
    """A scenario from traces: call graph, call probabilities, parallel calls, self-time
    distributions, error rates and arrival rates; prints the fit per service."""
    err = stderr()
    with user_errors(err):
        _exist([*files, *([into] if into else [])])
        if latency not in ("auto", "empirical", "fit"):
            raise BadInput(f"--latency {latency}: expected auto, empirical or fit")
        if sample is not None and sample <= 0:
            raise BadInput("--sample: expected a probability above 0")
        imported = import_traces(files, name=name, latency=latency,  # type: ignore[arg-type]
                                 sample=sample, into=into, duration=duration, warmup=warmup,
                                 samples_dir=f"{out.stem}-samples")
        _emit(imported, out, force, err)
    _report(stdout(), imported)


def _exist(paths: list[Path]) -> None:
    for path in paths:
        if not path.is_file():
            raise BadInput(f"{path}: no such file")


def _emit(imported: Imported, out: Path | None, force: bool, err: Console) -> None:
    if out is None:
        sys.stdout.write(imported.text())
        return
    meshsim.api.write_imported(imported, out, force=force)
    try:
        scenario = meshsim.load(out)
    except MeshsimError as exc:
        err.print(f"wrote {out}, which does not load yet: {one_line(exc)}", style="yellow",
                  markup=False)
        return
    err.print(f"wrote {out}: {len(scenario.model.topology.services)} services; it loads "
              f"(meshsim validate {out})", markup=False)


def _report(console: Console, imported: Imported) -> None:
    table = Table("service", "spans", "observed p50", "observed p99", "fitted", "fit p50",
                  "fit p99", "written", title="self time: observed vs fitted")
    for row in imported.report:
        table.add_row(row["service"], str(row["samples"]), _ms(row["observed_p50"]),
                      _ms(row["observed_p99"]), row["fitted"], _ms(row["fitted_p50"]),
                      _ms(row["fitted_p99"]), row["written"])
    console.print(table)


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3g}ms"
