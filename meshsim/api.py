"""The public API: the one module that crosses every stage of the pipeline.

``load`` (config) → ``Scenario.model`` (compile) → ``simulate`` (sim + metrics) → ``Results``.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path

from meshsim.config import Scenario, load_scenario
from meshsim.config.estimate import LargeRunWarning, check_run_size, warn_run_size
from meshsim.config.shorten import CODE as SHORTENED
from meshsim.config.shorten import ShortenedRunWarning, shorten
from meshsim.errors import ConfigWarning, Location, ScenarioError, UnitError
from meshsim.metrics import Recorder
from meshsim.model import Model
from meshsim.results import Results
from meshsim.results.atomic import StagedDir
from meshsim.results.parquet_rows import ParquetRows
from meshsim.results.record import RecordLevel, keeps_attempts, record_level, stored_tables
from meshsim.results.rows import RowStore
from meshsim.results.store import open_run, write_run
from meshsim.sim import Simulation
from meshsim.units import parse_duration

__all__ = ["LargeRunWarning", "ShortenedRunWarning", "check_run_size", "load", "simulate"]


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
    warn_run_size(model, allow_large=allow_large, file=file)  # refuses a run too large to finish
    meta = scenario.metadata() if isinstance(scenario, Scenario) else {"name": model.name}
    if record_dir is None or isinstance(record_dir, StagedDir):
        return _run(model, meta, level, record_dir, progress)
    with open_run(record_dir, force=force) as staged:  # discarded if the run fails
        results = _run(model, meta, level, staged, progress)
        write_run(results, staged, plots=False)
    return results


def _level(record: str) -> RecordLevel:
    try:
        return record_level(record)
    except ValueError as exc:
        raise ScenarioError(str(exc), Location(file="record=")) from None


def _run(
    model: Model, meta: Mapping[str, object], level: RecordLevel, staged: StagedDir | None,
    progress: Callable[[float, float], None] | None,
) -> Results:
    """One run: rows the level stores stream to ``staged`` if given, else stay in memory."""
    model = replace(model, record_attempts=model.record_attempts and keeps_attempts(level))
    recorder = Recorder(record_attempts=model.record_attempts)
    tables = stored_tables(level)
    rows = None
    if staged is not None and tables:
        sink = ParquetRows(staged.path, recorder.intern.names, tables,
                           workloads=lambda: recorder.client_workload)
        recorder.stream([sink], keep_rows=False)
        rows = RowStore(staged.path)
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
