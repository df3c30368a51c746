"""A gRPC service's answers in the results: not ok, a ``grpc <NAME>`` class in the status
breakdown, and Istio's ``response_code="200"`` with ``grpc_response_status`` in the export."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

import meshsim
from meshsim.config import load_scenario_text
from meshsim.results import viz
from meshsim.results.openmetrics import write_openmetrics

TEXT = """\
apiVersion: meshsim/v1alpha1
kind: Scenario
spec:
  mesh: istio
  duration: 4s
  warmup: 0s
  services:
    web: {replicas: 2, latency: constant(2ms), calls: [api]}
    api:
      protocol: grpc
      replicas: 2
      latency: constant(5ms)
      errors: {rate: 30%, grpcStatus: {UNAVAILABLE: 1, NOT_FOUND: 1}}
  workload:
    - {name: users, target: web, rate: 200/s}
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> viz.VizRun:
    folder: Path = tmp_path_factory.mktemp("grpc")
    return viz.from_results(meshsim.simulate(load_scenario_text(TEXT, folder, "s.yaml")))


def test_the_status_breakdown_names_grpc_classes(run: viz.VizRun) -> None:
    rows = viz.statuses(run, viz.Window(0.0, 4.0), viz.Resource("svc", "api"))
    classes = set(rows["class"])
    assert {"2xx", "grpc UNAVAILABLE", "grpc NOT_FOUND"} <= classes
    assert set(rows["status"]) >= {200, 1014, 1005}


def test_istio_metrics_say_200_with_the_grpc_status(run: viz.VizRun) -> None:
    out = io.StringIO()
    write_openmetrics(run, out, mesh="istio", interval=2.0)
    lines = [line for line in out.getvalue().splitlines()
             if line.startswith("istio_requests_total{")
             and 'destination_service_name="api"' in line]
    grpc = [line for line in lines if 'grpc_response_status="14"' in line]
    assert grpc and all('response_code="200"' in line and 'request_protocol="grpc"' in line
                        for line in grpc)
    assert any('grpc_response_status="5"' in line for line in lines)
    assert not any('response_code="1014"' in line for line in lines)
