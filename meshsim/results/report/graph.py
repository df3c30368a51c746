"""The service graph as Kiali draws it: nodes (load clients, gateways, services), edges with
their request rate, error share, p95 and mTLS, coloured by Kiali's default health thresholds,
and a deterministic layered layout.

Kiali's request-health defaults (kiali.io ``Configuration/health.md``): HTTP 5xx share
degraded above 0, failure at 10 % or more; 4xx degraded at 10 %, failure at 20 %. A request
that got no answer (the caller gave up: status 0) counts with the 5xx, as meshsim's success
rate counts it. Kiali's lock marks an edge with any mTLS traffic.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from meshsim.results.formatting import missing
from meshsim.results.viz.edges import OK, secured
from meshsim.results.viz.mesh import MeshInfo

HEALTHY, DEGRADED, FAILURE, IDLE = "healthy", "degraded", "failure", "idle"
GATEWAY_SERVICE = "istio-ingressgateway"  # the service an ingress gateway's pods serve
_RANK = {IDLE: 0, HEALTHY: 1, DEGRADED: 2, FAILURE: 3}


@dataclass(frozen=True)
class Thresholds:
    """Degraded and failure thresholds of one class of codes (shares in [0, 1]); a share
    above ``degraded`` (strictly, as Kiali's 5xx ``> 0``) or at/above ``failure``."""

    degraded: float
    failure: float
    strict: bool = False

    def health(self, share: float) -> str:
        if share >= self.failure:
            return FAILURE
        if share > self.degraded if self.strict else share >= self.degraded:
            return DEGRADED
        return HEALTHY


SERVER_ERRORS = Thresholds(degraded=0.0, failure=0.10, strict=True)
CLIENT_ERRORS = Thresholds(degraded=0.10, failure=0.20)


def health(requests: float, errors: float, client_errors: float = 0.0) -> str:
    """Kiali's request health of ``requests`` of which ``errors`` failed (5xx or no answer)
    and ``client_errors`` were 4xx: the worse of the two verdicts; idle without traffic."""
    if missing(requests) or requests <= 0:
        return IDLE
    a = SERVER_ERRORS.health(errors / requests)
    b = CLIENT_ERRORS.health((client_errors or 0.0) / requests)
    return a if _RANK[a] >= _RANK[b] else b


@dataclass
class Node:
    name: str
    kind: str  # client | gateway | service | unknown
    health: str = IDLE
    requests: int = 0
    error_rate: float = float("nan")
    layer: int = 0
    order: int = 0
    detail: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Edge:
    source: str
    destination: str
    mirror: bool
    requests: int
    rps: float
    error_rate: float
    p95: float
    mtls: bool
    health: str


@dataclass(frozen=True)
class Graph:
    nodes: dict[str, Node]
    edges: list[Edge]


def _workloads_of(info: MeshInfo, node: str) -> list[str]:
    """The workloads behind a node: a service's deployments, or the client/gateway itself."""
    found = [w.name for w in info.workloads.values() if w.service == node]
    return found or [node]


def mtls(info: MeshInfo, source: str, destination: str) -> bool:
    """Any workload pair of the edge talks mutual TLS (Kiali: lock when the mTLS share > 0)."""
    return any(secured(info, a, b) == OK for a in _workloads_of(info, source)
               for b in _workloads_of(info, destination))


def build_graph(info: MeshInfo, summary: pd.DataFrame, edges: pd.DataFrame | None) -> Graph:
    """Nodes: every service of the run, the workloads' clients and the gateways; edges: the
    run's traffic (``edges`` frame), or the call graph without numbers when it is absent."""
    alias = _gateway_alias(info)
    nodes: dict[str, Node] = {}
    for w in sorted(info.workloads.values(), key=lambda w: w.name):
        name, kind = (w.service, "service") if w.kind == "deployment" else (w.name, w.kind)
        nodes.setdefault(name, Node(name, kind))
    for row in summary.to_dict("records"):
        if str(row.get("subset") or ""):
            continue  # a subset row: the service's own row (subset "") carries its health
        name = alias.get(str(row["service"]), str(row["service"]))
        node = nodes.setdefault(name, Node(name, "service"))
        requests = 0 if missing(row.get("requests")) else int(row["requests"])
        node.requests = requests
        if requests:
            node.error_rate = 1.0 - float(row["success_rate"])
        node.health = health(requests, requests * (0.0 if missing(node.error_rate)
                                                   else node.error_rate),
                             float(row.get("client_errors") or 0))
    for row in summary.to_dict("records"):
        if str(row.get("subset") or ""):
            nodes[alias.get(str(row["service"]), str(row["service"]))].detail.append(
                str(row["subset"]))
    out = [_edge(info, row, alias) for row in edges.to_dict("records")] \
        if edges is not None else _call_graph(info)
    for edge in out:
        for name in (edge.source, edge.destination):
            nodes.setdefault(name, Node(name, "unknown"))
    layout(nodes, out)
    return Graph(nodes, sorted(out, key=lambda e: (e.source, e.destination, e.mirror)))


def _gateway_alias(info: MeshInfo) -> dict[str, str]:
    """Calls into an ingress gateway name the service its pods serve
    (``istio-ingressgateway``); with one gateway in the run that service is its node."""
    gateways = [w.name for w in info.workloads.values() if w.kind == "gateway"]
    return {GATEWAY_SERVICE: gateways[0]} if len(gateways) == 1 else {}


def _edge(info: MeshInfo, row: Mapping[Hashable, Any], alias: Mapping[str, str]) -> Edge:
    requests = int(row["requests"])
    source = alias.get(str(row["source"]), str(row["source"]))
    destination = alias.get(str(row["destination"]), str(row["destination"]))
    return Edge(
        source=source, destination=destination,
        mirror=bool(row["mirror"]), requests=requests, rps=float(row["rps"]),
        error_rate=float(row["error_rate"]), p95=float(row["p95"]),
        mtls=mtls(info, source, destination),
        health=health(requests, float(row["errors"]), float(row.get("client_errors") or 0)),
    )


def _call_graph(info: MeshInfo) -> list[Edge]:
    """Who calls whom by the scenario (``mesh_info.requests``), no traffic figures."""
    seen: set[tuple[str, str]] = set()
    for key in info.requests:
        caller, _, service = key.partition(">")
        workload = info.workloads.get(caller)
        source = workload.service if workload is not None and workload.kind == "deployment" \
            else caller
        seen.add((source, service))
    nan = float("nan")
    return [Edge(s, d, False, 0, nan, nan, nan, mtls(info, s, d), IDLE) for s, d in sorted(seen)]


def layout(nodes: dict[str, Node], edges: list[Edge]) -> None:
    """Layers by call depth: the workloads' clients (and nodes nobody calls) first, each other
    node (a gateway too) one layer past its nearest caller (breadth first, so a cycle cannot
    loop); within a layer, nodes ordered by their callers' mean position, then by name."""
    callers: dict[str, set[str]] = defaultdict(set)
    callees: dict[str, set[str]] = defaultdict(set)
    for e in edges:
        if e.source != e.destination:
            callers[e.destination].add(e.source)
            callees[e.source].add(e.destination)
    roots = sorted(n for n in nodes if nodes[n].kind == "client" or not callers[n])
    depth = {n: 0 for n in roots}
    frontier = roots
    while frontier:
        nxt = sorted({c for n in frontier for c in callees[n] if c not in depth})
        for c in nxt:
            depth[c] = depth[min(callers[c] & depth.keys(), key=lambda p: (depth[p], p))] + 1
        frontier = nxt
    for n in sorted(nodes):  # unreachable from a root (a cycle with no way in)
        depth.setdefault(n, 0)
    position: dict[str, float] = {}
    for layer in range(max(depth.values(), default=-1) + 1):
        members = [n for n in sorted(nodes) if depth[n] == layer]

        def key(n: str) -> tuple[float, str]:
            placed = [position[p] for p in callers[n] if p in position]
            return (sum(placed) / len(placed) if placed else -1.0, n)

        for i, n in enumerate(sorted(members, key=key)):
            nodes[n].layer, nodes[n].order = layer, i
            position[n] = float(i)
