"""Hand-written traces (the same four requests as OTLP and as Jaeger JSON) give the services,
replicas, versions, call graph, probabilities, errors and load they were written to show."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import meshsim
from meshsim.importers.spans import sample_of_tracestate
from meshsim.results.otlp import threshold

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(params=["shop-otlp.json", "shop-jaeger.json"])
def spec(request: pytest.FixtureRequest) -> dict:
    return meshsim.api.import_traces([FIXTURES / request.param]).scenario["spec"]


def test_services_replicas_versions_and_namespace(spec: dict) -> None:
    services = spec["services"]
    assert sorted(services) == ["details", "productpage", "ratings", "reviews"]
    assert services["productpage"]["replicas"] == 2  # productpage-0 and productpage-1
    assert services["details"]["replicas"] == 1
    assert {v: e["replicas"] for v, e in services["reviews"]["versions"].items()} == \
        {"v1": 1, "v2": 1}
    assert {s["namespace"] for s in services.values()} == {"shop"}


def test_call_graph_parallel_steps_probability_and_optional(spec: dict) -> None:
    services = spec["services"]
    # details and reviews overlap in every trace: one parallel step.
    assert services["productpage"]["calls"] == [{"parallel": [
        {"service": "details", "path": "/details"}, {"service": "reviews", "path": "/reviews"},
    ]}]
    # reviews v2 calls ratings (2 of 4), and answers 200 when ratings fails.
    assert services["reviews"]["calls"] == [
        {"service": "ratings", "probability": 0.5, "optional": True}]
    assert "calls" not in services["ratings"] and "calls" not in services["details"]


def test_self_times_errors_and_load(spec: dict) -> None:
    services = spec["services"]
    # productpage: 48 ms answered, 35 ms of it covered by its two overlapping calls.
    assert services["productpage"]["latency"] == "constant(13ms)"
    assert services["reviews"]["versions"]["v2"]["latency"] == "constant(12ms)"
    assert services["ratings"]["errors"] == 0.5
    assert "errors" not in services["reviews"]  # its failure was ratings', not its own
    assert spec["network"] == {"latency": "1ms"}  # client spans 2 ms longer than servers
    assert spec["workload"] == [{
        "name": "loadgen", "target": "productpage", "rate": "10/s", "arrival": "poisson",
        "clients": 1, "request": {"method": "GET", "path": "/productpage"}}]


def test_sampling_probability_scales_the_rate() -> None:
    spec = meshsim.api.import_traces([FIXTURES / "shop-otlp.json"], sample=0.25).scenario
    assert spec["spec"]["workload"][0]["rate"] == "40/s"


@pytest.mark.parametrize("p", [1.0, 0.5, 0.1, 0.01])
def test_tracestate_threshold_round_trips(p: float) -> None:
    assert sample_of_tracestate(f"ot=th:{threshold(p)}") == pytest.approx(p, rel=1e-9)


def test_written_scenario_loads_and_runs(tmp_path: Path) -> None:
    imported = meshsim.api.import_traces([FIXTURES / "shop-otlp.json"], latency="empirical",
                                         duration="2s", warmup="0s")
    out = tmp_path / "shop.yaml"
    meshsim.api.write_imported(imported, out)
    assert "latency: empirical(samples/reviews-v1.csv)" in out.read_text()
    assert (tmp_path / "samples" / "productpage.csv").read_text().splitlines()[1:] == \
        ["13"] * 4
    results = meshsim.simulate(meshsim.load(out))
    assert set(results.summary["service"]) == {"details", "productpage", "ratings", "reviews"}


def test_merge_into_a_kubernetes_scenario_keeps_the_cluster(tmp_path: Path) -> None:
    k8s = tmp_path / "k8s.yaml"
    meshsim.api.write_imported(
        meshsim.api.import_kubernetes([FIXTURES / "bookinfo-dump.yaml"], name="shop"), k8s)
    merged = meshsim.api.import_traces([FIXTURES / "shop-jaeger.json"], into=k8s)
    services = merged.scenario["spec"]["services"]
    assert services["productpage"]["replicas"] == 3  # the Deployment's, not the traces' 2
    reviews = services["reviews"]["versions"]
    # DestinationRule subsets stable/canary select version v1/v2: the traces' v1/v2 fill them.
    assert reviews["stable"]["latency"] == "constant(32ms)"
    assert reviews["canary"]["latency"] == "constant(12ms)"
    assert "latency" not in services["reviews"]
    assert services["details"]["replicas"] == 1  # in the traces only
    # The scenario's workload to the same entry point keeps its name; the rate is measured.
    assert merged.scenario["spec"]["workload"] == [{
        "name": "users", "target": "productpage", "rate": "10/s", "arrival": "poisson",
        "clients": 1}]
    assert [m["kind"] for m in merged.manifests] == [
        "Namespace", "DestinationRule", "VirtualService"]
    out = tmp_path / "merged.yaml"
    meshsim.api.write_imported(merged, out)
    assert "details:  # seen in the traces only" in out.read_text()
    assert meshsim.load(out).spec.mesh == "istio"


def test_istio_service_names_full_urls_and_old_otlp_field_names(tmp_path: Path) -> None:
    """Istio's sidecars name spans ``<app>.<namespace>`` and tag ``http.url``; collectors
    before 2021 wrote ``instrumentationLibrarySpans``."""
    data = json.loads((FIXTURES / "shop-otlp.json").read_text())
    for resource in data["resourceSpans"]:
        attributes = resource["resource"]["attributes"]
        name = next(a for a in attributes if a["key"] == "service.name")
        name["value"]["stringValue"] += ".shop"
        resource["resource"]["attributes"] = [a for a in attributes
                                              if a["key"] != "k8s.namespace.name"]
        resource["instrumentationLibrarySpans"] = resource.pop("scopeSpans")
        for scope in resource["instrumentationLibrarySpans"]:
            scope["instrumentationLibrary"] = scope.pop("scope")
            for span in scope["spans"]:
                for attribute in span["attributes"]:
                    if attribute["key"] == "url.path":
                        attribute["key"] = "http.url"
                        attribute["value"]["stringValue"] = (
                            "http://x.shop:9080" + attribute["value"]["stringValue"] + "?q=1")
    path = tmp_path / "istio.json"
    path.write_text(json.dumps(data))
    spec = meshsim.api.import_traces([path]).scenario["spec"]
    assert sorted(spec["services"]) == ["details", "productpage", "ratings", "reviews"]
    assert spec["services"]["details"]["namespace"] == "shop"
    assert spec["workload"][0]["request"]["path"] == "/productpage"
    assert spec["services"]["productpage"]["calls"][0]["parallel"][0]["path"] == "/details"


def test_jaeger_spans_without_span_kind_give_the_same_graph(tmp_path: Path) -> None:
    """Zipkin-style spans say no kind: a span under another service's is a server span."""
    data = json.loads((FIXTURES / "shop-jaeger.json").read_text())
    for trace in data["data"]:
        # Keep only the server side: each service's span, parented to its caller's.
        servers = {s["spanID"]: s for s in trace["spans"]
                   if {"key": "span.kind", "type": "string", "value": "server"} in s["tags"]}
        parent_of = {s["spanID"]: s["references"][0]["spanID"] for s in trace["spans"]
                     if s["references"]}
        for span in servers.values():
            span["tags"] = [t for t in span["tags"] if t["key"] != "span.kind"]
            up = parent_of.get(span["spanID"])
            while up is not None and up not in servers:
                up = parent_of.get(up)
            span["references"] = [{"refType": "CHILD_OF", "traceID": span["traceID"],
                                   "spanID": up}] if up else []
        trace["spans"] = list(servers.values())
    path = tmp_path / "zipkin-ish.json"
    path.write_text(json.dumps(data))
    spec = meshsim.api.import_traces([path]).scenario["spec"]
    assert spec["services"]["productpage"]["calls"] == [{"parallel": ["details", "reviews"]}]
    assert spec["services"]["reviews"]["calls"] == [
        {"service": "ratings", "probability": 0.5, "optional": True}]
    assert spec["workload"][0]["name"] == "productpage-callers"  # no client span at the root


def test_a_resend_is_a_retry_of_the_same_call_not_a_new_one(tmp_path: Path) -> None:
    data = json.loads((FIXTURES / "shop-otlp.json").read_text())
    for resource in data["resourceSpans"]:
        spans = resource["scopeSpans"][0]["spans"]
        first = next((s for s in spans if s["spanId"] == "01000000000000c1"), None)
        if first is not None:  # productpage's call to details in trace 1: failed, then again
            again = json.loads(json.dumps(first))
            again["spanId"] = "01000000000000f1"
            again["attributes"].append({"key": "http.request.resend_count",
                                        "value": {"intValue": "1"}})
            first["status"] = {"code": 2}
            spans.append(again)
    path = tmp_path / "retried.json"
    path.write_text(json.dumps(data))
    imported = meshsim.api.import_traces([path])
    calls = imported.scenario["spec"]["services"]["productpage"]["calls"]
    assert calls == [{"parallel": [{"service": "details", "path": "/details"},
                                   {"service": "reviews", "path": "/reviews"}]}]
    assert "retried in the traces (details 25.0% of calls)" in imported.text()
