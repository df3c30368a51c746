"""``meshsim validate`` lists per service its sidecar, why, and the manifests bound to it; bad
progressive-delivery and security manifests are one located error, exit 2, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from paths import SCENARIOS
from test_cli import assert_one_error_line, meshsim
from typer.testing import CliRunner

from meshsim.cli.main import app

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


# -- bad input to the rollout and security manifests ---------------------------------------------

FLAGGER = SCENARIOS / "canary/flagger-healthy-promoted.yaml"
ARGO = SCENARIOS / "canary/argo-rollout-steps.yaml"
AUTHZ = SCENARIOS / "istio/authorization.yaml"
HOOK = "    webhooks:\n      - name: lt\n        {}\n    metrics:\n"

# (id, base, old text, new text, message fragment, line of the error)
CASES = [
    ("threshold-negative", FLAGGER, "threshold: 2", "threshold: -1",
     "threshold must be at least 0", 62),
    ("stepWeight-zero", FLAGGER, "stepWeight: 10", "stepWeight: 0",
     "stepWeight must be at least 1", 64),
    ("range-min-above-max", FLAGGER, "thresholdRange: {min: 99}",
     "thresholdRange: {min: 99, max: 50}", "min 99 is above max 50", 67),
    ("success-rate-over-100", FLAGGER, "thresholdRange: {min: 99}",
     "thresholdRange: {min: 150}", "is a percentage (0-100)", 67),
    ("metric-interval-zero", FLAGGER,
     "        interval: 20s\n      - name: request-duration",
     "        interval: 0s\n      - name: request-duration",
     "metric interval must be greater than zero", 68),
    ("service-port-string", FLAGGER, "port: 9898", "port: http",
     "port must be an integer", 59),
    ("service-port-negative", FLAGGER, "port: 9898", "port: -1", "port must be at least 1", 59),
    ("webhook-unknown-type", FLAGGER, "    metrics:\n",
     HOOK.format("type: bogus\n        url: http://x/"), "unknown webhook type 'bogus'", 67),
    ("webhook-no-url", FLAGGER, "    metrics:\n", HOOK.format("type: rollout"),
     "a webhook needs url", 66),
    ("webhook-bad-timeout", FLAGGER, "    metrics:\n",
     HOOK.format("url: http://x/\n        timeout: soon"), "invalid duration", 68),
    ("flagger-wrong-version", FLAGGER, "flagger.app/v1beta1", "flagger.app/v1",
     "serves Canary at flagger.app/v1beta1 only", 48),
    ("argo-wrong-version", ARGO, "argoproj.io/v1alpha1\nkind: Rollout",
     "argoproj.io/v1\nkind: Rollout", "serves Rollout at argoproj.io/v1alpha1 only", 45),
    ("argo-missing-destinationrule", ARGO, "          destinationRule:\n            name: reviews",
     "          destinationRule:\n            name: reviewz",
     "DestinationRule 'reviewz' is not among the manifests", 61),
    ("argo-metric-no-name", ARGO, "    - name: success-rate\n      interval", "    - interval",
     "a metric needs a name", 84),
    ("argo-metric-interval-zero", ARGO, "      interval: 20s\n      successCondition",
     "      interval: 0s\n      successCondition", "interval must be greater than zero", 85),
    ("authz-empty-principal", AUTHZ, 'principals: ["cluster.local/ns/default/sa/users"]',
     'principals: [""]', "empty value not allowed", 74),
    ("authz-empty-namespace", AUTHZ, 'principals: ["cluster.local/ns/default/sa/users"]',
     'namespaces: [""]', "empty value not allowed", 74),
]


def _mutated(tmp_path: Path, base: Path, old: str, new: str) -> Path:
    text = base.read_text()
    assert old in text, f"{old!r} is no longer in {base.name}: update the case"
    path = tmp_path / "case.yaml"
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize(("base", "old", "new", "fragment", "line"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_rollout_or_authz_input_is_one_located_error(
        tmp_path: Path, base: Path, old: str, new: str, fragment: str, line: int) -> None:
    path = _mutated(tmp_path, base, old, new)
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    errors = [ln for ln in result.output.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, result.output
    assert f"{path}:{line}:" in errors[0]
    assert fragment in errors[0]


@pytest.mark.parametrize(("old", "new"), [
    ('principals: ["cluster.local/ns/default/sa/users"]', 'principals: ["users"]'),
    ('principals: ["cluster.local/ns/default/sa/users"]',
     'principals: ["spiffe://cluster.local/ns/default/sa/users"]'),
])
def test_principal_that_matches_no_identity_is_a_named_warning(tmp_path: Path, old: str,
                                                               new: str) -> None:
    path = _mutated(tmp_path, AUTHZ, old, new)
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert f"{path}:74:" in result.output and "it matches no workload" in result.output
