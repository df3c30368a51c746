"""``linkerd viz top`` and ``linkerd viz tap`` over the run's attempts (each attempt is one
request on the wire, which is what tap observes).

tap prints three lines per attempt in linkerd tap's format: ``req`` when it starts, ``rsp``
(``:status``, ``latency`` to the answer) and ``end`` when it ends; an attempt the caller
abandoned (status 0) has no ``rsp`` and ends with ``reset-error=CANCEL``. Sources and
destinations are pod names where tap prints addresses; meshsim models no bodies and no
streaming, so ``duration`` (answer to end of stream) is 0µs and ``response-length`` 0B.
The proxy tapped is the caller's (``proxy=out``), or the destination's (``proxy=in``) when the
caller has no sidecar; traffic between two unmeshed pods cannot be tapped and is left out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from meshsim.results.viz.edges import OK, secured
from meshsim.results.viz.golden import label_pairs
from meshsim.results.viz.requests import authority, method_and_path
from meshsim.results.viz.resources import Resource
from meshsim.results.viz.run import VizRun, Window
from meshsim.results.viz.stat import window_attempts

TOP_COLUMNS = ("source", "destination", "method", "path", "count", "best", "worst", "last",
               "success_rate")
TAP_COLUMNS = ("time", "event", "id", "proxy", "src", "dst", "tls", "method", "authority",
               "path", "status", "latency", "line")


def top(
    run: VizRun, window: Window, *, from_: Resource | None = None, to: Resource | None = None,
) -> pd.DataFrame:
    """Per (source pod, destination pod, method, path): Count, Best, Worst and Last latency
    and Success Rate, most frequent first (ties by source, destination)."""
    attempts = window_attempts(run, window, from_=from_, to=to)
    method, path = method_and_path(attempts, run.info)
    work = pd.DataFrame({
        "source": attempts["caller"].to_numpy(), "destination": attempts["pod"].to_numpy(),
        "method": method, "path": path, "ok": attempts["ok"].to_numpy(),
        "latency": attempts["latency"].to_numpy(), "end": attempts["end"].to_numpy(),
    }).sort_values("end", kind="stable")
    keys = ["source", "destination", "method", "path"]
    if work.empty:
        return pd.DataFrame(columns=list(TOP_COLUMNS))
    out = work.groupby(keys, observed=True).agg(
        count=("ok", "size"), best=("latency", "min"), worst=("latency", "max"),
        last=("latency", "last"), success_rate=("ok", "mean"),
    ).reset_index()
    for key in keys:
        out[key] = out[key].astype(str)
    out = out.sort_values(["count", "source", "destination"], ascending=[False, True, True])
    return out[list(TOP_COLUMNS)].reset_index(drop=True)


def tap(
    run: VizRun, window: Window, *, from_: Resource | None = None, to: Resource | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """The tap events of the attempts starting in the window (the first ``limit`` of them),
    in time order, each with its line in linkerd tap's format."""
    attempts = window_attempts(run, window, from_=from_, to=to)
    owner = run.info.pod_owner()

    def observed_by(caller: str, pod: str) -> str:
        a = run.info.workloads.get(owner.get(caller, caller))
        b = run.info.workloads.get(owner.get(pod, pod))
        tls = "true" if secured(run.info, a.name if a else caller, b.name if b else pod) == \
            OK else "no_identity"
        if a is not None and a.meshed:
            return f"out {tls}"
        return f"in {tls}" if b is not None and b.meshed else ""

    seen = np.asarray(label_pairs(attempts["caller"], attempts["pod"], observed_by))
    attempts = attempts[seen != ""].sort_values(["start", "call_id", "attempt"], kind="stable")
    seen = np.asarray(label_pairs(attempts["caller"], attempts["pod"], observed_by))
    if limit is not None:
        attempts, seen = attempts.iloc[:limit], seen[:limit]
    method, path = method_and_path(attempts, run.info)
    rows: list[tuple[object, ...]] = []
    columns = zip(
        attempts["call_id"].to_numpy(), attempts["attempt"].to_numpy(),
        attempts["caller"].astype(str), attempts["pod"].astype(str),
        attempts["service"].astype(str), np.asarray(method), np.asarray(path),
        attempts["start"].to_numpy(), attempts["end"].to_numpy(),
        attempts["latency"].to_numpy(), attempts["status"].to_numpy(), seen, strict=True,
    )
    for call_id, attempt, src, dst, service, verb, where, start, end, latency, status, how \
            in columns:
        proxy, tls = how.split(" ")
        rows.extend(_events(
            (f"{call_id}:{attempt}", proxy, src, dst, tls, str(verb),
             authority(run.info, service), str(where), int(status), float(latency)),
            float(start), float(end),
        ))
    out = pd.DataFrame(rows, columns=list(TAP_COLUMNS))
    return out.sort_values("time", kind="stable").reset_index(drop=True)


def _events(common: tuple[object, ...], start: float, end: float) -> list[tuple[object, ...]]:
    """``common``: id, proxy, src, dst, tls, method, authority, path, status, latency."""
    ident, proxy, src, dst, tls, method, host, path, status, latency = common
    head = f"id={ident} proxy={proxy} src={src} dst={dst} tls={tls}"
    micros = round(float(latency) * 1e6)  # type: ignore[arg-type]
    req = (start, "req", *common,
           f"req {head} :method={method} :authority={host} :path={path}")
    if status == 0:
        return [req, (end, "end", *common,
                      f"end {head} reset-error=CANCEL duration={micros}µs response-length=0B")]
    return [
        req,
        (end, "rsp", *common, f"rsp {head} :status={status} latency={micros}µs"),
        (end, "end", *common, f"end {head} duration=0µs response-length=0B"),
    ]
