"""Rollout summary, decisions, plots and storage on a synthetic run with known answers."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from meshsim.results import Results
from meshsim.results.rollout import compare_shadow, decisions, rollouts, spread, wilson


def test_rolled_back_rollout_summary(rolled_back: Results) -> None:
    table = rolled_back.rollout
    assert len(table) == 1
    row = table.iloc[0]
    assert (row["rollout"], row["controller"], row["service"], row["subset"]) == (
        "api", "flagger", "api", "canary")
    assert row["outcome"] == "rolled back"
    assert row["start"] == 10.0 and row["decided_at"] == 60.0
    assert row["time_to_decision"] == 50.0
    assert row["max_weight"] == 20.0 and row["final_weight"] == 0.0
    assert (row["checks"], row["failed_checks"]) == (4, 2)  # both metrics on tick 2, then one


def test_exposure_counts_only_users_whose_tree_reached_the_canary(rolled_back: Results) -> None:
    row = rolled_back.rollout.iloc[0]
    # canary calls in [10, 60): requests 2, 3, 4 and the mirrored copy of 6
    assert row["canary_requests"] == 4
    assert row["canary_failed"] == 3
    assert row["canary_mirrored"] == 1
    assert row["canary_attempts"] == 5  # request 4's call took two attempts
    # 2, 3, 4 reached the canary; only 3 failed end to end. 5 failed on the primary, 6's
    # failure was a mirrored copy, 7 came after the rollback.
    assert row["users_exposed"] == 3
    assert row["users_hurt"] == 1


def test_decisions_table(rolled_back: Results) -> None:
    table = rolled_back.rollout_decisions()
    assert list(table["kind"]) == [
        "start", "weight", "check", "check", "weight", "check", "check", "weight",
        "rolled-back"]
    checks = table[table["kind"] == "check"]
    assert list(checks["passed"]) == [True, True, False, False]
    assert list(checks["metric"]) == [
        "request-success-rate", "request-duration", "request-success-rate",
        "request-success-rate"]
    assert checks["value"].iloc[2] == 50.0
    assert math.isnan(checks["value"].iloc[3])  # "no values found"
    assert list(checks["failed_checks"]) == [0.0, 0.0, 1.0, 2.0]
    assert table["phase"].iloc[-2] == "Failed" and table["weight"].iloc[-2] == 0.0
    assert table["reason"].iloc[-1] == "threshold"


def test_outcomes_promoted_paused_progressing(run_factory: Callable[..., object]) -> None:
    def outcome(kinds: list[tuple[float, str, dict[str, object]]]) -> tuple[str, float, float]:
        run = run_factory()
        for time, kind, fields in kinds:
            run.event(time, kind, rollout="r", controller="argo", **fields)  # type: ignore[attr-defined]
        (r,) = rollouts(run.results().events)  # type: ignore[attr-defined]
        return r.outcome, r.decided_at, r.max_weight

    start = (5.0, "canary-start", {})
    assert outcome([start, (10.0, "canary-weight", {"weight": 50}),
                    (20.0, "canary-weight", {"weight": 100}),
                    (25.0, "canary-promoted", {"weight": 100})]) == ("promoted", 25.0, 100.0)
    paused = outcome([start, (10.0, "canary-weight", {"weight": 20}),
                      (10.0, "canary-paused", {"weight": 20})])
    assert paused[0] == "paused" and math.isnan(paused[1]) and paused[2] == 20.0
    # a timed pause that ended: the weight moved on, so it is progressing again
    moving = outcome([start, (10.0, "canary-paused", {}), (20.0, "canary-weight", {"weight": 40})])
    assert moving[0] == "progressing" and moving[2] == 40.0


def test_no_rollout_gives_empty_frames(run_factory: Callable[..., object]) -> None:
    results: Results = run_factory().results()  # type: ignore[attr-defined]
    assert results.rollout.empty and results.rollout_decisions().empty
    with pytest.raises(ValueError, match="no rollout"):
        results.plot_rollout()


def test_plot_rollout(rolled_back: Results) -> None:
    fig = rolled_back.plot_rollout()
    weight, success, p99 = fig.axes[:3]
    assert "rolled back" in weight.get_title(loc="left")
    xs, ys = weight.lines[0].get_data()
    # start (tick 0 moves no traffic), 10 % (tick 1), 20 % (tick 2), rollback, run end
    assert list(ys) == [0.0, 10.0, 20.0, 0.0, 0.0]
    assert list(xs) == [10.0, 20.0, 30.0, 60.0, 90.0]
    labels = {c.get_label() for c in weight.collections}
    assert labels == {"check passed", "check failed"}
    # each check is drawn at the weight its window ran at: tick 2's checks at 10 % (the step
    # to 20 % comes after them on the same tick), ticks 3 and 4 at 20 %
    marks = {c.get_label(): c.get_offsets().tolist() for c in weight.collections}
    assert marks["check passed"] == [[30.0, 10.0], [30.0, 10.0]]
    assert marks["check failed"] == [[40.0, 20.0], [50.0, 20.0]]
    for ax in (success, p99):
        named = {str(line.get_label()) for line in ax.lines}
        assert {n for n in named if not n.startswith("_")} == {
            "api/primary", "api/canary", "rollout start", "rolled back"}


def test_run_directory_has_rollout_files(rolled_back: Results, tmp_path: Path) -> None:
    out = rolled_back.save(tmp_path / "run")
    table = pd.read_csv(out / "rollout.csv")
    assert table["outcome"].tolist() == ["rolled back"]
    assert len(pd.read_csv(out / "rollout_decisions.csv")) == 9
    assert (out / "plots" / "rollout.png").stat().st_size > 0


def test_run_directory_without_rollout(run_factory: Callable[..., object], tmp_path: Path) -> None:
    out = run_factory().results().save(tmp_path / "run", plots=False)  # type: ignore[attr-defined]
    assert not (out / "rollout.csv").exists()


def test_wilson_interval_known_values() -> None:
    # Wilson 95 %: 0/10 → [0, 0.2775]; 5/10 → [0.2366, 0.7634]; 50/100 → [0.4038, 0.5962]
    low, high = wilson(0, 10)
    assert low == 0.0 and high == pytest.approx(0.2775, abs=1e-4)
    assert wilson(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson(50, 100) == pytest.approx((0.4038, 0.5962), abs=1e-4)
    assert all(math.isnan(x) for x in wilson(0, 0))


def test_spread() -> None:
    values = [float(x) for x in range(1, 12)] + [math.nan]
    assert spread(values) == {"median": 6.0, "p10": 2.0, "p90": 10.0}
    assert all(math.isnan(v) for v in spread([math.nan]).values())


def test_compare_shadow_on_synthetic_frames(rolled_back: Results) -> None:
    table = compare_shadow(rolled_back, rolled_back, service="api", subset="canary",
                           dependency="api", window=(40.0, 50.0))
    row = table.iloc[0]
    assert row["users"] == 2 and row["users_failed"] == 1  # requests 5 and 6
    assert row["canary_requests"] == 1 and row["canary_failed"] == 1  # 6's mirrored copy
    assert row["dependency_requests"] == 3  # api: 5's, 6's and the copy


def test_decisions_from_plain_events() -> None:
    events = pd.DataFrame({
        "time": [1.0, 2.0], "kind": ["eject", "canary-weight"], "proxy": ["a", "b"],
        "service": ["s", "s"], "subset": ["", "c"], "pod": ["", ""],
        "detail": ["consecutive_5xx", "weight=5 rollout=x"],
    })
    table = decisions(events)
    assert table[["rollout", "kind", "weight"]].values.tolist() == [["x", "weight", 5.0]]
