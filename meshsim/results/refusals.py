"""Workloads and services that no call got through to: every answer after warm-up was a 4xx.

The meshes' golden metrics count a 403 from an authorization policy as a success (non-5xx), so
a mesh that denies everything reads 100 % in every SUCCESS column. That is never a passing run:
a workload or service whose every call in [warmup, duration) was answered 4xx is a refusal,
an implicit check that fails the run (``Results.passed``, exit 1) and is said on stderr.

A scenario that means it (a deny-all policy under test) says so with an expectation on
``denied``, ``denied_rate``, ``client_errors`` or ``client_error_rate`` for that service (for a
workload: its target service, or the workload's name through the API); that expectation is
then the check instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from meshsim.model import Expectation, Workload
from meshsim.results.online import Online
from meshsim.results.stats import as_categorical, client_errors, denied, started_in

REFUSAL_COLUMNS = ("kind", "name", "requests", "denied", "client_errors", "message")
DENIAL_METRICS = frozenset({"denied", "denied_rate", "client_errors", "client_error_rate"})


def waived(expectations: Iterable[Expectation], workloads: Sequence[Workload]) -> set[str]:
    """Services an expectation on denials covers, and workloads whose name or target it names."""
    named = {exp.service for exp in expectations if exp.metric in DENIAL_METRICS}
    return named | {w.name for w in workloads if w.target in named}


def refusals(
    requests: pd.DataFrame, calls: pd.DataFrame, *, start: float, end: float,
    workloads: Sequence[Workload], expectations: Iterable[Expectation] = (),
) -> pd.DataFrame:
    """One row per workload (end-to-end requests) or service (calls to it, every subset) with
    traffic in [start, end) whose every answer was a 4xx, workloads first."""
    skip = waived(expectations, workloads)
    targets = {w.name: w.target for w in workloads}
    rows = [
        *_refused("workload", requests, "workload", start, end, skip, targets),
        *_refused("service", calls, "service", start, end, skip, None),
    ]
    return pd.DataFrame(rows, columns=list(REFUSAL_COLUMNS)).astype(
        {"kind": str, "name": str, "requests": "int64", "denied": "int64",
         "client_errors": "int64", "message": str}
    )


def _refused(
    kind: str, frame: pd.DataFrame, key: str, start: float, end: float, skip: set[str],
    targets: dict[str, str] | None,
) -> list[dict[str, object]]:
    """Counts per name by categorical code (no percentiles: this runs on every result)."""
    window = frame[started_in(frame, start, end)]
    weights = np.ones(len(window))
    return _refused_counts(kind, window, key, weights, skip, targets)


def _refused_counts(
    kind: str, window: pd.DataFrame, key: str, weights: np.ndarray, skip: set[str],
    targets: dict[str, str] | None,
) -> list[dict[str, object]]:
    """Rows of a window (each standing for ``weights`` calls) refused per name of ``key``."""
    column = as_categorical(window[key])
    codes = column.cat.codes.to_numpy()
    valid = codes >= 0
    size = len(column.cat.categories)
    w = np.asarray(weights, dtype=np.float64)
    totals = np.bincount(codes[valid], weights=w[valid], minlength=size)
    errors = np.bincount(codes[valid], weights=(w * client_errors(window))[valid],
                         minlength=size)
    denials = np.bincount(codes[valid], weights=(w * denied(window))[valid], minlength=size)
    out = []
    for i, label in enumerate(column.cat.categories):
        name, total = str(label), int(totals[i])
        if name in skip or (targets is not None and name not in targets):
            continue
        service = name if targets is None else targets[name]
        if total and int(errors[i]) == total:
            out.append({"kind": kind, "name": name, "requests": total, "denied": int(denials[i]),
                        "client_errors": total,
                        "message": _message(kind, name, service, total, int(denials[i]))})
    return out


def refusals_online(
    online: Online, *, start: float, end: float, workloads: Sequence[Workload],
    expectations: Iterable[Expectation] = (),
) -> pd.DataFrame:
    """:func:`refusals` read off the run's aggregates of ``[start, end)``."""
    skip = waived(expectations, workloads)
    targets = {w.name: w.target for w in workloads}
    calls = online.window_calls(online.aggregates.window(start, end))
    callers = online.aggregates.edges.table()[calls["edge"].to_numpy(), 0] if len(calls) \
        else np.zeros(0, dtype=np.int64)
    n = calls["n"].to_numpy(dtype=np.float64)
    top = calls["top"].to_numpy(dtype=bool)
    requests = calls[top].assign(workload=pd.Categorical(online.workload_of(callers[top])))
    rows = [
        *_refused_counts("workload", requests, "workload", n[top], skip, targets),
        *_refused_counts("service", calls, "service", n, skip, None),
    ]
    return pd.DataFrame(rows, columns=list(REFUSAL_COLUMNS)).astype(
        {"kind": str, "name": str, "requests": "int64", "denied": "int64",
         "client_errors": "int64", "message": str}
    )


def _message(kind: str, name: str, service: str, total: int, denied: int) -> str:
    what = "request of workload" if kind == "workload" else "call to service"
    why = (
        "denied by authorization policy (403)" if denied == total
        else f"answered 4xx ({denied:,} denied by authorization policy)"
    )
    return (
        f"every {what} {name} after warm-up ({total:,}) was {why}; SUCCESS counts 4xx as "
        f"success, so the run fails (if this is intended, expect a denied_rate of {service})"
    )
