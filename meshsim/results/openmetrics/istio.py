"""Istio's standard metrics (istio.io/latest/docs/reference/config/metrics): the
``istio_requests_total`` counter and the ``istio_request_duration_milliseconds`` histogram
with Envoy's default buckets, reported by the client sidecar (``reporter="source"``: one per
request after retries, the calls frame) and by the server sidecar (``reporter="destination"``:
one per attempt it received, the attempts frame). A side without a sidecar reports nothing.
Mirrored requests are left out.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from meshsim.model.grpc import grpc_code, http_status
from meshsim.results.openmetrics.series import Labels, Series, group_series
from meshsim.results.viz.edges import OK, secured
from meshsim.results.viz.mesh import MeshInfo, Workload

# Envoy's default histogram buckets (ms), which Istio's stats filter uses.
BUCKETS = (0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000,
           600000, 1800000, 3600000)
REQUESTS = "istio_requests"
DURATION = "istio_request_duration_milliseconds"


def _flags(status: int, flags: str) -> str:
    if flags:
        return flags
    return "DC" if status == 0 else "-"  # the caller hung up first: downstream disconnect


def _side(prefix: str, w: Workload | None, fallback: str) -> dict[str, str]:
    if w is None:
        return {f"{prefix}_workload": fallback, f"{prefix}_workload_namespace": "unknown",
                f"{prefix}_principal": "unknown", f"{prefix}_app": "unknown",
                f"{prefix}_version": "unknown", f"{prefix}_canonical_service": "unknown"}
    app = w.service or w.name
    return {
        f"{prefix}_workload": w.name, f"{prefix}_workload_namespace": w.namespace,
        f"{prefix}_principal": f"spiffe://{w.identity}" if w.identity else "unknown",
        f"{prefix}_app": app, f"{prefix}_version": w.version or "unknown",
        f"{prefix}_canonical_service": app,
    }


def _labels(
    info: MeshInfo, reporter: str, caller: str, service: str, pod: str, status: int, flags: str,
) -> Labels | None:
    owner = info.pod_owner()
    src = info.workloads.get(owner.get(caller, caller))
    dst = info.workloads.get(owner.get(pod, pod)) if pod else None
    reporting = src if reporter == "source" else dst
    if reporting is None or not reporting.meshed:
        return None
    ns = info.service_namespace(service)
    code = grpc_code(status)  # 200 with a grpc-status (model/grpc.py)
    security = "unknown"
    if reporter == "destination":
        mutual = secured(info, src.name if src else caller, dst.name if dst else pod) == OK
        security = "mutual_tls" if mutual else "none"
    labels: Mapping[str, str] = {
        "reporter": reporter, **_side("source", src, caller),
        **_side("destination", dst, "unknown"),
        "destination_service": f"{service}.{ns}.svc.cluster.local",
        "destination_service_name": service, "destination_service_namespace": ns,
        "request_protocol": "http" if code is None else "grpc",
        "response_code": str(http_status(status)),
        "response_flags": _flags(status, flags),
        "grpc_response_status": "" if code is None else str(code),
        "connection_security_policy": security,
    }
    return tuple(sorted(labels.items()))


def _last_pods(calls: pd.DataFrame, attempts: pd.DataFrame) -> pd.Series:
    """The pod of each call's last attempt (the upstream host the source reporter names)."""
    last = attempts.sort_values(["call_id", "attempt"]).drop_duplicates("call_id", keep="last")
    pods = pd.Series(last["pod"].astype(str).to_numpy(), index=last["call_id"].to_numpy())
    return pd.Series(pods.reindex(calls["call_id"].to_numpy()).fillna("").to_numpy(),
                     index=calls.index, dtype="category")


def istio_series(info: MeshInfo, calls: pd.DataFrame, attempts: pd.DataFrame) -> list[Series]:
    """Every series of both metrics (they share labels): source then destination reporter."""
    calls = calls[~calls["mirror"].to_numpy(dtype=bool)]
    attempts = attempts[~attempts["mirror"].to_numpy(dtype=bool)]
    source = calls.assign(pod=_last_pods(calls, attempts))
    keys = ["caller", "service", "pod", "status", "flags"]
    out = []
    for reporter, frame in (("source", source), ("destination", attempts)):
        out += group_series(frame, keys, lambda row, r=reporter: _labels(
            info, r, str(row["caller"]), str(row["service"]), str(row["pod"]),
            int(row["status"]), str(row["flags"])))
    return out

