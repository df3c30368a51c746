"""Compiling a validated scenario into the frozen model the engine runs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from paths import FIXTURES

from meshsim.config import Scenario, load_scenario
from meshsim.errors import ScenarioError
from meshsim.model import (
    Call,
    Constant,
    Contention,
    Empirical,
    Exponential,
    FaultTarget,
    Gamma,
    LogNormal,
    Parallel,
    RateStep,
)

Loader = Callable[..., Scenario]  # the `load` fixture of conftest.py

FULL = """\
apiVersion: meshsim/v1alpha1
kind: Scenario
metadata: {name: full}
spec:
  mesh: istio
  meshVersion: 1.20
  duration: 300s
  warmup: 30s
  cancellation: queued
  services:
    frontend:
      replicas: 3
      concurrency: 64
      latency: lognormal(median=5ms, p99=40ms)
      calls:
        - reviews
        - parallel: [{service: ratings, path: /r, probability: 50%, optional: true}, details]
    reviews:
      latency: exponential(mean=8ms)
      queue: 10
      labels: {team: books}
      contention: {model: processor-sharing, cores: 2}
      versions:
        v1: {replicas: 2}
        v2: {latency: {dist: gamma, mean: 20ms, cv: 0.5}, errors: 1%, queue: 0,
             labels: {track: canary}}
    ratings:
      replicas: 2
      latency: 3ms
      contention: {model: inflight, factor: 0.05}
    details:
      external: true
      namespace: partners
      latency: constant(7ms)
  workload:
    - name: users
      target: frontend
      rate: [{at: 0s, rate: 100/s}, {at: 60s, rate: 6000/m}]
      arrival: constant
      clients: 3
      timeout: 2s
      request:
        - {path: /a, weight: 3}
        - {method: POST, path: /b, headers: {x-user: jason}}
  faults:
    - {at: 60s, for: 30s, target: ratings, latency: x10}
    - {at: 100s, for: 5s, target: reviews/v2, latency: +50ms, errors: 0.5}
    - {at: 200s, for: 10s, target: reviews-v1-1, down: true}
  expect:
    - {metric: success_rate, service: frontend, window: [150s, 300s], min: 99%}
    - {metric: p99, service: reviews, subset: v2, max: 500ms}
    - {metric: rps, service: frontend, min: 50/s}
"""


def test_pod_names_and_version_labels(load: Loader) -> None:
    services = load(FULL).model.topology.services
    v1, v2 = services["reviews"].deployments
    assert v1.pod_names() == ["reviews-v1-0", "reviews-v1-1"]
    assert v2.pod_names() == ["reviews-v2-0"]
    frontend = services["frontend"].deployments[0]
    assert frontend.pod_names() == ["frontend-0", "frontend-1", "frontend-2"]
    assert v1.labels == {"app": "reviews", "team": "books", "version": "v1"}
    assert v2.labels == {"app": "reviews", "team": "books", "version": "v2", "track": "canary"}
    assert services["reviews"].versions == ("v1", "v2")


def test_versions_inherit_unless_overridden(load: Loader) -> None:
    v1, v2 = load(FULL).model.topology.services["reviews"].deployments
    assert (v1.replicas, v2.replicas) == (2, 1)
    assert v1.latency == Exponential(0.008)
    assert v2.latency == Gamma(0.02, 0.5)
    assert (v1.errors, v2.errors) == (0.0, pytest.approx(0.01))
    assert (v1.queue, v2.queue) == (10, 0)
    assert v1.contention == v2.contention == Contention("processor-sharing", cores=2)
    assert v1.concurrency == 16


def test_calls_distributions_and_external(load: Loader) -> None:
    model = load(FULL).model
    frontend = model.topology.services["frontend"].deployments[0]
    assert frontend.latency == LogNormal(0.005, 0.04)
    assert frontend.calls == (
        Call("reviews"),
        Parallel((Call("ratings", path="/r", probability=0.5, optional=True), Call("details"))),
    )
    ratings = model.topology.services["ratings"].deployments[0]
    assert ratings.latency == Constant(0.003)
    assert ratings.contention == Contention("inflight", factor=0.05)
    details = model.topology.services["details"]
    assert details.external and not details.deployments[0].sidecar
    assert details.fqdn == "details.partners.svc.cluster.local"


def test_defaults(load: Loader, base: str) -> None:
    model = load(base).model
    frontend = model.topology.services["frontend"].deployments[0]
    assert (frontend.replicas, frontend.concurrency, frontend.queue) == (1, 16, None)
    assert frontend.version is None and frontend.errors == 0.0 and frontend.sidecar
    assert frontend.contention == Contention("fifo")
    assert frontend.labels == {"app": "frontend"}
    assert model.topology.services["frontend"].namespace == "default"
    assert model.mesh.name == "none" and model.mesh.version is None
    assert (model.warmup, model.seed, model.cancellation) == (0.0, 1, "none")
    assert model.topology.network_latency == pytest.approx(0.5e-3)
    workload = model.workloads[0]
    assert (workload.arrival, workload.clients, workload.timeout) == ("poisson", 1, 0.0)
    assert workload.schedule == (RateStep(0.0, 100.0),)
    assert len(workload.requests) == 1 and workload.requests[0].path == "/"
    assert model.name == "base" and model.description == "two services"


@pytest.mark.parametrize(("mesh", "overhead"), [("none", 0.0), ("istio", 0.25e-3),
                                                ("linkerd", 0.15e-3)])
def test_proxy_overhead_defaults_from_the_mesh(
    load: Loader, base: str, mesh: str, overhead: float
) -> None:
    model = load(base, overrides={"spec.mesh": mesh}).model
    assert model.topology.proxy_overhead == pytest.approx(overhead)


def test_explicit_proxy_overhead_wins(load: Loader, base: str) -> None:
    model = load(base, overrides={"spec.mesh": "istio", "spec.proxy": "{overhead: 1ms}"}).model
    assert model.topology.proxy_overhead == pytest.approx(1e-3)


def test_schedule_and_request_mix(load: Loader) -> None:
    workload = load(FULL).model.workloads[0]
    assert workload.schedule == (RateStep(0.0, 100.0), RateStep(60.0, pytest.approx(100.0)))
    assert [r.weight for r in workload.requests] == [3.0, 1.0]
    assert workload.requests[1].method == "POST"
    assert workload.requests[1].headers == {"x-user": "jason"}
    assert (workload.arrival, workload.clients, workload.timeout) == ("constant", 3, 2.0)
    assert workload.client_names() == ["users-0", "users-1", "users-2"]


def test_faults_resolve_targets(load: Loader) -> None:
    faults = load(FULL).model.faults
    assert faults[0].target == FaultTarget("ratings") and faults[0].latency_factor == 10.0
    assert faults[1].target == FaultTarget("reviews", "v2")
    assert faults[1].latency_add == pytest.approx(0.05) and faults[1].errors == 0.5
    assert faults[2].target == FaultTarget("reviews", "v1", "reviews-v1-1") and faults[2].down
    assert (faults[2].at, faults[2].duration, faults[2].end) == (200.0, 10.0, 210.0)


def test_expectations_carry_units(load: Loader) -> None:
    success, p99, rps = load(FULL).model.expectations
    assert success.window == (150.0, 300.0) and success.min == pytest.approx(0.99)
    assert p99.subset == "v2" and p99.max == pytest.approx(0.5)
    assert rps.min == 50.0
    assert p99.label == "p99 reviews/v2 <= 500ms"


def test_mesh_profile_keeps_version_text(load: Loader) -> None:
    model = load(FULL).model
    assert (model.mesh.name, model.mesh.version) == ("istio", "1.20")
    assert model.cancellation == "queued" and model.warmup == 30.0


def test_empirical_reads_csv_with_unit_header(load: Loader, base: str, tmp_path: Path) -> None:
    (tmp_path / "traces.csv").write_text("latency_ms\n4\n6\n\n5ms\n")
    text = base.replace("exponential(10ms)", "empirical(traces.csv)")
    latency = load(text).model.topology.services["ratings"].deployments[0].latency
    assert isinstance(latency, Empirical)
    assert latency.samples == pytest.approx((0.004, 0.006, 0.005))


def test_empirical_without_header_is_seconds(load: Loader, base: str, tmp_path: Path) -> None:
    (tmp_path / "s.csv").write_text("0.5\n1.5\n")
    text = base.replace("exponential(10ms)", "{dist: empirical, file: s.csv}")
    latency = load(text).model.topology.services["ratings"].deployments[0].latency
    assert isinstance(latency, Empirical) and latency.mean == pytest.approx(1.0)


def test_service_replicas_must_match_versions(load: Loader, base: str) -> None:
    versions = "      replicas: 3\n      versions: {v1: {}, v2: {}}\n"
    text = base.replace("      replicas: 2\n", versions)
    with pytest.raises(ScenarioError, match=r"replicas 3 does not match .*1 \+ 1 = 2"):
        load(text)
    ok = load(text.replace("replicas: 3", "replicas: 2")).model.topology.services["ratings"]
    assert [d.pod_names() for d in ok.deployments] == [["ratings-v1-0"], ["ratings-v2-0"]]


def test_metadata(load: Loader, base: str) -> None:
    scenario = load(base)
    meta = scenario.metadata()
    assert meta["name"] == "base" and meta["mesh"] == "none" and meta["overrides"] == {}
    assert meta["file"].endswith("scenario.yaml") and len(meta["sha256"]) == 64
    assert load(base.replace("60s", "61s")).metadata()["sha256"] != meta["sha256"]
    assert scenario.spec.duration == 60.0 and scenario.name == "base"


def test_design_example_loads() -> None:
    """The scenario of DESIGN §2, verbatim: its field names are the contract."""
    folder = FIXTURES / "config" / "design_example"
    scenario = load_scenario(folder / "scenario.yaml")
    assert scenario.name == "retry-storm" and scenario.model.mesh.name == "istio"
    assert scenario.model.topology.proxy_overhead == pytest.approx(0.3e-3)
    assert [m.key for m in scenario.manifests] == [
        "VirtualService/ratings-retry", "DestinationRule/reviews"]
    assert scenario.model.policy is not None
    assert scenario.model.policy.routes["ratings"][0].retry is not None
    assert [str(f.target) for f in scenario.model.faults] == ["ratings", "reviews/v2", "ratings-0"]
