"""Mesh manifests: recognised by apiVersion/kind, checked against spec.mesh, loaded from globs,
and each one named in a warning until its translator exists (an error under strict mode)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from meshsim.config import Manifest, Scenario
from meshsim.config.manifests import KNOWN_KINDS
from meshsim.errors import ScenarioError

Loader = Callable[..., Scenario]  # the `load` fixture of conftest.py


def _doc(api_version: str, kind: str, name: str, extra: str = "") -> str:
    return f"---\napiVersion: {api_version}\nkind: {kind}\nmetadata:\n  name: {name}\n{extra}"


def _with_mesh(base: str, mesh: str) -> str:
    return base.replace("spec:\n", f"spec:\n  mesh: {mesh}\n", 1)


def test_inline_manifests_are_kept_with_positions(load: Loader, base: str) -> None:
    text = _with_mesh(base, "istio") + _doc(
        "networking.istio.io/v1beta1", "VirtualService", "ratings-retry",
        "  namespace: prod\nspec:\n  hosts: [ratings]\n",
    )
    scenario = load(text)
    (manifest,) = scenario.manifests
    assert isinstance(manifest, Manifest)
    assert (manifest.apiVersion, manifest.kind, manifest.name) == (
        "networking.istio.io/v1beta1", "VirtualService", "ratings-retry")
    assert manifest.namespace == "prod" and manifest.family == "istio"
    assert manifest.data["spec"]["hosts"] == ["ratings"]
    assert manifest.file.endswith("scenario.yaml")
    assert manifest.positions[("spec", "hosts")] == (25, 3)
    assert manifest.location(("spec", "hosts", 0)).line == 25
    assert manifest.location().line == 19


def test_each_manifest_no_translator_reads_yields_one_named_warning(
    load: Loader, base: str
) -> None:
    text = (
        _with_mesh(base, "none")
        + _doc("flagger.app/v1beta1", "Canary", "ratings")
        + _doc("argoproj.io/v1alpha1", "Rollout", "ratings-rollout")
        + _doc("v1", "Namespace", "prod")
    )
    warnings = load(text).warnings
    assert [w.message.split(" is loaded")[0] for w in warnings] == [
        "Canary/ratings", "Rollout/ratings-rollout", "Namespace/prod"]
    assert warnings[0].message == (
        "Canary/ratings is loaded but not applied: a rollout needs a mesh to move traffic and "
        "spec.mesh is none (set spec.mesh: istio or linkerd to rehearse it; each version keeps "
        "the traffic and replicas spec.services gives it)"
    )
    assert warnings[0].location.line == 19
    assert all("loaded but not applied" in w.message for w in warnings)


def test_istio_manifests_are_translated_not_warned_about(load: Loader, base: str) -> None:
    text = _with_mesh(base, "istio") + _doc("v1", "Namespace", "prod")
    assert load(text).warnings == []


def test_strict_mode_turns_the_first_warning_into_an_error(load: Loader, base: str) -> None:
    text = _with_mesh(base, "none") + _doc("flagger.app/v1beta1", "Canary", "ratings")
    assert len(load(text).warnings) == 1
    with pytest.raises(ScenarioError) as info:
        load(text, strict=True)
    assert "Canary/ratings is loaded but not applied" in info.value.message
    assert info.value.location.line == 19


def test_no_manifests_no_warnings_even_when_strict(load: Loader, base: str) -> None:
    assert load(base, strict=True).warnings == []


@pytest.mark.parametrize(
    ("mesh", "api_version", "kind", "family"),
    [
        ("istio", "security.istio.io/v1", "AuthorizationPolicy", "istio"),
        ("linkerd", "policy.linkerd.io/v1beta3", "AuthorizationPolicy", "linkerd"),
        ("linkerd", "split.smi-spec.io/v1alpha2", "TrafficSplit", "linkerd"),
        ("istio", "gateway.networking.k8s.io/v1", "HTTPRoute", "gateway-api"),
        ("linkerd", "gateway.networking.k8s.io/v1beta1", "HTTPRoute", "gateway-api"),
        ("none", "flagger.app/v1beta1", "Canary", "rollout"),
        ("none", "argoproj.io/v1alpha1", "Rollout", "rollout"),
        ("none", "v1", "Service", "kubernetes"),
    ],
)
def test_known_kinds_and_their_meshes(
    load: Loader, base: str, mesh: str, api_version: str, kind: str, family: str
) -> None:
    group = api_version.rpartition("/")[0]
    known_family, kinds = KNOWN_KINDS[group]
    assert known_family == family and kind in kinds
    if family in ("rollout", "kubernetes"):  # no translator needs a spec from these yet
        (manifest,) = load(_with_mesh(base, mesh) + _doc(api_version, kind, "x")).manifests
        assert manifest.family == family and manifest.key == f"{kind}/x"


@pytest.mark.parametrize(
    ("mesh", "api_version", "kind", "words"),
    [
        ("linkerd", "networking.istio.io/v1beta1", "VirtualService",
         "VirtualService is an Istio manifest but spec.mesh is linkerd"),
        ("none", "gateway.networking.k8s.io/v1", "HTTPRoute",
         "set spec.mesh: istio or linkerd"),
        ("istio", "networking.istio.io/latest", "VirtualService", "unknown apiVersion"),
        ("istio", "apps/v1", "Deployment", "unknown apiVersion 'apps/v1'"),
        ("istio", "networking.istio.io/v1", "ServiceProfile", "unknown kind 'ServiceProfile'"),
    ],
)
def test_rejected_manifests(
    load: Loader, base: str, mesh: str, api_version: str, kind: str, words: str
) -> None:
    with pytest.raises(ScenarioError) as info:
        load(_with_mesh(base, mesh) + _doc(api_version, kind, "x"))
    assert words in info.value.message
    assert info.value.location.line == (19 if "apiVersion" in words else 20)


def test_manifests_from_globs(load: Loader, base: str, tmp_path: Path) -> None:
    (tmp_path / "mesh").mkdir()
    (tmp_path / "mesh" / "a.yaml").write_text(
        _doc("flagger.app/v1beta1", "Canary", "ratings")
        + _doc("argoproj.io/v1alpha1", "Rollout", "ratings")
    )
    template = "argoproj.io/v1alpha1", "AnalysisTemplate"
    (tmp_path / "mesh" / "b.yaml").write_text(_doc(*template, "gw"))
    text = _with_mesh(base, "none").replace(
        "  duration:", "  manifests: [mesh/*.yaml, mesh/a.yaml]\n  duration:")
    scenario = load(text)
    assert [m.key for m in scenario.manifests] == [
        "Canary/ratings", "Rollout/ratings", "AnalysisTemplate/gw"]
    assert Path(scenario.manifests[2].file).name == "b.yaml"
    assert scenario.manifests[2].location().line == 2
    before = scenario.metadata()["sha256"]
    (tmp_path / "mesh" / "b.yaml").write_text(_doc(*template, "gw2"))
    assert load(text).metadata()["sha256"] != before


def test_scenario_in_a_manifests_file_is_an_error(load: Loader, base: str, tmp_path: Path) -> None:
    (tmp_path / "more.yaml").write_text(base)
    with pytest.raises(ScenarioError) as info:
        load(base.replace("  duration:", "  manifests: [more.yaml]\n  duration:"))
    assert Path(info.value.location.file).name == "more.yaml"
    assert "Scenario document in a manifests file" in info.value.message


def test_same_kind_and_name_twice_is_an_error(load: Loader, base: str) -> None:
    doc = _doc("networking.istio.io/v1", "DestinationRule", "ratings")
    with pytest.raises(ScenarioError) as info:
        load(_with_mesh(base, "istio") + doc + doc)
    assert "a second DestinationRule/ratings" in info.value.message
    assert info.value.location.line == 27


def test_manifest_needs_a_name(load: Loader, base: str) -> None:
    text = _with_mesh(base, "istio") + "---\napiVersion: networking.istio.io/v1\nkind: Sidecar\n"
    with pytest.raises(ScenarioError, match=r"Sidecar needs metadata\.name"):
        load(text)
