"""A kubectl dump (a List with a Namespace, Services, Deployments, a StatefulSet, a ConfigMap
and Istio objects) gives services, replicas, subsets, injection and pass-through manifests."""

from __future__ import annotations

from pathlib import Path

import pytest

import meshsim
from meshsim.importers.emit import Imported

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def imported() -> Imported:
    return meshsim.api.import_kubernetes([FIXTURES / "bookinfo-dump.yaml"], name="shop")


def test_services_replicas_and_versions_from_subsets(imported: Imported) -> None:
    services = imported.scenario["spec"]["services"]
    assert sorted(services) == ["productpage", "ratings", "reviews"]
    assert services["productpage"]["replicas"] == 3
    assert services["ratings"]["replicas"] == 2  # a StatefulSet
    # The DestinationRule's subsets name the versions and select them by label.
    assert services["reviews"]["versions"] == {
        "stable": {"replicas": 2, "labels": {"version": "v1"}},
        "canary": {"replicas": 1, "labels": {"version": "v2"}},
    }
    assert {s["namespace"] for s in services.values()} == {"shop"}


def test_injection_mesh_and_manifests(imported: Imported) -> None:
    spec = imported.scenario["spec"]
    assert spec["mesh"] == "istio"
    assert spec["services"]["ratings"]["labels"] == {"sidecar.istio.io/inject": "false"}
    kinds = [m["kind"] for m in imported.manifests]
    assert kinds == ["Namespace", "DestinationRule", "VirtualService"]
    namespace = imported.manifests[0]
    assert namespace["metadata"]["labels"]["istio-injection"] == "enabled"
    assert "status" not in namespace and "spec" not in namespace
    assert "uid" not in namespace["metadata"]
    assert "annotations" not in imported.manifests[1]["metadata"]  # last-applied dropped
    assert imported.report == [{"kind": "v1/ConfigMap", "count": 1, "used": False}]


def test_placeholders_are_marked_and_the_scenario_validates(imported: Imported,
                                                             tmp_path: Path) -> None:
    out = tmp_path / "shop.yaml"
    meshsim.api.write_imported(imported, out)
    text = out.read_text()
    assert "latency: exponential(10ms)  # TODO(meshsim import): service time" in text
    assert "concurrency: 16  # TODO(meshsim import)" in text
    scenario = meshsim.load(out)
    sidecars = {b.service: b.sidecar for b in scenario.bindings()}
    assert sidecars == {"productpage": True, "ratings": False, "reviews": True}


def test_a_stream_of_objects_and_a_workload_without_service(tmp_path: Path) -> None:
    dump = tmp_path / "dump.yaml"
    dump.write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: payments, namespace: jobs}\n"
        "spec: {type: ExternalName, externalName: api.payments.example}\n---\n"
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: worker, namespace: jobs}\n"
        "spec:\n  replicas: 4\n  template:\n    metadata:\n      labels: {app: worker}\n"
        "      annotations: {linkerd.io/inject: enabled}\n"
        "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: jobs\n"
        "  annotations: {linkerd.io/inject: enabled}\n")
    imported = meshsim.api.import_kubernetes([dump])
    spec = imported.scenario["spec"]
    assert spec["mesh"] == "linkerd"
    assert spec["services"]["worker"]["replicas"] == 4
    assert spec["services"]["worker"]["labels"] == {"linkerd.io/inject": "enabled"}
    assert spec["services"]["payments"]["external"] is True
    out = tmp_path / "out.yaml"
    meshsim.api.write_imported(imported, out)
    assert "has no Service in the dump" in out.read_text()
    meshsim.load(out)


def test_flagger_canary_gives_primary_and_canary_without_its_generated_objects(
        tmp_path: Path) -> None:
    imported = meshsim.api.import_kubernetes([FIXTURES / "flagger-dump.yaml"])
    services = imported.scenario["spec"]["services"]
    assert sorted(services) == ["frontend", "podinfo"]  # not podinfo-primary, podinfo-canary
    assert services["podinfo"]["versions"] == {"primary": {"replicas": 3},
                                               "canary": {"replicas": 3}}
    assert [m["kind"] for m in imported.manifests] == ["Canary"]  # its VirtualService re-made
    assert "status" not in imported.manifests[0]
    out = tmp_path / "flagger.yaml"
    meshsim.api.write_imported(imported, out)
    assert meshsim.load(out).spec.mesh == "istio"


def test_argo_rollout_gives_stable_and_canary(tmp_path: Path) -> None:
    dump = tmp_path / "argo.yaml"
    dump.write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: reviews}\n"
        "spec: {selector: {app: reviews}}\n---\n"
        "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: reviews}\n"
        "spec:\n  replicas: 10\n  selector: {matchLabels: {app: reviews}}\n"
        "  template: {metadata: {labels: {app: reviews}}}\n"
        "  strategy: {canary: {steps: [{setWeight: 20}, {pause: {duration: 30s}}]}}\n")
    imported = meshsim.api.import_kubernetes([dump], mesh="istio")
    assert imported.scenario["spec"]["services"]["reviews"]["versions"] == {
        "stable": {"replicas": 10}, "canary": {"replicas": 10}}
    assert [m["kind"] for m in imported.manifests] == ["Rollout"]
    out = tmp_path / "out.yaml"
    meshsim.api.write_imported(imported, out)
    meshsim.load(out)


def test_objects_meshsim_cannot_read_are_named_not_passed(tmp_path: Path) -> None:
    """An EnvoyFilter (a kind meshsim does not read) or the other mesh's objects would stop
    the scenario from loading: they are counted as not used."""
    dump = tmp_path / "dump.yaml"
    dump.write_text(
        (FIXTURES / "bookinfo-dump.yaml").read_text() + "---\n"
        "apiVersion: networking.istio.io/v1alpha3\nkind: EnvoyFilter\nmetadata: {name: f}\n"
        "spec: {}\n---\napiVersion: linkerd.io/v1alpha2\nkind: ServiceProfile\n"
        "metadata: {name: reviews.shop.svc.cluster.local, namespace: shop}\nspec: {routes: []}\n")
    imported = meshsim.api.import_kubernetes([dump])
    assert imported.scenario["spec"]["mesh"] == "istio"
    assert {r["kind"] for r in imported.report} == {
        "v1/ConfigMap", "networking.istio.io/v1alpha3/EnvoyFilter",
        "linkerd.io/v1alpha2/ServiceProfile (not read under mesh istio)"}
    out = tmp_path / "out.yaml"
    meshsim.api.write_imported(imported, out)
    meshsim.load(out)
