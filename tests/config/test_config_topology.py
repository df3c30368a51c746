"""``spec.topology`` and ``placement``: places per pod and client, and located errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshsim.config import load_scenario
from meshsim.errors import ScenarioError
from meshsim.model.geography import Place

BASE = """\
apiVersion: meshsim/v1alpha1
kind: Scenario
spec:
  mesh: istio
  duration: 5s
  topology:
    clusters:
      east: {{region: us-east1, zones: [a, b]}}
      west: {{region: us-west1, network: net2}}
    latency: {{crossRegion: 20ms}}
  services:
    web:
      latency: constant(1ms)
      calls: [api]
      placement: [{{cluster: east, zone: a}}]
    api:
      latency: constant(1ms)
      placement:
{api}
  workload:
    - {{name: users, target: web, rate: 10/s, placement: {{cluster: east, zone: a}}}}
  faults:
{faults}
"""
GOOD_API = """\
        - {cluster: east, zone: a, replicas: 2}
        - {cluster: west, replicas: 1}"""
NO_FAULTS = "    []"


def write(tmp_path: Path, api: str = GOOD_API, faults: str = NO_FAULTS) -> Path:
    path = tmp_path / "mc.yaml"
    path.write_text(BASE.format(api=api, faults=faults))
    return path


def test_placement_gives_each_pod_and_the_clients_a_place(tmp_path: Path) -> None:
    model = load_scenario(write(tmp_path)).model
    api = model.topology.services["api"].deployments[0]
    assert api.replicas == 3
    assert api.places == (Place("east", "network1", "us-east1", "a"),) * 2 + (
        Place("west", "net2", "us-west1", ""),)
    assert model.workloads[0].place == Place("east", "network1", "us-east1", "a")
    geo = model.topology.geography
    assert geo is not None and geo.latency.cross_region == pytest.approx(0.020)


def test_zone_and_cluster_faults_compile(tmp_path: Path) -> None:
    faults = "    - {at: 1s, for: 1s, zone: a, blackhole: true}\n" \
             "    - {at: 1s, for: 1s, target: api, cluster: west, down: true}"
    model = load_scenario(write(tmp_path, faults=faults)).model
    first, second = model.faults
    assert first.zone == "a" and first.blackhole and first.target.service == ""
    assert second.cluster == "west" and second.target.service == "api"


@pytest.mark.parametrize(("api", "faults", "line", "path", "words"), [
    ("        - {cluster: north, replicas: 1}", NO_FAULTS, 19,
     "spec.services.api.placement[0].cluster", "cluster 'north' is not in"),
    ("        - {cluster: east, zone: c, replicas: 1}", NO_FAULTS, 19,
     "spec.services.api.placement[0].zone", "zone 'c' is not a zone of cluster 'east'"),
    ("        - {zone: a, replicas: 1}", NO_FAULTS, 19,
     "spec.services.api.placement[0]", "placement needs a cluster"),
    (GOOD_API, "    - {at: 1s, for: 1s, zone: q, down: true}", 24,
     "spec.faults[0].zone", "zone 'q' is not in the topology (a, b)"),
])
def test_bad_places_are_located_errors(
    tmp_path: Path, api: str, faults: str, line: int, path: str, words: str
) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(write(tmp_path, api=api, faults=faults))
    assert info.value.location.path == path
    assert info.value.location.line == line
    assert words in info.value.message


def test_placement_without_topology_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "flat.yaml"
    path.write_text("""\
apiVersion: meshsim/v1alpha1
kind: Scenario
spec:
  duration: 5s
  services:
    api:
      latency: constant(1ms)
      placement: [{zone: a}]
  workload:
    - {name: users, target: api, rate: 10/s}
""")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.location.path == "spec.services.api.placement[0]"
    assert "needs spec.topology" in info.value.message


def test_replicas_must_agree_with_placement(tmp_path: Path) -> None:
    api = GOOD_API.replace("placement:", "placement:")
    text = BASE.format(api=api, faults=NO_FAULTS).replace(
        "    api:\n      latency", "    api:\n      replicas: 7\n      latency")
    path = tmp_path / "mc.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert "does not match the placement's replicas (3)" in info.value.message
