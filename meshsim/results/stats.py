"""Golden metrics of a set of calls (or requests), shared by the summary and the SLO checks.

One definition of each metric, so a summary row and an SLO on the same window always agree.
Percentiles interpolate linearly between order statistics (``numpy.quantile``'s default).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

import numpy as np
import pandas as pd

QUANTILES: dict[str, float] = {"p50": 0.50, "p90": 0.90, "p99": 0.99}

# Columns of :func:`call_metrics`, after the grouping keys.
METRIC_COLUMNS = (
    "requests", "rps", "success_rate", "p50", "p90", "p99", "mean_latency", "attempts",
    "retries", "retry_ratio", "timeouts", "denied", "denied_rate", "client_errors",
    "client_error_rate",
)
COUNT_COLUMNS = ("requests", "attempts", "retries", "timeouts", "denied", "client_errors")
DENIED_STATUS = 403  # Envoy RBAC's local reply and linkerd2-proxy's unauthorized answer


def as_categorical(values: pd.Series) -> pd.Series:
    """The column as a categorical (frames already are; plain strings get converted)."""
    return values if isinstance(values.dtype, pd.CategoricalDtype) else values.astype("category")


def category_mask(values: pd.Series, test: Callable[[str], bool]) -> np.ndarray:
    """``test`` applied once per category and gathered by code: string tests on millions of
    rows at the cost of an integer lookup, never materializing the strings."""
    cat = as_categorical(values)
    categories = cat.cat.categories
    lut = np.zeros(len(categories) + 1, dtype=bool)  # the extra slot catches code -1 (NaN)
    for i, label in enumerate(categories):
        lut[i] = test(str(label))
    return lut[cat.cat.codes.to_numpy()]


def in_names(values: pd.Series, names: Collection[str]) -> np.ndarray:
    """Rows whose name is one of ``names``."""
    wanted = set(names)
    return category_mask(values, wanted.__contains__)


def used_names(values: pd.Series) -> list[str]:
    """The distinct names a column holds, sorted."""
    cat = as_categorical(values)
    codes = cat.cat.codes.to_numpy()
    used = np.bincount(codes[codes >= 0], minlength=len(cat.cat.categories)) > 0
    return sorted(str(name) for name, hit in zip(cat.cat.categories, used, strict=True) if hit)


def flag_mask(flags: pd.Series, flag: str) -> np.ndarray:
    """Rows whose comma-joined Envoy flags (``"UT,URX"``) contain ``flag``."""
    return category_mask(flags, lambda label: flag in label.split(","))


def timed_out(frame: pd.DataFrame) -> np.ndarray:
    """Calls that hit a timeout (flag UT) or whose caller gave up (status 0)."""
    return flag_mask(frame["flags"], "UT") | (frame["status"].to_numpy() == 0)


def denied(frame: pd.DataFrame) -> np.ndarray:
    """Calls an authorization policy refused: a 403 that no fault injection (FI) made.

    Both meshes count these as successes (non-5xx) in their golden metrics; operators see
    them apart (``linkerd viz authz`` UNAUTHORIZED, Istio's 4xx panels), and so does meshsim.
    """
    status = frame["status"].to_numpy()
    return (status == DENIED_STATUS) & ~flag_mask(frame["flags"], "FI")


def client_errors(frame: pd.DataFrame) -> np.ndarray:
    """Calls answered 4xx: denials, routes that match nothing (404 NR), injected aborts."""
    status = frame["status"].to_numpy()
    return (status >= 400) & (status <= 499)


def started_in(frame: pd.DataFrame, start: float, end: float) -> np.ndarray:
    """Rows that start in the half-open window [start, end)."""
    t = frame["start"].to_numpy()
    return (t >= start) & (t < end)


def call_metrics(frame: pd.DataFrame, by: Sequence[str], span: float) -> pd.DataFrame:
    """Per group of ``by``: requests, rps over ``span`` seconds, success rate, percentiles,
    mean latency, attempts, retries (attempts beyond the first), retry ratio, timeouts, and
    the calls denied by authorization (:func:`denied`) or answered 4xx, with their shares.
    ``success_rate`` keeps the meshes' meaning (non-5xx), so a denial is also a success.

    ``frame`` is a calls or requests frame already cut to the window. With ``by=[]`` the
    result is one row over the whole frame (zero requests and NaN rates when it is empty).
    """
    keys = list(by)
    attempts = frame["attempts"].to_numpy(dtype=np.int64)
    work = pd.DataFrame({
        "_all": np.zeros(len(frame), dtype=np.int8),
        "ok": frame["ok"].to_numpy(dtype=bool),
        "latency": frame["latency"].to_numpy(dtype=np.float64),
        "attempts": attempts,
        "retries": np.maximum(attempts - 1, 0),  # a call that never got an attempt out: 0
        "timeout": timed_out(frame),
        "denied": denied(frame),
        "client_error": client_errors(frame),
    })
    for key in keys:
        work[key] = frame[key].array  # categoricals stay categorical: no string copies
    group_keys = keys or ["_all"]
    grouped = work.groupby(group_keys, observed=True, sort=True)
    out = grouped.agg(
        requests=("ok", "size"), ok=("ok", "sum"), mean_latency=("latency", "mean"),
        attempts=("attempts", "sum"), retries=("retries", "sum"), timeouts=("timeout", "sum"),
        denied=("denied", "sum"), client_errors=("client_error", "sum"),
    )
    if len(work):
        qs = grouped["latency"].quantile(np.array(list(QUANTILES.values()))).unstack()
        qs.columns = list(QUANTILES)
        out = out.join(qs)
    else:
        for name in QUANTILES:
            out[name] = np.zeros(0)
    out = out.reset_index()
    if not keys:
        out = out.drop(columns="_all")
        if out.empty:
            out = pd.DataFrame({"requests": [0], "ok": [0], "mean_latency": [np.nan],
                                "attempts": [0], "retries": [0], "timeouts": [0],
                                "denied": [0], "client_errors": [0], "p50": [np.nan],
                                "p90": [np.nan], "p99": [np.nan]})
    requests = out["requests"].to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["rps"] = requests / span if span > 0 else np.nan
        out["success_rate"] = out["ok"].to_numpy(dtype=np.float64) / requests
        out["retry_ratio"] = out["retries"].to_numpy(dtype=np.float64) / requests
        out["denied_rate"] = out["denied"].to_numpy(dtype=np.float64) / requests
        out["client_error_rate"] = out["client_errors"].to_numpy(dtype=np.float64) / requests
    out = out.astype({name: np.int64 for name in COUNT_COLUMNS})
    return out[[*keys, *METRIC_COLUMNS]]
