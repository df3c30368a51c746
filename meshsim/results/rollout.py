"""What a progressive-delivery controller did in a run, and what it cost the users.

The engine records the controller's loop as ``canary-*`` events whose ``detail`` is ``key=value``
pairs (:mod:`meshsim.metrics.details`); the event's ``service``/``subset`` name the canary
version. From them and the call frames this module answers the questions a team asks before
shipping a canary: did it promote or roll back, how fast, how far did the weight get, how many
requests did the canary serve and fail, and how many *users* were hurt — end-to-end requests
that failed and whose call tree reached the canary (mirrored copies never reach a user, so they
do not count).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

from meshsim.metrics.details import decode
from meshsim.results.stats import in_names

START, WEIGHT, CHECK = "canary-start", "canary-weight", "canary-check"
PAUSED, PHASE = "canary-paused", "canary-phase"
PROMOTED, ROLLED_BACK = "canary-promoted", "canary-rolled-back"
KINDS = (START, WEIGHT, CHECK, PAUSED, PHASE, PROMOTED, ROLLED_BACK)
OUTCOMES = ("promoted", "rolled back", "promoting", "paused", "progressing")

DECISION_COLUMNS = (
    "time", "rollout", "kind", "phase", "weight", "metric", "value", "passed", "result",
    "failed_checks", "reason", "detail",
)
SUMMARY_COLUMNS = (
    "rollout", "controller", "service", "subset", "outcome", "start", "decided_at",
    "time_to_decision", "finished_at", "max_weight", "final_weight", "checks", "failed_checks",
    "canary_requests", "canary_failed", "canary_mirrored", "canary_attempts", "users_exposed",
    "users_hurt",
)


# -- events -----------------------------------------------------------------------------------
def _number(text: str | None) -> float:
    if text is None or text in ("", "none", "None", "nan"):
        return math.nan
    try:
        return float(text.rstrip("%"))
    except ValueError:
        return math.nan


def _flag(text: str | None) -> bool | None:
    if text is None:
        return None
    return text.lower() in ("true", "1", "yes", "passed", "successful")


def canary_events(events: pd.DataFrame) -> pd.DataFrame:
    """The ``canary-*`` rows in time order, with the decoded ``detail`` in a ``fields`` column
    and ``rollout`` (the ``rollout`` key, else the canary's service) beside it."""
    kinds = events["kind"].astype(str)
    rows = events[kinds.isin(KINDS).to_numpy()].sort_values("time", kind="stable")
    out = pd.DataFrame({
        "time": rows["time"].to_numpy(dtype=float),
        "kind": rows["kind"].astype(str).to_numpy(),
        "service": rows["service"].astype(str).to_numpy(),
        "subset": rows["subset"].astype(str).to_numpy(),
        "detail": rows["detail"].astype(str).to_numpy(),
    })
    out["fields"] = pd.Series([decode(text) for text in out["detail"]], dtype=object)
    out["rollout"] = [
        f.get("rollout") or f.get("name") or service
        for f, service in zip(out["fields"], out["service"], strict=True)
    ]
    return out


def decisions(events: pd.DataFrame) -> pd.DataFrame:
    """The controller's decisions table: one row per canary event (time, kind, weight, the
    metric checked, its value and whether it passed, the failed-check counter, a reason)."""
    rows = canary_events(events)
    records = []
    for time, kind, rollout, fields, detail in zip(
        rows["time"], rows["kind"], rows["rollout"], rows["fields"], rows["detail"], strict=True
    ):
        records.append({
            "time": time, "rollout": rollout, "kind": kind.removeprefix("canary-"),
            "phase": fields.get("phase", ""),
            "weight": _number(fields.get("weight")),
            "metric": fields.get("metric", ""),
            "value": _number(fields.get("value")),
            "passed": _flag(fields.get("passed")),
            "result": fields.get("result", ""),
            "failed_checks": _number(fields.get("failed_checks")),
            "reason": fields.get("reason", ""),
            "detail": detail,
        })
    return pd.DataFrame.from_records(records, columns=list(DECISION_COLUMNS))


# -- one rollout's life -----------------------------------------------------------------------
@dataclass(frozen=True)
class Rollout:
    """One rollout as the events tell it: where the canary lives and how the loop ended."""

    name: str
    controller: str
    service: str
    subset: str
    start: float
    outcome: str  # one of OUTCOMES
    decided_at: float  # the decision: promotion started, or rollback; NaN while undecided
    finished_at: float  # ``canary-promoted`` or ``canary-rolled-back``; NaN while undecided
    max_weight: float
    final_weight: float
    checks: int
    failed_checks: int
    weights: tuple[tuple[float, float], ...]  # (time, canary weight %) in order


def rollouts(events: pd.DataFrame) -> list[Rollout]:
    """Every rollout that left events, in order of first appearance."""
    rows = canary_events(events)
    out = []
    for name in dict.fromkeys(rows["rollout"]):
        out.append(_rollout(str(name), rows[(rows["rollout"] == name).to_numpy()]))
    return out


def _canary_version(part: pd.DataFrame) -> tuple[str, str]:
    for kind in (START, WEIGHT, CHECK, PROMOTED, ROLLED_BACK, PAUSED):
        named = part[(part["kind"] == kind).to_numpy() & (part["service"] != "").to_numpy()]
        if len(named):
            return str(named["service"].iloc[0]), str(named["subset"].iloc[0])
    return "", ""


def _check_failed(fields: dict[str, str]) -> bool:
    """A failed check: Flagger's ``passed=false`` (no data included); for Argo a ``Failed``
    measurement only (an ``Error`` or ``Inconclusive`` one is not a failure)."""
    if "result" in fields:
        return fields["result"] == "Failed"
    return _flag(fields.get("passed")) is False


def _outcome(kinds: np.ndarray, times: np.ndarray, fields: list[dict[str, str]]
             ) -> tuple[str, float, float]:
    """Outcome, when the controller decided (Flagger: entering Promoting), and when it was
    done (``canary-promoted`` / ``canary-rolled-back``); NaN while undecided."""
    terminal = np.flatnonzero((kinds == PROMOTED) | (kinds == ROLLED_BACK))
    if len(terminal):
        first = int(terminal[0])
        done = float(times[first])
        if kinds[first] == ROLLED_BACK:
            return "rolled back", done, done
        promoting = [float(t) for t, k, f in zip(times, kinds, fields, strict=True)
                     if k == PHASE and f.get("phase") == "Promoting" and t <= done]
        return "promoted", (promoting[0] if promoting else done), done
    if any(k == PHASE and f.get("phase") == "Promoting" for k, f in zip(kinds, fields,
                                                                         strict=True)):
        return "promoting", math.nan, math.nan
    lifecycle = np.flatnonzero((kinds == WEIGHT) | (kinds == PAUSED) | (kinds == START))
    last = int(lifecycle[-1]) if len(lifecycle) else -1
    if last >= 0 and kinds[last] == PAUSED and fields[last].get("until", "end") == "end":
        return "paused", math.nan, math.nan  # waiting for a human: to the end of the run
    return "progressing", math.nan, math.nan


def _rollout(name: str, part: pd.DataFrame) -> Rollout:
    kinds = part["kind"].to_numpy()
    times = part["time"].to_numpy(dtype=float)
    fields: list[dict[str, str]] = list(part["fields"])
    service, subset = _canary_version(part)
    controller = next((f["controller"] for f in fields if "controller" in f), "")
    start = float(times[kinds == START][0]) if (kinds == START).any() else float(times[0])
    outcome, decided, finished = _outcome(kinds, times, fields)

    weights = [
        (float(t), _number(f.get("weight")))
        for t, k, f in zip(times, kinds, fields, strict=True)
        if k in (START, WEIGHT) and not math.isnan(_number(f.get("weight")))
    ]
    if not weights or weights[0][0] > start:
        weights.insert(0, (start, 0.0))
    if outcome == "rolled back" and weights[-1] != (finished, 0.0):
        # a rollback sends every request back to the primary (the engine records that weight
        # change just before the rollback; a trace without it gets it here)
        weights.append((finished, 0.0))
    seen = [w for t, w in weights if math.isnan(finished) or t <= finished]
    checks = [f for k, f in zip(kinds, fields, strict=True) if k == CHECK]
    failed = sum(1 for f in checks if _check_failed(f))
    return Rollout(
        name=name, controller=controller, service=service, subset=subset, start=start,
        outcome=outcome, decided_at=decided, finished_at=finished,
        max_weight=max(seen, default=0.0), final_weight=weights[-1][1], checks=len(checks),
        failed_checks=failed, weights=tuple(weights),
    )


# -- exposure ---------------------------------------------------------------------------------
def _canary_calls(calls: pd.DataFrame, rollout: Rollout, end: float) -> pd.DataFrame:
    """Calls to the canary version that started while the rollout ran."""
    mask = in_names(calls["service"], [rollout.service])
    if rollout.subset:
        mask = mask & in_names(calls["subset"], [rollout.subset])
    start = calls["start"].to_numpy(dtype=float)
    stop = end if math.isnan(rollout.finished_at) else rollout.finished_at
    return calls[mask & (start >= rollout.start) & (start < stop)]


def exposure(
    rollout: Rollout, requests: pd.DataFrame, calls: pd.DataFrame, *, end: float
) -> dict[str, int]:
    """Canary calls (with mirrored copies and attempts) and failures during the rollout, and
    the end-to-end requests that reached the canary (``users_exposed``) or failed having
    reached it (``users_hurt``). Only non-mirrored calls reach a user."""
    hits = _canary_calls(calls, rollout, end)
    mirrored = hits["mirror"].to_numpy(dtype=bool)
    live = hits[~mirrored]
    touched = np.unique(live["request_id"].to_numpy())
    reached = np.isin(requests["id"].to_numpy(), touched)
    return {
        "canary_requests": len(hits),
        "canary_failed": int((~hits["ok"].to_numpy(dtype=bool)).sum()),
        "canary_mirrored": int(mirrored.sum()),
        "canary_attempts": int(hits["attempts"].to_numpy(dtype=np.int64).sum()),
        "users_exposed": int(reached.sum()),
        "users_hurt": int((reached & ~requests["ok"].to_numpy(dtype=bool)).sum()),
    }


def summarize(
    events: pd.DataFrame, requests: pd.DataFrame, calls: pd.DataFrame, *, end: float
) -> pd.DataFrame:
    """One row per rollout (:data:`SUMMARY_COLUMNS`); empty when the run had none.

    ``time_to_decision`` runs from ``canary-start`` to the decision: the rollback, or the start
    of promotion (Flagger's Promoting phase; Argo's promotion); NaN when the run ended first.
    Canary traffic counts until ``finished_at`` (promoted or rolled back), else until ``end``.
    """
    records = []
    for r in rollouts(events):
        records.append({
            "rollout": r.name, "controller": r.controller, "service": r.service,
            "subset": r.subset, "outcome": r.outcome, "start": r.start,
            "decided_at": r.decided_at, "time_to_decision": r.decided_at - r.start,
            "finished_at": r.finished_at,
            "max_weight": r.max_weight, "final_weight": r.final_weight, "checks": r.checks,
            "failed_checks": r.failed_checks, **exposure(r, requests, calls, end=end),
        })
    return pd.DataFrame.from_records(records, columns=list(SUMMARY_COLUMNS))


# -- statistics over runs ---------------------------------------------------------------------
def wilson(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """The Wilson score interval for a binomial proportion (95 % by default): unlike the
    normal approximation it stays inside [0, 1] and is honest at 0 or n successes."""
    if n <= 0:
        return math.nan, math.nan
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def spread(values: Sequence[float] | np.ndarray) -> dict[str, float]:
    """Median, p10 and p90 of the finite values (NaN when there are none)."""
    data = np.asarray(values, dtype=float)
    data = data[np.isfinite(data)]
    if not len(data):
        return {"median": math.nan, "p10": math.nan, "p90": math.nan}
    p10, median, p90 = np.quantile(data, [0.1, 0.5, 0.9])
    return {"median": float(median), "p10": float(p10), "p90": float(p90)}


# -- shadow vs canary -------------------------------------------------------------------------
SHADOW_COLUMNS = (
    "mode", "users", "users_failed", "user_success_rate", "canary_requests", "canary_failed",
    "canary_success_rate", "dependency", "dependency_requests",
)


def _shadow_row(
    mode: str, requests: pd.DataFrame, calls: pd.DataFrame, service: str, subset: str,
    dependency: str | None, window: tuple[float, float],
) -> dict[str, object]:
    lo, hi = window
    req = requests[((requests["start"] >= lo) & (requests["start"] < hi)).to_numpy()]
    started = calls["start"].to_numpy(dtype=float)
    in_window = (started >= lo) & (started < hi)
    mine = in_window & in_names(calls["service"], [service])
    if subset:
        mine = mine & in_names(calls["subset"], [subset])
    canary_ok = calls["ok"].to_numpy(dtype=bool)[mine]
    dep = 0
    if dependency:
        dep = int((in_window & in_names(calls["service"], [dependency])).sum())
    users_failed = int((~req["ok"].to_numpy(dtype=bool)).sum())
    return {
        "mode": mode, "users": len(req), "users_failed": users_failed,
        "user_success_rate": 1 - users_failed / len(req) if len(req) else math.nan,
        "canary_requests": int(mine.sum()), "canary_failed": int((~canary_ok).sum()),
        "canary_success_rate": float(canary_ok.mean()) if len(canary_ok) else math.nan,
        "dependency": dependency or "", "dependency_requests": dep,
    }


class RunFrames(Protocol):
    """What :func:`compare_shadow` reads of a run (``Results`` has both)."""

    @property
    def requests(self) -> pd.DataFrame: ...

    @property
    def calls(self) -> pd.DataFrame: ...


def compare_shadow(
    shadow: RunFrames, canary: RunFrames, *, service: str,
    subset: str, dependency: str | None = None,
    window: tuple[float, float] = (0.0, math.inf),
) -> pd.DataFrame:
    """Side by side, a shadow (mirrored) release and a real canary of the same version.

    ``shadow`` and ``canary`` are :class:`~meshsim.results.Results` (anything with ``requests``
    and ``calls`` frames). One row each: what users saw (end-to-end requests and failures),
    what the new version's own rows saw (``service``/``subset`` calls and failures, mirrored
    copies included), and the calls a shared ``dependency`` served — the load a mirror adds
    to what both versions call. ``window`` bounds the request start times compared.
    """
    rows = [
        _shadow_row(mode, run.requests, run.calls, service, subset, dependency, window)
        for mode, run in (("shadow", shadow), ("canary", canary))
    ]
    return pd.DataFrame.from_records(rows, columns=list(SHADOW_COLUMNS))
