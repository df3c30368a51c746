"""Attempts placed by the serving pod's cluster and zone; per-zone shares through a fault."""

from __future__ import annotations

import pytest
from paths import ROOT

import meshsim

SCENARIOS = ROOT / "scenarios" / "multicluster"


@pytest.fixture(scope="module")
def eastwest() -> meshsim.Results:
    return meshsim.simulate(meshsim.load(SCENARIOS / "eastwest-blackhole.yaml",
                                         overrides={"spec.duration": "12s"}))


def test_places_cover_pods_and_gateway_hosts(eastwest: meshsim.Results) -> None:
    places = eastwest.places.set_index("pod")
    assert places.loc["reviews-0", "cluster"] == "east"
    assert places.loc["reviews-4", "zone"] == "us-west1-a"
    gateway = "istio-eastwestgateway-west:15443/reviews/us-west1/us-west1-a"
    assert places.loc[gateway, "network"] == "network2"
    # every attempt's pod has a place
    pods = set(eastwest.attempts.pod.astype(str))
    assert pods <= set(places.index)


def test_zone_shares_follow_the_weights(eastwest: meshsim.Results) -> None:
    shares = eastwest.zone_shares("reviews", bucket=5.0)
    assert list(shares.columns) == ["east/us-east1-a", "west/us-west1-a"]
    assert shares.sum(axis=1).to_numpy() == pytest.approx(1.0)
    assert shares.loc[5.0, "west/us-west1-a"] == pytest.approx(0.4, abs=0.02)
    fig = eastwest.plot_zone_shares("reviews")
    assert fig.axes[0].get_ylabel() == "reviews attempts (%)"


def test_zone_shift_through_a_zone_outage() -> None:
    results = meshsim.simulate(meshsim.load(SCENARIOS / "zone-outage.yaml",
                                            overrides={"spec.duration": "20s"}))
    shares = results.zone_shares("reviews", bucket=5.0)
    assert shares.loc[5.0, "east/us-east1-a"] == pytest.approx(1.0)
    assert shares.loc[15.0, "east/us-east1-b"] > 0.99


def test_a_run_without_topology_has_no_places() -> None:
    results = meshsim.simulate(meshsim.load(ROOT / "scenarios" / "single-queue.yaml"))
    assert results.places.empty


def test_gateways_table_for_an_east_west_gateway(eastwest: meshsim.Results) -> None:
    table = eastwest.gateways()
    row = table.iloc[0]
    assert row.gateway == "istio-eastwestgateway-west"
    assert row.cluster == "west"
    assert row.alive == "-"  # Istio probes no gateway
    assert row.num_svc == 1
    assert 0.030 < row.latency_p50 < 0.05  # 15 ms each way across regions
