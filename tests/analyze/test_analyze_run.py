"""The analyze findings of the scenario a run was made from (meshsim.analyze.run): the same
lines as ``meshsim analyze`` with the run's overrides, or a note saying why there are none."""

from __future__ import annotations

from pathlib import Path

from paths import TESTS

import meshsim
from meshsim.analyze import analyze
from meshsim.analyze.run import run_findings

TRIGGER = TESTS / "analyze" / "fixtures" / "msh0101-trigger.yaml"


def _info(file: Path | str, overrides: dict[str, str] | None = None) -> dict[str, object]:
    scenario = meshsim.load(file, overrides=overrides)
    return {"scenario_meta": scenario.metadata(), "scenario_hash": scenario.metadata()["sha256"]}


def test_findings_are_analyzes_lines_with_the_runs_overrides() -> None:
    overrides = {"spec.duration": "3s"}
    found = run_findings(_info(TRIGGER, overrides))
    expected = analyze(TRIGGER, overrides).findings
    assert [f.line for f in found.items] == [f.format() for f in expected]
    assert [f.code for f in found.items] == ["MSH0101"] and found.note == ""


def test_a_changed_file_is_said(tmp_path: Path) -> None:
    copy = tmp_path / "scenario.yaml"
    copy.write_text(TRIGGER.read_text())
    info = _info(copy)
    copy.write_text(TRIGGER.read_text() + "\n# edited after the run\n")
    found = run_findings(info)
    assert found.items and "has changed since the run" in found.note


def test_a_missing_or_broken_file_gives_a_note_not_findings(tmp_path: Path) -> None:
    info = _info(TRIGGER)
    gone = run_findings({**info, "scenario_meta": {"file": str(tmp_path / "gone.yaml")}})
    assert gone.items == () and "is not there" in gone.note
    broken = tmp_path / "broken.yaml"
    broken.write_text("apiVersion: meshsim/v1alpha1\nkind: Scenario\nspec: {durashun: 1s}\n")
    bad = run_findings({"scenario_meta": {"file": str(broken)}})
    assert bad.items == () and "does not load now" in bad.note
    assert "does not name" in run_findings({}).note
    stand_in = run_findings({}, scenario=TRIGGER)  # --scenario FILE
    assert [f.code for f in stand_in.items] == ["MSH0101"]
