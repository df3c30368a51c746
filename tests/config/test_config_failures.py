"""The ``errors`` field: the short form unchanged, the error model, and one clear line per
bad input (file, line, YAML path)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from meshsim.config import Scenario
from meshsim.errors import ScenarioError
from meshsim.model import Deployment, Exponential

Loader = Callable[..., Scenario]

TEXT = """\
apiVersion: meshsim/v1alpha1
kind: Scenario
spec:
  duration: 10s
  services:
    web:
      latency: exponential(5ms)
      calls: [api]
    api:
      replicas: 3
      latency: exponential(10ms)
      errors: {errors}
  workload:
    - {{name: users, target: web, rate: 100/s}}
"""


def _api(scenario: Scenario) -> Deployment:
    return scenario.model.topology.services["api"].deployments[0]


def test_the_short_form_is_a_plain_rate(load: Loader) -> None:
    short = _api(load(TEXT.format(errors="0.02")))
    assert (short.errors, short.failure) == (0.02, None)
    only_rate = _api(load(TEXT.format(errors="{rate: 2%}")))
    assert (only_rate.errors, only_rate.failure) == (0.02, None)


def test_the_mapping_builds_an_error_model(load: Loader) -> None:
    dep = _api(load(TEXT.format(
        errors="{rate: 10%, status: {503: 3, 500: 1}, latency: immediate, badPods: 2, "
               "burst: {onFor: 2s, offFor: 8s}, perQueued: 0.05}")))
    model = dep.failure
    assert model is not None
    assert model.rate == pytest.approx(0.1)
    assert model.outcomes == ((503, 0.75), (500, 0.25))
    assert model.latency == "immediate"
    assert model.pods == (0, 1)
    assert model.burst is not None and (model.burst.on, model.burst.off) == (2.0, 8.0)
    assert model.per_queued == pytest.approx(0.05)


def test_transport_outcomes_and_an_error_latency_distribution(load: Loader) -> None:
    dep = _api(load(TEXT.format(
        errors="{rate: 0.5, status: {reset: 1, connect-failure: 1}, latency: 'exponential(1s)', "
               "pods: [2]}")))
    assert dep.failure is not None
    assert dep.failure.outcomes == (("reset", 0.5), ("connect-failure", 0.5))
    assert dep.failure.latency == Exponential(1.0)
    assert dep.failure.pods == (2,)


def test_a_fault_takes_an_error_model(load: Loader) -> None:
    text = TEXT.format(errors="0") + (
        "  faults:\n    - {at: 1s, for: 2s, target: api, errors: {rate: 0.3, status: {429: 1}}}\n")
    fault = load(text).model.faults[0]
    assert fault.errors == pytest.approx(0.3)
    assert fault.failure is not None and fault.failure.outcomes == ((429, 1.0),)


BAD = {
    "{rate: 0.1, status: {703: 1}}": ("spec.services.api.errors.status[703]",
                                      "703 is not an HTTP status (100-599)"),
    "{rate: 0.1, status: {rest: 1}}": ("spec.services.api.errors.status.rest",
                                       "did you mean 'reset'?"),
    "{rate: 0.1, status: {503: -1}}": ("spec.services.api.errors.status[503]",
                                       "a weight is a number at least 0"),
    "{rate: 0.1, status: {503: 0}}": ("spec.services.api.errors.status", "add up to 0"),
    "{rate: 0.1, pods: [5]}": ("spec.services.api.errors.pods[0]",
                               "pod index 5 is out of range: there are 3 pod(s)"),
    "{rate: 0.1, badPods: 4}": ("spec.services.api.errors.badPods",
                                "badPods is 4 but there are only 3 pod(s)"),
    "{rate: 0.1, pods: [0], badPods: 1}": ("spec.services.api.errors.badPods", "not both"),
    "{rate: 0.1, latency: immediately}": ("spec.services.api.errors.latency",
                                          "did you mean 'immediate'?"),
    "{rat: 0.1}": ("spec.services.api.errors.rat", "did you mean 'rate'?"),
    "{rate: 120%}": ("spec.services.api.errors.rate", "between 0 and 1"),
    "{rate: 0.1, burst: {onFor: 1s}}": ("spec.services.api.errors.burst.offFor",
                                     "missing required field"),
}


@pytest.mark.parametrize("errors", list(BAD))
def test_bad_input_is_one_located_line(load: Loader, errors: str) -> None:
    path, words = BAD[errors]
    with pytest.raises(ScenarioError) as info:
        load(TEXT.format(errors=errors))
    err = info.value
    assert err.location is not None
    assert err.location.path == path
    assert err.location.line == 12
    assert words in str(err)


def test_a_fault_cannot_pick_bad_pods(load: Loader) -> None:
    text = TEXT.format(errors="0") + (
        "  faults:\n    - {at: 1s, for: 2s, target: api, errors: {rate: 0.3, badPods: 1}}\n")
    with pytest.raises(ScenarioError) as info:
        load(text)
    assert info.value.location is not None
    assert info.value.location.path == "spec.faults[0].errors.badPods"
    assert info.value.location.line == 16
    assert "a fault's target already names its pods" in str(info.value)


def test_overrides_reach_both_forms(load: Loader) -> None:
    """``--set ...errors=0.2`` replaces a model by the short form; ``errors.rate`` edits it."""
    text = TEXT.format(errors="{rate: 1%, status: {503: 1}}")
    short = _api(load(text, {"spec.services.api.errors": 0.2}))
    assert (short.errors, short.failure) == (0.2, None)
    edited = _api(load(text, {"spec.services.api.errors.rate": "20%"}))
    assert edited.failure is not None and edited.failure.rate == pytest.approx(0.2)
    assert edited.failure.outcomes == ((503, 1.0),)
