"""``meshsim viz statuses``: how each destination failed, per HTTP status and response flag.

Istio's ``istio_requests_total`` carries ``response_code`` and ``response_flags`` per request;
this view counts them per destination over the window. ``attempts`` counts hop attempts as the
caller's proxy recorded them (every retry is one), ``share`` is their part of that
destination's attempts, ``class`` the status class (``2xx``.. ``5xx``; ``0`` where the caller
gave up before an answer). A 4xx is a success to the meshes' golden metrics and to Flagger.
"""

from __future__ import annotations

import pandas as pd

from meshsim.model.grpc import GRPC_NAMES, grpc_code
from meshsim.results.viz.resources import Resource, destination
from meshsim.results.viz.run import VizRun, Window
from meshsim.results.viz.stat import window_attempts

STATUS_COLUMNS = ("name", "status", "flags", "class", "attempts", "share")


def status_class(status: int) -> str:
    """``2xx``..``5xx``; ``0`` where the caller gave up; a gRPC answer (``1014`` = 200 with
    grpc-status 14, model/grpc.py) is ``grpc <NAME>``."""
    code = grpc_code(status)
    if code is not None:
        return f"grpc {GRPC_NAMES.get(code, code)}"
    return "0" if status <= 0 else f"{status // 100}xx"


def statuses(
    run: VizRun, window: Window, resource: Resource, *, from_: Resource | None = None,
    to: Resource | None = None,
) -> pd.DataFrame:
    """One row per (destination, status, flags) with attempts in the window."""
    attempts = window_attempts(run, window, from_=from_, to=to)
    work = pd.DataFrame({
        "name": destination(attempts, run.info, resource.kind),
        "status": attempts["status"].to_numpy(),
        "flags": attempts["flags"].astype(str).to_numpy(),
    })
    if resource.name is not None:
        work = work[work["name"] == resource.name]
    counts = (work.groupby(["name", "status", "flags"], observed=True).size()
              .reset_index(name="attempts"))
    counts = counts[counts["attempts"] > 0]
    totals = counts.groupby("name", observed=True)["attempts"].transform("sum")
    counts["share"] = counts["attempts"] / totals
    counts["class"] = [status_class(int(s)) for s in counts["status"]]
    counts["name"] = counts["name"].astype(str)
    counts["status"] = counts["status"].astype("int64")
    counts["attempts"] = counts["attempts"].astype("int64")
    out = counts.sort_values(["name", "status", "flags"]).reset_index(drop=True)
    return out[list(STATUS_COLUMNS)]
