"""Linkerd multicluster (scenarios/multicluster/linkerd-gateway.yaml): mirrors, the gateway
probe and what clients see; detection times pinned to E16 of reference/multicluster.md §3
(within a probe period)."""

from __future__ import annotations

import pandas as pd
import pytest
from paths import ROOT

import meshsim
from meshsim.results import Results

SCENARIO = ROOT / "scenarios" / "multicluster" / "linkerd-gateway.yaml"
GATEWAY = "linkerd-gateway-west:4143/reviews-west"


def run(overrides: dict[str, object] | None = None) -> Results:
    return meshsim.simulate(meshsim.load(SCENARIO, overrides=overrides or {}))


def liveness(results: Results) -> pd.DataFrame:
    events = results.events
    return events[events.kind.astype(str).isin(["gateway-dead", "gateway-alive"])]


def test_mirror_names_and_endpoints() -> None:
    scenario = meshsim.load(SCENARIO)
    services = scenario.model.topology.services
    assert services["reviews-west"].mirror is not None
    assert services["reviews-east"].mirror is not None
    results = meshsim.simulate(scenario.with_duration("9s"))
    att = results.attempts
    # frontend's calls to reviews-west all go to west's gateway, one endpoint
    assert set(att[att.service == "reviews-west"].pod.astype(str)) == {GATEWAY}


def test_e16_refused_gateway_is_dead_after_three_probes_and_alive_after_one() -> None:
    results = run()
    changes = liveness(results)
    assert list(changes.kind.astype(str)) == ["gateway-dead", "gateway-alive"]
    dead, alive = changes.time.tolist()
    # fault at 10 s: three failed probes, ticks 3 s + U[0, 0.3 s) apart
    assert 10 + 2 * 3.0 <= dead <= 10 + 3 * 3.3 + 0.1
    assert 30 <= alive <= 30 + 3.3 + 0.1  # the first good probe
    req = results.requests
    before = req[(req.start >= 11) & (req.start < dead - 0.5)]
    assert not before.ok.any()  # connects refused until detection
    after = req[req.start >= alive + 0.5]
    assert after.ok.mean() > 0.99


def test_e16_blackholed_gateway_takes_about_100_seconds() -> None:
    results = run({"spec.duration": "130s",
                   "spec.faults[0]": {"at": "10s", "for": "115s", "gateway": "west",
                                      "blackhole": True}})
    changes = liveness(results)
    dead = float(changes[changes.kind.astype(str) == "gateway-dead"].time.iloc[0])
    assert 10 + 3 * 30 <= dead <= 10 + 3 * (30 + 3.3) + 0.1


def test_probe_spec_sets_period_and_threshold() -> None:
    results = run({"spec.topology.clusters.west.probe": {"period": "1s",
                                                         "failureThreshold": 2}})
    dead = float(liveness(results).time.iloc[0])
    assert 10 + 1.0 <= dead <= 10 + 2 * 1.1 + 0.1


def test_own_cluster_service_stays_in_its_cluster() -> None:
    results = run({"spec.services.frontend.calls": ["reviews"], "spec.duration": "5s"})
    att = results.attempts
    pods = set(att[att.service == "reviews"].pod.astype(str))
    assert pods == {"reviews-0", "reviews-1"}  # east's pods; west's only via the mirror


def test_federated_service_unions_every_cluster() -> None:
    results = run({"spec.services.reviews.labels": {"mirror.linkerd.io/federated": "member"},
                   "spec.services.frontend.calls": ["reviews-federated"],
                   "spec.faults": [], "spec.duration": "5s"})
    att = results.attempts
    # pod IPs of every member cluster (rows name the serving pod's own service)
    pods = set(att[att.caller.astype(str).str.startswith("frontend")].pod.astype(str))
    assert pods == {"reviews-0", "reviews-1", "reviews-2", "reviews-3"}


def test_unknown_gateway_cluster_is_a_located_error() -> None:
    with pytest.raises(meshsim.ScenarioError) as info:
        meshsim.load(SCENARIO, overrides={"spec.faults[0].gateway": "north"})
    assert info.value.location.path == "spec.faults[0].gateway"


FAILOVER = ROOT / "scenarios" / "multicluster" / "linkerd-failover.yaml"


def test_linkerd_failover_switches_when_the_mirror_goes_not_ready() -> None:
    results = meshsim.simulate(meshsim.load(FAILOVER))
    events = results.events
    kinds = events.kind.astype(str)
    dead = float(events[kinds == "gateway-dead"].time.iloc[0])
    switches = events[kinds == "failover"]
    assert switches.time.tolist()[0] == pytest.approx(dead)
    assert "failing over to fallbacks" in str(switches.detail.iloc[0])
    assert "switching traffic to primary" in str(switches.detail.iloc[1])
    req = results.requests
    assert not req[(req.start >= 11) & (req.start < dead - 0.5)].ok.any()
    assert req[(req.start >= dead + 0.5) & (req.start < 30)].ok.mean() > 0.99
    after = results.attempts[results.attempts.start > dead + 0.5]
    served = set(after[after.caller.astype(str).str.startswith("frontend")].pod.astype(str))
    assert served <= {"reviews-0", "reviews-1", GATEWAY}


def test_without_the_controller_label_nothing_fails_over() -> None:
    scenario = meshsim.load(FAILOVER, overrides={"TrafficSplit/reviews.metadata.labels": None})
    assert any("does not select it" in w.message for w in scenario.warnings)
    results = meshsim.simulate(scenario)
    assert "failover" not in set(results.events.kind.astype(str))
    req = results.requests
    assert not req[(req.start >= 11) & (req.start < 30)].ok.any()


def test_a_cut_link_fails_the_probes_like_a_blackholed_gateway() -> None:
    results = run({"spec.duration": "130s",
                   "spec.faults[0]": {"at": "10s", "for": "115s", "link": ["east", "west"],
                                      "blackhole": True}})
    changes = liveness(results)
    dead = float(changes[changes.kind.astype(str) == "gateway-dead"].time.iloc[0])
    assert 10 + 3 * 30 <= dead <= 10 + 3 * (30 + 3.3) + 0.1


def test_a_frozen_control_plane_keeps_the_dead_gateway_endpoint() -> None:
    def to_gateway(results: Results, start: float, end: float) -> int:
        att = results.attempts
        return int(((att.pod.astype(str) == GATEWAY) & (att.start >= start)
                    & (att.start < end)).sum())

    plain = run()
    frozen = run({"spec.faults": [{"at": "10s", "for": "20s", "gateway": "west", "down": True},
                                  {"at": "5s", "for": "20s", "freeze": "east"}]})
    assert to_gateway(plain, 20, 25) == 0  # the mirror is empty after detection (18.9 s)
    assert to_gateway(frozen, 20, 25) > 100  # east's proxies still send to the gateway
    assert to_gateway(frozen, 25.5, 30) == 0  # caught up when the freeze ends


FEDERATED = ROOT / "scenarios" / "multicluster" / "linkerd-federated.yaml"


@pytest.mark.parametrize(("overrides", "low", "high"), [
    ({}, 0.0, 0.05),  # failure accrual takes the refusing west pods out
    ({"Service/reviews-federated.metadata.annotations": None}, 0.2, 0.4),  # fast failures
])
def test_federated_service_losing_a_cluster(overrides: dict[str, object], low: float,
                                            high: float) -> None:
    results = meshsim.simulate(meshsim.load(FEDERATED, overrides=overrides))
    att = results.attempts
    during = att[(att.service == "reviews") & (att.start >= 12) & (att.start < 30)]
    west = during.pod.astype(str).isin(["reviews-3", "reviews-4", "reviews-5"]).mean()
    assert low <= west <= high
