"""How far the summary's and time series' quantiles (from the latency sketch) are from exact.

    python benchmarks/sketch_error.py [SCENARIO.yaml ...] [--after SECONDS]

Runs each scenario (default: every one under scenarios/ and benchmarks/scenarios/) for
``--after`` seconds past its warm-up, seed 1, and compares p50/p90/p99 of ``summary``,
``workloads`` and ``timeseries``
(read off the online aggregates) with ``numpy.quantile`` over the same run's raw rows (the
frame-based functions). Prints the largest relative difference per table and quantile, and
the stated bound (meshsim.metrics.sketch.ALPHA), and any other column that differs at all
(``mean_latency``, a sum over a count, may differ in its last bits); exit 1 if a quantile
exceeds the bound or another column differs by more than 1e-12.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import meshsim  # noqa: E402
from meshsim.metrics.sketch import ALPHA  # noqa: E402
from meshsim.results.summary import summarize, summarize_workloads  # noqa: E402
from meshsim.results.timeseries import timeseries  # noqa: E402

QUANTILES = ("p50", "p90", "p99")


def worst(online: pd.DataFrame, exact: pd.DataFrame) -> dict[str, float]:
    """Per column that differs at all, the largest relative difference (inf: a non-numeric
    column, a NaN in one frame only, or another row count)."""
    if list(online.columns) != list(exact.columns) or len(online) != len(exact):
        return {"(shape)": float("inf")}
    out = {}
    for name in online.columns:
        got, want = online[name], exact[name]
        if got.dtype.kind not in "fiub" or want.dtype.kind not in "fiub":
            if not got.astype(str).equals(want.astype(str)):
                out[name] = float("inf")
            continue
        a, b = got.to_numpy(dtype=float), want.to_numpy(dtype=float)
        if not np.array_equal(np.isnan(a), np.isnan(b)):
            out[name] = float("inf")
            continue
        both = ~np.isnan(a)
        scale = np.where(np.abs(b[both]) > 0, np.abs(b[both]), 1.0)
        diff = float(np.max(np.abs(a[both] - b[both]) / scale, initial=0.0))
        if diff > 0 or name in QUANTILES:
            out[name] = diff
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", type=Path)
    parser.add_argument("--after", type=float, default=10.0)
    args = parser.parse_args(argv)
    paths = args.scenarios or [*sorted((ROOT / "scenarios").rglob("*.yaml")),
                               *sorted((ROOT / "benchmarks" / "scenarios").glob("*.yaml"))]
    totals: dict[str, dict[str, float]] = {}
    cells = 0
    for path in paths:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scenario = meshsim.load(path)
            run = meshsim.simulate(scenario.with_duration(scenario.model.warmup + args.after),
                                   seed=1)
        exact = {
            "summary": summarize(run.calls, run.attempts, run.events, start=run.warmup,
                                 end=run.duration, services=run.model.topology.services),
            "workloads": summarize_workloads(run.requests, start=run.warmup, end=run.duration,
                                             workloads=[w.name for w in run.model.workloads]),
            "timeseries": timeseries(run.calls, run.attempts, run.recording.levels,
                                     horizon=run.horizon, bucket=run.recording.bucket,
                                     services=run.model.topology.services),
        }
        for table, frame in exact.items():
            cells += int(frame[list(QUANTILES)].notna().to_numpy().sum())
            assert str(getattr(run, table).dtypes.to_dict()) == str(frame.dtypes.to_dict())
            for name, value in worst(getattr(run, table), frame).items():
                best = totals.setdefault(table, {})
                best[name] = max(best.get(name, 0.0), value)
        print(f"{path.name:<50}{len(run.calls):>9,} calls", flush=True)
    print(f"\nlargest relative difference from exact over {len(paths)} runs, {cells:,} "
          f"quantile cells (stated bound {ALPHA:.0%}); every other column equal:")
    for table, values in totals.items():
        print(f"  {table:<11}" + "  ".join(f"{n} {v:.3g}" for n, v in values.items()))
    quantiles_ok = all(t.get(n, 0.0) <= ALPHA * (1 + 1e-9) for t in totals.values()
                       for n in QUANTILES)
    others_ok = all(v <= 1e-12 for t in totals.values() for n, v in t.items()
                    if n not in QUANTILES)
    return 0 if quantiles_ok and others_ok else 1


if __name__ == "__main__":
    sys.exit(main())
