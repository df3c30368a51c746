"""The service graph drawn as SVG: Kiali's shapes (a circle for a workload's clients or a
gateway, a rounded square for a service), health colours, edge labels with the request rate
and p95, a lock on mTLS edges, a dashed edge for mirrored copies.
"""

from __future__ import annotations

import math

from meshsim.results.formatting import format_metric
from meshsim.results.report.graph import IDLE, Edge, Graph, Node
from meshsim.results.report.svg import COLOURS, element, esc, title

LAYER_GAP, ROW_GAP, MARGIN, RADIUS = 260.0, 110.0, 70.0, 22.0
TOP = 100.0  # room above the first row for an arc back to an earlier layer


def lock(x: float, y: float) -> str:
    """Kiali's mTLS lock, drawn (no emoji font needed): a shackle over a body."""
    return element("g", element("path", d=f"M{x + 2:.1f},{y:.1f} v-3 a3,3 0 0 1 6,0 v3",
                                fill="none", stroke="#151515", stroke_width=1.5)
                   + element("rect", x=x, y=y, width=10.0, height=7.0, rx=1.0, fill="#151515"),
                   class_="lock")


def rate_label(rps: float) -> str:
    """Kiali's edge label for traffic: ``12.30rps``."""
    return "-" if math.isnan(rps) else f"{rps:.2f}rps"


def edge_label(edge: Edge) -> str:
    """``696.29rps · 42.3% · p95 1.54s``: rate, error share when any, p95."""
    if edge.requests == 0 and math.isnan(edge.rps):
        return "no traffic figures"
    parts = [rate_label(edge.rps)]
    if edge.error_rate > 0:
        parts.append(f"{edge.error_rate:.1%}")
    parts.append(f"p95 {format_metric('p95', edge.p95)}")
    return " · ".join(parts)


def _xy(node: Node) -> tuple[float, float]:
    return MARGIN + node.layer * LAYER_GAP, TOP + node.order * ROW_GAP


def _node(node: Node) -> str:
    x, y = _xy(node)
    colour = COLOURS[node.health]
    tip = f"{node.name} ({node.kind})"
    if node.requests:
        tip += (f": {node.requests:,} requests after warm-up, "
                f"{format_metric('error_rate', node.error_rate)} errors ({node.health})")
    if node.detail:
        tip += f"; versions {', '.join(node.detail)}"
    if node.kind == "service":
        shape = element("rect", x=x - RADIUS, y=y - RADIUS, width=2 * RADIUS, height=2 * RADIUS,
                        rx=6.0, fill="#fff", stroke=colour, stroke_width=3.0)
    else:
        shape = element("circle", cx=x, cy=y, r=RADIUS, fill="#fff", stroke=colour,
                        stroke_width=3.0)
    glyph = {"client": "C", "gateway": "GW", "service": "S"}.get(node.kind, "?")
    return element(
        "g", title(tip) + shape
        + element("text", glyph, x=x, y=y + 5.0, text_anchor="middle", class_="glyph")
        + element("text", esc(node.name), x=x, y=y + RADIUS + 16.0, text_anchor="middle",
                  class_="node-name"),
        class_=f"node {node.health}", data_node=node.name, data_health=node.health)


def _edge(edge: Edge, nodes: dict[str, Node]) -> str:
    (x1, y1), (x2, y2) = _xy(nodes[edge.source]), _xy(nodes[edge.destination])
    colour = COLOURS[edge.health] if edge.health != IDLE else COLOURS[IDLE]
    forward = x2 > x1
    if forward and edge.mirror:  # beside the edge it copies: a curve below
        sx, sy, ex, ey = x1 + RADIUS, y1 + 6.0, x2 - RADIUS - 4.0, y2 + 6.0
        cx, cy = (sx + ex) / 2, max(sy, ey) + 42.0
        path = f"M{sx:.1f},{sy:.1f} Q{cx:.1f},{cy + 24.0:.1f} {ex:.1f},{ey:.1f}"
    elif forward:
        sx, sy, ex, ey = x1 + RADIUS, y1, x2 - RADIUS - 4.0, y2
        cx, cy = (sx + ex) / 2, (sy + ey) / 2
        path = f"M{sx:.1f},{sy:.1f} L{ex:.1f},{ey:.1f}"
    else:  # same layer or backwards (a cycle): an arc above
        sx, sy, ex, ey = x1, y1 - RADIUS, x2, y2 - RADIUS - 4.0
        cx, cy = (sx + ex) / 2, min(sy, ey) - 60.0
        path = f"M{sx:.1f},{sy:.1f} Q{cx:.1f},{cy - 30.0:.1f} {ex:.1f},{ey:.1f}"
    label = edge_label(edge)
    tip = (f"{edge.source} → {edge.destination}{' (mirrored copies)' if edge.mirror else ''}: "
           f"{edge.requests:,} requests after warm-up; {label}"
           f"{'; mTLS' if edge.mtls else '; plaintext'}")
    return element(
        "g", title(tip)
        + element("path", d=path, fill="none", stroke=colour, stroke_width=2.0,
                  stroke_dasharray="6 4" if edge.mirror else None, marker_end="url(#arrow)")
        + element("text", esc(label), x=cx, y=cy + (18.0 if edge.mirror else -6.0),
                  text_anchor="middle",
                  class_="edge-label", data_rps=rate_label(edge.rps))
        + (lock(cx - 5.0, cy + 2.0) if edge.mtls else ""),
        class_=f"edge {edge.health}", data_source=edge.source, data_destination=edge.destination,
        data_mtls="1" if edge.mtls else "0", data_mirror="1" if edge.mirror else "0")


def graph_svg(graph: Graph) -> str:
    if not graph.nodes:
        return "<p>No services in this run.</p>"
    width = MARGIN * 2 + LAYER_GAP * max(n.layer for n in graph.nodes.values()) + 120.0
    height = TOP + MARGIN + ROW_GAP * max(n.order for n in graph.nodes.values()) + 20.0
    defs = ('<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
            'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
            'fill="#6a6e73"/></marker></defs>')
    body = defs + "".join(_edge(e, graph.nodes) for e in graph.edges) + "".join(
        _node(n) for n in sorted(graph.nodes.values(), key=lambda n: n.name))
    return element("svg", body, xmlns="http://www.w3.org/2000/svg", id="service-graph",
                   viewBox=f"0 0 {width:.0f} {height:.0f}", width=f"{width:.0f}",
                   height=f"{height:.0f}", role="img")
