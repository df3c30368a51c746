"""Workload fields for closed loops, k6 executors, ramps and app clients: parsed into the
model, and every bad value one clean located line."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from meshsim.config import Scenario
from meshsim.errors import ScenarioError
from meshsim.model import Backoff, ClientBreaker, ClosedLoop, Exponential, Hedging, RetryQuota

Loader = Callable[..., Scenario]
RATE = "      rate: 100/s\n"


def with_workload(base: str, fields: str) -> str:
    return base.replace(RATE, "".join(f"      {line}\n" for line in fields.splitlines()))


def test_fortio_style_connections(load: Loader, base: str) -> None:
    s = load(with_workload(base, "connections: 3\nqps: 0\nrequests: 30\nthinkTime: 0s"))
    assert s.model.workloads[0].closed == ClosedLoop(3, requests=30)
    assert s.model.workloads[0].schedule == ()


def test_users_who_think(load: Loader, base: str) -> None:
    s = load(with_workload(base, "users: 50\nthinkTime: exponential(2s)\nduration: 30s\n"
                                 "executor: constant-vus"))
    assert s.model.workloads[0].closed == ClosedLoop(50, Exponential(2.0), duration=30.0)


def test_constant_arrival_rate_and_ramps(load: Loader, base: str) -> None:
    s = load(with_workload(base, "rate: [{at: 0s, rate: 10/s}, {at: 30s, rate: 200/s, "
                                 "ramp: true}]\nexecutor: constant-arrival-rate\nmaxVUs: 20"))
    wl = s.model.workloads[0]
    assert wl.max_vus == 20 and wl.ramps and wl.closed is None


def test_a_client_policy_with_the_libraries_defaults(load: Loader, base: str) -> None:
    s = load(with_workload(base, RATE.strip() + "\nclient:\n  maxAttempts: 3\n"
                           "  perTryTimeout: 1s\n  timeout: 5s\n  retryQuota: standard\n"
                           "  circuitBreaker: {minimumNumberOfCalls: 20}\n"
                           "  backoff: {jitter: decorrelated, base: 100ms}"))
    policy = s.model.workloads[0].client
    assert policy is not None
    assert (policy.attempts, policy.per_try_timeout, policy.timeout) == (3, 1.0, 5.0)
    assert policy.quota == RetryQuota(500.0, 5.0, 10.0, 1.0)
    assert policy.breaker == ClientBreaker(50.0, 100, 20, 60.0, 10)
    assert policy.backoff == Backoff(0.1, 20.0, "decorrelated")


def test_hedging(load: Loader, base: str) -> None:
    s = load(with_workload(base, RATE.strip() + "\nclient: {hedging: {hedgingDelay: 20ms}}"))
    policy = s.model.workloads[0].client
    assert policy is not None and policy.hedging == Hedging(0.02, 2)


@pytest.mark.parametrize(
    ("fields", "path", "words"),
    [
        ("users: 3\nconnections: 3", "spec.workload[0].connections", ("not both",)),
        ("users: 3\nrate: 10/s", "spec.workload[0].rate", ("exclude each other", "maxVUs")),
        ("clients: 2", "spec.workload[0]", ("needs rate", "users/connections")),
        ("rate: 10/s\nthinkTime: 1s", "spec.workload[0].thinkTime", ("closed loop",)),
        ("rate: 10/s\nqps: 5", "spec.workload[0].qps", ("closed loop",)),
        ("rate: 10/s\nexecutor: constant-vus", "spec.workload[0].executor", ("needs users",)),
        ("rate: 10/s\nexecutor: constant-arrival-rate", "spec.workload[0].executor",
         ("needs maxVUs",)),
        ("users: 2\nmaxVUs: 3", "spec.workload[0].maxVUs", ("need none",)),
        ("users: 2\nexecutor: ramping-vus", "spec.workload[0].executor",
         ("expected one of",)),
        ("users: 0", "spec.workload[0].users", ()),
        ("rate: [{at: 0s, rate: 5/s, ramp: true}]", "spec.workload[0].rate[0].ramp",
         ("previous point",)),
        ("users: 2\nclient: {maxAttempts: 3, hedging: {hedgingDelay: 5ms}}",
         "spec.workload[0].client.hedging", ("exclude each other",)),
        ("users: 2\nclient: {backoff: {jitter: ful}}", "spec.workload[0].client.backoff.jitter",
         ("did you mean 'full'?",)),
        ("users: 2\nclient: {retryQuota: adaptive}", "spec.workload[0].client.retryQuota",
         ("'standard'",)),
        ("users: 2\nclient: {circuitBreaker: {failureRateThreshold: 150}}",
         "spec.workload[0].client.circuitBreaker.failureRateThreshold", ()),
    ],
)
def test_bad_client_fields(load: Loader, base: str, fields: str, path: str,
                           words: tuple[str, ...]) -> None:
    with pytest.raises(ScenarioError) as info:
        load(with_workload(base, fields))
    assert "\n" not in str(info.value)
    assert info.value.location.path == path
    assert info.value.location.line is not None
    for word in words:
        assert word in info.value.message


CALL = "      calls: [ratings]\n"


def with_call(base: str, call: str) -> str:
    return base.replace(CALL, f"      calls: [{call}]\n")


def test_a_client_on_a_call_reaches_the_model(load: Loader, base: str) -> None:
    s = load(with_call(base, "{service: ratings, client: {maxAttempts: 3, retryQuota: standard,"
                             " backoff: {base: 25ms, max: 1s, jitter: equal}}}"))
    call = s.model.topology.services["frontend"].deployments[0].calls[0]
    assert call.client is not None and call.client.attempts == 3  # type: ignore[union-attr]
    assert call.client.quota == RetryQuota()  # type: ignore[union-attr]
    assert call.client.backoff == Backoff(0.025, 1.0, "equal")  # type: ignore[union-attr]
    plain = load(base).model.topology.services["frontend"].deployments[0].calls[0]
    assert plain.client is None  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("call", "path", "words"),
    [
        ("{service: ratings, client: {maxAttempts: 0}}",
         "spec.services.frontend.calls[0].client.maxAttempts", ()),
        ("{service: ratings, client: {maxAttempts: 2, hedging: {hedgingDelay: 5ms}}}",
         "spec.services.frontend.calls[0].client.hedging", ("exclude each other",)),
        ("{parallel: [ratings], client: {maxAttempts: 2}}",
         "spec.services.frontend.calls[0]", ("takes only 'parallel'",)),
    ],
)
def test_bad_clients_on_calls(load: Loader, base: str, call: str, path: str,
                              words: tuple[str, ...]) -> None:
    with pytest.raises(ScenarioError) as info:
        load(with_call(base, call))
    assert "\n" not in str(info.value)
    assert info.value.location.path == path
    assert info.value.location.line is not None
    for word in words:
        assert word in info.value.message
