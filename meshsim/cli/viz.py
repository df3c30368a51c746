"""``meshsim viz stat|routes|edges|top|tap|authz|statuses RUN``: linkerd viz's views over a
run directory, and the response codes and flags per destination.

Tables print in ``linkerd viz``'s layout and columns (left-aligned names, right-aligned
numbers, ``-`` where a resource had no traffic); ``-o json`` prints the same rows as JSON
(latencies in milliseconds, as linkerd's ``latency_ms_p50``), ``-o wide`` adds linkerd's wide
columns. The window defaults to warm-up .. end of run, like ``meshsim run``'s table.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from meshsim.cli.common import BadInput, app, stderr, user_errors
from meshsim.cli.render import records
from meshsim.errors import UnitError
from meshsim.results import viz
from meshsim.units import parse_duration

viz_app = typer.Typer(
    name="viz", no_args_is_help=True, add_completion=False,
    help="Linkerd viz's views (stat, routes, edges, top, tap, authz) and response codes and "
    "flags per destination (statuses) over a run directory.",
)
app.add_typer(viz_app, name="viz")

RunArg = Annotated[Path, typer.Argument(help="A run directory written by 'meshsim run'.",
                                        show_default=False)]
ResourceArg = Annotated[
    str, typer.Argument(metavar="RESOURCE", help="deploy, svc, po or ns, optionally /NAME "
                        "(e.g. deploy/reviews-v2).")]
FromOpt = Annotated[str | None, typer.Option(
    "--from", metavar="RESOURCE", show_default=False,
    help="Only requests from this source (deploy/NAME, svc/NAME, po/NAME, ns/NAME or NAME).")]
ToOpt = Annotated[str | None, typer.Option(
    "--to", metavar="RESOURCE", show_default=False,
    help="Only requests to this destination (deploy/NAME, svc/NAME, po/NAME, ns/NAME).")]
SinceOpt = Annotated[str | None, typer.Option(
    "--since", metavar="TIME", show_default=False,
    help="Window start, simulated time (default: the warm-up's end).")]
UntilOpt = Annotated[str | None, typer.Option(
    "--until", metavar="TIME", show_default=False,
    help="Window end, simulated time (default: the run's duration).")]
WindowOpt = Annotated[str | None, typer.Option(
    "--time-window", "-t", metavar="DURATION", show_default=False,
    help="The last DURATION of the run (linkerd's -t), e.g. 30s.")]
OutputOpt = Annotated[str, typer.Option(
    "--output", "-o", metavar="FORMAT", help="table, wide or json.")]


# -- shared plumbing ----------------------------------------------------------------------------
def _seconds(option: str, text: str | None, *, zero: bool = True) -> float | None:
    if text is None:
        return None
    try:
        return parse_duration(text, allow_zero=zero)
    except UnitError as exc:
        raise BadInput(f"{option} {text}: {exc}") from None


def _resource(option: str, text: str | None) -> viz.Resource | None:
    if text is None:
        return None
    try:
        return viz.parse_resource(text)
    except viz.VizError as exc:
        raise BadInput(f"{option}: {exc}") from None


def _open(
    run_dir: Path, since: str | None, until: str | None, last: str | None, output: str,
) -> tuple[viz.VizRun, viz.Window]:
    if output not in ("table", "wide", "json"):
        raise BadInput(f"--output {output}: expected table, wide or json")
    run = viz.from_run_dir(run_dir)
    window = run.window(_seconds("--since", since), _seconds("--until", until),
                        _seconds("--time-window", last, zero=False))
    return run, window


def _view(make: Callable[[], tuple[pd.DataFrame, str, list[tuple[str, str]]]]) -> None:
    """Run a view and print it: (frame, output format, [(column, HEADER)])."""
    with user_errors(stderr()):
        frame, output, columns = make()
    if output == "json":
        sys.stdout.write(json.dumps(_json(frame), allow_nan=False, ensure_ascii=False,
                                    indent=2) + "\n")
        return
    if frame.empty:
        stderr().print("No traffic found.", markup=False)
        return
    sys.stdout.write(table(frame, columns))


def _json(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = frame.copy()
    for column in [c for c in out.columns if c.startswith("latency_p")]:
        out[column.replace("latency_", "latency_ms_")] = out.pop(column) * 1e3
    for column in ("best", "worst", "last", "latency"):
        if column in out.columns:
            out[f"{column}_ms"] = out.pop(column) * 1e3
    return records(out)


def table(frame: pd.DataFrame, columns: Sequence[tuple[str, str]]) -> str:
    """linkerd's tabwriter layout: three spaces between columns, the first left-aligned."""
    cells = [[header for _, header in columns]]
    for row in frame.to_dict(orient="records"):
        cells.append([cell(name, row[name]) for name, _ in columns])
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    lines = []
    for r in cells:
        parts = [r[0].ljust(widths[0])] + [v.rjust(w) for v, w in zip(r[1:], widths[1:],
                                                                       strict=True)]
        lines.append("   ".join(parts).rstrip())
    return "\n".join(lines) + "\n"


def _ms(seconds: float) -> str:
    ms = seconds * 1e3
    return f"{ms:.0f}ms" if ms >= 100 else f"{ms:.1f}ms" if ms >= 10 else f"{ms:.2f}ms"


def cell(name: str, value: Any) -> str:
    """One value as linkerd prints it: 100.00%, 2.0rps, 123ms, - for none."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if name in ("success", "effective_success", "actual_success", "success_rate"):
        return f"{value * 100:.2f}%"
    if name == "flags" and not value:
        return "-"
    if name == "share":
        return f"{value * 100:.2f}%"
    if name in ("rps", "effective_rps", "actual_rps"):
        return f"{value:.1f}rps"
    if name == "unauthorized":
        return f"{value:.1f}rps"
    if name.startswith("latency_p") or name in ("best", "worst", "last"):
        return _ms(float(value))
    return str(value)


GOLDEN = [("success", "SUCCESS"), ("rps", "RPS"), ("latency_p50", "LATENCY_P50"),
          ("latency_p95", "LATENCY_P95"), ("latency_p99", "LATENCY_P99")]


def _with_namespace(frame: pd.DataFrame, columns: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """A NAMESPACE column first when the rows span more than one (linkerd's -A)."""
    if "namespace" in frame.columns and frame["namespace"].nunique() > 1:
        return [("namespace", "NAMESPACE"), *columns]
    return columns


# -- commands -----------------------------------------------------------------------------------
@viz_app.command()
def stat(
    run_dir: RunArg, resource: ResourceArg = "deploy", from_: FromOpt = None, to: ToOpt = None,
    since: SinceOpt = None, until: UntilOpt = None, last: WindowOpt = None,
    output: OutputOpt = "table",
) -> None:
    """Golden metrics per deployment, service, pod or namespace (linkerd viz stat)."""

    def make() -> tuple[pd.DataFrame, str, list[tuple[str, str]]]:
        run, window = _open(run_dir, since, until, last, output)
        frame = viz.stat(run, window, _resource("RESOURCE", resource) or viz.Resource("deploy"),
                         from_=_resource("--from", from_), to=_resource("--to", to))
        columns = [("name", "NAME"), ("meshed", "MESHED"), *GOLDEN, ("tcp_conn", "TCP_CONN")]
        return frame, output, _with_namespace(frame, columns)

    _view(make)


@viz_app.command()
def routes(
    run_dir: RunArg, resource: ResourceArg = "deploy", from_: FromOpt = None, to: ToOpt = None,
    since: SinceOpt = None, until: UntilOpt = None, last: WindowOpt = None,
    output: OutputOpt = "table",
) -> None:
    """Golden metrics per route (linkerd viz routes).

    -o wide: EFFECTIVE (per request, after retries) vs ACTUAL (per attempt) success and RPS.
    """

    def make() -> tuple[pd.DataFrame, str, list[tuple[str, str]]]:
        run, window = _open(run_dir, since, until, last, output)
        wide = output == "wide"
        frame = viz.routes(run, window, _resource("RESOURCE", resource) or viz.Resource("deploy"),
                           from_=_resource("--from", from_), to=_resource("--to", to),
                           wide=wide or output == "json")
        columns = [("route", "ROUTE"), ("service", "SERVICE")]
        if wide:
            columns += [("effective_success", "EFFECTIVE_SUCCESS"),
                        ("effective_rps", "EFFECTIVE_RPS"), ("actual_success", "ACTUAL_SUCCESS"),
                        ("actual_rps", "ACTUAL_RPS"), *GOLDEN[2:]]
        else:
            columns += GOLDEN
        return frame, output, columns

    _view(make)


@viz_app.command()
def edges(
    run_dir: RunArg, resource: ResourceArg = "deploy", from_: FromOpt = None, to: ToOpt = None,
    since: SinceOpt = None, until: UntilOpt = None, last: WindowOpt = None,
    output: OutputOpt = "table",
) -> None:
    """Which workloads talked, and whether over mTLS (linkerd viz edges)."""

    def make() -> tuple[pd.DataFrame, str, list[tuple[str, str]]]:
        run, window = _open(run_dir, since, until, last, output)
        frame = viz.edges(run, window, _resource("RESOURCE", resource) or viz.Resource("deploy"),
                          from_=_resource("--from", from_), to=_resource("--to", to))
        columns = [("src", "SRC"), ("dst", "DST"), ("src_ns", "SRC_NS"), ("dst_ns", "DST_NS")]
        if output == "wide":
            columns += [("client_id", "CLIENT_ID"), ("server_id", "SERVER_ID")]
        return frame, output, [*columns, ("secured", "SECURED")]

    _view(make)


@viz_app.command()
def top(
    run_dir: RunArg, from_: FromOpt = None, to: ToOpt = None, since: SinceOpt = None,
    until: UntilOpt = None, last: WindowOpt = None, output: OutputOpt = "table",
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, metavar="N",
                                       help="Rows to print, most frequent first.")] = 20,
) -> None:
    """The most frequent requests by source, destination and path (linkerd viz top)."""

    def make() -> tuple[pd.DataFrame, str, list[tuple[str, str]]]:
        run, window = _open(run_dir, since, until, last, output)
        frame = viz.top(run, window, from_=_resource("--from", from_),
                        to=_resource("--to", to)).head(limit)
        columns = [("source", "Source"), ("destination", "Destination"), ("method", "Method"),
                   ("path", "Path"), ("count", "Count"), ("best", "Best"), ("worst", "Worst"),
                   ("last", "Last"), ("success_rate", "Success Rate")]
        return frame, output, columns

    _view(make)


@viz_app.command()
def tap(
    run_dir: RunArg, from_: FromOpt = None, to: ToOpt = None, since: SinceOpt = None,
    until: UntilOpt = None, last: WindowOpt = None, output: OutputOpt = "table",
    limit: Annotated[int | None, typer.Option(
        "--limit", "-n", min=1, metavar="N", show_default=False,
        help="Only the first N requests of the window (default: all).")] = None,
) -> None:
    """Every request on the wire as req/rsp/end lines (linkerd viz tap)."""
    with user_errors(stderr()):
        run, window = _open(run_dir, since, until, last, output)
        frame = viz.tap(run, window, from_=_resource("--from", from_), to=_resource("--to", to),
                        limit=limit)
    if output == "json":
        sys.stdout.write(json.dumps(_json(frame.drop(columns="line")), allow_nan=False,
                                    ensure_ascii=False) + "\n")
        return
    sys.stdout.write("".join(f"{line}\n" for line in frame["line"]))


@viz_app.command()
def authz(
    run_dir: RunArg, resource: ResourceArg = "deploy", from_: FromOpt = None,
    since: SinceOpt = None, until: UntilOpt = None, last: WindowOpt = None,
    output: OutputOpt = "table",
) -> None:
    """Requests refused (UNAUTHORIZED) and let in, per server and client (linkerd viz authz)."""

    def make() -> tuple[pd.DataFrame, str, list[tuple[str, str]]]:
        run, window = _open(run_dir, since, until, last, output)
        frame = viz.authz(run, window, _resource("RESOURCE", resource) or viz.Resource("deploy"),
                          from_=_resource("--from", from_))
        columns = [("server", "SERVER"), ("client", "CLIENT"), ("unauthorized", "UNAUTHORIZED"),
                   *GOLDEN]
        return frame, output, _with_namespace(frame, columns)

    _view(make)


@viz_app.command()
def statuses(
    run_dir: RunArg, resource: ResourceArg = "deploy", from_: FromOpt = None, to: ToOpt = None,
    since: SinceOpt = None, until: UntilOpt = None, last: WindowOpt = None,
    output: OutputOpt = "table",
) -> None:
    """Attempts per destination, HTTP status and response flag (istio_requests_total's
    response_code and response_flags)."""

    def make() -> tuple[pd.DataFrame, str, list[tuple[str, str]]]:
        run, window = _open(run_dir, since, until, last, output)
        frame = viz.statuses(run, window,
                             _resource("RESOURCE", resource) or viz.Resource("deploy"),
                             from_=_resource("--from", from_), to=_resource("--to", to))
        columns = [("name", "NAME"), ("status", "STATUS"), ("flags", "FLAGS"),
                   ("class", "CLASS"), ("attempts", "ATTEMPTS"), ("share", "SHARE")]
        return frame, output, columns

    _view(make)
