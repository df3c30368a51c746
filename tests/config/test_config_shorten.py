"""A shorter duration from outside (--duration, --set spec.duration, with_duration, the API's
duration=) is one override, checked once: refused when it leaves nothing after warm-up, else
the run is cut and every fault, window and rollout the cut changes gets a located warning."""

from __future__ import annotations

from pathlib import Path

import pytest
from paths import ROOT

import meshsim
from meshsim.config.scenario import load_scenario_text
from meshsim.errors import ScenarioError

STORM = ROOT / "scenarios" / "retry-storm.yaml"

TEXT = """\
apiVersion: meshsim/v1alpha1
kind: Scenario
metadata: {name: cut}
spec:
  duration: 60s
  warmup: 5s
  services:
    api: {latency: constant(1ms)}
  workload:
    - {name: users, target: api, rate: 10/s}
  faults:
    - {at: 10s, for: 5s, target: api, errors: 0.5}
    - {at: 20s, for: 20s, target: api, errors: 0.5}
    - {at: 45s, for: 5s, target: api, errors: 0.5}
  expect:
    - {metric: success_rate, service: api, window: [5s, 20s], min: 0.9}
    - {metric: success_rate, service: api, window: [30s, 60s], min: 0.9}
"""


def scenario(**overrides: object) -> meshsim.Scenario:
    return load_scenario_text(TEXT, Path("."), "cut.yaml", overrides=overrides)


def test_a_shorter_duration_cuts_the_run_and_says_what_it_cut() -> None:
    cut = scenario(**{"spec.duration": "30s"})
    assert cut.model.duration == 30.0
    assert [f.at for f in cut.model.faults] == [10.0, 20.0]  # the one at 45 s never starts
    lines = [w.format() for w in cut.warnings]
    assert lines == [
        "cut.yaml:13:7: spec.faults[1]: warning: the run is shortened to 30s: this fault is "
        "still active at the end (until 40s); whether the system recovers from it cannot be "
        "told",
        "cut.yaml:14:7: spec.faults[2]: warning: the run is shortened to 30s: this fault at "
        "45s never starts and is left out",
        "cut.yaml:17:44: spec.expect[1].window: warning: the run is shortened to 30s: this "
        "SLO's window [30s, 60s] is past the end of the run; its check will say "
        "'cannot tell'",
    ]
    assert len(cut.model.expectations) == 2  # kept: its check says "cannot tell"


def test_with_duration_and_the_set_override_are_the_same() -> None:
    by_set = scenario(**{"spec.duration": "30s"})
    assert by_set.model == scenario().with_duration("30s").model
    assert scenario().with_duration(30).model == by_set.model  # seconds, as the API takes them


def test_a_longer_duration_is_an_ordinary_override() -> None:
    longer = scenario(**{"spec.duration": "90s"})
    assert longer.model.duration == 90.0 and len(longer.model.faults) == 3
    assert longer.warnings == []


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("5s", "--set: spec.duration: 5s leaves nothing after the 5s warm-up (spec.warmup)"),
        ("abc", "--set: spec.duration: expected a duration like '30s'"),
        ("0s", "--set: spec.duration:"),
    ],
)
def test_a_bad_duration_is_one_located_error(value: str, message: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        scenario(**{"spec.duration": value})
    assert str(caught.value).startswith(message)


def test_the_api_takes_a_duration_as_the_cli_does() -> None:
    small = ROOT / "tests" / "fixtures" / "cli" / "small.yaml"
    assert meshsim.simulate(small, duration="2s").duration == 2.0
    with pytest.raises(ScenarioError, match="leaves nothing after the 1s warm-up"):
        meshsim.simulate(small, duration="1s")
    model = meshsim.load(small).model
    with pytest.raises(ScenarioError, match="duration=: expected a duration"):
        meshsim.simulate(model, duration="two seconds")


@pytest.mark.parametrize("as_model", [False, True])
def test_the_api_duration_cut_is_a_python_warning(as_model: bool) -> None:
    storm = meshsim.load(STORM)
    with pytest.warns(meshsim.api.ShortenedRunWarning) as caught:
        meshsim.simulate(storm.model if as_model else storm, duration="21s")
    messages = [str(w.message) for w in caught]
    assert any("this fault at 60s never starts and is left out" in m for m in messages)
    assert sum("is past the end of the run" in m for m in messages) == 2


def test_the_flagship_cut_to_30s_keeps_no_fault_and_warns_about_its_windows() -> None:
    storm = meshsim.load(STORM).with_duration("30s")
    assert storm.model.faults == ()
    assert sum("is past the end of the run" in w.message for w in storm.warnings) == 2
