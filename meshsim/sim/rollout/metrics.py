"""Prometheus-like queries over the traffic recorded so far (a rollout controller's checks).

Rows are read straight from the recorder's append-only columns, which are ordered by end
time (a row is written when the answer arrives), so a window is found by bisection and
only its rows are copied: a cold-path cost per check, nothing on the request path.

``reporter="destination"`` reads the attempts that reached a pod of the version (mirrored
ones included; ``UO`` and ``UF`` attempts never reached it and local failures such as UH,
NC or NR have no attempt row). An attempt the caller abandoned (``UT``, ``DC``) is what the
inbound proxy saw as a downstream reset: response code 0, not a 5xx, as Istio reports it.
Its latency is the attempt's time less the network round trip. ``reporter="source"`` reads
the calls as their callers saw them (mirrors excluded). No rows in the window gives None;
:meth:`Traffic.exported` then says whether Prometheus would still hold the version's series
(an empty window reads zero requests, a ratio 0/0 = NaN) or none at all (an empty vector).
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from meshsim.metrics import Recorder
from meshsim.metrics.columns import Table
from meshsim.model.rollout import Measure

NOT_REACHED = ("UO", "UF")  # attempt rows whose request never reached the destination
RESET = ("UT", "DC")  # the caller gave up: the destination logged a downstream reset (0)


@dataclass(frozen=True)
class Sample:
    """The rows of one version in one window: HTTP statuses and latencies (seconds)."""

    status: np.ndarray
    latency: np.ndarray


class Traffic:
    """Reads windows of recorded traffic for the queries of every controller of one run."""

    def __init__(self, recorder: Recorder, rtt: float = 0.0) -> None:
        self.recorder = recorder
        self.rtt = rtt  # network round trip, taken off attempt times at the destination
        self._exported: set[tuple[str, str, str | None]] = set()
        self._scanned: dict[tuple[str, str, str | None], int] = {}

    def sample(self, measure: Measure, now: float) -> Sample:
        rec = self.recorder
        destination = measure.reporter == "destination"
        cols = self._table(measure).columns
        end: array[float] = cols["end"]  # type: ignore[assignment]
        lo = bisect_right(end, now - measure.window)
        hi = bisect_right(end, now, lo)
        if hi <= lo:
            return Sample(np.zeros(0, dtype=np.int16), np.zeros(0))

        def window(name: str) -> np.ndarray:
            return np.asarray(cols[name][lo:hi])

        keep = self._keep(measure, lo, hi)
        status = window("status").astype(np.int16)
        latency = window("end") - window("start")
        if destination:
            flags = window("flags")
            status = np.where(np.isin(flags, _codes(rec, RESET)), 0, status).astype(np.int16)
            latency = np.maximum(latency - self.rtt, 0.0)
        return Sample(status[keep], latency[keep])

    def exported(self, measure: Measure, now: float) -> bool:
        """Whether the version's proxy exports the query's series by ``now``: Istio and
        Linkerd create a series on a version's first request and export it while the pod
        runs, so after one request an empty window is zero requests, not an empty vector."""
        key = (measure.reporter, measure.of.service, measure.of.subset)
        if key in self._exported:
            return True
        table = self._table(measure)
        end: array[float] = table.columns["end"]  # type: ignore[assignment]
        lo = max(self._scanned.get(key, 0) - table.dropped, 0)  # rows a window let go
        hi = bisect_right(end, now, lo)
        if hi > lo and bool(self._keep(measure, lo, hi).any()):
            self._exported.add(key)
            return True
        self._scanned[key] = max(lo, hi) + table.dropped
        return False

    def _table(self, measure: Measure) -> Table:
        rec = self.recorder
        return rec.watched_attempts() if measure.reporter == "destination" else rec.calls

    def _keep(self, measure: Measure, lo: int, hi: int) -> np.ndarray:
        """Rows ``lo:hi`` the query counts: the version's, as its reporter sees them."""
        rec = self.recorder
        cols = self._table(measure).columns
        keep = np.asarray(cols["service"][lo:hi]) == _code(rec, measure.of.service)
        if measure.of.subset is not None:
            keep &= np.asarray(cols["subset"][lo:hi]) == _code(rec, measure.of.subset)
        if measure.reporter == "destination":
            keep &= ~np.isin(np.asarray(cols["flags"][lo:hi]), _codes(rec, NOT_REACHED))
        else:
            keep &= np.asarray(cols["mirror"][lo:hi]) == 0
        return keep

    def value(self, measure: Measure, now: float) -> float | None:
        """The query's value at ``now``, scaled; None when no traffic reached the version."""
        sample = self.sample(measure, now)
        n = len(sample.status)
        if n == 0:
            return None
        errors = int(np.count_nonzero(sample.status >= 500))
        kind = measure.kind
        if kind == "success_rate":
            raw = (n - errors) / n
        elif kind == "error_rate":
            raw = errors / n
        elif kind == "request_rate":
            raw = n / measure.window
        else:
            raw = quantile(sample.latency, measure.quantile, measure.buckets)
        return raw * measure.scale


def _code(rec: Recorder, name: str) -> int:
    code = rec.code_of(name)
    return -1 if code is None else code  # -1 matches no row


def _codes(rec: Recorder, names: Sequence[str]) -> list[int]:
    return [_code(rec, n) for n in names]


def quantile(values: np.ndarray, q: float, buckets: Sequence[float]) -> float:
    """The ``q`` quantile of ``values``: exact without buckets, else ``histogram_quantile``."""
    if not buckets:
        return float(np.quantile(values, q))
    bounds = sorted(buckets)
    idx = np.searchsorted(np.asarray(bounds), values, side="left")  # le: v <= bound
    counts = np.bincount(idx, minlength=len(bounds) + 1)
    return histogram_quantile(q, bounds, np.cumsum(counts).tolist())


def histogram_quantile(q: float, bounds: Sequence[float], cumulative: Sequence[float]) -> float:
    """Prometheus ``bucketQuantile``: ``cumulative[i]`` counts observations ``<= bounds[i]``
    and the last entry is the ``+Inf`` bucket; linear interpolation inside the bucket, the
    lowest bucket starting at 0, and a rank in ``+Inf`` giving the highest finite bound."""
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    uppers = [*bounds, math.inf]
    total = cumulative[-1]
    if len(uppers) < 2 or total == 0:
        return math.nan
    rank = q * total
    b = next((i for i, c in enumerate(cumulative[:-1]) if c >= rank), len(uppers) - 1)
    if b == len(uppers) - 1:
        return uppers[-2]
    if b == 0 and uppers[0] <= 0:
        return uppers[0]
    start, end, count = 0.0, uppers[b], cumulative[b]
    if b > 0:
        start = uppers[b - 1]
        count -= cumulative[b - 1]
        rank -= cumulative[b - 1]
    if count <= 0:
        return start
    return start + (end - start) * (rank / count)
