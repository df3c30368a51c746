"""``linkerd viz stat`` and ``linkerd viz authz`` over a run.

stat: per resource, the requests its pods' inbound proxies saw (one per attempt, as the
destination sidecar counts them): MESHED (meshed pods / pods), SUCCESS (share ``ok``), RPS
over the window, LATENCY_P50/P95/P99 of those attempts and TCP_CONN (distinct caller proxy and
pod pairs: linkerd2-proxy and Envoy keep one pooled connection per client proxy and endpoint).
``--from`` keeps the attempts of one source, ``--to`` those to one destination, so
``stat deploy --from deploy/web`` is web's outbound view.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from meshsim.results.stats import denied
from meshsim.results.viz.golden import GOLDEN_COLUMNS, golden, relabel
from meshsim.results.viz.resources import Resource, destination, source
from meshsim.results.viz.run import VizError, VizRun, Window

STAT_COLUMNS = ("namespace", "name", "meshed", *GOLDEN_COLUMNS, "tcp_conn")
AUTHZ_COLUMNS = ("namespace", "server", "client", "unauthorized", "authorized", *GOLDEN_COLUMNS)


def window_attempts(
    run: VizRun, window: Window, *, from_: Resource | None = None, to: Resource | None = None,
) -> pd.DataFrame:
    """The attempts that start in ``window``, from ``from_`` and to ``to``."""
    attempts = run.attempts
    if attempts.empty and not run.calls.empty:
        raise VizError(f"{run.name}: the run did not record attempts (spec.record: attempts "
                       "off): per-attempt views need them")
    keep = window.mask(attempts)
    if from_ is not None and from_.name is not None:
        keep &= np.asarray(source(attempts, run.info, from_.kind) == from_.name)
    if to is not None and to.name is not None:
        keep &= np.asarray(destination(attempts, run.info, to.kind) == to.name)
    return attempts[keep]


def stat(
    run: VizRun, window: Window, resource: Resource, *, from_: Resource | None = None,
    to: Resource | None = None,
) -> pd.DataFrame:
    """One row per resource of ``resource.kind`` (only ``resource.name`` if given), with
    traffic or not: a resource without requests in the window has NaN metrics ("-")."""
    attempts = window_attempts(run, window, from_=from_, to=to)
    work = pd.DataFrame({
        "name": destination(attempts, run.info, resource.kind),
        "ok": attempts["ok"].to_numpy(), "latency": attempts["latency"].to_numpy(),
        "caller": attempts["caller"].to_numpy(), "pod": attempts["pod"].to_numpy(),
    })
    metrics = golden(work, ["name"], window.span)
    conns = work.groupby("name", observed=True)[["caller", "pod"]].apply(
        lambda g: len(g.drop_duplicates())) if len(work) else pd.Series(dtype=int)
    rows = _resources(run, resource)
    out = rows.merge(metrics, on="name", how="left")
    out["tcp_conn"] = out["name"].map(lambda n: int(conns.get(n, 0))).astype("int64")
    out["requests"] = out["requests"].fillna(0).astype("int64")
    if resource.name is not None:
        out = out[out["name"] == resource.name]
        if out.empty:
            raise VizError(f"{resource}: no such {resource.kind} in run {run.name}")
    return out[list(STAT_COLUMNS)].reset_index(drop=True)


def _resources(run: VizRun, resource: Resource) -> pd.DataFrame:
    """Every resource of the kind with namespace and MESHED ("meshed/total" pods)."""
    rows: dict[str, tuple[str, int, int]] = {}
    for w in run.info.workloads.values():
        if resource.kind == "deploy":
            keys = [w.name]
        elif resource.kind == "svc":
            keys = [w.service] if w.service else []
        elif resource.kind == "pod":
            keys = list(w.pods)
        else:
            keys = [w.namespace]
        for key in keys:
            per_pod = resource.kind == "pod"
            ns, meshed, total = rows.get(key, (w.namespace, 0, 0))
            count = 1 if per_pod else len(w.pods)
            rows[key] = (ns, meshed + (count if w.meshed else 0), total + count)
    frame = pd.DataFrame(
        [(ns, name, f"{m}/{t}") for name, (ns, m, t) in sorted(rows.items())],
        columns=["namespace", "name", "meshed"],
    )
    if resource.kind == "ns":
        frame["namespace"] = frame["name"]
    return frame


def authz(
    run: VizRun, window: Window, resource: Resource, *, from_: Resource | None = None,
) -> pd.DataFrame:
    """Per server (the destination, named as ``resource.kind``) and client identity: the
    requests its inbound authorization refused (UNAUTHORIZED: 403 not made by fault
    injection, per second) and the golden metrics of those it let in. meshsim does not record
    which policy admitted a request, so there is no AUTHORIZATION (policy name) column."""
    to = resource if resource.name is not None else None
    attempts = window_attempts(run, window, from_=from_, to=to)
    refused = denied(attempts)
    owner = run.info.pod_owner()

    def identity(pod: str) -> str:
        w = run.info.workloads.get(owner.get(pod, pod))
        return (w.identity or "-") if w is not None else "-"

    work = pd.DataFrame({
        "server": destination(attempts, run.info, resource.kind),
        "client": relabel(attempts["caller"], identity),
        "ok": attempts["ok"].to_numpy(), "latency": attempts["latency"].to_numpy(),
        "refused": refused,
    })
    allowed = golden(work[~refused], ["server", "client"], window.span)
    counts = work.groupby(["server", "client"], observed=True).agg(
        refused=("refused", "sum"), total=("refused", "size")).reset_index()
    counts["server"] = counts["server"].astype(str)
    counts["client"] = counts["client"].astype(str)
    out = counts.merge(allowed, on=["server", "client"], how="left")
    out["unauthorized"] = out.pop("refused") / window.span
    out["authorized"] = out["requests"].fillna(0).astype("int64")
    out["requests"] = out.pop("total").astype("int64")
    out["namespace"] = out["server"].map(lambda s: _namespace(run, resource.kind, s))
    return out[list(AUTHZ_COLUMNS)].sort_values(["namespace", "server", "client"]).reset_index(
        drop=True)


def _namespace(run: VizRun, kind: str, name: str) -> str:
    if kind == "svc":
        return run.info.service_namespace(name)
    if kind == "ns":
        return name
    owner = run.info.pod_owner().get(name, name)
    w = run.info.workloads.get(owner)
    return w.namespace if w is not None else "default"
