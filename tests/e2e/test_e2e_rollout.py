"""The scenarios in scenarios/canary end to end: config → engine → rollout summary.

Expected values follow from the controllers' tick rules, as the scenario headers derive them.
Flagger (``interval`` 20 s, the revision appearing at the end of the 20 s warm-up): tick 0 at
20 s only detects it (``canary-start``, no traffic), tick 1 at 40 s takes the first step
without a check (the weight is still 0), tick k ≥ 2 at 20 s + k x 20 s checks the last 20 s
and steps, or at ``maxWeight`` starts promotion; a failed check halts the tick, and the tick
after the ``threshold``-th failure rolls back. Argo: the background AnalysisRun measures as the
rollout starts (an Error: the canary has served nothing, so no series), 10 s after an Error,
then every ``interval``; it aborts on the measurement that takes failures past
``failureLimit``.

Counts that depend on the draw are summed over several seeds with a stated tolerance; where a
check's outcome is random the timing is asserted from the checks the run made (the rule), and
the likely timeline only in most seeds, with its probability stated.
"""

from __future__ import annotations

import math
from functools import cache
from itertools import pairwise
from typing import Any

import pytest
from paths import SCENARIOS

import meshsim
from meshsim.results import Results
from meshsim.results.rollout import Rollout, compare_shadow, rollouts

CANARY = SCENARIOS / "canary"
START = INTERVAL = 20.0  # the warm-up (the revision appears) and every Flagger interval
SEEDS = (1, 2, 3, 4)


@cache
def run(name: str, duration: float | None = None, seed: int = 1) -> Results:
    return meshsim.simulate(meshsim.load(CANARY / f"{name}.yaml"), seed=seed,
                            duration=duration)


def tick(k: int) -> float:
    """When Flagger's tick ``k`` runs: tick 0 detects the revision at the start."""
    return START + k * INTERVAL


def only_rollout(results: Results) -> dict[str, Any]:
    table = results.rollout
    assert len(table) == 1
    return dict(table.iloc[0])


def the_rollout(results: Results) -> Rollout:
    (rollout,) = rollouts(results.events)
    return rollout


def weight_seconds(rollout: Rollout, end: float) -> float:
    """∫ canary share dt from the start to the decision's end (else ``end``), in seconds: the
    canary's expected calls are the request rate times this."""
    stop = end if math.isnan(rollout.finished_at) else rollout.finished_at
    steps = [*rollout.weights, (stop, 0.0)]
    return sum(w / 100 * (min(t1, stop) - t0) for (t0, w), (t1, _) in pairwise(steps)
               if t0 < stop)


def checks_of(results: Results) -> list[tuple[float, bool]]:
    """Each check tick (time) and whether all its checks passed, in order."""
    table = results.rollout_decisions().query("kind == 'check'")
    ticks: dict[float, bool] = {}
    for time, passed in zip(table["time"], table["passed"], strict=True):
        ticks[float(time)] = ticks.get(float(time), True) and bool(passed)
    return list(ticks.items())


def test_healthy_release_promoted_on_tick_6() -> None:
    # weights 10 % on tick 1 (no check), 20..50 % on ticks 2-5; tick 6 (140 s) checks at
    # maxWeight 50 and starts promotion; tick 7 (160 s) routes everything back to the primary
    # (stepWeightPromotion unset: Finalising at once); tick 8 (180 s) Succeeded. A check fails
    # only with > 1 % failures in its window, ≥ 2 of ~120 calls at 0.05 %: 0.3 % a run.
    calls = hurt = 0
    for seed in SEEDS:
        results = run("flagger-healthy-promoted", duration=190.0, seed=seed)
        row = only_rollout(results)
        assert row["outcome"] == "promoted"
        assert (row["start"], row["decided_at"], row["finished_at"]) == (
            tick(0), tick(6), tick(8))
        assert row["max_weight"] == 50.0 and row["final_weight"] == 0.0
        assert row["failed_checks"] == 0 and row["checks"] == 10  # 2 metrics x ticks 2-6
        assert the_rollout(results).weights == (
            (tick(0), 0.0), (tick(1), 10.0), (tick(2), 20.0), (tick(3), 30.0),
            (tick(4), 40.0), (tick(5), 50.0), (tick(7), 0.0))
        calls += int(row["canary_requests"])
        hurt += int(row["users_hurt"])
    # 60/s x 20 s x (10 + 20 + 30 + 40 + 50 + 50 %) = 2,400 canary calls a run, 9,600 over 4
    # seeds (Poisson: sd 98, ±400 is 4 sd); both versions fail 0.05 %: 4.8 hurt users
    # expected over 4 seeds, P(> 14) = 1.5e-4
    assert calls == pytest.approx(4 * 2400, abs=400)
    assert hurt <= 14


def _rollback_follows_the_rule(results: Results, step: float, threshold: int) -> None:
    """Flagger's rollback timing from the checks the run made: the tick after the
    ``threshold``-th failed tick rolls back, at ``step`` x (1 + ticks that passed before)."""
    row = only_rollout(results)
    checks = checks_of(results)
    failed = [time for time, passed in checks if not passed]
    assert row["outcome"] == "rolled back" and row["final_weight"] == 0.0
    assert row["decided_at"] == failed[threshold - 1] + INTERVAL
    passed_before = sum(1 for time, passed in checks if passed and time < failed[threshold - 1])
    assert row["max_weight"] == step * (1 + passed_before)
    assert all((time - START) / INTERVAL >= 2 for time, _ in checks)  # no check before tick 2


def test_bad_release_rolled_back_at_10_percent() -> None:
    # 10 % on tick 1 (40 s); ticks 2, 3 (60, 80 s) read ~95 % < 99 %: failed checks 1, 2, and
    # the failing success-rate check halts the tick (request-duration is not run); tick 4
    # (100 s) finds failed_checks >= threshold 2 and rolls back. A check passes when ≤ 1 % of
    # ~120 calls fail: 1.6 %, so a seed strays from this timeline w.p. 3.2 % (the rule still
    # holds); ≥ 2 of 4 seeds stray w.p. 0.6 %.
    typical = calls = hurt = 0
    expected = 0.0
    for seed in SEEDS:
        results = run("flagger-errors-rolled-back", duration=110.0, seed=seed)
        row = only_rollout(results)
        _rollback_follows_the_rule(results, step=10.0, threshold=2)
        typical += (row["decided_at"], row["max_weight"], row["checks"]) == (tick(4), 10.0, 2)
        # every canary 500 fails its user (no retry of 500, frontend answers 500)
        assert row["users_hurt"] == row["canary_failed"]
        assert row["users_exposed"] == row["canary_requests"]
        expected += 60.0 * weight_seconds(the_rollout(results), 110.0)
        calls += int(row["canary_requests"])
        hurt += int(row["users_hurt"])
    assert typical >= 3
    # typically 60/s x 10 % x 60 s = 360 calls a run; Poisson, 4 sd of the total
    assert calls == pytest.approx(expected, abs=4 * math.sqrt(expected))
    # 5 % of them fail: binomial, 4 sd
    assert hurt == pytest.approx(0.05 * calls, abs=4 * math.sqrt(calls * 0.05 * 0.95))


def test_latency_only_release_rolled_back_by_request_duration() -> None:
    # the canary answers every request but 14 % of its calls take > 500 ms (lognormal, median
    # 300 ms, P99 900 ms): success-rate passes (100 %) and request-duration fails (P99 ≈ 900
    # ms) on ticks 2 and 3, both certain with ~120 calls; tick 4 (100 s) rolls back at 10 %.
    for seed in SEEDS[:2]:
        results = run("flagger-latency-rolled-back", duration=110.0, seed=seed)
        row = only_rollout(results)
        assert row["outcome"] == "rolled back" and row["decided_at"] == tick(4)
        assert row["max_weight"] == 10.0
        assert row["checks"] == 4 and row["failed_checks"] == 2  # 2 metrics x ticks 2, 3
        assert row["users_hurt"] == 0 and row["canary_failed"] == 0
        checks = results.rollout_decisions().query("kind == 'check'")
        assert checks["time"].tolist() == [tick(2), tick(2), tick(3), tick(3)]
        failed = checks[checks["passed"] == False]  # noqa: E712
        assert set(failed["metric"]) == {"request-duration"}
        assert (failed["value"] > 500).all()


def test_ab_release_hurts_only_matched_users() -> None:
    # tick 1 (40 s) runs no check and takes iteration 1: every insider request to the canary
    # (weight 100 on the matched route); ticks 2, 3 fail (~200 insider calls at 5 % errors
    # pass with ≤ 2 failures: 0.1 %), tick 4 (100 s) rolls back after 60 s of insiders.
    hurt = 0
    for seed in SEEDS:
        results = run("flagger-ab-header", duration=110.0, seed=seed)
        row = only_rollout(results)
        assert row["outcome"] == "rolled back" and row["decided_at"] == tick(4)
        assert row["max_weight"] == 100.0 and row["failed_checks"] == 2
        requests = results.requests
        users = requests[requests["workload"] == "users"]
        insiders = requests[requests["workload"] == "insiders"]
        assert users["ok"].all()  # no header: never routed to the canary
        # the primary has no errors: every failed insider request failed on the canary
        assert row["users_hurt"] == int((~insiders["ok"]).sum()) > 0
        hurt += int(row["users_hurt"])
    # 10/s x 60 s x 5 % = 30 a run, 120 over 4 seeds (Poisson: sd 11, ±44 is 4 sd)
    assert hurt == pytest.approx(4 * 30, abs=44)


ARGO_SEEDS = tuple(range(1, 9))


def test_argo_rollout_aborted_by_analysis() -> None:
    # setWeight 20 at +0 (20 s); measurements at +0 (an Error: no series yet), +10 s (the
    # Error retry), +30 s, +50 s; failureLimit 1: the second Failed one aborts. At +30 the
    # 30 s pause ends too, but the measurement is handled first, so a failure there aborts
    # at 20 %. Windows of 20 s: +10 holds ~100 canary calls, +30 ~200, at 8 % errors, and a
    # measurement passes (≥ 95 %) w.p. 13 % and 5 %: both fail (abort at +30, 50 s, 20 %)
    # w.p. 82 %; else setWeight 50 at +30 and (almost surely) abort at +50.
    typical = 0
    for seed in ARGO_SEEDS:
        results = run("argo-rollout-steps", duration=90.0, seed=seed)
        row = only_rollout(results)
        assert row["controller"] == "argo" and row["start"] == 20.0
        checks = results.rollout_decisions().query("kind == 'check'")
        times = checks["time"].tolist()
        assert times == [20.0, 30.0, 50.0, 70.0][:len(times)]
        assert checks["result"].iloc[0] == "Error"
        failed = checks[checks["result"] == "Failed"]["time"].tolist()
        if len(failed) >= 2:  # failures past failureLimit 1 abort on that measurement
            assert row["outcome"] == "rolled back" and row["decided_at"] == failed[1]
            assert row["max_weight"] == (20.0 if failed[1] <= 50.0 else 50.0)
            assert row["failed_checks"] == 2
        else:  # every step done: promoted after the second pause, at +60
            assert row["outcome"] == "promoted" and row["decided_at"] == 80.0
        assert row["users_hurt"] == row["canary_failed"]
        typical += (row["decided_at"], row["max_weight"]) == (50.0, 20.0)
    # P(≤ 3 of 8 seeds typical) = 0.7 %
    assert typical >= 4


def test_linkerd_release_promoted() -> None:
    # 20 % on tick 1, 40 and 60 % on ticks 2, 3; tick 4 (100 s) checks at maxWeight 60 and
    # starts promotion; tick 5 (120 s) back to the primary, tick 6 (140 s) Succeeded.
    calls = 0
    for seed in SEEDS[:2]:
        results = run("flagger-linkerd", duration=150.0, seed=seed)
        row = only_rollout(results)
        assert (row["service"], row["subset"]) == ("podinfo-canary", "")
        assert row["outcome"] == "promoted"
        assert (row["decided_at"], row["finished_at"]) == (tick(4), tick(6))
        assert row["max_weight"] == 60.0 and row["checks"] == 6  # 2 metrics x ticks 2-4
        assert the_rollout(results).weights == (
            (tick(0), 0.0), (tick(1), 20.0), (tick(2), 40.0), (tick(3), 60.0),
            (tick(5), 0.0))
        calls += int(row["canary_requests"])
    # 60/s x 20 s x (20 + 40 + 60 + 60 %) = 2,160 a run, 4,320 over 2 (sd 66, ±264 is 4 sd)
    assert calls == pytest.approx(2 * 2160, abs=264)


def test_shadow_versus_canary() -> None:
    shadow, canary = run("shadow-mirror"), run("shadow-canary")
    table = compare_shadow(shadow, canary, service="podinfo", subset="canary",
                           dependency="inventory", window=(10.0, 60.0)).set_index("mode")
    s, c = table.loc["shadow"], table.loc["canary"]
    # mirrored: users never see the canary's errors, its own rows do (10 % of ~1,000 copies)
    assert s["users_failed"] == 0
    assert 0.85 < s["canary_success_rate"] < 0.95 and s["canary_failed"] > 50
    # real canary: users see them, ~20 % x 10 % = 2 % of requests
    assert c["users_failed"] == c["canary_failed"] > 50
    assert 0.97 < c["user_success_rate"] < 0.99
    # inventory: 1 + 20 % x 90 % = 1.18 x users under the mirror, 0.8 + 0.18 = 0.98 without;
    # ±0.03 is over 3 sd of the mirrored share on ~5,000 requests
    assert s["dependency_requests"] / s["users"] == pytest.approx(1.18, abs=0.03)
    assert c["dependency_requests"] / c["users"] == pytest.approx(0.98, abs=0.03)
