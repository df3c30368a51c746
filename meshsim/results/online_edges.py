"""Traffic per edge of the service graph, read off the online aggregates: who called which
service after warm-up, how often, how many failed and how fast (p50/p95/p99).

A graph node is a service (its pods' calls merged), a workload's load clients, or an ingress
gateway, as Kiali's app graph draws them; :func:`graph_node` maps a caller (pod or client proxy)
to its node through :class:`~meshsim.results.viz.mesh.MeshInfo`. Counts are exact; the quantiles
come from the edges' merged latency sketches (as the summary's), so the numbers equal the run's
own and need no stored rows: a run recorded at ``--record summary`` has them too
(``edges.parquet`` in the run directory).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from meshsim.results.frames import is_ok
from meshsim.results.online import Online, edge_sketches
from meshsim.results.viz.mesh import MeshInfo

EDGE_COLUMNS = ("source", "source_kind", "destination", "mirror", "requests", "rps", "errors",
                "error_rate", "server_errors", "client_errors", "p50", "p95", "p99")
EDGE_QUANTILES = {"p50": 0.50, "p95": 0.95, "p99": 0.99}


def graph_node(info: MeshInfo, caller: str) -> tuple[str, str]:
    """(node name, kind) of a caller: its service (``service``), its workload (``client``,
    ``gateway``), or itself (``unknown``) when the run does not say."""
    owner = info.pod_owner().get(caller)
    workload = info.workloads.get(owner) if owner is not None else None
    if workload is None:
        return caller, "unknown"
    if workload.kind == "deployment":
        return workload.service, "service"
    return workload.name, workload.kind


def edge_summary(online: Online, info: MeshInfo, *, start: float, end: float) -> pd.DataFrame:
    """One row per (source node, destination service, mirror copy or not) over the calls that
    start in ``[start, end)`` (a window the aggregates kept: the summary's)."""
    window = online.aggregates.window(start, end)
    rows = online.window_calls(window)
    if rows.empty:
        return pd.DataFrame({name: [] for name in EDGE_COLUMNS})
    nodes = {str(c): graph_node(info, str(c)) for c in rows["caller"].unique()}
    keys = list(zip(
        (nodes[str(c)][0] for c in rows["caller"]),
        (nodes[str(c)][1] for c in rows["caller"]),
        rows["service"].astype(str), rows["mirror"].to_numpy(dtype=bool), strict=True,
    ))
    distinct = sorted(set(keys))
    position = {key: i for i, key in enumerate(distinct)}
    group = np.asarray([position[k] for k in keys], dtype=np.int64)
    n = rows["n"].to_numpy(dtype=np.float64)
    status = rows["status"].to_numpy()
    requests = np.bincount(group, weights=n, minlength=len(distinct))
    errors = np.bincount(group, weights=n * ~is_ok(status), minlength=len(distinct))
    server = np.bincount(group, weights=n * (status >= 500), minlength=len(distinct))
    client = np.bincount(group, weights=n * ((status >= 400) & (status < 500)),
                         minlength=len(distinct))
    span = end - start
    out = pd.DataFrame({
        "source": [k[0] for k in distinct], "source_kind": [k[1] for k in distinct],
        "destination": [k[2] for k in distinct], "mirror": [k[3] for k in distinct],
        "requests": requests.astype(np.int64),
        "rps": requests / span if span > 0 else np.full(len(distinct), np.nan),
        "errors": errors.astype(np.int64),
        "error_rate": np.divide(errors, requests, out=np.zeros(len(distinct)),
                                where=requests > 0),
        "server_errors": server.astype(np.int64), "client_errors": client.astype(np.int64),
    })
    sketches = edge_sketches(online, window, rows, group)
    ids, _, values = sketches.quantiles(list(EDGE_QUANTILES.values()))
    for j, name in enumerate(EDGE_QUANTILES):
        column = np.full(len(distinct), np.nan)
        column[ids] = values[:, j]
        out[name] = column
    return out[list(EDGE_COLUMNS)]
