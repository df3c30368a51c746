"""An Argo Rollout without trafficRouting: weights by replica counts (config side)."""

from __future__ import annotations

from pathlib import Path

from rollout_config_helpers import error, find, line_of, load, scenario

from meshsim.model.rollout import ArgoRollout, ReplicaScaling, Version

SERVICES = """
podinfo:
  latency: exponential(5ms)
  versions:
    stable: {replicas: 10}
    canary: {replicas: 10}
"""
ROLLOUT = """apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: podinfo}
spec:
  replicas: 10
  minReadySeconds: 5
  selector: {matchLabels: {app: podinfo}}
  template:
    spec:
      containers:
        - name: app
          readinessProbe: {initialDelaySeconds: 3}
  strategy:
    canary:
      steps:
        - setWeight: 15
        - pause: {duration: 30s}
"""


def rollout_of(tmp_path: Path, text: str) -> ArgoRollout:
    (spec,) = load(tmp_path, text).model.rollouts
    assert isinstance(spec, ArgoRollout)
    return spec


def test_basic_canary_reads_replicas_defaults_and_readiness(tmp_path: Path) -> None:
    spec = rollout_of(tmp_path, scenario("istio", SERVICES, ROLLOUT))
    assert spec.scaling == ReplicaScaling(10, max_surge=3, max_unavailable=2, ready_after=3.0,
                                          min_ready=5.0)  # 25 %: surge rounds up, not down
    assert (spec.target.host, spec.target.routes) == ("podinfo", ())
    assert (spec.target.primary, spec.target.canary) == (Version("podinfo", "stable"),
                                                         Version("podinfo", "canary"))


def test_surge_and_unavailable_counts_or_percentages(tmp_path: Path) -> None:
    text = ROLLOUT.replace("      steps:", "      maxSurge: 1\n      maxUnavailable: 45%\n"
                           "      steps:")
    scaling = rollout_of(tmp_path, scenario("linkerd", SERVICES, text)).scaling
    assert scaling is not None
    assert (scaling.max_surge, scaling.max_unavailable) == (1, 4)


def test_the_versions_must_hold_spec_replicas(tmp_path: Path) -> None:
    text = scenario("istio", SERVICES.replace("canary: {replicas: 10}",
                                              "canary: {replicas: 3}"), ROLLOUT)
    exc = error(tmp_path, text)
    assert "spec.services.podinfo.versions.canary.replicas is 3" in exc.message
    assert "at promotion" in exc.message
    assert exc.location.line == line_of(text, "  replicas: 10")


def test_a_service_named_like_the_selector_is_found(tmp_path: Path) -> None:
    text = ROLLOUT.replace("metadata: {name: podinfo}", "metadata: {name: podinfo-rollout}")
    assert rollout_of(tmp_path, scenario("istio", SERVICES, text)).target.host == "podinfo"


def test_no_service_of_that_name_is_an_error(tmp_path: Path) -> None:
    text = ROLLOUT.replace("metadata: {name: podinfo}", "metadata: {name: other}").replace(
        "app: podinfo", "app: other")
    exc = error(tmp_path, scenario("istio", SERVICES, text))
    assert "scales the pods of the scenario service named like the Rollout" in exc.message


def test_versions_stable_and_canary_are_required(tmp_path: Path) -> None:
    services = SERVICES.replace("stable:", "v1:")
    exc = error(tmp_path, scenario("istio", services, ROLLOUT))
    assert "needs a version 'stable'" in exc.message


def test_both_fenceposts_zero_is_an_error(tmp_path: Path) -> None:
    text = ROLLOUT.replace("      steps:", "      maxSurge: 0\n      maxUnavailable: 0%\n"
                           "      steps:")
    exc = error(tmp_path, scenario("istio", SERVICES, text))
    assert "maxSurge and maxUnavailable cannot both be 0" in exc.message


def test_set_canary_scale_has_no_effect_without_a_router(tmp_path: Path) -> None:
    text = ROLLOUT.replace("        - setWeight: 15", "        - setCanaryScale: {replicas: 3}\n"
                           "        - setWeight: 15")
    loaded = load(tmp_path, scenario("istio", SERVICES, text))
    warning = find(loaded.warnings, "setCanaryScale has no effect without trafficRouting")
    assert warning.code == "no-effect"
