"""The analyze findings of the scenario a run was made from, for its HTML report.

``run.json`` names the scenario file and the overrides of the run (``scenario_meta``); the
findings are those of that file as it is now, with those overrides. When the file is gone,
does not load, or has changed since the run (its sha256 differs), the report says so instead
of passing other findings off as the run's.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from meshsim.analyze import analyze
from meshsim.config import load_scenario
from meshsim.errors import MeshsimError, ScenarioError
from meshsim.results.report import Findings, ReportFinding

LEFT_OUT = "Analyze findings are left out: "


def run_findings(info: Mapping[str, Any], scenario: Path | None = None) -> Findings:
    """Findings for the run described by ``info`` (``run.json``); ``scenario`` stands in for
    the file it names (a run directory moved to another machine)."""
    meta = info.get("scenario_meta") or {}
    named = scenario or (Path(meta["file"]) if meta.get("file") else None)
    if named is None:
        return Findings(note=LEFT_OUT + "the run does not name its scenario file "
                        "(meshsim report --scenario FILE names it).")
    if not named.is_file():
        return Findings(note=LEFT_OUT + f"the scenario file {named} is not there (run "
                        "meshsim report from the directory of the run, or pass --scenario).")
    overrides = dict(meta.get("overrides") or {})
    try:
        result = analyze(named, overrides or None)
        digest = load_scenario(named, overrides or None).metadata()["sha256"]
    except MeshsimError as exc:
        why = exc.format() if isinstance(exc, ScenarioError) else str(exc)
        return Findings(note=LEFT_OUT + f"{named} does not load now: {why}")
    notes = []
    if info.get("scenario_hash") and digest != info["scenario_hash"]:
        notes.append(f"{named} has changed since the run (its sha256 differs): these are the "
                     "findings of the file as it is now.")
    if result.stopped:
        notes.append(f"Some manifests were left out to check the rest: {result.stopped}.")
    items = tuple(ReportFinding(f.level.text, f.type.code, f.format()) for f in result.findings)
    return Findings(items=items, note=" ".join(notes))
