"""Online aggregates: what the results read, folded from each flushed block of rows.

:class:`Aggregates` is a chunk sink (:mod:`meshsim.metrics.sinks`): the recorder hands it every
block of ``calls`` and ``attempts`` rows, and it keeps exact counts and latency sketches
(:mod:`meshsim.metrics.sketch`) keyed by interned codes, so the summary, the time series, the SLO
checks and the recovery verdicts never re-read raw rows. Everything is per block and
vectorised (``np.unique``, ``np.bincount``, ``np.add.at``); nothing runs per row.

What is kept, and what it grows with:

- per window (the summary's ``[warmup, duration)`` and each expectation's),
  calls by start time per *edge* (caller, service, subset, mirror, is-a-request) and outcome
  (status, flags): count, attempts, retries, latency sum; a latency sketch per edge; attempts
  by start per (caller, service, subset, mirror, status, flags). Grows with the mesh only.
- per time bucket (the time series'), per (service, subset, mirror) and outcome: calls by end,
  calls by start and attempts by start; the latency sketch of each bucket until the bucket has
  closed (calls arrive in end-time order), then only its p50/p90/p99. Grows with
  duration / bucket, never with the number of rows.
- per workload client and second of issue: requests finished, and finished ok (recovery).
- the finished request ids as runs of consecutive ids with the starts at their ends, so the
  requests still open at the end are known (:meth:`open_requests`). Grows with the gaps: the
  requests in flight or never answered.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from meshsim.metrics.sketch import Sketches, dense_distinct, distinct

QUANTILES = (0.50, 0.90, 0.99)
SERIES_BITS = 16  # series ids inside a time-bucket sketch group: bucket << 16 | series
CLOSE_EVERY = 16  # time buckets whose sketches turn into quantiles together


class Ids:
    """Dense ids for rows of integer key columns, handed out on first sight."""

    def __init__(self, width: int) -> None:
        self.width = width
        self._index: dict[tuple[int, ...], int] = {}
        self._rows: list[tuple[int, ...]] = []
        self._memos: dict[str, np.ndarray] = {}  # signature id -> id (see :meth:`memo`)

    def __len__(self) -> int:
        return len(self._rows)

    def __call__(self, columns: Sequence[np.ndarray]) -> np.ndarray:
        """Per row of ``columns``, its id."""
        if len(columns[0]) <= 512:  # a block's distinct rows: a dict lookup each is cheaper
            return np.fromiter(
                (self._id(row) for row in zip(*(np.asarray(c).tolist() for c in columns),
                                              strict=True)),
                dtype=np.int64, count=len(columns[0]),
            )
        unique, inverse = unique_rows(columns)
        ids = np.empty(len(unique), dtype=np.int64)
        for i, row in enumerate(map(tuple, unique.tolist())):
            found = self._index.get(row)
            if found is None:
                found = self._index[row] = len(self._rows)
                self._rows.append(row)
            ids[i] = found
        return ids[inverse]

    def memo(self, kinds: np.ndarray, columns: Sequence[np.ndarray], space: str = ""
             ) -> np.ndarray:
        """Per row of ``columns``, its id, where ``kinds`` are the rows' ids in the signature
        :class:`Ids` ``space`` of the folding table (a block's distinct rows): rows seen in
        an earlier block cost one array lookup, only new ones a dict lookup."""
        memo = self._memos.get(space, np.zeros(0, dtype=np.int64))
        if len(kinds) and int(kinds.max()) >= len(memo):
            grown = np.full(max(int(kinds.max()) + 1, 2 * len(memo)), -1, dtype=np.int64)
            grown[: len(memo)] = memo
            memo = self._memos[space] = grown
        ids = memo[kinds]
        new = ids < 0
        if new.any():
            ids[new] = self([np.asarray(c)[new] for c in columns])
            memo[kinds[new]] = ids[new]
        return ids

    def _id(self, row: tuple[int, ...]) -> int:
        found = self._index.get(row)
        if found is None:
            found = self._index[row] = len(self._rows)
            self._rows.append(row)
        return found

    def table(self) -> np.ndarray:
        """The key rows by id (``len(self) × width``)."""
        if not self._rows:
            return np.zeros((0, self.width), dtype=np.int64)
        return np.asarray(self._rows, dtype=np.int64)


def unique_rows(columns: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of non-negative integer columns (sorted) and each row's index among
    them. Every flushed block of rows passes here once per table, so it works column by
    column and mostly without sorting: each column's values become their ranks among the
    column's distinct values (a table over its range), the ranks one mixed-radix key
    (Horner's rule) whose distinct values a table over the (now small) key range finds,
    and the distinct rows are decoded back from the distinct keys."""
    cols = [np.asarray(c, dtype=np.int64) for c in columns]
    if not len(cols[0]):
        return np.zeros((0, len(cols)), dtype=np.int64), np.zeros(0, dtype=np.int64)
    lows = [int(c.min()) for c in cols]
    if min(lows) >= 0:
        values: list[np.ndarray] = []
        key = np.zeros(len(cols[0]), dtype=np.int64)
        size = 1  # the key's range: the product of the columns' distinct counts
        for col, low in zip(cols, lows, strict=True):
            if low == int(col.max()):  # one value: no digit
                values.append(np.array([low], dtype=np.int64))
                continue
            found, rank = distinct(col)
            values.append(found)
            size *= len(found)
            if size >= 2**62:
                break
            key *= len(found)
            key += rank
        else:
            keys, inverse = distinct(key)
            digits = []
            for found in reversed(values):
                keys, digit = np.divmod(keys, len(found))
                digits.append(found[digit])
            return np.column_stack(digits[::-1]), inverse
    rows, inverse = np.unique(np.column_stack(cols), axis=0, return_inverse=True)
    return rows, inverse.ravel()


class Cube:
    """Sums of value columns per distinct row of key columns (an exact group-by, online)."""

    def __init__(self, width: int, values: int) -> None:
        self.ids = Ids(width)
        self.sums = np.zeros((0, values))

    def add(self, keys: Sequence[np.ndarray], values: Sequence[np.ndarray]) -> None:
        if not len(keys[0]):
            return
        self._add_ids(self.ids(keys), values)

    def add_grouped(self, rows: np.ndarray, kinds: np.ndarray, table: Sequence[np.ndarray],
                    values: Sequence[np.ndarray]) -> None:
        """Add rows given as indexes into ``table`` (the block's distinct key rows, whose
        signature ids are ``kinds``): the sums go per table row (one ``bincount`` each),
        then to the cube."""
        if not len(rows):
            return
        sums = [np.bincount(rows, weights=v, minlength=len(table[0])) for v in values]
        present = np.bincount(rows, minlength=len(table[0])) > 0
        self._add_ids(self.ids.memo(kinds[present], [col[present] for col in table]),
                      [total[present] for total in sums])

    def _add_ids(self, ids: np.ndarray, values: Sequence[np.ndarray]) -> None:
        if len(self.ids) > len(self.sums):
            grow = max(len(self.ids), 2 * len(self.sums))
            self.sums = np.vstack([self.sums, np.zeros((grow - len(self.sums),
                                                        self.sums.shape[1]))])
        for j, value in enumerate(values):
            np.add.at(self.sums[:, j], ids, value)

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """``(keys, sums)``: one row per distinct key row."""
        return self.ids.table(), self.sums[: len(self.ids)]


class TimeCube:
    """Sums of value columns per time bucket and distinct row of key columns."""

    def __init__(self, width: int, values: int, bucket: float) -> None:
        self.ids = Ids(width)
        self.bucket = bucket
        self.sums = np.zeros((0, 0, values))  # bucket × key id × value

    def add_grouped(self, b: np.ndarray, rows: np.ndarray, kinds: np.ndarray,
                    table: Sequence[np.ndarray], values: Sequence[np.ndarray]) -> None:
        """Add rows given as indexes into ``table`` (the block's distinct key rows, whose
        signature ids are ``kinds``) in time buckets ``b`` (:func:`bucket_of`): one
        ``bincount`` over (bucket, key) cells per value."""
        if not len(rows):
            return
        ids = self.ids.memo(kinds, table)[rows]
        self._grow(int(b.max()) + 1)
        first = int(b.min())
        width = self.sums.shape[1]
        cells = (b - first) * width + ids
        span = (int(b.max()) - first + 1) * width
        for j, value in enumerate(values):
            self.sums[first : first + span // width, :, j] += np.bincount(
                cells, weights=value, minlength=span).reshape(-1, width)

    def _grow(self, rows: int) -> None:
        have_rows, have_cols, width = self.sums.shape
        cols = len(self.ids)
        if rows > have_rows or cols > have_cols:
            grown = np.zeros((max(rows, 2 * have_rows) if rows > have_rows else have_rows,
                              max(cols, 2 * have_cols) if cols > have_cols else have_cols, width))
            grown[:have_rows, :have_cols] = self.sums
            self.sums = grown

    def result(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """``(keys, sums)`` with sums ``n × keys × values``: buckets ``0..n-1``, later ones
        (rows at the very end of the run) counted in the last."""
        width = len(self.ids)
        out = np.zeros((n, width, self.sums.shape[2]))
        have = min(n, self.sums.shape[0])
        out[:have] = self.sums[:have, :width]
        if self.sums.shape[0] > n and n > 0:
            out[n - 1] += self.sums[n:, :width].sum(axis=0)
        return self.ids.table(), out


def bucket_of(times: np.ndarray, bucket: float) -> np.ndarray:
    """The time series' bucket of each time (as :mod:`meshsim.results.timeseries` bins)."""
    return np.maximum((np.asarray(times, dtype=np.float64) / bucket).astype(np.int64), 0)


class IdRuns:
    """Finished request ids as runs of consecutive ids, with the start times at each end."""

    def __init__(self) -> None:
        empty_i, empty_f = np.zeros(0, dtype=np.int64), np.zeros(0)
        # lo, hi (exclusive), the start of id lo and of id hi - 1
        self.runs = (empty_i, empty_i, empty_f, empty_f)
        self._pending: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self._size = 0

    def add(self, ids: np.ndarray, starts: np.ndarray) -> None:
        if not len(ids):
            return
        order = np.argsort(ids, kind="stable")
        self._pending.append(_merge_runs(ids[order], ids[order] + 1, starts[order],
                                         starts[order]))
        self._size += len(self._pending[-1][0])
        if self._size > max(len(self.runs[0]), 1024):
            self.compact()

    def compact(self) -> None:
        if not self._pending:
            return
        parts = [np.concatenate(p) for p in zip(self.runs, *self._pending, strict=True)]
        self._pending, self._size = [], 0
        order = np.argsort(parts[0], kind="stable")
        lo, hi, first, last = (p[order] for p in parts)
        self.runs = _merge_runs(lo, hi, first, last)

    def open_requests(self, issued: int, horizon: float) -> tuple[np.ndarray, np.ndarray]:
        """For each id in ``[0, issued)`` not finished, the earliest and latest time it may
        have been issued: the starts of the finished ids next to it (0 and ``horizon`` at
        the ends), as :func:`meshsim.results.recovery.open_requests` computes from rows."""
        self.compact()
        lo, hi, first, last = self.runs
        gap_from = np.r_[0, hi]  # gaps before each run and after the last one
        gap_to = np.r_[lo, max(issued, int(hi[-1]) if len(hi) else 0)]
        gap_to = np.minimum(gap_to, max(issued, 0))
        low = np.r_[0.0, last]
        high = np.r_[first, horizon]
        sizes = np.maximum(gap_to - gap_from, 0)
        return np.repeat(low, sizes).astype(float), np.repeat(high, sizes).astype(float)


def _merge_runs(
    lo: np.ndarray, hi: np.ndarray, first: np.ndarray, last: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Runs sorted by ``lo`` joined where one ends where the next begins."""
    if not len(lo):
        return lo, hi, first, last
    starts = np.flatnonzero(np.r_[True, lo[1:] != hi[:-1]])
    ends = np.r_[starts[1:] - 1, len(lo) - 1]
    return lo[starts], hi[ends], first[starts], last[ends]


def windows_for(
    warmup: float, duration: float, expectations: Sequence[tuple[float, float] | None] = ()
) -> list[tuple[float, float]]:
    """The start-time windows the results read: the summary's ``[warmup, duration)`` and
    every expectation's window (``None``: the summary's) cut at the end of the run."""
    out = [(warmup, duration)]
    for window in expectations:
        start, end = window if window is not None else (warmup, duration)
        if start < duration and (start, min(end, duration)) not in out:
            out.append((start, min(end, duration)))
    return out


class Aggregates:
    """The chunk sink that keeps what the results read (see the module docstring)."""

    def __init__(self, *, bucket: float, windows: Sequence[tuple[float, float]],
                 duration: float) -> None:
        self.bucket = bucket
        self.windows = [(float(a), float(b)) for a, b in windows]
        # the tail of the run, where the last bucket is only known at the end, stays open
        self._last_open = max(0, math.ceil(duration / bucket - 1e-9) - 1)
        self.edges = Ids(5)  # caller, service, subset, mirror, top (a workload's request)
        self.series = Ids(3)  # service, subset, mirror
        # the distinct rows of blocks (their signatures) and the series each one is in
        self.call_kinds, self.attempt_kinds = Ids(8), Ids(6)
        self.window_calls = [Cube(3, 4) for _ in self.windows]  # edge, status, flags
        self.window_latency = [Sketches() for _ in self.windows]  # per edge
        # caller, service, subset, mirror, status, flags: attempts, retries
        self.window_tries = [Cube(6, 2) for _ in self.windows]
        self.ended = TimeCube(3, 1, bucket)  # series, status, flags: calls by end
        self.started = TimeCube(3, 2, bucket)  # series, flags, untried: calls, attempts
        self.tried = TimeCube(2, 2, bucket)  # series, flags: attempts, retries
        self.issued_ok = TimeCube(2, 1, 1.0)  # client, ok: requests by second of issue
        self.request_ids = IdRuns()
        self._latency = Sketches()  # group: bucket << SERIES_BITS | series, open buckets
        self._closed: list[SeriesQuantiles] = []
        self._closed_below = 0
        self.attempt_rows = 0
        self.call_rows = 0
        self.request_rows = 0  # depth-0 calls that are not mirror copies
        self.request_latency = 0.0  # the sum of their latencies
        self.call_attempts = 0
        self.closed = False
        self.late_calls = 0  # calls that ended in a bucket already closed (expected: none)

    @classmethod
    def of_columns(
        cls, calls: dict[str, np.ndarray], attempts: dict[str, np.ndarray], *, bucket: float,
        windows: Sequence[tuple[float, float]], duration: float, chunk: int = 1 << 16,
    ) -> Aggregates:
        """The aggregates of rows recorded without them (a recording built by hand): the
        calls folded in end-time order, as the engine records them."""
        out = cls(bucket=bucket, windows=windows, duration=duration)
        for table, columns in (("attempts", attempts), ("calls", calls)):
            if not len(columns.get("start", ())):
                continue
            order = np.argsort(columns["end"], kind="stable")
            for i in range(0, len(order), chunk):
                part = order[i : i + chunk]
                out.fold(table, {name: values[part] for name, values in columns.items()})
        out.close()
        return out

    def window(self, start: float, end: float) -> int:
        """The index of the window ``[start, end)`` (KeyError: not kept for this run)."""
        return self.windows.index((float(start), float(end)))

    # -- the sink -------------------------------------------------------------------------
    def fold(self, table: str, block: dict[str, np.ndarray]) -> None:
        if table == "calls":
            self._calls(block)
        elif table == "attempts":
            self._attempts(block)

    def close(self) -> None:
        self.closed = True

    def _calls(self, c: dict[str, np.ndarray]) -> None:
        if not len(c["start"]):
            return
        start, end = c["start"], c["end"]
        latency = end - start
        attempts = c["attempts"].astype(np.int64)
        top = (c["depth"] == 0) & (c["mirror"] == 0)
        self.call_attempts += int(attempts.sum())
        self.call_rows += len(start)
        self.request_rows += int(top.sum())
        self.request_latency += float(latency[top].sum())
        # one sort per block: the distinct (caller, service, subset, mirror, top, status,
        # flags, untried) rows; every table below is keyed by a function of them
        kinds, row = unique_rows([c["caller"], c["service"], c["subset"], c["mirror"], top,
                                  c["status"], c["flags"], attempts == 0])
        caller, service, subset, mirror, is_top, status, flags, untried = kinds.T
        sig = self.call_kinds(list(kinds.T))
        edge = self.edges.memo(sig, [caller, service, subset, mirror, is_top])
        series = self.series.memo(sig, [service, subset, mirror], "calls")
        ones = np.ones(len(start))
        retries = np.maximum(attempts - 1, 0)
        for i, (a, b) in enumerate(self.windows):
            m = (start >= a) & (start < b)
            if m.any():
                self.window_calls[i].add_grouped(row[m], sig, [edge, status, flags],
                                                 [ones[m], attempts[m], retries[m], latency[m]])
                self.window_latency[i].add(edge[row[m]], latency[m])
        ended, started = bucket_of(end, self.bucket), bucket_of(start, self.bucket)
        self.ended.add_grouped(ended, row, sig, [series, status, flags], [ones])
        self.started.add_grouped(started, row, sig, [series, flags, untried], [ones, attempts])
        self.late_calls += int((ended < self._closed_below).sum())
        self._latency.add_by(*self._bucket_series(ended, series[row]), latency)
        if top.any():
            ok = (status >= 1) & (status <= 499)
            second = started[top] if self.bucket == 1.0 else bucket_of(start[top], 1.0)
            self.issued_ok.add_grouped(second, row[top], sig, [caller, ok], [ones[top]])
            self.request_ids.add(c["request_id"][top].astype(np.int64), start[top])
        self._close_buckets(int(ended[-1]))

    def _attempts(self, a: dict[str, np.ndarray]) -> None:
        if not len(a["start"]):
            return
        self.attempt_rows += len(a["start"])
        start = a["start"]
        ones = np.ones(len(start))
        kinds, row = unique_rows([a["caller"], a["service"], a["subset"], a["mirror"],
                                  a["status"], a["flags"]])
        table = list(kinds.T)
        sig = self.attempt_kinds(table)
        retry = a["retry"].astype(np.float64)
        for i, (lo, hi) in enumerate(self.windows):
            m = (start >= lo) & (start < hi)
            if m.any():
                self.window_tries[i].add_grouped(row[m], sig, table, [ones[m], retry[m]])
        series = self.series.memo(sig, [table[1], table[2], table[3]], "attempts")
        self.tried.add_grouped(bucket_of(start, self.bucket), row, sig, [series, table[5]],
                               [ones, retry])

    # -- time-bucket latency --------------------------------------------------------------
    def _bucket_series(self, bucket: np.ndarray, series: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray]:
        """The distinct sketch groups ``bucket << SERIES_BITS | series`` of a block's rows,
        sorted, and each row's index among them (:meth:`Sketches.add_by`): a block spans a
        few buckets, so one table over (bucket, series) finds them without a sort."""
        first, width = int(bucket.min()), len(self.series)
        span = (int(bucket.max()) - first + 1) * width
        if span > max(4 * len(bucket), 1 << 12):
            return distinct((bucket << SERIES_BITS) | series)
        found, where = dense_distinct((bucket - first) * width + series, span)
        return ((found // width + first) << SERIES_BITS) | (found % width), where

    def _close_buckets(self, current: int) -> None:
        """Turn the sketches of the buckets that every later call ends after (calls are
        recorded when they end, in time order; one bucket of slack) into their quantiles,
        :data:`CLOSE_EVERY` buckets at a time."""
        below = min(current - 1, self._last_open)
        if below >= self._closed_below + CLOSE_EVERY:
            done = self._latency.split(below << SERIES_BITS)
            self._closed.append(self._series_quantiles(done))
            self._closed_below = below

    def _series_quantiles(self, sketches: Sketches) -> SeriesQuantiles:
        """Per closed bucket: the quantiles of each (service, subset), mirror copies
        included, and of each service without them (subset -1)."""
        table = self.series.table()
        if len(table) > 1 << SERIES_BITS:
            raise RuntimeError(f"more than {1 << SERIES_BITS} service/subset series")
        leaves, leaf_of = unique_rows([table[:, 0], table[:, 1]]) if len(table) else \
            (np.zeros((0, 2), dtype=np.int64), np.zeros(0, dtype=np.int64))
        services, service_of = np.unique(table[:, 0], return_inverse=True)
        service_of = np.where(table[:, 2] == 0, service_of, -1) if len(table) else service_of
        mask = (1 << SERIES_BITS) - 1
        parts = []
        for total, target_of in ((False, leaf_of), (True, service_of)):
            def regroup(g: np.ndarray, target_of: np.ndarray = target_of) -> np.ndarray:
                target = target_of[g & mask]
                return np.where(target >= 0, ((g >> SERIES_BITS) << SERIES_BITS) | target, -1)
            ids, _, values = sketches.regroup(regroup).quantiles(QUANTILES)
            at = ids & mask
            service = services[at] if total else leaves[at, 0]
            subset = np.full(len(ids), -1) if total else leaves[at, 1]
            parts.append(SeriesQuantiles(ids >> SERIES_BITS, service, subset, values))
        return SeriesQuantiles.join(parts)

    def series_latency(self, n: int) -> SeriesQuantiles:
        """Latency quantiles per bucket ``0..n-1`` (later ones counted in the last), per
        (service, subset) and per service (subset -1, mirror copies left out)."""
        last = max(n - 1, 0)
        rest = self._latency.regroup(
            lambda g: (np.minimum(g >> SERIES_BITS, last) << SERIES_BITS)
            | (g & ((1 << SERIES_BITS) - 1))
        )
        return SeriesQuantiles.join([*self._closed, self._series_quantiles(rest)])


@dataclass(frozen=True)
class SeriesQuantiles:
    """Latency quantiles of time buckets: one row per (bucket, service, subset)."""

    bucket: np.ndarray
    service: np.ndarray  # interned codes
    subset: np.ndarray  # -1: the service's total without mirror copies
    values: np.ndarray  # rows × QUANTILES

    @classmethod
    def join(cls, parts: Sequence[SeriesQuantiles]) -> SeriesQuantiles:
        if not parts:
            return cls(*(np.zeros(0, dtype=np.int64),) * 3, np.zeros((0, len(QUANTILES))))
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in
                     ("bucket", "service", "subset", "values")))
