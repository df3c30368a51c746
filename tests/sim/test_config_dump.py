"""The proxy-config views (``meshsim.api.proxy_config`` over :mod:`meshsim.sim.config_dump`)
say what the scenario configured and, at a time in a run, what the run's events say."""

from __future__ import annotations

import pandas as pd
import pytest
from paths import SCENARIOS

import meshsim
from meshsim.api import proxy_config
from meshsim.errors import ScenarioError

BREAKER = SCENARIOS / "istio" / "circuit-breaker.yaml"
STORM = SCENARIOS / "retry-storm.yaml"
BLACKHOLE = SCENARIOS / "linkerd" / "failure-blackhole.yaml"
ACCRUAL = {"Service/my-service.metadata.annotations":
           {"balancer.linkerd.io/failure-accrual": "consecutive"}}


def test_routes_show_each_virtual_service_and_its_retries() -> None:
    scenario = meshsim.load(STORM)
    view = proxy_config(scenario, "frontend-0").routes
    assert view.columns == ("NAME", "VHOST NAME", "DOMAINS", "MATCH", "VIRTUAL SERVICE")
    rows = {r["VHOST NAME"]: r for r in view.rows}
    assert set(rows) == {f"{s}.default.svc.cluster.local:80"
                         for s in ("frontend", "reviews", "ratings")}
    policy = scenario.model.policy
    assert policy is not None
    for service in ("frontend", "reviews", "ratings"):
        row = rows[f"{service}.default.svc.cluster.local:80"]
        route = policy.routes[service][0]
        assert row["VIRTUAL SERVICE"] == f"{service}.default" and row["MATCH"] == "/*"
        assert route.retry is not None
        assert row["RETRIES"].startswith(f"{route.retry.num_retries} on ")
    assert rows["frontend.default.svc.cluster.local:80"]["TIMEOUT"] == "2s"
    assert rows["reviews.default.svc.cluster.local:80"]["RETRIES"].endswith("per-try 250ms")


def test_clusters_carry_the_destination_rules_settings() -> None:
    scenario = meshsim.load(BREAKER)
    [row] = proxy_config(scenario, "users-0").clusters.rows
    policy = scenario.model.policy
    assert policy is not None
    cluster = policy.clusters[("my-service", None)]
    assert row["DESTINATION RULE"] == "circuit-breaker.default"
    assert row["LB"] == cluster.load_balancer.policy.upper()
    breakers = cluster.circuit_breakers
    assert (f"maxConnections={breakers.max_connections} maxPending="
            f"{breakers.max_pending_requests}") in row["CIRCUIT BREAKERS"]
    assert cluster.outlier is not None
    assert f"consecutive5xx={cluster.outlier.consecutive_5xx} " in row["OUTLIER DETECTION"]
    assert row["PANIC THRESHOLD"] == f"{cluster.panic_threshold:g}%"


def test_subset_clusters_hold_only_their_pods() -> None:
    scenario = meshsim.load(SCENARIOS / "istio" / "canary-split.yaml")
    dumped = proxy_config(scenario, scenario.model.workloads[0].client_names()[0])
    policy = scenario.model.policy
    assert policy is not None
    for (service, subset), spec in policy.subsets.items():
        cluster = f"outbound|80|{subset}|{service}.default.svc.cluster.local"
        pods = [r["POD"] for r in dumped.endpoints.rows if r["CLUSTER"] == cluster]
        deployments = [d for d in scenario.model.topology.services[service].deployments
                       if all(d.labels.get(k) == v for k, v in spec.labels.items())]
        assert pods == [p for d in deployments for p in d.pod_names()]
        assert any(r["SUBSET"] == subset for r in dumped.clusters.rows)


def _first(events: pd.DataFrame, kind: str) -> pd.Series:
    return events[events["kind"] == kind].iloc[0]


def _status(rows: list[dict[str, object]], pod: str, column: str) -> object:
    [row] = [r for r in rows if r["POD"] == pod and "||" in str(r.get("CLUSTER", "||"))]
    return row[column]


def test_an_ejected_host_shows_as_ejected_after_its_ejection_event() -> None:
    scenario = meshsim.load(BREAKER)
    events = meshsim.simulate(scenario.with_duration(8), seed=1).events
    eject = _first(events, "eject")
    proxy, pod, t = str(eject["proxy"]), str(eject["pod"]), float(eject["time"])
    before = proxy_config(scenario, proxy, at=t - 1e-3, seed=1).endpoints.rows
    after = proxy_config(scenario, proxy, at=t + 1e-3, seed=1).endpoints.rows
    assert _status(before, pod, "OUTLIER CHECK") == "OK"
    assert _status(after, pod, "OUTLIER CHECK") == "FAILED"
    assert _status(after, pod, "EJECTED SINCE") == pytest.approx(t)
    assert _status(after, pod, "EJECTIONS") == 1
    others = [r for r in after if r["POD"] != pod]
    assert all(r["OUTLIER CHECK"] == "OK" for r in others)


def test_linkerd_endpoints_follow_failure_accrual_and_carry_ewma() -> None:
    scenario = meshsim.load(BLACKHOLE, ACCRUAL)
    events = meshsim.simulate(scenario.with_duration(12), seed=1).events
    eject = _first(events, "eject")
    proxy, pod, t = str(eject["proxy"]), str(eject["pod"]), float(eject["time"])
    uneject = events[(events["kind"] == "uneject") & (events["proxy"] == proxy)].iloc[0]
    dump = proxy_config(scenario, proxy, at=t + 1e-3, seed=1)
    assert dump.mesh == "linkerd"
    state = {r["POD"]: r["STATE"] for r in dump.endpoints.rows}
    assert state[pod] == "ejected"
    assert all(s == "ready" for p, s in state.items() if p != pod)
    assert all(r["EWMA"].endswith("ms") for r in dump.endpoints.rows)
    later = proxy_config(scenario, proxy, at=float(uneject["time"]) + 1e-6, seed=1)
    assert {r["POD"]: r["STATE"] for r in later.endpoints.rows}[pod] == "probation"
    [backend] = dump.clusters.rows
    assert backend["FAILURE ACCRUAL"].startswith("consecutive maxFailures=7 ")
    [route] = dump.routes.rows
    assert route["BUDGET"] == "retryRatio=0.2 minRetriesPerSecond=10 ttl=10s"


def test_before_the_run_every_endpoint_is_healthy_and_idle() -> None:
    rows = proxy_config(meshsim.load(BREAKER), "users-0").endpoints.rows
    assert rows and all(r["OUTLIER CHECK"] == "OK" and r["ACTIVE REQUESTS"] == 0 for r in rows)


def test_unknown_proxy_and_time_outside_the_run_are_errors() -> None:
    scenario = meshsim.load(BREAKER)
    with pytest.raises(ScenarioError, match="no proxy named 'nope'; proxies: my-service-0"):
        proxy_config(scenario, "nope")
    with pytest.raises(ScenarioError, match="not within the run"):
        proxy_config(scenario, "users-0", at="2m")


def test_endpoints_show_priority_weight_and_locality_in_a_multicluster_run() -> None:
    od = "DestinationRule/reviews.spec.trafficPolicy.outlierDetection"
    scenario = meshsim.load(SCENARIOS / "multicluster" / "eastwest-blackhole.yaml",
                            overrides={od: {"consecutive5xxErrors": 5}})
    rows = {r["POD"]: r for r in proxy_config(scenario, "frontend-0", at=2.0).endpoints.rows
            if "reviews" in r["CLUSTER"]}
    gateway = rows["istio-eastwestgateway-west:15443/reviews/us-west1/us-west1-a"]
    assert (gateway["PRIORITY"], gateway["WEIGHT"], gateway["LOCALITY"]) == (
        1, 2, "us-west1/us-west1-a")
    assert (rows["reviews-0"]["PRIORITY"], rows["reviews-0"]["WEIGHT"]) == (0, 1)
