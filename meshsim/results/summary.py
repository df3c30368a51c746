"""Per service and subset, and per workload, golden metrics over the window after warm-up.

A call belongs to the window when it *starts* in [warmup, duration), so the requests the
warm-up let in do not count, and one that started late and ended after the run still counts.
A service with several subsets also gets a row with ``subset=""`` (``aggregate=True``) over
all of them, which is what an SLO on the whole service sees.

``success_rate`` is the meshes' own (non-5xx), so a 403 from an authorization policy is a
success there; ``denied``/``denied_rate`` (those 403s) and ``client_errors``/
``client_error_rate`` (every 4xx) say what it hides.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd

from meshsim.results.stats import (
    METRIC_COLUMNS,
    as_categorical,
    call_metrics,
    flag_mask,
    in_names,
    started_in,
    used_names,
)

SUMMARY_COLUMNS = (
    "service", "subset", "requests", "rps", "success_rate", "p50", "p90", "p99", "retries",
    "retry_ratio", "timeouts", "overflows", "ejections", "attempts", "attempt_success_rate",
    "mean_latency", "denied", "denied_rate", "client_errors", "client_error_rate", "aggregate",
)
WORKLOAD_COLUMNS = (
    "workload", "requests", "rps", "success_rate", "p50", "p90", "p99", "timeouts",
    "mean_latency", "attempts", "retries", "retry_ratio", "denied", "denied_rate",
    "client_errors", "client_error_rate",
)
_COUNTS = (
    "requests", "retries", "timeouts", "overflows", "ejections", "attempts", "denied",
    "client_errors",
)

Compute = Callable[[pd.DataFrame, list[str]], pd.DataFrame]


def service_keys(
    frames: Iterable[pd.DataFrame], services: Iterable[str] = ()
) -> tuple[list[tuple[str, str]], set[str]]:
    """Every (service, subset) that appears in ``frames``, plus ``(service, "")`` for known
    services without any data, and the services that have several subsets.

    For a service with several subsets, ``(service, "")`` is the aggregate row, so calls
    recorded without a subset fold into it rather than getting a leaf of their own.
    """
    pairs: set[tuple[str, str]] = set()
    for frame in frames:
        if len(frame):
            pairs.update(_pairs(frame))
    known = {service for service, _ in pairs}
    pairs.update((service, "") for service in services if service not in known)
    subsets: dict[str, set[str]] = {}
    for service, subset in pairs:
        subsets.setdefault(service, set()).add(subset)
    multi = {service for service, subs in subsets.items() if len(subs) > 1}
    pairs.update((service, "") for service in multi)
    return sorted(pairs), multi


def _pairs(frame: pd.DataFrame) -> set[tuple[str, str]]:
    """Distinct (service, subset) of a frame, from the categorical codes in O(rows)."""
    service, subset = as_categorical(frame["service"]), as_categorical(frame["subset"])
    s_names, u_names = service.cat.categories, subset.cat.categories
    s_codes, u_codes = service.cat.codes.to_numpy(), subset.cat.codes.to_numpy()
    valid = (s_codes >= 0) & (u_codes >= 0)
    combined = s_codes[valid].astype(np.int64) * len(u_names) + u_codes[valid]
    hits = np.flatnonzero(np.bincount(combined, minlength=len(s_names) * len(u_names)))
    width = len(u_names)
    return {(str(s_names[int(h) // width]), str(u_names[int(h) % width])) for h in hits}


def _leaf_and_aggregate(frame: pd.DataFrame, multi: set[str], compute: Compute) -> pd.DataFrame:
    """``compute`` per (service, subset) and, for ``multi`` services, per service as subset ""."""
    leaf = compute(frame, ["service", "subset"])
    leaf["service"] = leaf["service"].astype(str)
    leaf["subset"] = leaf["subset"].astype(str)
    leaf = leaf[~(leaf["service"].isin(multi) & (leaf["subset"] == ""))]
    keep = in_names(frame["service"], multi)
    if "mirror" in frame:  # a mirror copy is the shadow's own load, not what callers were served
        keep &= ~frame["mirror"].to_numpy(dtype=bool)
    agg = compute(frame[keep], ["service"])
    agg["service"] = agg["service"].astype(str)
    agg["subset"] = ""
    parts = [part for part in (leaf, agg) if len(part)]
    if not parts:
        return leaf.set_index(["service", "subset"])
    return pd.concat(parts, ignore_index=True).set_index(["service", "subset"])


def _attempt_counts(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    work = pd.DataFrame({
        "ok": frame["ok"].to_numpy(dtype=bool), "overflow": flag_mask(frame["flags"], "UO"),
    })
    for key in by:
        work[key] = frame[key].array
    out = work.groupby(by, observed=True).agg(
        recorded=("ok", "size"), attempts_ok=("ok", "sum"), overflows=("overflow", "sum"),
    )
    return out.reset_index()


def _event_counts(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    work = pd.DataFrame({key: frame[key].array for key in by})
    work["ejections"] = 1
    return work.groupby(by, observed=True).agg(ejections=("ejections", "sum")).reset_index()


def summarize(
    calls: pd.DataFrame, attempts: pd.DataFrame, events: pd.DataFrame, *, start: float,
    end: float, services: Iterable[str] = (),
) -> pd.DataFrame:
    """One row per service and subset over calls starting in [start, end).

    ``requests`` counts calls; ``attempts`` and ``retries`` (attempts beyond the first) come
    from those calls; ``overflows`` and ``attempt_success_rate`` from the recorded attempts that
    start in the window (NaN rate when attempts were not recorded); ``ejections`` counts
    ``eject`` events in the window. ``services`` adds empty rows for services without traffic.
    """
    span = end - start
    keys, multi = service_keys((calls, attempts), services)
    index = pd.MultiIndex.from_tuples(keys, names=["service", "subset"]) if keys else \
        pd.MultiIndex.from_arrays([pd.Index([], dtype=str)] * 2, names=["service", "subset"])

    window_calls = calls[started_in(calls, start, end)]
    window_attempts = attempts[started_in(attempts, start, end)]
    t = events["time"].to_numpy()
    ejects = events[((events["kind"] == "eject").to_numpy()) & (t >= start) & (t < end)]

    metrics = _leaf_and_aggregate(
        window_calls, multi, lambda f, by: call_metrics(f, by, span)
    ).reindex(index)
    tries = _leaf_and_aggregate(window_attempts, multi, _attempt_counts).reindex(index)
    ejections = _leaf_and_aggregate(ejects, multi, _event_counts).reindex(index)

    out = metrics[list(METRIC_COLUMNS)].copy()
    out["overflows"] = tries["overflows"]
    out["ejections"] = ejections["ejections"]
    recorded = tries["recorded"].to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["attempt_success_rate"] = tries["attempts_ok"].to_numpy(dtype=np.float64) / recorded
    for name in _COUNTS:
        out[name] = out[name].fillna(0).astype(np.int64)
    out["rps"] = out["rps"].fillna(0.0) if span > 0 else np.nan
    out = out.reset_index()
    out["aggregate"] = out["service"].isin(multi).to_numpy() & (out["subset"] == "").to_numpy()
    out = out.astype({"service": str, "subset": str})
    return out[list(SUMMARY_COLUMNS)]


def summarize_workloads(
    requests: pd.DataFrame, *, start: float, end: float, workloads: Iterable[str] = ()
) -> pd.DataFrame:
    """One row per workload over end-to-end requests starting in [start, end)."""
    names = sorted(set(workloads) | set(used_names(requests["workload"])))
    window = requests[started_in(requests, start, end)]
    out = call_metrics(window, ["workload"], end - start)
    out["workload"] = out["workload"].astype(str)
    out = out.set_index("workload").reindex(pd.Index(names, dtype=str, name="workload"))
    for name in ("requests", "attempts", "retries", "timeouts", "denied", "client_errors"):
        out[name] = out[name].fillna(0).astype(np.int64)
    out["rps"] = out["rps"].fillna(0.0) if end > start else np.nan
    out = out.reset_index()
    return out[list(WORKLOAD_COLUMNS)]


def service_totals(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per service: the aggregate row when it has several subsets, else its only row."""
    aggregate = frame["aggregate"].to_numpy(dtype=bool)
    multi = used_names(frame.loc[aggregate, "service"])
    return frame[aggregate | ~in_names(frame["service"], multi)]
