"""``meshsim validate`` lists per service its sidecar, why, and the manifests bound to it."""

from __future__ import annotations

from pathlib import Path

from paths import SCENARIOS
from test_cli import assert_one_error_line, meshsim

UNANNOTATED = "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: default}\n"


def test_validate_lists_sidecars_and_bound_manifests(tmp_path: Path) -> None:
    proc = meshsim("validate", SCENARIOS / "istio" / "authorization.yaml", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[1:3] == [
        "  frontend (namespace default): sidecar yes (no Namespace manifest for default: "
        "taken as istio-injection: enabled)",
        "    manifests: AuthorizationPolicy/allow-nothing, AuthorizationPolicy/frontend-ingress",
    ]


def test_a_namespace_that_removes_proxies_is_said_and_listed(tmp_path: Path) -> None:
    path = tmp_path / "storm.yaml"
    path.write_text((SCENARIOS / "linkerd" / "retry-storm.yaml").read_text() + UNANNOTATED)
    proc = meshsim("validate", path, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert ("Namespace/default has no linkerd.io/inject annotation, so frontend, reviews, "
            "ratings run without a linkerd proxy") in proc.stderr
    assert ("  reviews (namespace default): sidecar no (Namespace/default has no "
            "linkerd.io/inject annotation)") in proc.stdout.splitlines()
    assert_one_error_line(meshsim("validate", path, "--strict", cwd=tmp_path), "Namespace/default")
