"""The public API: the one module that crosses every stage of the pipeline.

``load`` (config) → ``Scenario.model`` (compile) → ``simulate`` (sim + metrics) → ``Results``.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from meshsim.config import Scenario, load_scenario, owners
from meshsim.config.estimate import LargeRunWarning, check_run_size, warn_run_size
from meshsim.config.scenario import load_scenario_text
from meshsim.config.shorten import CODE as SHORTENED
from meshsim.config.shorten import ShortenedRunWarning, shorten
from meshsim.config.translate import Translation, translate_scenario
from meshsim.errors import ConfigWarning, Location, ScenarioError, UnitError
from meshsim.importers import kubernetes, traces
from meshsim.importers.emit import Imported, write
from meshsim.importers.merge import merge
from meshsim.importers.traces import LatencyMode, TraceOptions
from meshsim.metrics import Recorder
from meshsim.metrics.sinks import ChunkSink
from meshsim.model import Model
from meshsim.results import Results
from meshsim.results import report as html_report
from meshsim.results.atomic import StagedDir, write_file
from meshsim.results.otlp import NoAttempts
from meshsim.results.parquet_rows import ParquetRows
from meshsim.results.record import (
    RecordLevel,
    keeps_attempts,
    keeps_rows,
    record_level,
    stored_tables,
)
from meshsim.results.rows import RowStore
from meshsim.results.store import StoredRun, load_run, open_run, write_run
from meshsim.sim import Simulation
from meshsim.sim.config_dump import ConfigDump, View, dump, proxies
from meshsim.sim.engine import aggregates_for
from meshsim.units import parse_duration

__all__ = [
    "ConfigDump", "Imported", "LargeRunWarning", "ReportFinding", "ReportFindings",
    "ShortenedRunWarning", "Translation", "View", "check_run_size", "export_traces",
    "import_kubernetes", "import_traces", "load", "proxy_config", "report_html",
    "rows_in_memory", "simulate", "translate", "write_imported", "write_report",
]

ReportFinding = html_report.ReportFinding
ReportFindings = html_report.Findings


def load(
    path: str | Path, overrides: Mapping[str, object] | None = None, *, strict: bool = False
) -> Scenario:
    """Read a scenario file (and the manifests it names), validate it, and compile it."""
    return load_scenario(Path(path), overrides=overrides, strict=strict)


def simulate(
    scenario: Scenario | Model | str | Path,
    seed: int | None = None,
    duration: str | float | None = None,
    *,
    progress: Callable[[float, float], None] | None = None,
    allow_large: bool = False,
    record: RecordLevel | str = "all",
    record_dir: str | Path | StagedDir | None = None,
    force: bool = False,
) -> Results:
    """Run one simulation. ``progress(now, duration)`` is called as simulated time advances.

    ``record`` (``all``, ``requests``, ``summary``: :mod:`meshsim.results.record`) says which
    row tables are kept. Without ``record_dir`` they stay in memory as frames. With one, the
    run writes a run directory there (under a temporary name, renamed when complete; an
    existing run is replaced only with ``force``; no plots: ``Results.save`` writes them):
    the stored rows stream to its Parquet datasets during the run and leave memory, and the
    frames are read back from them lazily. A :class:`StagedDir` (``meshsim run``) is filled
    but not committed: its opener saves and commits it.

    ``duration`` (``"30s"`` or seconds) overrides ``spec.duration`` exactly like ``--duration``
    and ``--set spec.duration=``: a longer run is validated like the file, a shorter one is cut
    as :mod:`meshsim.config.shorten` says (faults that never start are left out, SLO windows the
    run does not cover say "cannot tell"), each cut a ``ShortenedRunWarning``; one leaving
    nothing after warm-up is a ScenarioError.
    A run estimated too large to finish (:mod:`meshsim.config.estimate`) is a ScenarioError
    unless ``allow_large``; a large one gives a ``LargeRunWarning``.
    """
    if isinstance(scenario, str | Path):
        scenario = load(scenario)
    if duration is not None and isinstance(scenario, Scenario):
        scenario = scenario.with_duration(duration)
        _warn_cuts([w for w in scenario.warnings if w.code == SHORTENED])
    model = scenario.model if isinstance(scenario, Scenario) else scenario
    if seed is not None:
        model = replace(model, seed=int(seed))
    if duration is not None and not isinstance(scenario, Scenario):
        model = _model_duration(model, duration)
    file = str(scenario.path) if isinstance(scenario, Scenario) else "<model>"
    level = _level(record)
    in_memory = rows_in_memory(model, level, streamed=record_dir is not None)
    warn_run_size(model, allow_large=allow_large, file=file,  # refuses a run too large to finish
                  rows_in_memory=in_memory)
    meta = scenario.metadata() if isinstance(scenario, Scenario) else {"name": model.name}
    if record_dir is None or isinstance(record_dir, StagedDir):
        return _run(model, meta, level, record_dir, progress)
    with open_run(record_dir, force=force) as staged:  # discarded if the run fails
        results = _run(model, meta, level, staged, progress)
        write_run(results, staged, plots=False)
    return results


def rows_in_memory(model: Model, record: RecordLevel | str, *, streamed: bool) -> bool:
    """Whether a run of ``model`` at ``record`` holds its row tables in memory (what its size
    estimate counts): not when they stream to a run directory, nor at ``summary``."""
    level = _level(record)
    if streamed and stored_tables(level):
        return False
    return keeps_rows(level, has_rollout=bool(model.rollouts), per_user=_per_user(model))


def _per_user(model: Model) -> bool:
    """A workload with an app client: its results count user requests over their tries."""
    return any(w.client is not None for w in model.workloads)


def _level(record: str) -> RecordLevel:
    try:
        return record_level(record)
    except ValueError as exc:
        raise ScenarioError(str(exc), Location(file="record=")) from None


def _run(
    model: Model, meta: Mapping[str, object], level: RecordLevel, staged: StagedDir | None,
    progress: Callable[[float, float], None] | None,
) -> Results:
    """One run: rows the level stores stream to ``staged`` if given, else stay in memory.

    The online aggregates (what summaries, time series, SLOs and plots read) are always a
    sink; the Parquet writer is one when there is a run directory and the level stores rows.
    """
    recorder = Recorder(record_attempts=model.record_attempts)
    sinks: list[ChunkSink] = [aggregates_for(model)]
    tables = stored_tables(level)
    rows = None
    if staged is not None and tables:
        sinks.append(ParquetRows(staged.path, recorder.intern.names, tables,
                                 workloads=lambda: recorder.client_workload))
        rows = RowStore(staged.path)
    keep = rows is None and keeps_rows(level, has_rollout=bool(model.rollouts),
                                       per_user=_per_user(model))
    recorder.stream(sinks, keep_rows=keep, hold_attempts=keeps_attempts(level))
    started = time.perf_counter()
    recording = Simulation(model, recorder=recorder).run(progress=progress)
    wall = time.perf_counter() - started
    return Results(model, recording, wall_time=wall, scenario_meta=dict(meta), rows=rows,
                   record=level)


def _model_duration(model: Model, duration: str | float) -> Model:
    """A bare Model (no file to point at) gets the same rule as a Scenario's override."""
    origin = Location(file="duration=")
    try:
        seconds = (
            float(duration) if isinstance(duration, int | float) and not isinstance(duration, bool)
            else parse_duration(duration, allow_zero=False)
        )
    except UnitError as exc:
        raise ScenarioError(str(exc), origin) from None
    if not seconds > 0 or seconds == float("inf"):
        raise ScenarioError(f"expected a positive, finite duration, got {duration!r}", origin)
    if seconds >= model.duration:
        return replace(model, duration=seconds)
    model, cuts = shorten(model, seconds, origin=origin)
    _warn_cuts(cuts)
    return model


def _warn_cuts(cuts: list[ConfigWarning]) -> None:
    """The CLI prints a cut's warnings; an API caller gets them as Python warnings."""
    for cut in cuts:
        warnings.warn(cut.format(), ShortenedRunWarning, stacklevel=3)


def proxy_config(
    scenario: Scenario | str | Path, proxy: str, *, at: str | float | None = None,
    seed: int | None = None,
) -> ConfigDump:
    """What ``proxy`` (a pod, a workload client or a gateway pod) is configured with, and, with
    ``at`` (``"30s"`` or seconds), its balancers' and detectors' state after simulating that long
    (the run is the scenario's own up to then: same seed, same events). Like ``istioctl
    proxy-config``, over :mod:`meshsim.sim.config_dump`'s plain-data views."""
    if isinstance(scenario, str | Path):
        scenario = load(scenario)
    model = scenario.model
    if seed is not None:
        model = replace(model, seed=int(seed))
    origin = Location(file=str(scenario.path))
    until = None if at is None else _instant(at, model.duration)
    sim = Simulation(model if until is None else replace(model, duration=until))
    if proxy not in proxies(sim):
        known = ", ".join(proxies(sim)) or "none (the scenario has no mesh)"
        raise ScenarioError(f"no proxy named {proxy!r}; proxies: {known}", origin)
    if until is not None:
        sim.run(keep_state=True)  # what the proxy holds at ``at``, requests in flight included
    return dump(sim, proxy,
                virtual_services=owners.virtual_services(scenario.manifests, model.policy),
                destination_rules=owners.destination_rules(scenario.manifests,
                                                           model.topology))


def _instant(at: str | float, duration: float) -> float:
    """``--at``: a time within the run (``0`` is the configuration before any request)."""
    origin = Location(file="--at")
    try:
        seconds = float(at) if isinstance(at, int | float) else parse_duration(at)
    except UnitError as exc:
        raise ScenarioError(str(exc), origin) from None
    if not 0 <= seconds <= duration:
        raise ScenarioError(f"{at} is not within the run (0 to {duration:g}s)", origin)
    return seconds


# -- import and export ----------------------------------------------------------------------------
def import_kubernetes(
    dumps: Sequence[str | Path], *, name: str = "imported", mesh: str | None = None
) -> Imported:
    """A scenario from ``kubectl get ... -o yaml`` dumps (:mod:`meshsim.importers.kubernetes`);
    ``.text()`` is its YAML, placeholders marked ``TODO(meshsim import)``."""
    return kubernetes.import_kubernetes([Path(d) for d in dumps], name=name, mesh=mesh)


def import_traces(
    files: Sequence[str | Path], *, name: str = "imported", latency: LatencyMode = "auto",
    sample: float | None = None, into: str | Path | None = None, duration: str = "60s",
    warmup: str = "5s", samples_dir: str = "samples",
) -> Imported:
    """A scenario from OTLP or Jaeger JSON traces (:mod:`meshsim.importers.traces`), merged
    into the scenario ``into`` (one imported from Kubernetes) when given."""
    options = TraceOptions(name=name, latency=latency, sample=sample, samples_dir=samples_dir,
                           duration=duration, warmup=warmup)
    imported = traces.import_traces([Path(f) for f in files], options)
    return merge(imported, Path(into)) if into is not None else imported


def write_imported(imported: Imported, out: str | Path, *, force: bool = False) -> list[Path]:
    """Write an imported scenario and its sample files; refuses to overwrite without force."""
    return write(imported, Path(out), force=force)


def export_traces(run: Results | StoredRun | str | Path, *, sample: float = 1.0,
                  seed: int | None = None) -> dict[str, Any]:
    """A run's requests as OTLP JSON (``TracesData``): a ``Results``, or a run directory;
    whole traces kept with probability ``sample``, drawn with ``seed`` (default: the run's)."""
    if isinstance(run, str | Path):
        run = load_run(run)
    try:
        return run.traces(sample=sample, seed=seed)
    except NoAttempts as exc:
        raise ScenarioError(str(exc), Location(file=str(getattr(run, "path", "<run>")))) from None


# -- the shareable report -----------------------------------------------------------------------
def report_html(run: Results | StoredRun | str | Path, *,
                findings: html_report.Findings | None = None) -> str:
    """One self-contained HTML page for a run (a ``Results`` or a run directory): service
    graph, RED series, ejections, canary strip, golden metrics, SLO verdicts, and the analyze
    ``findings`` given (``meshsim report`` computes them from the run's scenario file;
    :mod:`meshsim.results.report`)."""
    if isinstance(run, str | Path):
        run = load_run(run)
    given = findings if findings is not None else html_report.Findings(
        note="Analyze findings were not computed for this report.")
    data = (html_report.from_results(run, given) if isinstance(run, Results)
            else html_report.from_stored(run, given))
    return html_report.render(data)


def write_report(run: Results | StoredRun | str | Path, out: str | Path, *,
                 findings: html_report.Findings | None = None, force: bool = False) -> Path:
    """Write :func:`report_html` to ``out`` (never over a file without ``force``)."""
    text = report_html(run, findings=findings)
    return write_file(out, lambda path: path.write_text(text, encoding="utf-8"), force=force)


# -- translation between meshes -------------------------------------------------------------------
def translate(scenario: Scenario | str | Path, to: str) -> Translation:
    """``scenario`` with its manifests translated to mesh ``to`` (``istio`` or ``linkerd``),
    with a note per source field that has no equivalent or was approximated
    (:mod:`meshsim.config.translate`). ``Translation.text()`` is the new scenario file."""
    if isinstance(scenario, str | Path):
        scenario = load(scenario)
    return translate_scenario(scenario, to)


def load_translation(translation: Translation, path: Path) -> Scenario:
    """The translated scenario loaded from its text as if it were the file ``path`` (for
    runs that do not write it)."""
    return load_scenario_text(translation.text(), path.parent, path.name)
