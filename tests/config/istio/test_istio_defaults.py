"""What Istio emits when manifests say nothing, and what changes with the Istio release."""

from __future__ import annotations

import pytest
from istio_helpers import find, run, service, topology

from meshsim.config.istio import profile_for
from meshsim.errors import ScenarioError
from meshsim.model.clusters import U32_MAX, RetryBudget

TOPO = topology(service("reviews", "v1", "v2"), service("ratings"))

NOTHING = """\
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: only-ratings}
spec:
  hosts: [ratings]
  http:
    - route:
        - destination: {host: ratings}
"""


def dr(policy: str, host: str = "reviews") -> str:
    """A DestinationRule for ``host`` with the trafficPolicy YAML given (indented 4)."""
    return (
        "apiVersion: networking.istio.io/v1beta1\nkind: DestinationRule\n"
        f"metadata: {{name: dr-{host}}}\nspec:\n  host: {host}\n  trafficPolicy:\n"
        + "".join(f"    {line}\n" for line in policy.strip().splitlines())
    )


@pytest.mark.parametrize(("version", "codes"), [("1.22", {503}), ("1.23.4", {503}),
                                                ("1.24", set()), (None, set())])
def test_default_retry_policy_per_release(version: str | None, codes: set[int]) -> None:
    result = run(NOTHING, TOPO, version)
    for retry in (result.policy.default_retry, result.policy.routes["ratings"][0].retry):
        assert retry is not None
        assert retry.num_retries == 2
        assert retry.retry_on == {"connect-failure", "refused-stream", "unavailable",
                                  "cancelled", "retriable-status-codes"}
        assert retry.retriable_status_codes == codes
        assert retry.previous_hosts and retry.host_selection_attempts == 5
        assert retry.per_try_timeout == 0.0 and retry.backoff_base == 0.025


def test_services_without_virtual_service_get_the_default_route() -> None:
    policy = run(NOTHING, TOPO).policy
    assert "reviews" not in policy.routes
    assert policy.default_timeout == 0.0
    assert policy.routes["ratings"][0].timeout == 0.0


def test_default_cluster_is_least_request_with_breakers_off() -> None:
    cluster = run(NOTHING, TOPO).policy.default_cluster
    breakers = cluster.circuit_breakers
    assert cluster.load_balancer.policy == "least_request"
    assert (breakers.max_connections, breakers.max_pending_requests, breakers.max_requests,
            breakers.max_retries) == (U32_MAX,) * 4
    assert breakers.retry_budget is None and breakers.max_requests_per_connection == 0
    assert cluster.outlier is None
    assert cluster.panic_threshold == 50.0
    assert cluster.connect_timeout == 10.0


def test_a_rule_without_pool_settings_still_gets_istio_thresholds() -> None:
    cluster = run(dr("loadBalancer: {simple: RANDOM}"), TOPO).policy.clusters[("reviews", None)]
    assert cluster.circuit_breakers.max_retries == U32_MAX
    assert cluster.load_balancer.policy == "random"
    assert cluster.panic_threshold == 50.0


def test_zero_pool_values_mean_unset() -> None:
    pool = """
connectionPool:
  tcp: {maxConnections: 0, connectTimeout: 250ms}
  http: {http1MaxPendingRequests: 0, http2MaxRequests: 7, maxRetries: 0}
"""
    cluster = run(dr(pool), TOPO).policy.clusters[("reviews", None)]
    breakers = cluster.circuit_breakers
    assert breakers.max_connections == breakers.max_pending_requests == U32_MAX
    assert breakers.max_requests == 7
    assert breakers.max_retries == U32_MAX
    assert cluster.connect_timeout == 0.25


@pytest.mark.parametrize(
    ("version", "budget"),
    [("1.27", RetryBudget(0.2, 3)), ("1.29", RetryBudget(0.2, 3)), ("1.30", RetryBudget(20.0, 3)),
     (None, RetryBudget(20.0, 3))],
)
def test_retry_budget_defaults_per_release(version: str | None, budget: RetryBudget) -> None:
    cluster = run(dr("retryBudget: {minRetryConcurrency: 0}"), TOPO, version).policy.clusters[
        ("reviews", None)]
    assert cluster.circuit_breakers.retry_budget == budget


def test_retry_budget_as_written() -> None:
    cluster = run(dr("retryBudget: {percent: 35, minRetryConcurrency: 7}"), TOPO).policy.clusters[
        ("reviews", None)]
    assert cluster.circuit_breakers.retry_budget == RetryBudget(35.0, 7)


def test_retry_budget_before_1_27_is_ignored_with_a_warning() -> None:
    result = run(dr("retryBudget: {percent: 35}"), TOPO, "1.26")
    assert result.policy.clusters[("reviews", None)].circuit_breakers.retry_budget is None
    warning = find(result.warnings, "retryBudget exists from Istio 1.27")
    assert warning.code == "version"
    assert warning.location.path == "DestinationRule/dr-reviews spec.trafficPolicy.retryBudget"


HASHED = """\
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
    - route:
        - destination: {host: reviews}
---
""" + dr("loadBalancer: {consistentHash: {httpHeaderName: x-user}}")


@pytest.mark.parametrize(("version", "previous_hosts"), [("1.22", True), ("1.23", False)])
def test_consistent_hash_routes_drop_previous_hosts_from_1_23(
    version: str, previous_hosts: bool
) -> None:
    (route,) = run(HASHED, TOPO, version).policy.routes["reviews"]
    assert route.retry is not None and route.retry.previous_hosts is previous_hosts
    assert route.hash_key is not None and route.hash_key.name == "x-user"


RETRY_FIELDS = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ratings}
spec:
  hosts: [ratings]
  http:
    - route:
        - destination: {host: ratings}
      retries:
        attempts: 4
        backoff: 100ms
        retryIgnorePreviousHosts: false
"""


def test_backoff_and_previous_hosts_fields_from_1_26() -> None:
    retry = run(RETRY_FIELDS, TOPO, "1.26").policy.routes["ratings"][0].retry
    assert retry is not None
    assert (retry.num_retries, retry.backoff_base, retry.backoff_max) == (4, 0.1, None)
    assert retry.previous_hosts is False


def test_backoff_and_previous_hosts_fields_are_ignored_before_1_26() -> None:
    result = run(RETRY_FIELDS, TOPO, "1.25")
    retry = result.policy.routes["ratings"][0].retry
    assert retry is not None
    assert (retry.backoff_base, retry.previous_hosts) == (0.025, True)
    assert [w.location.path.rsplit(".", 1)[1] for w in result.warnings
            if w.code == "version"] == ["retryIgnorePreviousHosts", "backoff"]


UNEVEN = """\
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
    - route:
        - {destination: {host: reviews, subset: v1}, weight: 1}
        - {destination: {host: reviews, subset: v2}, weight: 2}
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]
"""


def test_weights_need_not_sum_to_100_from_1_15() -> None:
    (route,) = run(UNEVEN, TOPO, "1.15").policy.routes["reviews"]
    assert [b.weight for b in route.backends] == [1, 2]
    with pytest.raises(ScenarioError, match="requires 100") as caught:
        run(UNEVEN, TOPO, "1.14")
    assert caught.value.location.path == "VirtualService/reviews spec.http[0].route"


def test_profile_switches() -> None:
    old, new = profile_for("1.22"), profile_for(None)
    assert old.shadow_host_suffix and not new.shadow_host_suffix
    assert not old.inbound_retries and new.inbound_retries
    assert new.version == "1.31"
    assert profile_for("v1.24.2").version == "1.24"


@pytest.mark.parametrize("version", ["latest", "2.0", "1"])
def test_a_version_that_is_no_istio_release_is_an_error(version: str) -> None:
    with pytest.raises(ScenarioError, match="not an Istio release") as caught:
        profile_for(version)
    assert caught.value.location.path == "spec.meshVersion"
