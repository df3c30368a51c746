"""``linkerd viz edges``: which workloads talked to which in the window, and whether the
connection was mutual TLS, with the identities each side presented (``-o wide``).

SECURED is ``√`` when both sides had a sidecar and the destination's mTLS mode is not
DISABLE (Linkerd: both meshed); otherwise ``×`` and why, as ``linkerd viz edges`` prints
its no-identity reason.
"""

from __future__ import annotations

import pandas as pd

from meshsim.results.viz.mesh import MeshInfo, Workload
from meshsim.results.viz.resources import Resource, destination, source
from meshsim.results.viz.run import VizRun, Window
from meshsim.results.viz.stat import window_attempts

EDGE_COLUMNS = ("src", "dst", "src_ns", "dst_ns", "client_id", "server_id", "secured",
                "requests")
OK = "√"


def secured(info: MeshInfo, src: str, dst: str) -> str:
    """``√`` or ``× <reason>`` for traffic from workload ``src`` to workload ``dst``."""
    a, b = info.workloads.get(src), info.workloads.get(dst)
    if a is None or not a.meshed:
        return f"× no identity: {src} has no sidecar"
    if b is None or not b.meshed:
        return f"× not meshed: {dst} has no sidecar"
    if b.mtls == "DISABLE":
        return f"× mTLS disabled at {dst} (PeerAuthentication DISABLE)"
    return OK


def short_identity(info: MeshInfo, workload: Workload | None) -> str:
    """Linkerd's wide output shortens identities to ``<sa>.<ns>``; Istio's are SPIFFE IDs."""
    if workload is None or not workload.identity:
        return ""
    if info.mesh == "linkerd":
        return ".".join(workload.identity.split(".")[:2])
    return workload.identity


def edges(
    run: VizRun, window: Window, resource: Resource, *, from_: Resource | None = None,
    to: Resource | None = None,
) -> pd.DataFrame:
    """One row per (source, destination) pair of ``resource.kind`` (deploy or pod) that had
    attempts in the window; ``requests`` counts them."""
    attempts = window_attempts(run, window, from_=from_, to=to)
    kind = "pod" if resource.kind == "pod" else "deploy"
    pairs = pd.DataFrame({
        "src": source(attempts, run.info, kind), "dst": destination(attempts, run.info, kind),
    })
    counts = pairs.groupby(["src", "dst"], observed=True).size().reset_index(name="requests")
    owner = run.info.pod_owner()
    rows = []
    for src, dst, n in counts.itertuples(index=False):
        a = run.info.workloads.get(owner.get(str(src), str(src)))
        b = run.info.workloads.get(owner.get(str(dst), str(dst)))
        rows.append({
            "src": str(src), "dst": str(dst),
            "src_ns": a.namespace if a else "default", "dst_ns": b.namespace if b else "default",
            "client_id": short_identity(run.info, a) if a and b and b.meshed else "",
            "server_id": short_identity(run.info, b) if a and a.meshed else "",
            "secured": secured(run.info, a.name if a else str(src), b.name if b else str(dst)),
            "requests": int(n),
        })
    out = pd.DataFrame(rows, columns=list(EDGE_COLUMNS))
    if resource.name is not None:
        out = out[(out["src"] == resource.name) | (out["dst"] == resource.name)]
    out["requests"] = out["requests"].astype("int64")
    return out.sort_values(["src_ns", "dst_ns", "src", "dst"]).reset_index(drop=True)
