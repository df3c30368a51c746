"""What a report shows, gathered once from a run: a run directory read back
(:class:`~meshsim.results.store.StoredRun`) or an in-memory
:class:`~meshsim.results.Results`, through the same frames either way.

Everything comes from the run's own aggregates and files (summary, workloads, time series,
events, SLO table, edges, rollout), so the numbers equal what ``meshsim run`` printed and a run
recorded at ``--record summary`` has a full report; only the p95 latency series needs the
stored ``calls`` rows, and :attr:`ReportData.notes` says what was left out and why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from meshsim.results import rollout as rollout_report
from meshsim.results.fault_windows import FaultWindow, fault_windows
from meshsim.results.viz.mesh import MeshInfo, mesh_info

if TYPE_CHECKING:
    from meshsim.results.results import Results
    from meshsim.results.store import StoredRun


@dataclass(frozen=True)
class ReportFinding:
    """One ``meshsim analyze`` finding as the report prints it (``line``: istioctl's format)."""

    level: str  # Error | Warning | Info
    code: str
    line: str


@dataclass(frozen=True)
class Findings:
    """The scenario's analyze findings, or why there are none to show (``note``)."""

    items: tuple[ReportFinding, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class ReportData:
    """One run, as every section of the report reads it."""

    header: dict[str, Any]
    summary: pd.DataFrame
    workloads: pd.DataFrame
    timeseries: pd.DataFrame
    events: pd.DataFrame
    slo: pd.DataFrame
    recovery: pd.DataFrame
    edges: pd.DataFrame | None  # None: the run directory has no edges.parquet
    info: MeshInfo
    faults: list[FaultWindow]
    rollout: pd.DataFrame
    decisions: pd.DataFrame
    p95: pd.DataFrame | None  # service, time, p95 (None: no calls rows recorded)
    bucket: float
    findings: Findings = Findings()
    notes: list[str] = field(default_factory=list)

    @property
    def warmup(self) -> float:
        return float(self.header["warmup"])

    @property
    def horizon(self) -> float:
        """Where the time axes end: the run's duration, or its last time bucket."""
        last = float(self.timeseries["time"].max()) + self.bucket if len(self.timeseries) else 0.0
        return max(float(self.header["duration"]), last)


P95_SQL = (
    'SELECT CAST(service AS VARCHAR) AS service, floor("end" / {bucket}) * {bucket} AS time, '
    "quantile_cont(latency, 0.95) AS p95 FROM calls WHERE NOT mirror GROUP BY ALL ORDER BY 1, 2"
)


def _bucket(timeseries: pd.DataFrame) -> float:
    times = np.unique(timeseries["time"].to_numpy(dtype=np.float64))
    return float(np.min(np.diff(times))) if len(times) > 1 else 1.0


def _p95(run: Any, stored: Sequence[str], bucket: float, notes: list[str]) -> pd.DataFrame | None:
    """p95 per service and time bucket from the stored calls rows (by end time, as the time
    series buckets latency; mirror copies left out, as the service rows)."""
    if "calls" not in stored:
        notes.append("p95 over time is left out: the run stored no calls rows (--record "
                      "summary); its time series keeps p50, p90 and p99, drawn instead.")
        return None
    return pd.DataFrame(run.sql(P95_SQL.format(bucket=repr(float(bucket)))))


def _header(info: dict[str, Any]) -> dict[str, Any]:
    meta = info.get("scenario_meta") or {}
    return {
        "scenario": info.get("scenario", ""), "description": info.get("description") or "",
        "mesh": info.get("mesh", ""), "mesh_version": info.get("mesh_version"),
        "seed": info.get("seed"), "duration": float(info.get("duration") or 0.0),
        "warmup": float(info.get("warmup") or 0.0),
        "meshsim_version": info.get("meshsim_version", "unknown"),
        "build": info.get("build") or "not recorded (written by an older meshsim)",
        "record": info.get("record", "all"), "file": meta.get("file", ""),
        "sha256": info.get("scenario_hash") or "", "overrides": dict(meta.get("overrides") or {}),
        "requests": info.get("requests"), "passed": info.get("passed"),
    }


def from_stored(run: StoredRun, findings: Findings = Findings()) -> ReportData:
    """A run directory written by ``meshsim run`` (or ``Results.save``)."""
    notes: list[str] = []
    raw = run.info.get("mesh_info")
    info = MeshInfo.from_json(raw) if isinstance(raw, dict) else MeshInfo("none", {}, {})
    edges = run.file_frame("edges.parquet")
    if edges is None:
        notes.append("Edge rates, errors and p95 are left out: the run directory has no "
                     "edges.parquet (written by an older meshsim); edges come from the call "
                     "graph alone.")
    stored = tuple((run.info.get("stored_rows") or {}).keys())
    bucket = _bucket(run.timeseries)
    return ReportData(
        header=_header(run.info), summary=run.summary, workloads=run.workloads,
        timeseries=run.timeseries, events=run.events, slo=_slo(run.slo()),
        recovery=_or_empty(run.file_frame("recovery.csv")), edges=edges, info=info,
        faults=fault_windows(run.events, run.duration),
        rollout=_or_empty(run.file_frame("rollout.csv")),
        decisions=rollout_report.decisions(run.events),
        p95=_p95(run, stored, bucket, notes), bucket=bucket, findings=findings, notes=notes,
    )


def from_results(results: Results, findings: Findings = Findings()) -> ReportData:
    """An in-memory run (``meshsim.simulate``)."""
    notes: list[str] = []
    bucket = float(results.recording.bucket)
    kept = results.stored_tables if results.rows is not None else (
        ("calls",) if results.recording.count("calls") else ())
    return ReportData(
        header=_header(results.run_info()), summary=results.summary,
        workloads=results.workloads, timeseries=results.timeseries, events=results.events,
        slo=results.slo(), recovery=results.recovery, edges=results.edges,
        info=mesh_info(results.model), faults=results.fault_windows(),
        rollout=results.rollout, decisions=results.rollout_decisions(),
        p95=_p95(results, kept, bucket, notes), bucket=bucket, findings=findings, notes=notes,
    )


def _slo(slo: pd.DataFrame) -> pd.DataFrame:
    """slo.csv reads an empty note as NaN: back to the run's own ``""``."""
    if "note" in slo.columns:
        slo["note"] = slo["note"].astype(object).where(slo["note"].notna(), "")
    return slo


def _or_empty(frame: pd.DataFrame | None) -> pd.DataFrame:
    return frame if frame is not None else pd.DataFrame()
