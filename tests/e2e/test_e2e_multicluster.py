"""Locality failover through the whole engine (scenarios/multicluster/zone-outage.yaml):
outlier detection turns failover on, maxEjectionPercent counts every zone's hosts (E8), and a
blackholed zone costs each attempt the connect timeout."""

from __future__ import annotations

import pytest
from paths import ROOT

import meshsim
from meshsim.results import Results

SCENARIO = ROOT / "scenarios" / "multicluster" / "zone-outage.yaml"
OD = "DestinationRule/reviews.spec.trafficPolicy.outlierDetection"


def run(overrides: dict[str, object] | None = None) -> Results:
    scenario = meshsim.load(SCENARIO, overrides={"spec.duration": "30s", **(overrides or {})})
    return meshsim.simulate(scenario)


def zone_b_share(results: Results, start: float = 15.0, end: float = 30.0) -> float:
    """Share of reviews attempts served in us-east1-b while the zone-a fault is on."""
    att = results.attempts
    att = att[(att.service == "reviews") & (att.start >= start) & (att.start < end)]
    zone_b = att.pod.astype(str).isin([f"reviews-{i}" for i in range(5, 10)])
    return float(zone_b.mean())


@pytest.fixture(scope="module")
def with_od() -> Results:
    return run()


def test_outlier_detection_fails_the_zone_over(with_od: Results) -> None:
    assert zone_b_share(with_od) > 0.99
    before = with_od.attempts[(with_od.attempts.service == "reviews")
                              & (with_od.attempts.start < 10)]
    # Before the fault everything stays in the caller's zone (priority 0).
    assert before.pod.astype(str).isin([f"reviews-{i}" for i in range(5)]).all()
    kinds = set(with_od.events.kind.astype(str))
    assert "priority-load" in kinds


def test_without_outlier_detection_there_is_no_locality_preference() -> None:
    results = run({OD: None})
    assert zone_b_share(results) == pytest.approx(0.5, abs=0.05)
    assert zone_b_share(results, 2.0, 10.0) == pytest.approx(0.5, abs=0.05)


@pytest.mark.parametrize(("percent", "low", "high"), [(10, 0.0, 0.05), (50, 0.99, 1.0)])
def test_max_ejection_percent_counts_both_zones(percent: int, low: float, high: float) -> None:
    """E8: 10 % of 10 hosts lets one zone-a host go; zone a still looks 4/5 healthy."""
    results = run({f"{OD}.maxEjectionPercent": percent})
    assert low <= zone_b_share(results) <= high


def test_blackholed_zone_costs_the_connect_timeout_without_outlier_detection() -> None:
    results = run({OD: None, "spec.faults[0]": {"at": "10s", "for": "30s", "target": "reviews",
                                                "zone": "us-east1-a", "blackhole": True}})
    att = results.attempts
    att = att[(att.service == "reviews") & (att.start >= 12) & (att.start < 18)]
    in_a = att.pod.astype(str).isin([f"reviews-{i}" for i in range(5)])
    lost = att[in_a]
    assert len(lost) > 0
    assert (lost.latency >= 10.0).all()  # Istio's default connectTimeout, 10 s
    assert set(lost["flags"].astype(str)) == {"UF"}


EASTWEST = ROOT / "scenarios" / "multicluster" / "eastwest-blackhole.yaml"
GATEWAY = "istio-eastwestgateway-west:15443/reviews/us-west1/us-west1-a"


def eastwest(overrides: dict[str, object] | None = None) -> Results:
    scenario = meshsim.load(EASTWEST, overrides={"spec.duration": "30s", **(overrides or {})})
    return meshsim.simulate(scenario)


def test_e9_gateway_host_weighs_the_remote_pods_and_a_blackhole_costs_10s() -> None:
    results = eastwest()
    att = results.attempts
    before = att[(att.service == "reviews") & (att.start < 10)]
    share = (before.pod.astype(str) == GATEWAY).mean()
    assert share == pytest.approx(0.4, abs=0.01)  # weights 1, 1, 1 and 2
    req = results.requests
    during = req[(req.start >= 12) & (req.start < 18)]
    slow = during.latency >= 10.0
    assert slow.mean() == pytest.approx(0.4, abs=0.05)
    assert during.ok.all()  # the default retry (connect-failure, previous_hosts) lands locally
    retried = att[(att.service == "reviews") & (att.start >= 22) & (att.attempt == 2)]
    assert not (retried.pod.astype(str) == GATEWAY).any()


def test_e10_with_outlier_detection_the_remote_region_waits_as_priority_1() -> None:
    od = {"consecutive5xxErrors": 5, "interval": "1s"}
    results = eastwest({OD: od})
    att = results.attempts
    assert not (att[att.service == "reviews"].pod.astype(str) == GATEWAY).any()
    assert results.requests.latency.max() < 1.0


def test_a_refused_link_between_clusters_fails_fast_and_retries_locally() -> None:
    results = eastwest({"spec.faults[0]": {"at": "10s", "for": "20s",
                                           "link": ["east", "west"], "down": True}})
    att = results.attempts
    crossing = att[(att.service == "reviews") & (att.start >= 11) & (att.start < 29)
                   & (att.pod.astype(str) == GATEWAY)]
    assert len(crossing) > 0
    assert set(crossing["flags"].astype(str)) == {"UF"}
    assert (crossing.latency < 0.1).all()  # refused one round trip away, no 10 s wait
    req = results.requests
    assert req[(req.start >= 11) & (req.start < 29)].ok.all()  # the retry lands in east


def test_a_blackholed_link_costs_the_connect_timeout() -> None:
    results = eastwest({"spec.faults[0]": {"at": "10s", "for": "20s",
                                           "link": ["west", "east"], "blackhole": True}})
    att = results.attempts
    crossing = att[(att.service == "reviews") & (att.start >= 11) & (att.start < 18)
                   & (att.pod.astype(str) == GATEWAY)]
    assert len(crossing) > 0 and (crossing.latency >= 10.0 - 1e-9).all()


def test_link_names_two_clusters_of_the_topology() -> None:
    with pytest.raises(meshsim.ScenarioError) as info:
        meshsim.load(EASTWEST, overrides={"spec.faults[0]": {
            "at": "1s", "for": "1s", "link": ["east", "north"], "down": True}})
    assert info.value.location.path == "spec.faults[0].link[1]"


# -- retryRemoteLocalities (previous_priorities) through a zone outage ------------------------

RRL = ROOT / "scenarios" / "multicluster" / "retry-remote-localities.yaml"
RETRIES = "VirtualService/reviews.spec.http[0].retries."


def fault_success(overrides: dict[str, object]) -> tuple[float, float]:
    """Users' success while zone a fails (requests started 12-30 s), and the share of reviews
    attempts then served in zone b."""
    results = meshsim.simulate(meshsim.load(RRL, overrides={"spec.duration": "30s",
                                                             **overrides}))
    req = results.requests
    fault = req[(req.start >= 12) & (req.start < 30)]
    return float(fault.ok.mean()), zone_b_share(results, 12.0, 30.0)


def test_retry_remote_localities_sends_the_second_retry_to_the_other_zone() -> None:
    """No outlier detection: nothing ejects zone a, so first attempts and the first retry stay
    there (update frequency 2); the second retry leaves the tried priority for zone b."""
    ok, zone_b = fault_success({})
    assert ok > 0.99
    # one attempt in three (first, retry 1, retry 2) goes to zone b
    assert zone_b == pytest.approx(1 / 3, abs=0.03)


@pytest.mark.parametrize("override", [{RETRIES + "retryRemoteLocalities": False},
                                      {RETRIES + "attempts": 1}])
def test_without_a_second_retry_priority_update_every_attempt_stays_in_zone_a(
        override: dict[str, object]) -> None:
    ok, zone_b = fault_success(override)
    assert ok < 0.01
    assert zone_b == 0.0
