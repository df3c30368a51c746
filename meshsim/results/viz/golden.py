"""The golden metrics every viz table shares (SUCCESS, RPS, LATENCY_P50/P95/P99), per group,
and the helpers that name rows after workloads without touching every row's string."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from meshsim.results.stats import as_categorical

LATENCY_QUANTILES = {"latency_p50": 0.50, "latency_p95": 0.95, "latency_p99": 0.99}
GOLDEN_COLUMNS = ("requests", "success", "rps", *LATENCY_QUANTILES)


def golden(frame: pd.DataFrame, keys: Sequence[str], span: float) -> pd.DataFrame:
    """Per group of ``keys`` (columns of ``frame``): requests, success (share ``ok``: a
    non-5xx answer that arrived, the meshes' own meaning), rps over ``span`` seconds and
    latency percentiles (``numpy.quantile``'s linear interpolation, as the summary)."""
    keys = list(keys)
    if frame.empty:
        return pd.DataFrame({**{k: pd.Series(dtype=str) for k in keys},
                             **{c: pd.Series(dtype=float) for c in GOLDEN_COLUMNS}})
    grouped = frame.groupby(keys, observed=True, sort=True)
    out = grouped.agg(requests=("ok", "size"), ok=("ok", "sum"))
    qs = grouped["latency"].quantile(np.array(list(LATENCY_QUANTILES.values()))).unstack()
    qs.columns = list(LATENCY_QUANTILES)
    out = out.join(qs).reset_index()
    out["success"] = out.pop("ok") / out["requests"]
    out["rps"] = out["requests"] / span
    for key in keys:
        out[key] = out[key].astype(str)
    return out[[*keys, *GOLDEN_COLUMNS]]


def label_pairs(
    left: pd.Series, right: pd.Series, label: Callable[[str, str], str],
) -> pd.Categorical[str]:
    """``label(left, right)`` per row, computed once per distinct pair of categories."""
    a, b = as_categorical(left), as_categorical(right)
    codes_a = a.cat.codes.to_numpy().astype(np.int64)
    codes_b = b.cat.codes.to_numpy().astype(np.int64)
    width = len(b.cat.categories) + 1
    pair = (codes_a + 1) * width + (codes_b + 1)
    uniq, inverse = np.unique(pair, return_inverse=True)
    names_a, names_b = list(a.cat.categories), list(b.cat.categories)
    labels = [
        label(str(names_a[p // width - 1]) if p // width else "",
              str(names_b[p % width - 1]) if p % width else "")
        for p in uniq
    ]
    cats = sorted(set(labels))
    index = {name: i for i, name in enumerate(cats)}
    codes = np.array([index[name] for name in labels], dtype=np.int32)[inverse.reshape(-1)]
    return pd.Categorical.from_codes(codes, categories=pd.Index(cats, dtype=str))


def relabel(values: pd.Series, mapping: Callable[[str], str]) -> pd.Categorical[str]:
    """``mapping`` applied once per category (pod -> workload, say)."""
    cat = as_categorical(values)
    labels = [mapping(str(name)) for name in cat.cat.categories]
    cats = sorted(set(labels))
    index = {name: i for i, name in enumerate(cats)}
    lut = np.array([index[name] for name in labels] + [-1], dtype=np.int32)
    return pd.Categorical.from_codes(lut[cat.cat.codes.to_numpy()],
                                     categories=pd.Index(cats, dtype=str))
