"""Linkerd docs' rollouts end to end: the HTTPRoute on the podinfo Service carries the weights.

The Flagger scenario (``scenarios/canary/linkerd-httproute-flagger.yaml``) is cut short here:
``stepWeight`` 50, ``threshold`` 2, the MetricTemplate's window 10 s, 20 requests/s. The revision
appears at the end of the 20 s warm-up; with ``interval`` 10 s tick k runs at 20 + 10 k: tick 0
detects, tick 1 (30 s) sets 50 % without a check, tick 2 (40 s) checks and sets 100 %, tick 3
(50 s) checks and starts promotion, tick 4 (60 s) routes back to the primary, tick 5 (70 s)
Succeeded. A canary answering 30 % errors fails the checks on ticks 2 and 3 (a success rate
near 70 % from ~100 requests, far below 99) and tick 4 rolls it back.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from paths import SCENARIOS

import meshsim
from meshsim.config import load_scenario_text

CANARY = SCENARIOS / "canary"


def _flagger(tmp_path: Path, canary_errors: float = 0.0) -> meshsim.Results:
    text = (CANARY / "linkerd-httproute-flagger.yaml").read_text()
    for old, new in (("duration: 170s", "duration: 75s"), ("rate: 60/s", "rate: 20/s"),
                     ("stepWeight: 10", "stepWeight: 50"), ("threshold: 5", "threshold: 2"),
                     ("interval: 1m", "interval: 10s")):
        assert old in text
        text = text.replace(old, new)
    if canary_errors:
        text = text.replace("    podinfo-canary:\n",
                            f"    podinfo-canary:\n      errors: {canary_errors}\n")
    return meshsim.simulate(load_scenario_text(text, tmp_path, "flagger.yaml"), seed=1)


def _events(results: meshsim.Results, kind: str) -> pd.DataFrame:
    events = results.events
    return events[events.kind == kind]


def _weights(results: meshsim.Results) -> list[tuple[float, str]]:
    rows = _events(results, "canary-weight")
    return [(float(t), d.split("weight=")[1].split()[0]) for t, d in zip(rows.time, rows.detail,
                                                                          strict=True)]


def test_healthy_canary_is_promoted_on_the_tick_schedule(tmp_path: Path) -> None:
    results = _flagger(tmp_path)
    assert _weights(results) == [(30.0, "50"), (40.0, "100"), (60.0, "0")]
    checks = _events(results, "canary-check")
    assert list(checks.time) == [40.0, 50.0]
    assert all("passed=true" in d and "metric=success-rate" in d for d in checks.detail)
    (promoted,) = _events(results, "canary-promoted").time
    assert promoted == 70.0 and _events(results, "canary-rolled-back").empty
    # the generated HTTPRoute splits frontend's calls to podinfo: half to the canary in [30, 40)
    attempts = results.attempts
    window = attempts[(attempts.start > 30.1) & (attempts.start < 39.9)
                      & attempts.service.isin(["podinfo-primary", "podinfo-canary"])]
    share = float((window.service == "podinfo-canary").mean())
    n = len(window)
    assert n > 150 and abs(share - 0.5) <= 4 * (0.25 / n) ** 0.5  # four binomial s.e.
    assert not (attempts.service == "podinfo").any()  # the apex's own pods get nothing
    before = attempts[(attempts.start < 29.9) & (attempts.service == "podinfo-canary")]
    assert before.empty


def test_failing_canary_is_rolled_back_by_the_metric_template(tmp_path: Path) -> None:
    results = _flagger(tmp_path, canary_errors=0.3)
    checks = _events(results, "canary-check")
    assert list(checks.time) == [40.0, 50.0]
    assert all("passed=false" in d for d in checks.detail)
    values = [float(d.split("value=")[1].split()[0]) for d in checks.detail]
    assert all(50.0 < v < 90.0 for v in values)  # ~70 % success in percent (the template's ×100)
    (back,) = _events(results, "canary-rolled-back").time
    assert back == 60.0 and _events(results, "canary-promoted").empty
    assert _weights(results)[-1] == (60.0, "0")


def test_argo_plugin_steps_the_users_httproute(tmp_path: Path) -> None:
    text = (CANARY / "linkerd-httproute-argo.yaml").read_text()
    text = text.replace("        - pause: {}\n", "        - pause: {duration: 10}\n")
    text = text.replace("duration: 90s", "duration: 65s").replace("rate: 60/s", "rate: 20/s")
    results = meshsim.simulate(load_scenario_text(text, tmp_path, "argo.yaml"), seed=1)
    assert _weights(results) == [(20.0, "30"), (30.0, "40"), (40.0, "60"), (50.0, "80"),
                                 (60.0, "0")]
    (promoted,) = _events(results, "canary-promoted").time
    assert promoted == 60.0
    attempts = results.attempts
    window = attempts[(attempts.start > 40.1) & (attempts.start < 49.9)
                      & attempts.service.isin(["podinfo-stable", "podinfo-canary"])]
    n = len(window)
    share = float((window.service == "podinfo-canary").mean())
    assert n > 150 and abs(share - 0.6) <= 4 * (0.24 / n) ** 0.5
