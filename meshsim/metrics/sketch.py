"""Mergeable relative-error quantile sketches of latencies (DDSketch), filled a block at a time.

A value ``x > 0`` falls in the logarithmic bucket ``k = ceil(log_gamma(x))``, with
``gamma = (1 + alpha) / (1 - alpha)``, which holds the values in ``(gamma**(k-1), gamma**k]``;
the bucket's representative ``2 * gamma**k / (1 + gamma)`` is within ``alpha`` (relative) of
every value in it. This is the ``LogarithmicMapping`` of Datadog's DDSketch (the ``ddsketch``
package; the keys are the same), computed with numpy over a whole block of values instead of
one Python call per value. Values below :data:`MIN_VALUE` (and zeros) go to a zero bucket whose
representative is 0.

:class:`Sketches` holds many sketches in one sparse store (a group id per sketch: a service
in a time bucket, an edge in a window): sorted ``(group, bucket)`` keys and their counts. A
block is appended unsorted and merged in once the pending part outgrows the store, so adding
``n`` values costs ``O(n log n)`` numpy work and no Python per value. Memory is one key and one
count per occupied bucket: with ``alpha = 1 %`` a latency range of one decade takes at most
116 buckets per sketch, whatever the number of values.

Quantiles use numpy's default definition (linear interpolation between the order statistics
around ``q * (n - 1)``), each order statistic replaced by its bucket's representative and the
result clamped to the exact min and max: every quantile is within ``alpha`` (relative) of
``numpy.quantile`` over the same values (a convex combination of two values each within
``alpha`` is within ``alpha`` of theirs).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

ALPHA = 0.01  # relative accuracy of every quantile
MIN_VALUE = 1e-9  # seconds; below it (and zero) a value counts as 0
KEY_BITS = 24  # bits of a bucket key inside a combined (group, bucket) key
_KEY_OFFSET = 1 << (KEY_BITS - 1)  # bucket key + offset >= 1; slot 0 is the zero bucket
_KEY_MASK = (1 << KEY_BITS) - 1
MAX_GROUP = (1 << (62 - KEY_BITS)) - 1


class LogMapping:
    """DDSketch's logarithmic mapping: values to bucket keys and back, vectorised."""

    def __init__(self, alpha: float = ALPHA) -> None:
        if not 0.0 < alpha < 1.0:
            raise ValueError(f"relative accuracy must be in (0, 1), got {alpha!r}")
        self.alpha = alpha
        self.gamma = (1.0 + alpha) / (1.0 - alpha)
        # ddsketch: 1 / log1p(2 alpha / (1 - alpha)), times ln 2 because keys use log2
        self._multiplier = math.log(2.0) / math.log1p(2.0 * alpha / (1.0 - alpha))

    def slots(self, values: np.ndarray) -> np.ndarray:
        """Per value, its bucket key plus the offset (>= 1), or 0 for the zero bucket."""
        x = np.asarray(values, dtype=np.float64)
        positive = x >= MIN_VALUE
        with np.errstate(divide="ignore", invalid="ignore"):
            keys = np.ceil(np.log2(np.where(positive, x, 1.0)) * self._multiplier)
        return np.where(positive, keys.astype(np.int64) + _KEY_OFFSET, 0)

    def values(self, slots: np.ndarray) -> np.ndarray:
        """Per slot, its bucket's representative value (0 for the zero bucket)."""
        keys = np.asarray(slots, dtype=np.int64) - _KEY_OFFSET
        value = np.exp2(keys / self._multiplier) * (2.0 / (1.0 + self.gamma))
        return np.where(np.asarray(slots) == 0, 0.0, value)


def distinct(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(ids, return_inverse=True)`` of non-negative integer ids: without a sort
    (a table over their range) when the range is narrow."""
    first = int(ids.min())
    span = int(ids.max()) - first + 1
    if span > max(4 * len(ids), 1 << 12):
        found, where = np.unique(ids, return_inverse=True)
        return found, where.ravel()
    return dense_distinct(ids - first, span, first)


def dense_distinct(cells: np.ndarray, span: int, offset: int = 0
                   ) -> tuple[np.ndarray, np.ndarray]:
    """The distinct ``cells`` (integers in ``[0, span)``) plus ``offset``, sorted, and each
    cell's index among them: one table over the range, no sort."""
    seen = np.zeros(span, dtype=bool)
    seen[cells] = True
    rank = np.cumsum(seen) - 1
    return np.flatnonzero(seen) + offset, rank[cells]


def _extremes(where: np.ndarray, values: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per group ``0..n-1`` (each with a value), the min and max of its values: one stable sort
    of the small group indexes (a radix sort below 2**16 groups), no ``ufunc.at``."""
    small = where.astype(np.uint16) if n <= 1 << 16 else where
    ordered = values[np.argsort(small, kind="stable")]
    starts = np.zeros(n, dtype=np.int64)
    np.cumsum(np.bincount(where, minlength=n)[:-1], out=starts[1:])
    return np.minimum.reduceat(ordered, starts), np.maximum.reduceat(ordered, starts)


def _bucket_counts(ids: np.ndarray, where: np.ndarray, slots: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """The distinct combined (group, slot) keys of a block, sorted, and their counts, where
    value ``i`` is in group ``ids[where[i]]`` (``ids`` sorted): one ``bincount`` over the
    block's groups and narrow range of buckets when it is small (the zero bucket counted
    apart), else a sort."""
    zero = slots == 0
    w, k = where[~zero], slots[~zero]
    parts_keys, parts_counts = [], []
    if zero.any():
        z_counts = np.bincount(where[zero], minlength=len(ids))
        z_at = np.flatnonzero(z_counts)
        parts_keys.append(ids[z_at] << KEY_BITS)
        parts_counts.append(z_counts[z_at])
    if len(k):
        k0 = int(k.min())
        width = int(k.max()) - k0 + 1
        span = len(ids) * width
        if span <= max(16 * len(k), 1 << 16):
            counts = np.bincount(w * width + (k - k0), minlength=span)
            cells = np.flatnonzero(counts)
            parts_keys.append((ids[cells // width] << KEY_BITS) | (cells % width + k0))
            parts_counts.append(counts[cells])
        else:
            keys, counts = np.unique((ids[w] << KEY_BITS) | k, return_counts=True)
            parts_keys.append(keys)
            parts_counts.append(counts)
    if len(parts_keys) == 1:  # already sorted
        return parts_keys[0], parts_counts[0].astype(np.int64)
    keys = np.concatenate(parts_keys)
    counts = np.concatenate(parts_counts).astype(np.int64)
    order = np.argsort(keys, kind="stable")
    return keys[order], counts[order]


def _merge_sorted(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct ``keys`` (a few sorted runs one after another), sorted, with the order
    that sorts ``keys`` and where each distinct key's entries start in it: a stable sort
    merges sorted runs in linear time, where ``np.unique`` would sort from scratch."""
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    if not len(keys):
        return ordered, order, order
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    return ordered[starts], order, starts


def _sums(values: np.ndarray, order: np.ndarray, starts: np.ndarray, ufunc: np.ufunc
          ) -> np.ndarray:
    """``ufunc`` over each run of ``values[order]`` that begins at ``starts``."""
    if not len(starts):
        return values[:0]
    return ufunc.reduceat(values[order], starts)


class Sketches:
    """Many DDSketches in one sparse store, one per non-negative integer group id."""

    def __init__(self, alpha: float = ALPHA) -> None:
        self.mapping = LogMapping(alpha)
        self.keys = np.zeros(0, dtype=np.int64)  # sorted combined (group << KEY_BITS | slot)
        self.counts = np.zeros(0, dtype=np.int64)
        # exact min and max of each group's values, sparse like the buckets
        self.groups = np.zeros(0, dtype=np.int64)
        self.low = np.zeros(0)
        self.high = np.zeros(0)
        self._pending: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]
        self._pending = []
        self._pending_size = 0

    @property
    def alpha(self) -> float:
        return self.mapping.alpha

    # -- filling --------------------------------------------------------------------------
    def add(self, groups: np.ndarray, values: np.ndarray) -> None:
        """Add ``values[i]`` to the sketch of ``groups[i]`` (whole arrays, no Python per value)."""
        groups = np.asarray(groups, dtype=np.int64)
        if not len(groups):
            return
        if groups.min() < 0:
            raise ValueError(f"sketch group ids must be in [0, {MAX_GROUP}]")
        self.add_by(*distinct(groups), values)

    def add_by(self, ids: np.ndarray, where: np.ndarray, values: np.ndarray) -> None:
        """Add ``values[i]`` to the sketch of group ``ids[where[i]]``, where ``ids`` are the
        block's distinct group ids, sorted, each with a value (what :func:`distinct` gives)."""
        values = np.maximum(np.asarray(values, dtype=np.float64), 0.0)
        if not len(values):
            return
        if ids[0] < 0 or ids[-1] > MAX_GROUP:
            raise ValueError(f"sketch group ids must be in [0, {MAX_GROUP}]")
        keys, counts = _bucket_counts(ids, where, self.mapping.slots(values))
        low, high = _extremes(where, values, len(ids))
        self._push(keys, counts, ids, low, high)

    def _push(self, keys: np.ndarray, counts: np.ndarray, groups: np.ndarray, low: np.ndarray,
              high: np.ndarray) -> None:
        self._pending.append((keys, counts, groups, low, high))
        self._pending_size += len(keys)
        if self._pending_size > max(len(self.keys), 1 << 14):
            self.compact()

    def compact(self) -> None:
        """Merge the pending blocks into the sorted store."""
        if not self._pending:
            return
        parts = list(zip(*self._pending, strict=True))
        self._pending, self._pending_size = [], 0
        keys = np.concatenate([self.keys, *parts[0]])
        counts = np.concatenate([self.counts, *parts[1]])
        self.keys, order, starts = _merge_sorted(keys)
        self.counts = _sums(counts, order, starts, np.add)
        groups = np.concatenate([self.groups, *parts[2]])
        self.groups, order, starts = _merge_sorted(groups)
        self.low = _sums(np.concatenate([self.low, *parts[3]]), order, starts, np.minimum)
        self.high = _sums(np.concatenate([self.high, *parts[4]]), order, starts, np.maximum)

    def merge(self, other: Sketches) -> None:
        """Add every value of ``other`` (same group ids) to these sketches."""
        if other.alpha != self.alpha:
            raise ValueError("sketches of different relative accuracy do not merge")
        other.compact()
        self._push(other.keys.copy(), other.counts.copy(), other.groups.copy(),
                   other.low.copy(), other.high.copy())

    def regroup(self, mapping: Callable[[np.ndarray], np.ndarray]) -> Sketches:
        """New sketches where group ``g`` is merged into ``mapping(g)`` (-1 drops it)."""
        self.compact()
        out = Sketches(self.alpha)
        target = mapping(self.keys >> KEY_BITS)
        keep = target >= 0
        into = mapping(self.groups)
        known = into >= 0
        if keep.any():
            out._push((target[keep] << KEY_BITS) | (self.keys[keep] & _KEY_MASK),
                      self.counts[keep], into[known], self.low[known], self.high[known])
            out.compact()
        return out

    def split(self, group: int) -> Sketches:
        """Take out the sketches whose group id is below ``group`` (closed time buckets)."""
        self.compact()
        out = Sketches(self.alpha)
        cut = int(np.searchsorted(self.keys, group << KEY_BITS))
        gcut = int(np.searchsorted(self.groups, group))
        out.keys, self.keys = self.keys[:cut], self.keys[cut:]
        out.counts, self.counts = self.counts[:cut], self.counts[cut:]
        out.groups, self.groups = self.groups[:gcut], self.groups[gcut:]
        out.low, self.low = self.low[:gcut], self.low[gcut:]
        out.high, self.high = self.high[:gcut], self.high[gcut:]
        return out

    # -- reading --------------------------------------------------------------------------
    def quantiles(self, qs: Sequence[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(groups, counts, values)``: each non-empty group, its value count and its
        quantiles ``qs`` (one column per q)."""
        self.compact()
        keys, counts = self.keys, self.counts
        groups = keys >> KEY_BITS
        starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]]) if len(keys) else \
            np.zeros(0, dtype=np.int64)
        ids = groups[starts]
        cum = np.cumsum(counts)
        before = np.r_[0, cum][starts]  # values in the store before each group's first bucket
        totals = np.add.reduceat(counts, starts) if len(starts) else np.zeros(0, dtype=np.int64)
        reps = self.mapping.values(keys & _KEY_MASK)
        out = np.zeros((len(ids), len(qs)))
        for j, q in enumerate(qs):
            pos = q * (totals - 1)
            lo = np.floor(pos).astype(np.int64)
            hi = np.minimum(lo + 1, totals - 1)
            low_v = reps[np.searchsorted(cum, before + lo, side="right")]
            high_v = reps[np.searchsorted(cum, before + hi, side="right")]
            out[:, j] = low_v + (pos - lo) * (high_v - low_v)
        if len(ids):
            at = np.searchsorted(self.groups, ids)
            out = np.clip(out, self.low[at][:, None], self.high[at][:, None])
        return ids, totals, out

    def extremes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(groups, min, max)``: the exact extremes of each non-empty group."""
        self.compact()
        return self.groups, self.low, self.high

    # -- storage --------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: relative accuracy, then per group its buckets (DDSketch keys, None for
        the zero bucket), their counts and the exact min and max."""
        self.compact()
        groups = self.keys >> KEY_BITS
        out: dict[str, Any] = {"alpha": self.alpha, "min_value": MIN_VALUE, "sketches": {}}
        for i, g in enumerate(self.groups):
            mine = groups == g
            slots = self.keys[mine] & _KEY_MASK
            out["sketches"][str(int(g))] = {
                "keys": [None if s == 0 else int(s) - _KEY_OFFSET for s in slots],
                "counts": [int(c) for c in self.counts[mine]],
                "min": float(self.low[i]), "max": float(self.high[i]),
            }
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Sketches:
        """The sketches :meth:`to_dict` wrote."""
        out = cls(float(data["alpha"]))
        for group, sketch in data["sketches"].items():
            g = np.int64(int(group))
            slots = np.array([0 if k is None else int(k) + _KEY_OFFSET for k in sketch["keys"]],
                             dtype=np.int64)
            out._push((g << KEY_BITS) | slots, np.asarray(sketch["counts"], dtype=np.int64),
                      np.array([g]), np.array([float(sketch["min"])]),
                      np.array([float(sketch["max"])]))
        out.compact()
        return out
