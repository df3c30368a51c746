"""linkerd2-proxy's metrics: ``request_total``, ``response_total`` (``classification``
success or failure: a 5xx or no answer is a failure) and the ``response_latency_ms``
histogram with linkerd-proxy's buckets, from the inbound proxy of the pod that served each
attempt (``direction="inbound"``) and the outbound proxy of the caller
(``direction="outbound"``, per attempt: the endpoint-level metrics). A side without a sidecar
reports nothing; mirrored requests are left out.
"""

from __future__ import annotations

import pandas as pd

from meshsim.results.openmetrics.series import Labels, Series, group_series
from meshsim.results.viz.edges import OK, secured
from meshsim.results.viz.mesh import MeshInfo

# linkerd-proxy's latency histogram bounds (ms), linkerd/metrics latency BOUNDS.
BUCKETS = (1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 100, 200, 300, 400, 500, 1000, 2000, 3000, 4000,
           5000, 10000, 20000, 30000, 40000, 50000)
REQUESTS = "request_total"
RESPONSES = "response_total"
LATENCY = "response_latency_ms"


def _labels(
    info: MeshInfo, direction: str, caller: str, service: str, pod: str, status: int | None,
) -> Labels | None:
    owner = info.pod_owner()
    src = info.workloads.get(owner.get(caller, caller))
    dst = info.workloads.get(owner.get(pod, pod))
    me, peer = (dst, src) if direction == "inbound" else (src, dst)
    me_pod, peer_pod = (pod, caller) if direction == "inbound" else (caller, pod)
    if me is None or not me.meshed:
        return None
    mutual = secured(info, src.name if src else caller, dst.name if dst else pod) == OK
    ns = info.service_namespace(service)
    labels = {
        "direction": direction, "authority": f"{service}.{ns}.svc.cluster.local:80",
        "namespace": me.namespace, "deployment": me.name, "pod": me_pod,
        "tls": "true" if mutual else "no_identity",
    }
    if direction == "inbound":
        labels["client_id"] = src.identity if mutual and src is not None else ""
    else:
        labels.update({
            "dst_namespace": peer.namespace if peer else ns,
            "dst_deployment": peer.name if peer else "", "dst_pod": peer_pod,
            "dst_service": service, "server_id": dst.identity if mutual and dst else "",
        })
    if status is not None:
        labels["status_code"] = str(status) if status else ""
    return tuple(sorted(labels.items()))


def classification(status: int) -> str:
    return "success" if 1 <= status <= 499 else "failure"


def linkerd_series(
    info: MeshInfo, attempts: pd.DataFrame,
) -> tuple[list[Series], list[Series], list[Series]]:
    """(request_total by start, response_total, response_latency_ms) series."""
    attempts = attempts[~attempts["mirror"].to_numpy(dtype=bool)]
    keys = ["caller", "service", "pod"]
    requests, responses, latency = [], [], []
    for direction in ("inbound", "outbound"):
        requests += group_series(attempts, keys, lambda row, d=direction: _labels(
            info, d, str(row["caller"]), str(row["service"]), str(row["pod"]), None),
            time="start")

        def answered(row: dict[str, object], d: str = direction) -> Labels | None:
            status = int(row["status"])  # type: ignore[call-overload]
            base = _labels(info, d, str(row["caller"]), str(row["service"]), str(row["pod"]),
                           status)
            return None if base is None else tuple(sorted(
                (*base, ("classification", classification(status)))))

        responses += group_series(attempts, [*keys, "status"], answered)
        latency += group_series(attempts, [*keys, "status"], lambda row, d=direction: _labels(
            info, d, str(row["caller"]), str(row["service"]), str(row["pod"]),
            int(row["status"])))
    return requests, responses, latency
