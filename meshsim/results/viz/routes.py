"""``linkerd viz routes``: golden metrics per route of a service.

Without ``--to`` the destination's view (its inbound proxies: one request per attempt); with
``--to`` the caller's outbound view, where a request is a call with all its retries.
``-o wide`` shows both: EFFECTIVE_SUCCESS and EFFECTIVE_RPS per call (after retries, what the
caller's app saw) and ACTUAL_SUCCESS and ACTUAL_RPS per attempt (what went on the wire), as
Linkerd prints for routes with retries; latencies are the calls' (effective) in wide output.
A route is the method and path the callers send (:mod:`.requests`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from meshsim.results.viz.golden import GOLDEN_COLUMNS, golden
from meshsim.results.viz.requests import route_label
from meshsim.results.viz.resources import Resource, source
from meshsim.results.viz.run import VizRun, Window
from meshsim.results.viz.stat import window_attempts

ROUTE_COLUMNS = ("route", "service", *GOLDEN_COLUMNS)
WIDE_COLUMNS = (
    "route", "service", "effective_requests", "effective_success", "effective_rps",
    "actual_requests", "actual_success", "actual_rps", "latency_p50", "latency_p95",
    "latency_p99",
)


def _route_frame(frame: pd.DataFrame, run: VizRun) -> pd.DataFrame:
    return pd.DataFrame({
        "route": route_label(frame, run.info), "service": frame["service"].to_numpy(),
        "ok": frame["ok"].to_numpy(), "latency": frame["latency"].to_numpy(),
    })


def window_calls(
    run: VizRun, window: Window, *, from_: Resource | None = None, to: Resource | None = None,
) -> pd.DataFrame:
    """Hop calls (mirrors excluded: nobody waits for them) that start in the window."""
    calls = run.calls
    keep = window.mask(calls) & ~calls["mirror"].to_numpy(dtype=bool)
    if from_ is not None and from_.name is not None:
        keep &= np.asarray(source(calls, run.info, from_.kind) == from_.name)
    if to is not None and to.name is not None:
        keep &= np.asarray(_call_destination(calls, run, to) == to.name)
    return calls[keep]


def _call_destination(calls: pd.DataFrame, run: VizRun, to: Resource) -> pd.Categorical[str]:
    """Calls carry the service (and subset), not the pod: a deployment is its service's."""
    if to.kind in ("svc", "pod"):
        return pd.Categorical(calls["service"])
    workload = run.info.workloads.get(to.name or "")
    name = to.name or ""
    service = workload.service if workload is not None and workload.service else name
    return pd.Categorical(np.where(calls["service"].to_numpy() == service, name, ""))


def routes(
    run: VizRun, window: Window, target: Resource, *, from_: Resource | None = None,
    to: Resource | None = None, wide: bool = False,
) -> pd.DataFrame:
    """Per (route, service) of ``target``'s traffic (inbound), or of ``target``'s calls to
    ``to`` (outbound) when ``to`` is given; ``wide`` adds effective vs actual."""
    if to is None:
        attempts = window_attempts(run, window, from_=from_, to=target)
        calls = window_calls(run, window, from_=from_, to=target)
    else:
        src = target if target.name is not None else from_
        attempts = window_attempts(run, window, from_=src, to=to)
        calls = window_calls(run, window, from_=src, to=to)
    actual = golden(_route_frame(attempts, run), ["route", "service"], window.span)
    effective = golden(_route_frame(calls, run), ["route", "service"], window.span)
    if not wide:
        return (actual if to is None else effective)[list(ROUTE_COLUMNS)]
    keys = ["route", "service"]
    out = effective.rename(columns={"requests": "effective_requests",
                                    "success": "effective_success", "rps": "effective_rps"})
    out = out.merge(
        actual[[*keys, "requests", "success", "rps"]].rename(columns={
            "requests": "actual_requests", "success": "actual_success", "rps": "actual_rps"}),
        on=keys, how="outer",
    )
    for name in ("effective_requests", "actual_requests"):
        out[name] = out[name].fillna(0).astype("int64")
    return out[list(WIDE_COLUMNS)].sort_values(keys).reset_index(drop=True)

