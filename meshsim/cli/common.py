"""What every ``meshsim`` command shares: the Typer app, consoles, error handling, options.

Each command lives in its own module and registers itself on :data:`app` when imported;
:mod:`meshsim.cli.main` imports them all.
"""

from __future__ import annotations

import enum
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

import meshsim
from meshsim import Results, Scenario
from meshsim.errors import MeshsimError, UnitError

try:  # typer >= 0.25 carries its own copy of click
    from typer._click.exceptions import ClickException, NoArgsIsHelpError
except ImportError:  # pragma: no cover - older typer runs on click itself
    from click.exceptions import ClickException, NoArgsIsHelpError  # type: ignore[assignment]
from meshsim.results.atomic import OutputError, StagedDir, check_file, write_file
from meshsim.results.store import open_run, write_run
from meshsim.units import format_duration, parse_duration

EXIT_OK, EXIT_SLO_FAILED, EXIT_BAD_INPUT = 0, 1, 2


class RecordLevelOpt(enum.StrEnum):
    """``--record``: the record levels of ``meshsim.simulate(record=...)``."""

    all = "all"
    requests = "requests"
    summary = "summary"


class OneLineErrors(typer.core.TyperGroup):
    """Usage errors (an unknown option, ``--seed abc``, a missing argument) as one line on
    stderr and exit 2, like every other bad input, instead of a boxed usage block."""

    def main(
        self, args: Sequence[str] | None = None, prog_name: str | None = None,
        complete_var: str | None = None, standalone_mode: bool = True,
        windows_expand_args: bool = True, **extra: Any,
    ) -> Any:
        call = (args, prog_name, complete_var)
        if not standalone_mode:
            return super().main(*call, False, windows_expand_args, **extra)
        try:
            code = super().main(*call, False, windows_expand_args, **extra)
        except NoArgsIsHelpError:
            sys.exit(EXIT_BAD_INPUT)  # the help was printed already
        except ClickException as exc:
            stderr().print(f"error: {usage_error(exc)}", style="red", markup=False)
            sys.exit(exc.exit_code)
        except typer.Abort:
            sys.exit(130)
        sys.exit(code if isinstance(code, int) else EXIT_OK)


def usage_error(exc: ClickException) -> str:
    """``meshsim run: --seed: ...; see meshsim run --help``."""
    ctx = getattr(exc, "ctx", None)
    message = one_line(exc.format_message())
    if ctx is None:
        return message
    return f"{ctx.command_path}: {message} (see {ctx.command_path} --help)"


app = typer.Typer(
    cls=OneLineErrors,
    name="meshsim",
    help=(
        "Rehearse an Istio or Linkerd service mesh before deploying it.\n\n"
        "meshsim plays a load through a discrete-event model of clients, sidecar proxies and "
        "pods, and reports success rate, latency, retries and SLO verdicts.\n\n"
        "Exit codes: 0 ok, 1 an SLO in spec.expect failed, 2 bad input."
    ),
    epilog="Example: meshsim run scenarios/retry-storm.yaml --set spec.services.ratings.replicas=4",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,  # our bugs get a plain traceback; user errors get none
    context_settings={"help_option_names": ["-h", "--help"]},
)


class BadInput(Exception):
    """A user error found by the CLI itself (bad --set, bad --duration, missing file)."""


# -- consoles -----------------------------------------------------------------------------------
def stdout() -> Console:
    # When piped, use a wide virtual terminal so tables never squeeze or wrap.
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=200)
    return console


def stderr() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def unicode_ok() -> bool:
    encoding = (getattr(sys.stdout, "encoding", None) or "").lower().replace("-", "")
    return encoding.startswith("utf")


def one_line(message: object) -> str:
    lines = [line.strip() for line in str(message).splitlines() if line.strip()]
    return "; ".join(lines) or type(message).__name__


def fail(err: Console, message: object) -> NoReturn:
    err.print(f"error: {one_line(message)}", style="red", markup=False)
    raise typer.Exit(EXIT_BAD_INPUT)


@contextmanager
def user_errors(err: Console) -> Iterator[None]:
    """Turn user errors into one line on stderr and exit 2; let anything else propagate."""
    try:
        yield
    except (MeshsimError, UnitError, BadInput) as exc:
        fail(err, exc)
    except KeyboardInterrupt:
        err.print("interrupted", style="red")
        raise typer.Exit(130) from None


# -- parsing of options -------------------------------------------------------------------------
def parse_overrides(items: list[str]) -> dict[str, str]:
    """``['spec.services.api.replicas=4']`` → ``{'spec.services.api.replicas': '4'}``.

    VALUE stays the raw text: the config stage reads it as YAML (``4`` an int, ``30s`` a string,
    ``[a, b]`` a list) and checks it against the schema like a written field, with errors
    located at ``--set``.
    """
    overrides: dict[str, str] = {}
    for item in items:
        path, sep, raw = item.partition("=")
        path = path.strip()
        if not sep or not path or any(ch.isspace() for ch in path):
            raise BadInput(
                f"--set {item!r}: expected PATH=VALUE, e.g. spec.services.api.replicas=4"
            )
        overrides[path] = raw
    return overrides


def duration_option(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return parse_duration(text, allow_zero=False)
    except UnitError as exc:
        raise BadInput(f"--duration: {exc}") from None


def load_scenario(path: Path, sets: list[str], strict: bool) -> Scenario:
    overrides = parse_overrides(sets)
    if not path.exists():
        raise BadInput(f"{path}: no such file")
    if not path.is_file():
        raise BadInput(f"{path}: not a file")
    return meshsim.load(path, overrides or None, strict=strict)


def print_warnings(err: Console, scenario: Scenario) -> None:
    for warning in scenario.warnings:
        err.print(one_line(warning.format()), style="yellow", markup=False)


# -- options shared by run and validate ------------------------------------------------------
ScenarioArg = Annotated[
    Path,
    typer.Argument(
        metavar="SCENARIO",
        help="Scenario YAML file (a kind: Scenario document plus manifests).",
        show_default=False,
    ),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="PATH=VALUE",
        help="Override a scenario field, e.g. spec.services.api.replicas=4 "
        "(VALUE is YAML; repeatable).",
        show_default=False,
    ),
]
StrictOpt = Annotated[
    bool, typer.Option("--strict", help="Treat warnings (unmodelled manifest fields) as errors.")
]
WorkersOpt = Annotated[
    int | None,
    typer.Option(
        "--workers", min=1, metavar="N", help="Worker processes (default: CPU count).",
        show_default=False,
    ),
]
ForceOpt = Annotated[
    bool,
    typer.Option("--force", help="Replace existing output (a run directory wholesale); "
                 "without it meshsim refuses to write over anything."),
]
DaskOpt = Annotated[
    str | None,
    typer.Option(
        "--dask", metavar="ADDRESS|local",
        help="Run on a Dask cluster: a scheduler address (tcp://host:8786) or 'local' for a "
        "LocalCluster of --workers single-threaded processes. Needs meshsim[dask]; workers "
        "need meshsim installed, not the scenario files. Same results as the process pool.",
        show_default=False,
    ),
]



# -- shared helpers ---------------------------------------------------------------------------
@contextmanager
def progress_bar(
    err: Console, total: float, clock: Callable[[], float] = time.monotonic
) -> Iterator[Callable[[float, float], None]]:
    """A bar over simulated time, with the speed a user plans a long run by:
    ``simulating 300s ━━━━━━ 42% 126s/300s 63.0 sim s/wall s 0:00:02``."""
    bar = Progress(
        TextColumn("simulating {task.fields[total_text]}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[now_text]}"),
        TextColumn("{task.fields[speed_text]}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )
    task = bar.add_task(
        "simulate",
        total=total,
        total_text=format_duration(total),
        now_text=f"0s/{format_duration(total)}",
        speed_text="",
    )
    started = clock()
    last = float("-inf")

    def update(now: float, total: float) -> None:
        nonlocal last
        wall = clock()
        if wall - last < 0.05 and now < total:
            return  # the engine may call often; redraw at most 20 times a second
        last = wall
        bar.update(
            task,
            completed=now,
            total=total,
            total_text=format_duration(total),
            now_text=f"{format_duration(now)}/{format_duration(total)}",
            speed_text=sim_speed_text(now, wall - started),
            refresh=True,
        )

    with bar:
        yield update


def sim_speed_text(simulated: float, wall: float) -> str:
    """Simulated seconds per wall second, as the bar shows it (blank before any wall time)."""
    if wall <= 0:
        return ""
    speed = simulated / wall
    return f"{speed:,.{1 if speed < 100 else 0}f} sim s/wall s"


def open_out(out: Path | None, name: str, *, force: bool) -> StagedDir:
    """The run directory, checked and opened under a temporary name before the run starts."""
    if out is None:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        base = Path("runs") / f"{name}-{stamp}"
        out, n = base, 2
        while out.exists():  # two runs within one second
            out, n = base.with_name(f"{base.name}-{n}"), n + 1
        return open_run(out, force=force)
    try:
        return open_run(out, force=force)
    except OutputError as exc:
        raise BadInput(f"--out {exc}") from None


def save(results: Results, staged: StagedDir, *, plots: bool) -> Path:
    """Write every file into the opened run directory and rename it into place."""
    try:
        return write_run(results, staged, plots=plots)
    except OSError as exc:
        raise BadInput(f"cannot write the run directory {staged.dest}: "
                       f"{exc.strerror or exc}") from None


def check_output(option: str, path: Path, *, force: bool) -> Path:
    """Refuse an output file before any simulation: exists (without --force), a directory,
    not writable, or no name at all."""
    try:
        return check_file(path, force=force)
    except OutputError as exc:
        raise BadInput(f"{option} {exc}") from None


def write_output(option: str, path: Path, write: Callable[[Path], object], *,
                 force: bool) -> Path:
    """Write an output file under a temporary name and rename it into place."""
    try:
        return write_file(path, write, force=force)
    except OutputError as exc:
        raise BadInput(f"{option} {exc}") from None


def parse_grid(items: list[str]) -> dict[str, list[str]]:
    """``['spec.workload[0].rate=50/s,100/s']`` → ``{'spec.workload[0].rate': ['50/s', '100/s']}``.

    Values are split on commas outside brackets and braces (so ``[a, b]`` stays one value) and
    stay raw text, read as YAML by the config stage like ``--set``.
    """
    grid: dict[str, list[str]] = {}
    for item in items:
        path, sep, raw = item.partition("=")
        path = path.strip()
        values = _split_values(raw) if sep else []
        if not sep or not path or any(ch.isspace() for ch in path) or not all(values):
            raise BadInput(
                f"--grid {item!r}: expected PATH=V1,V2,..., e.g. spec.services.api.replicas=1,2,4"
            )
        if path in grid:
            raise BadInput(f"--grid {item!r}: {path} is already swept")
        grid[path] = values
    return grid


def _split_values(raw: str) -> list[str]:
    values, depth, current = [], 0, ""
    for ch in raw:
        depth += {"[": 1, "{": 1, "]": -1, "}": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            values.append(current.strip())
            current = ""
        else:
            current += ch
    values.append(current.strip())
    return values
