"""Resilience maps and the recommender on a short, scaled-down retry storm (issue #6).

The flagship scenarios/retry-storm.yaml at 800/s costs ~9 s of wall time per 30 s of sim. Here
it is scaled by 1/4 (200/s; ratings 2 workers and a 50-deep queue per pod, reviews 8, frontend
16 slots: the same utilisation and the same queue wait relative to the 100 ms per-try
timeout) and cut to 20 s with the 5 s slowdown at 6 s, about 1 s per run. It behaves like the
full scenario: as written it collapses and stays down; with only the hop next to ratings
retrying it recovers at once (checked below on fresh seeds).
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from click.testing import Result
from paths import SCENARIOS
from typer.testing import CliRunner

import meshsim
from meshsim.cli.main import app
from meshsim.experiments.whatif.recommend import rank
from meshsim.experiments.whatif.resilience import wilson
from meshsim.experiments.whatif.runs import slo_margin

SCENARIO = SCENARIOS / "retry-storm.yaml"
SHORT: dict[str, object] = {
    "spec.duration": "24s",  # 13 s after the fault: room for a 10 s recovery verdict
    "spec.warmup": "3s",
    "spec.faults[0].at": "6s",
    "spec.expect[0].window": ["14s", "20s"],
    "spec.expect[1].window": ["14s", "20s"],
    "spec.workload[0].rate": "200/s",
    "spec.services.ratings.queue": 50,
    "spec.services.ratings.concurrency": 2,
    "spec.services.reviews.concurrency": 8,
    "spec.services.frontend.concurrency": 16,
}
FRONTEND = "VirtualService/frontend.spec.http[0].retries.attempts"
REVIEWS = "VirtualService/reviews.spec.http[0].retries.attempts"
LOAD = "spec.workload[0].rate"
TRIGGER = "spec.faults[0].for"


def short_storm() -> meshsim.Scenario:
    return meshsim.load(SCENARIO, SHORT)


def test_the_map_separates_recovery_from_collapse() -> None:
    rmap = meshsim.resilience_map(
        short_storm(), load=(LOAD, ["100/s", "200/s"]), trigger=(TRIGGER, ["0.5s", "5s"]),
        seeds=2, workers=2,
    )
    runs, cells = rmap.runs, rmap.cells
    assert list(runs.columns[:5]) == ["load", "trigger", "seed", "recovered", "recovery_time"]
    assert len(runs) == 8 and list(runs["seed"]) == [0, 1] * 4
    assert list(zip(cells["load"], cells["trigger"], strict=True)) == [
        ("100/s", "0.5s"), ("100/s", "5s"), ("200/s", "0.5s"), ("200/s", "5s"),
    ]
    cell = cells.set_index(["load", "trigger"])
    # Half the load and a blip: every seed recovers, within seconds.
    assert cell.loc[("100/s", "0.5s"), "p_collapse"] == 0.0
    assert cell.loc[("100/s", "0.5s"), "recovery_time_max"] <= 5.0
    # The scenario's load and its 5 s slowdown: every seed collapses, goodput near zero.
    assert cell.loc[("200/s", "5s"), "p_collapse"] == 1.0
    collapsed = runs[(runs["load"] == "200/s") & (runs["trigger"] == "5s")]
    assert (collapsed["final_success"] < 0.05).all()
    assert collapsed["recovery_time"].isna().all()
    # The aggregate is the runs' verdicts, with an interval that covers it.
    for (load, trigger), chunk in runs.groupby(["load", "trigger"], sort=False):
        row = cell.loc[(load, trigger)]
        assert row["collapsed"] == int((~chunk["recovered"].astype(bool)).sum())
        assert row["p_collapse_low"] <= row["p_collapse"] <= row["p_collapse_high"]
    figure = rmap.plot()
    texts = [t.get_text() for t in figure.axes[0].texts]
    assert len(texts) == 4 and "P=1.00 (2/2)" in texts and any("rec" in t for t in texts)


def test_recommenders_pick_meets_the_slos_on_fresh_seeds_and_the_default_does_not() -> None:
    rec = meshsim.recommend(
        short_storm(), {FRONTEND: [0, 2], REVIEWS: [0, 3]}, seeds=2, workers=2
    )
    options = rec.options
    assert len(options) == 4  # the as-written setting (2, 3) is one of the candidates
    assert rec.current[FRONTEND] == 2 and rec.current[REVIEWS] == 3
    assert not rec.current["meets_slos"]
    assert rec.found and options.iloc[0]["meets_slos"]
    meeting = options[options["meets_slos"]]
    assert options["meets_slos"].tolist() == sorted(options["meets_slos"], reverse=True)
    assert options.iloc[0]["cost"] <= meeting["cost"].min() + 0.01
    assert rec.best and set(rec.best) <= {FRONTEND, REVIEWS}

    # Fresh seeds, through meshsim.sweep (another code path, in parallel): one point each.
    fresh = [101, 102]
    picked = meshsim.sweep(short_storm(), {p: [v] for p, v in rec.best.items()}, seeds=fresh,
                           workers=2)
    assert picked.runs["slo_passed"].all()
    default = meshsim.sweep(short_storm(), {FRONTEND: [2]}, seeds=fresh, workers=2)
    assert not default.runs["slo_passed"].any()


def test_ranking_prefers_cheap_then_small_changes_then_margin() -> None:
    def option(i: int, meets: bool, cost: float, changes: int, margin: float,
               pass_rate: float = 1.0) -> dict[str, object]:
        return {"candidate": i, "meets_slos": meets, "cost": cost, "changes": changes,
                "margin": margin, "pass_rate": pass_rate}

    ranked = rank([
        option(0, False, 0.0, 0, -1.0, pass_rate=0.0),  # cheapest, but misses the SLOs
        option(1, True, 0.30, 1, 0.5),
        option(2, True, 0.105, 2, 0.9),
        option(3, True, 0.100, 1, 0.1),  # within 0.01 of #2 and a smaller change: first
        option(4, False, 0.0, 1, -0.2, pass_rate=0.67),
    ], cost_tolerance=0.01)
    assert [o["candidate"] for o in ranked] == [3, 2, 1, 4, 0]
    assert [o["candidate"] for o in rank(ranked, cost_tolerance=0.0)][:2] == [3, 2]


def test_margin_and_interval_helpers() -> None:
    slo = pd.DataFrame({
        "value": [0.995, 0.4], "min": [0.99, math.nan], "max": [math.nan, 0.5],
    })
    assert slo_margin(slo) == pytest.approx((0.995 - 0.99) / 0.99)
    assert slo_margin(slo.assign(value=[0.98, 0.4])) < 0
    assert slo_margin(slo.assign(value=[math.nan, 0.4])) == -math.inf
    low, high = wilson(0, 3)
    assert low == 0.0 and 0.5 < high < 0.6  # 0 of 3 collapsed does not mean P = 0
    low, high = wilson(10, 20)
    assert low < 0.5 < high


def test_bad_input_is_a_value_error() -> None:
    storm = short_storm()
    with pytest.raises(ValueError, match="no faults"):
        meshsim.resilience_map(storm.with_overrides({"spec.faults": []}), load=(LOAD, ["1/s"]),
                               trigger=("spec.services.ratings.replicas", [2]), seeds=1)
    with pytest.raises(ValueError, match="no values"):
        meshsim.resilience_map(storm, load=(LOAD, []), trigger=(TRIGGER, ["1s"]))
    with pytest.raises(ValueError, match="no SLOs"):
        meshsim.recommend(storm.with_overrides({"spec.expect": []}), {FRONTEND: [0]})
    with pytest.raises(ValueError, match="candidates"):
        meshsim.recommend(storm, {FRONTEND: [0, 1, 2], REVIEWS: [0, 1]}, max_candidates=5)
    with pytest.raises(meshsim.ScenarioError):
        meshsim.recommend(storm, {"spec.services.nope.replicas": [1]})


# -- the command line (in process: a subprocess per case would cost more than the runs) --------
def cli(*args: object) -> Result:
    sets = [x for path, value in SHORT.items() for x in ("--set", f"{path}={_yaml(value)}")]
    return CliRunner().invoke(app, ["whatif", *map(str, args), *sets])


def _yaml(value: object) -> str:
    return f"[{', '.join(map(str, value))}]" if isinstance(value, list) else str(value)


def test_cli_map_writes_csv_and_png(tmp_path: Path) -> None:
    result = cli("map", SCENARIO, "--load", f"{LOAD}=100/s", "--trigger", f"{TRIGGER}=0.5s,5s",
                 "--seeds", "1", "--workers", "2", "--out", tmp_path / "m")
    assert result.exit_code == 0, result.output
    assert "P(COLLAPSE)" in result.stdout
    assert len(pd.read_csv(tmp_path / "m.csv")) == 2
    assert list(pd.read_csv(tmp_path / "m-cells.csv")["trigger"]) == ["0.5s", "5s"]
    assert (tmp_path / "m.png").read_bytes()[:4] == b"\x89PNG"


def test_cli_recommend_exits_0_with_a_pick(tmp_path: Path) -> None:
    out = tmp_path / "rec.csv"
    result = cli("recommend", SCENARIO, "--space", f"{FRONTEND}=0", "--space", f"{REVIEWS}=0",
                 "--seeds", "1", "--workers", "2", "--out", out)
    assert result.exit_code == 0, result.output
    assert "recommended: --set" in result.stdout
    options = pd.read_csv(out)
    assert options["meets_slos"].tolist() == [True, False]  # the pick, then as written
    assert options["changes"].tolist() == [2, 0] and options["current"].tolist() == [False, True]
    assert options[FRONTEND].astype(str).tolist() == ["0", "(as written)"]


@pytest.mark.parametrize(("args", "message"), [
    (("map", "missing.yaml", "--load", f"{LOAD}=1/s", "--trigger", f"{TRIGGER}=1s"),
     "no such file"),
    (("map", SCENARIO, "--load", "spec.workload[0].rate", "--trigger", f"{TRIGGER}=1s"),
     "--load"),
    (("map", SCENARIO, "--load", f"{LOAD}=1/s"), "--trigger"),
    (("map", SCENARIO, "--load", f"{LOAD}=fast", "--trigger", f"{TRIGGER}=1s"), "rate"),
    (("recommend", SCENARIO), "--space"),
    (("recommend", SCENARIO, "--space", "spec.services.nope.replicas=1"), "nope"),
])
def test_cli_bad_input_exits_2_with_one_line(args: tuple[object, ...], message: str) -> None:
    result = cli(*args)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_run_that_cannot_tell_is_undecided_not_collapsed() -> None:
    """A run whose recovery verdict is "cannot tell" (too little data after the trigger) is
    no evidence of a collapse: it is counted apart and left out of P(collapse)."""
    from meshsim.experiments.whatif.resilience import RUN_COLUMNS, aggregate

    base = {c: math.nan for c in RUN_COLUMNS} | {"load": "200/s", "trigger": "1s"}
    runs = pd.DataFrame([
        base | {"seed": 0, "recovered": True, "recovery_time": 2.0, "success_rate": 1.0},
        base | {"seed": 1, "recovered": False, "success_rate": 0.1},
        base | {"seed": 2, "recovered": None, "success_rate": 0.9},
    ], columns=list(RUN_COLUMNS))
    cell = aggregate(runs).iloc[0]
    assert (cell["runs"], cell["collapsed"], cell["undecided"]) == (3, 1, 1)
    assert cell["p_collapse"] == pytest.approx(0.5)
    assert cell["recovery_time_median"] == pytest.approx(2.0)
    undecided = aggregate(runs[runs["seed"] == 2]).iloc[0]
    assert math.isnan(undecided["p_collapse"]) and undecided["collapsed"] == 0
