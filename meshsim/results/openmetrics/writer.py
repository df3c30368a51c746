"""The OpenMetrics text: metric families, each series' points in time order, ``# EOF``.

Timestamps are seconds since the Unix epoch: simulated time ``t`` is written as
``epoch + t``, so ``promtool tsdb create-blocks-from openmetrics`` backfills a run as if it
had started at ``epoch``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

import numpy as np

from meshsim.results.openmetrics.series import Labels, Series, counts, histogram


def escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def label_text(labels: Labels, extra: str = "") -> str:
    parts = [f'{k}="{escape(v)}"' for k, v in labels if v != ""]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}"


def _stamp(epoch: float, t: float) -> str:
    return f"{epoch + t:.3f}"


def write_counter(
    out: TextIO, family: str, help_text: str, series: Sequence[Series], at: np.ndarray,
    epoch: float,
) -> None:
    out.write(f"# HELP {family} {help_text}\n# TYPE {family} counter\n")
    for s in series:
        name = f"{family}_total{label_text(s.labels)}"
        for t, value in zip(at, counts(s, at), strict=True):
            out.write(f"{name} {int(value)} {_stamp(epoch, float(t))}\n")


def write_histogram(
    out: TextIO, family: str, help_text: str, series: Sequence[Series], at: np.ndarray,
    epoch: float, buckets: Sequence[float],
) -> None:
    out.write(f"# HELP {family} {help_text}\n# TYPE {family} histogram\n")
    les = [_le(b) for b in buckets] + ["+Inf"]
    for s in series:
        cum, total, sums = histogram(s, at, buckets)
        heads = [f"{family}_bucket{label_text(s.labels, _le_label(le))} " for le in les]
        count_head = f"{family}_count{label_text(s.labels)} "
        sum_head = f"{family}_sum{label_text(s.labels)} "
        for k, t in enumerate(at):
            stamp = _stamp(epoch, float(t))
            out.writelines(f"{head}{int(v)} {stamp}\n" for head, v in zip(heads, cum[k],
                                                                            strict=True))
            out.write(f"{count_head}{int(total[k])} {stamp}\n")
            out.write(f"{sum_head}{float(sums[k])!r} {stamp}\n")


def _le_label(le: str) -> str:
    return 'le="' + le + '"'


def _le(bound: float) -> str:
    return f"{float(bound)!r}"  # OpenMetrics: le values are floats ("1.0", "0.5")


