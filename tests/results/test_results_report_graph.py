"""The report's service graph: Kiali's health thresholds, the mTLS lock, the edge labels and
the layered layout (meshsim.results.report.graph, graph_svg)."""

from __future__ import annotations

import math
import re

import pandas as pd
import pytest

from meshsim.results.report.graph import (
    DEGRADED,
    FAILURE,
    HEALTHY,
    IDLE,
    Edge,
    Node,
    build_graph,
    health,
    layout,
    mtls,
)
from meshsim.results.report.graph_svg import edge_label, graph_svg
from meshsim.results.viz.mesh import MeshInfo, Workload


@pytest.mark.parametrize(("errors", "expected"), [
    (0, HEALTHY),  # Kiali: 5xx degraded above 0 %
    (1, DEGRADED),  # 0.01 %
    (999, DEGRADED),  # 9.99 %
    (1000, FAILURE),  # failure at 10 %
    (10000, FAILURE),
])
def test_server_errors_follow_kialis_default_thresholds(errors: int, expected: str) -> None:
    assert health(10000, errors) == expected


@pytest.mark.parametrize(("client_errors", "expected"), [
    (999, HEALTHY),  # 4xx: degraded at 10 %
    (1000, DEGRADED),
    (1999, DEGRADED),
    (2000, FAILURE),  # failure at 20 %
])
def test_client_errors_follow_kialis_default_thresholds(client_errors: int, expected: str) -> None:
    assert health(10000, 0, client_errors) == expected


def test_the_worse_verdict_wins_and_no_traffic_is_idle() -> None:
    assert health(100, 1, 25) == FAILURE  # 4xx failure beats 5xx degraded
    assert health(100, 20, 0) == FAILURE
    assert health(100, 1, 10) == DEGRADED
    assert health(0, 0, 0) == IDLE
    assert health(float("nan"), 0) == IDLE


def _workload(name: str, kind: str, service: str = "", *, meshed: bool = True,
              mtls_mode: str = "PERMISSIVE") -> Workload:
    return Workload(name=name, kind=kind, service=service, version="", namespace="default",
                    meshed=meshed, identity=f"{name}.id" if meshed else "",
                    mtls=mtls_mode if kind == "deployment" else "", pods=(f"{name}-0",))


def _info(*workloads: Workload) -> MeshInfo:
    return MeshInfo("istio", {w.name: w for w in workloads}, {})


def test_lock_only_where_both_sides_have_sidecars_and_mtls_is_not_disabled() -> None:
    info = _info(_workload("users", "client"), _workload("api", "deployment", "api"),
                 _workload("legacy", "deployment", "legacy", meshed=False),
                 _workload("plain", "deployment", "plain", mtls_mode="DISABLE"))
    assert mtls(info, "users", "api")
    assert not mtls(info, "users", "legacy")
    assert not mtls(info, "legacy", "api")
    assert not mtls(info, "users", "plain")


def test_edge_label_shows_rate_error_share_and_p95() -> None:
    edge = Edge("users", "api", False, 4874, 696.2857, 0.4228, 1.5372, True, FAILURE)
    assert edge_label(edge) == "696.29rps · 42.3% · p95 1.54s"
    healthy = Edge("users", "api", False, 10, 2.0, 0.0, 0.0123, True, HEALTHY)
    assert edge_label(healthy) == "2.00rps · p95 12.3ms"
    nan = float("nan")
    assert edge_label(Edge("a", "b", False, 0, nan, nan, nan, False, IDLE)) == \
        "no traffic figures"


def _edge(a: str, b: str) -> Edge:
    return Edge(a, b, False, 1, 1.0, 0.0, 0.01, False, HEALTHY)


def _nodes(spec: dict[str, str]) -> dict[str, Node]:
    return {name: Node(name, kind) for name, kind in spec.items()}


def test_layers_follow_call_depth_from_the_clients() -> None:
    nodes = _nodes({"users": "client", "frontend": "service", "reviews": "service",
                    "ratings": "service"})
    layout(nodes, [_edge("users", "frontend"), _edge("frontend", "reviews"),
                   _edge("reviews", "ratings")])
    assert [nodes[n].layer for n in ("users", "frontend", "reviews", "ratings")] == [0, 1, 2, 3]


def test_a_node_sits_one_layer_past_its_nearest_caller_and_cycles_end() -> None:
    nodes = _nodes({"users": "client", "a": "service", "b": "service", "c": "service"})
    # users → a → b → c, and users → c directly; b → a closes a cycle
    layout(nodes, [_edge("users", "a"), _edge("a", "b"), _edge("b", "c"), _edge("users", "c"),
                   _edge("b", "a")])
    assert {n: nodes[n].layer for n in nodes} == {"users": 0, "a": 1, "c": 1, "b": 2}


def test_order_within_a_layer_follows_the_callers_then_the_name() -> None:
    nodes = _nodes({"u1": "client", "u2": "client", "x": "service", "y": "service",
                    "z": "service"})
    # u1 (row 0) calls z, u2 (row 1) calls x and y: z goes above x and y, x above y
    layout(nodes, [_edge("u2", "y"), _edge("u2", "x"), _edge("u1", "z")])
    assert [nodes[n].order for n in ("u1", "u2")] == [0, 1]
    assert [nodes[n].order for n in ("z", "x", "y")] == [0, 1, 2]


def test_layout_is_the_same_whatever_the_order_of_the_edges() -> None:
    edges = [_edge("users", "a"), _edge("users", "b"), _edge("a", "c"), _edge("b", "c"),
             _edge("c", "d")]
    placed = []
    for ordering in (edges, edges[::-1], edges[2:] + edges[:2]):
        nodes = _nodes({"users": "client", "a": "service", "b": "service", "c": "service",
                        "d": "service"})
        layout(nodes, ordering)
        placed.append({n: (v.layer, v.order) for n, v in nodes.items()})
    assert placed[0] == placed[1] == placed[2]


def test_graph_colours_a_service_by_its_summary_row_and_lists_versions() -> None:
    info = _info(_workload("users", "client"), _workload("api", "deployment", "api"))
    summary = pd.DataFrame([
        {"service": "api", "subset": "", "requests": 1000, "success_rate": 0.95,
         "client_errors": 0},
        {"service": "api", "subset": "v1", "requests": 900, "success_rate": 1.0,
         "client_errors": 0},
        {"service": "idle", "subset": "", "requests": 0, "success_rate": math.nan,
         "client_errors": 0},
    ])
    edges = pd.DataFrame([{"source": "users", "source_kind": "client", "destination": "api",
                           "mirror": False, "requests": 1000, "rps": 100.0, "errors": 50,
                           "error_rate": 0.05, "server_errors": 50, "client_errors": 0,
                           "p50": 0.01, "p95": 0.02, "p99": 0.03}])
    graph = build_graph(info, summary, edges)
    assert graph.nodes["api"].health == DEGRADED  # 5 % of 5xx: degraded, not failure
    assert graph.nodes["api"].detail == ["v1"]
    assert graph.nodes["idle"].health == IDLE
    assert graph.edges[0].health == DEGRADED and graph.edges[0].mtls
    svg = graph_svg(graph)
    assert 'data-node="api" data-health="degraded"' in svg
    assert 'class="lock"' in svg and "100.00rps · 5.0% · p95 20ms" in svg


def test_without_edge_figures_the_call_graph_is_drawn_idle() -> None:
    info = MeshInfo("istio", {
        "users": _workload("users", "client"),
        "api": _workload("api", "deployment", "api"),
        "db": _workload("db", "deployment", "db"),
    }, {"users>api": (("GET", "/"),), "api>db": (("GET", "/q"),)})
    graph = build_graph(info, pd.DataFrame(columns=["service", "subset"]), None)
    assert [(e.source, e.destination, e.health) for e in graph.edges] == [
        ("api", "db", IDLE), ("users", "api", IDLE)]
    assert [graph.nodes[n].layer for n in ("users", "api", "db")] == [0, 1, 2]


def test_a_gateway_is_the_node_its_callers_reach_and_sits_past_them() -> None:
    gateway = Workload(name="my-gateway", kind="gateway", service="", version="",
                       namespace="istio-system", meshed=True, identity="gw.id", mtls="",
                       pods=("my-gateway-0",))
    info = _info(_workload("internet", "client"), gateway,
                 _workload("api", "deployment", "api"))
    row = {"mirror": False, "requests": 10, "rps": 1.0, "errors": 0, "error_rate": 0.0,
           "client_errors": 0, "p95": 0.01}
    edges = pd.DataFrame([
        {**row, "source": "internet", "destination": "istio-ingressgateway"},
        {**row, "source": "my-gateway", "destination": "api"},
    ])
    graph = build_graph(info, pd.DataFrame(columns=["service", "subset"]), edges)
    assert "istio-ingressgateway" not in graph.nodes
    assert [(e.source, e.destination) for e in graph.edges] == [
        ("internet", "my-gateway"), ("my-gateway", "api")]
    assert [graph.nodes[n].layer for n in ("internet", "my-gateway", "api")] == [0, 1, 2]


def test_a_mirror_edge_is_drawn_apart_from_the_edge_it_copies() -> None:
    info = _info(_workload("users", "client"), _workload("api", "deployment", "api"))
    row = {"source": "users", "destination": "api", "requests": 10, "rps": 1.0, "errors": 0,
           "error_rate": 0.0, "client_errors": 0, "p95": 0.01}
    edges = pd.DataFrame([{**row, "mirror": False}, {**row, "mirror": True}])
    svg = graph_svg(build_graph(info, pd.DataFrame(columns=["service", "subset"]), edges))
    paths = [p for p in svg.split("<path ") if 'marker-end="url(#arrow)"' in p]
    assert len(paths) == 2 and sum('stroke-dasharray="6 4"' in p for p in paths) == 1
    labels_y = sorted(float(y) for y in re.findall(
        r'<text x="[^"]*" y="([^"]*)" text-anchor="middle" class="edge-label"', svg))
    assert labels_y[1] - labels_y[0] > 20  # the two labels do not overlap
