"""``protocol: grpc`` and the ``grpcStatus`` mix of a gRPC service's error model."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from meshsim.config import Scenario
from meshsim.errors import ScenarioError

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
      protocol: {protocol}
      replicas: 3
      latency: exponential(10ms)
      errors: {errors}
  workload:
    - {{name: users, target: web, rate: 100/s}}
"""


def test_protocol_defaults_to_http_and_grpc_is_kept(load: Loader) -> None:
    scenario = load(TEXT.format(protocol="grpc", errors="0"))
    services = scenario.model.topology.services
    assert services["api"].deployments[0].grpc
    assert not services["web"].deployments[0].grpc


def test_grpc_status_names_and_codes_weigh_with_the_http_mix(load: Loader) -> None:
    dep = load(TEXT.format(
        protocol="grpc",
        errors="{rate: 2%, grpcStatus: {UNAVAILABLE: 2, 13: 1}, status: {reset: 1}}",
    )).model.topology.services["api"].deployments[0]
    assert dep.failure is not None
    assert dict(dep.failure.outcomes) == pytest.approx(
        {"reset": 0.25, 1014: 0.5, 1013: 0.25})


BAD = {
    ("http", "{rate: 1%, grpcStatus: {UNAVAILABLE: 1}}"): (
        "spec.services.api.errors.grpcStatus", "needs 'protocol: grpc'", 13),
    ("grpc", "{rate: 1%, grpcStatus: {UNAVAILBLE: 1}}"): (
        "spec.services.api.errors.grpcStatus.UNAVAILBLE", "did you mean 'UNAVAILABLE'?", 13),
    ("grpc", "{rate: 1%, grpcStatus: {0: 1}}"): (
        "spec.services.api.errors.grpcStatus[0]", "not a non-OK gRPC status", 13),
    ("grpc", "{rate: 1%, grpcStatus: {17: 1}}"): (
        "spec.services.api.errors.grpcStatus[17]", "not a non-OK gRPC status", 13),
    ("grpc", "{rate: 1%, grpcStatus: {UNAVAILABLE: -1}}"): (
        "spec.services.api.errors.grpcStatus.UNAVAILABLE", "at least 0", 13),
    ("grcp", "0"): ("spec.services.api.protocol", "grpc", 10),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_one_located_line(load: Loader, case: tuple[str, str]) -> None:
    path, words, line = BAD[case]
    protocol, errors = case
    with pytest.raises(ScenarioError) as info:
        load(TEXT.format(protocol=protocol, errors=errors))
    err = info.value
    assert err.location is not None
    assert err.location.path == path
    assert err.location.line == line
    assert words in str(err)
    assert "\n" not in str(err)


def test_a_fault_s_grpc_status_needs_a_grpc_target(load: Loader) -> None:
    fault = ("  faults:\n    - {at: 1s, for: 2s, target: web, "
             "errors: {rate: 0.3, grpcStatus: {UNAVAILABLE: 1}}}\n")
    with pytest.raises(ScenarioError) as info:
        load(TEXT.format(protocol="grpc", errors="0") + fault)
    assert info.value.location is not None
    assert info.value.location.path == "spec.faults[0].errors.grpcStatus"
    ok = fault.replace("target: web", "target: api-1")
    model = load(TEXT.format(protocol="grpc", errors="0") + ok).model
    assert model.faults[0].failure is not None
