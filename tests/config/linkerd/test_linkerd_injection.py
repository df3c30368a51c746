"""Namespace manifests and injection: a pasted Namespace changes only its own namespace, one
that takes the proxy away from services says so, and so does each manifest it leaves idle."""

from __future__ import annotations

from pathlib import Path

import pytest
from paths import SCENARIOS

from meshsim.config import load_scenario
from meshsim.errors import ScenarioError

LINKERD = SCENARIOS / "linkerd"


def namespace(name: str, annotations: str = "{}") -> str:
    return f"\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n" \
           f"  annotations: {annotations}\n"


def with_manifest(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "retry-storm.yaml"
    path.write_text((LINKERD / "retry-storm.yaml").read_text() + extra)
    return path


def test_a_namespace_for_another_namespace_changes_no_service(tmp_path: Path) -> None:
    plain = load_scenario(LINKERD / "retry-storm.yaml")
    pasted = load_scenario(
        with_manifest(tmp_path, namespace("monitoring", "{linkerd.io/inject: enabled}")),
        strict=True,  # and no warning either
    )
    assert pasted.model.policy is not None and plain.model.policy is not None
    assert pasted.model.policy.sidecars == {"frontend": True, "reviews": True, "ratings": True}
    assert pasted.model.policy == plain.model.policy  # the retries still apply


def test_a_namespace_that_takes_the_proxy_away_names_the_services(tmp_path: Path) -> None:
    path = with_manifest(tmp_path, namespace("default"))
    scenario = load_scenario(path)
    assert scenario.model.policy is not None
    assert not any(scenario.model.policy.sidecars.values())
    warning, reviews, ratings = [w for w in scenario.warnings if w.code == "unmeshed"]
    assert warning.message.startswith(
        "Namespace/default has no linkerd.io/inject annotation, so frontend, reviews, ratings "
        "run without a linkerd proxy")
    assert warning.location.file == str(path) and warning.location.line is not None
    # frontend's profile still applies (the workload's clients have proxies); the others not
    assert reviews.message.startswith(
        "ServiceProfile/reviews.default.svc.cluster.local is applied by the proxies of the "
        "callers of reviews, and none of them (frontend) runs one")
    assert "callers of ratings, and none of them (reviews)" in ratings.message
    with pytest.raises(ScenarioError, match="an error under strict mode"):
        load_scenario(path, strict=True)


def test_a_pod_annotation_keeps_its_service_meshed(tmp_path: Path) -> None:
    path = with_manifest(tmp_path, namespace("default", "{linkerd.io/inject: disabled}"))
    text = path.read_text().replace(
        "    ratings:\n", "    ratings:\n      labels: {linkerd.io/inject: enabled}\n", 1)
    path.write_text(text)
    scenario = load_scenario(path)
    assert scenario.model.policy is not None
    assert scenario.model.policy.sidecars == {"frontend": False, "reviews": False,
                                              "ratings": True}
    warning, *profiles = [w for w in scenario.warnings if w.code == "unmeshed"]
    assert "annotated linkerd.io/inject: disabled, so frontend, reviews run" in warning.message
    # ratings has its proxy back, but its caller reviews has none: its profile stays idle
    assert [p.message.split(" is applied")[0] for p in profiles] == [
        "ServiceProfile/reviews.default.svc.cluster.local",
        "ServiceProfile/ratings.default.svc.cluster.local"]


def test_a_server_on_pods_without_a_proxy_says_nothing_enforces_it(tmp_path: Path) -> None:
    text = (LINKERD / "authorization.yaml").read_text().replace(
        "    my-service:\n      namespace: my-namespace\n",
        "    my-service:\n      namespace: my-namespace\n"
        "      labels: {linkerd.io/inject: disabled}\n")
    path = tmp_path / "authz.yaml"
    path.write_text(text)
    warnings = [w for w in load_scenario(path).warnings if w.code == "unmeshed"]
    assert [w.message.split(" applies")[0] for w in warnings] == [
        "Server/my-service-http", "ServerAuthorization/allow-frontend",
        "ServerAuthorization/allow-ingress"]
    assert all("whose pods run no proxy" in w.message for w in warnings)
    assert warnings[0].location.path == "Server/my-service-http"
