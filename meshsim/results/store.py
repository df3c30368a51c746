"""The run directory: every frame as Parquet, summaries as CSV, plots as PNG, and ``run.json``.

``run.json`` says how to reproduce the run (seed, scenario name and hash, meshsim version) and
how it went (wall time, simulated time, kernel events per wall second, SLO outcomes), so runs
can be compared between commits without loading the tables.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

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
    from meshsim._version import __version__

    model, recording, meta = results.model, results.recording, results.scenario_meta
    events = float(recording.stats.get("events", 0))
    wall = float(results.wall_time)
    slo = results.slo()
    return jsonable({
        "scenario": meta.get("name", model.name),
        "scenario_hash": _scenario_hash(meta),
        "description": model.description,
        "seed": model.seed,
        "mesh": model.mesh.name,
        "mesh_version": model.mesh.version,
        "meshsim_version": __version__,
        "duration": model.duration,
        "warmup": model.warmup,
        "wall_time": wall,
        "sim_time": float(recording.stats.get("sim_time", recording.end_time)),
        "kernel_events": int(events),
        "events_per_second": events / wall if wall > 0 else None,
        "requests": len(results.requests),
        "calls": len(results.calls),
        "attempts": results.attempt_count,
        "issued": recording.issued,
        "in_flight_at_end": recording.in_flight_at_end,
        "passed": results.passed,
        "slo": slo.to_dict(orient="records"),
        "stats": dict(recording.stats),
        "scenario_meta": dict(meta),
    })


def write_run(results: Results, out_dir: str | Path, *, plots: bool = True) -> Path:
    """Write the run directory (created if needed; files in it are replaced) and return it."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name in TABLES:
        frame = getattr(results, name)
        frame.to_parquet(out / f"{name}.parquet", engine="pyarrow", index=False)
    results.summary.to_csv(out / "summary.csv", index=False)
    results.workloads.to_csv(out / "workloads.csv", index=False)
    results.slo().to_csv(out / "slo.csv", index=False)
    results.recovery.to_csv(out / "recovery.csv", index=False)
    if plots:
        folder = out / PLOTS_DIR
        folder.mkdir(exist_ok=True)
        for stem, figure in results.figures().items():
            figure.savefig(folder / f"{stem}.png", dpi=110)
    info = run_info(results)
    (out / "run.json").write_text(json.dumps(info, indent=2, allow_nan=False) + "\n")
    return out
