"""The run directory: every frame as Parquet, summaries as CSV, plots as PNG, and ``run.json``.

The row tables (``requests``, ``calls``, ``attempts``: those the record level stores) are
Parquet datasets, folders of ``part-NNNN.parquet`` (:mod:`meshsim.results.parquet_rows`),
streamed there during the run when it had a run directory; ``events``, ``timeseries`` and
``summary`` are one file each.

``run.json`` says how to reproduce the run (seed, scenario name and hash, meshsim version) and
how it went (wall time, simulated time, simulated seconds and kernel events per wall second,
SLO outcomes), so runs can be compared between commits without loading the tables.
:func:`load_run` reads a run directory back for ``meshsim compare``.

A run directory is opened under a temporary name before the run (:func:`open_run`) and
renamed into place when every file is written, so a directory under the final name is always
one whole run.
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from meshsim.errors import MeshsimError
from meshsim.results import otlp
from meshsim.results.atomic import PARTIAL, StagedDir
from meshsim.results.parquet_rows import write_recording
from meshsim.results.rows import FILE_TABLES, RowStore
from meshsim.results.viz.mesh import mesh_info

if TYPE_CHECKING:
    from meshsim.results.results import Results

TABLES = ("requests", "attempts", "calls", "events", "timeseries", "summary")
CSVS = ("summary", "workloads", "slo")
PLOTS_DIR = "plots"


def jsonable(value: Any) -> Any:
    """Plain JSON types: numpy scalars unwrapped, NaN and infinities as null, tuples as lists."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)


def _scenario_hash(meta: Mapping[str, Any]) -> str | None:
    for key in ("hash", "scenario_hash", "sha256"):
        if meta.get(key):
            return str(meta[key])
    return None


def run_info(results: Results) -> dict[str, Any]:
    """What ``run.json`` holds, as plain JSON types."""
    from meshsim._build import build
    from meshsim._version import __version__

    model, recording, meta = results.model, results.recording, results.scenario_meta
    events = float(recording.stats.get("events", 0))
    wall = float(results.wall_time)
    sim_time = float(recording.stats.get("sim_time", recording.end_time))
    slo = results.slo()
    return jsonable({
        "scenario": meta.get("name", model.name),
        "scenario_hash": _scenario_hash(meta),
        "description": model.description,
        "seed": model.seed,
        "mesh": model.mesh.name,
        "mesh_version": model.mesh.version,
        "meshsim_version": __version__,
        "build": build(),  # compiled or pure hot path
        "duration": model.duration,
        "warmup": model.warmup,
        "wall_time": wall,
        "sim_time": sim_time,
        "sim_seconds_per_wall_second": sim_time / wall if wall > 0 else None,
        "kernel_events": int(events),
        "events_per_second": events / wall if wall > 0 else None,
        "record": results.record,
        "requests": results.online.aggregates.request_rows,
        "calls": results.online.aggregates.call_rows,
        "attempts": results.attempt_count,
        # rows in the run directory's datasets: equal to the counts above for what is stored
        "stored_rows": {table: recording.count(table) for table in results.stored_tables},
        "issued": recording.issued,
        "in_flight_at_end": recording.in_flight_at_end,
        "passed": results.passed,
        "slo": slo.to_dict(orient="records"),
        "stats": dict(recording.stats),
        "wire": otlp.wire_of(model).as_json(),  # for exporting spans from the stored run
        "scenario_meta": dict(meta),
        "mesh_info": mesh_info(model).to_json(),
    })


def is_run_dir(path: Path) -> bool:
    """A directory ``meshsim run`` finished: it has ``run.json`` (written last)."""
    return (path / "run.json").is_file()


def open_run(out_dir: str | Path, *, force: bool = False) -> StagedDir:
    """Check the destination and open the run directory under a temporary name.

    Refuses (:class:`~meshsim.results.atomic.OutputError`) an empty path, the current
    directory, a file, a non-empty directory that is not a run directory, and, without
    ``force``, another run. Files go into ``staged.path``; ``staged.commit()`` (or leaving
    its ``with`` block) renames the directory into place, replacing an old run wholesale, so a
    run directory never mixes two runs and an interrupted one never looks finished.
    """
    return StagedDir(out_dir, force=force, replaceable=is_run_dir, what="run directory")


def write_run(
    results: Results, out_dir: str | Path | StagedDir, *, plots: bool = True,
    force: bool = False,
) -> Path:
    """Write the run directory atomically and return its final path.

    ``out_dir`` is a destination (checked as :func:`open_run` does) or a run directory
    already opened with :func:`open_run`, which this commits.
    """
    staged = out_dir if isinstance(out_dir, StagedDir) else open_run(out_dir, force=force)
    with staged:
        write_files(results, staged.path, plots=plots)
    if results.rows is not None and results.rows.folder == staged.path:
        results.rows.moved(staged.dest)  # the rows streamed into the staged directory
    return staged.dest


def write_files(results: Results, out: Path, *, plots: bool = True) -> None:
    """Every file of a run into the existing directory ``out``; ``run.json`` last."""
    write_rows(results, out)
    for name in FILE_TABLES:
        frame = getattr(results, name)
        frame.to_parquet(out / f"{name}.parquet", engine="pyarrow", index=False)
    results.edges.to_parquet(out / "edges.parquet", engine="pyarrow", index=False)
    results.summary.to_csv(out / "summary.csv", index=False)
    results.workloads.to_csv(out / "workloads.csv", index=False)
    results.slo().to_csv(out / "slo.csv", index=False)
    results.recovery.to_csv(out / "recovery.csv", index=False)
    (out / "latency.json").write_text(json.dumps(results.latency_sketches()) + "\n")
    if not results.proxy_cost.empty:  # the scenario modelled proxy cost (spec.proxy.cost)
        results.proxy_cost.to_csv(out / "proxy_cost.csv", index=False)
    has_rollout = len(results.rollout) > 0
    if has_rollout:  # a canary ran: its outcome and the controller's decisions
        results.rollout.to_csv(out / "rollout.csv", index=False)
        results.rollout_decisions().to_csv(out / "rollout_decisions.csv", index=False)
    if plots:
        folder = out / PLOTS_DIR
        folder.mkdir(exist_ok=True)
        figures = results.figures()
        if has_rollout:
            figures.update(results.rollout_figures())
        for stem, figure in figures.items():
            figure.savefig(folder / f"{stem}.png", dpi=110)
    info = run_info(results)
    (out / "run.json").write_text(json.dumps(info, indent=2, allow_nan=False) + "\n")


def write_rows(results: Results, out: Path) -> None:
    """The row datasets the record level stores, unless the run streamed them there."""
    rows = results.rows
    if rows is not None and rows.folder.resolve() == out.resolve():
        return
    for table in results.stored_tables:
        if rows is not None:  # stored elsewhere already: copy the files
            shutil.copytree(rows.folder / table, out / table)
        else:
            rec = results.recording
            write_recording(out, {table: getattr(rec, table)}, rec.names)


# -- reading a run directory back ---------------------------------------------------------------
class RunDirError(MeshsimError):
    """A path that is not a readable run directory written by ``meshsim run``."""


@dataclass(frozen=True)
class StoredRun:
    """A run directory read back: the frames a comparison needs and ``run.json``.

    It answers the same questions as :class:`~meshsim.results.Results` for what was stored
    (``summary``, ``workloads``, ``timeseries``, ``events``, ``slo()``, ``passed``); the row
    tables (``requests``, ``calls``, ``attempts``) stay on disk until first read, and
    :meth:`sql` queries them there with DuckDB.
    """

    path: Path
    info: dict[str, Any]
    summary: pd.DataFrame
    workloads: pd.DataFrame
    timeseries: pd.DataFrame
    events: pd.DataFrame
    slo_frame: pd.DataFrame

    @property
    def name(self) -> str:
        return str(self.info.get("scenario") or self.path.name)

    @property
    def seed(self) -> int:
        return int(self.info.get("seed") or 0)

    @property
    def warmup(self) -> float:
        return float(self.info.get("warmup") or 0.0)

    @property
    def duration(self) -> float:
        return float(self.info.get("duration") or 0.0)

    @property
    def passed(self) -> bool:
        return bool(self.slo_frame["passed"].all()) if len(self.slo_frame) else True

    def slo(self) -> pd.DataFrame:
        return self.slo_frame.copy()

    @property
    def rows(self) -> RowStore:
        return RowStore(self.path)

    @cached_property
    def proxy_cost(self) -> pd.DataFrame:
        """Per proxy instance CPU and memory (``proxy_cost.csv``; empty when the run did not
        model proxy cost)."""
        if not (self.path / "proxy_cost.csv").is_file():
            return pd.DataFrame()
        return _read(self.path, "proxy_cost.csv")

    @cached_property
    def requests(self) -> pd.DataFrame:
        """One row per end-to-end request, read from ``requests/`` on first use."""
        return self.rows.frame("requests")

    @cached_property
    def calls(self) -> pd.DataFrame:
        """One row per hop call, read from ``calls/`` on first use."""
        return self.rows.frame("calls")

    @cached_property
    def attempts(self) -> pd.DataFrame:
        """One row per attempt, read from ``attempts/`` on first use."""
        return self.rows.frame("attempts")

    def sql(self, query: str) -> pd.DataFrame:
        """DuckDB SQL over the stored tables, each a view of its name, without loading them."""
        return self.rows.sql(query)

    def table(self, name: str) -> pd.DataFrame:
        """A stored frame read on demand: a row table (``requests``, ``calls``, ``attempts``)
        from its dataset, any other from its one file."""
        if name in ("requests", "calls", "attempts"):
            return self.rows.frame(name)
        return _read(self.path, f"{name}.parquet")

    def file_frame(self, name: str) -> pd.DataFrame | None:
        """A file of the run directory as a frame (``edges.parquet``, ``rollout.csv``, ...),
        or None when this run has none (no rollout, or written by an older meshsim)."""
        return _read(self.path, name) if (self.path / name).is_file() else None

    def traces(self, *, sample: float = 1.0, seed: int | None = None) -> dict[str, Any]:
        """The stored run's requests as OTLP JSON spans, as :meth:`Results.traces` gives them
        (the sidecar and network times come from ``run.json``'s ``wire``; none when absent)."""
        return otlp.traces_data(otlp.SpanSource(
            self.requests, self.calls, self.attempts,
            otlp.Wire.from_json(self.info.get("wire")), self.seed,
        ), sample=sample, seed=seed)


def _read(folder: Path, name: str) -> pd.DataFrame:
    file = folder / name
    try:
        if name.endswith(".parquet"):
            return pd.read_parquet(file, engine="pyarrow")
        try:
            frame = pd.read_csv(file, keep_default_na=False, na_values=[""])
        except pd.errors.EmptyDataError:
            return pd.DataFrame()
    except (OSError, ValueError) as exc:
        raise RunDirError(f"{file}: cannot read ({one_line(exc)})") from None
    for column in ("subset", "service", "workload", "expectation", "description"):
        if column in frame.columns:  # CSV reads an empty subset as NaN
            frame[column] = frame[column].astype(object).fillna("").astype(str)
    return frame


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def load_run(run_dir: str | Path) -> StoredRun:
    """Read a run directory written by ``meshsim run`` (or ``Results.save``)."""
    folder = Path(run_dir)
    if not folder.is_dir():
        raise RunDirError(f"{folder}: not a run directory (no such directory)")
    info_file = folder / "run.json"
    if not info_file.is_file():
        why = ": an unfinished run, interrupted while writing" if folder.name.startswith(
            PARTIAL) else ""
        raise RunDirError(f"{folder}: not a run directory (no run.json{why})")
    try:
        info = json.loads(info_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RunDirError(f"{info_file}: cannot read ({one_line(exc)})") from None
    if not isinstance(info, dict):
        raise RunDirError(f"{info_file}: expected a JSON object")
    slo = _read(folder, "slo.csv")
    if "passed" in slo.columns:
        slo["passed"] = slo["passed"].astype(str).str.lower().eq("true")
    return StoredRun(
        path=folder, info=info, summary=_read(folder, "summary.parquet"),
        workloads=_read(folder, "workloads.csv"), timeseries=_read(folder, "timeseries.parquet"),
        events=_read(folder, "events.parquet"), slo_frame=slo,
    )
