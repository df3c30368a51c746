"""Columnar recording of everything a run produces, in the engine's hot path.

The engine passes interned codes and floats; nothing here knows pandas. ``finish`` hands the
columns to :mod:`meshsim.results` as numpy arrays (:class:`Recording`).

A streaming run (:meth:`Recorder.stream`) hands every flushed block of attempts and calls to
chunk sinks (:mod:`meshsim.metrics.sinks`) and keeps no rows, only a bounded window of the
watched services' rows for live queries; the recording then holds the row counts and the
online aggregates (:mod:`meshsim.metrics.aggregates`, one of the sinks) only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from meshsim.metrics.aggregates import Aggregates
from meshsim.metrics.columns import Interner, Table
from meshsim.metrics.levels import Level
from meshsim.metrics.rows import ATTEMPTS, CALLS, AttemptRows, CallRows
from meshsim.metrics.sinks import ChunkSink

# This module runs as the C extension: rows go through the block writers (rows.py), not
# ``struct`` (a C flag in the compiled build: ``cdef bint COMPILED`` in recorder.pxd).
COMPILED = not __file__.endswith((".py", ".pyc"))

# Requests are the depth-0 calls (from workload clients); derived in ``finish``, not stored twice.
REQUESTS = ("id", "workload", "client", "start", "end", "status", "flags", "attempts")
LEVELS = ("in_flight", "queue_depth", "ejected")


@dataclass
class Recording:
    """Raw output of one run: numpy columns plus the string table their codes index."""

    names: list[str]
    attempts: dict[str, np.ndarray]
    calls: dict[str, np.ndarray]
    requests: dict[str, np.ndarray]
    events: list[tuple[float, str, str, str, str, str, str]]
    levels: dict[tuple[str, str, str], np.ndarray]  # (level, service, subset) -> per-bucket mean
    end_time: float
    bucket: float
    stats: dict[str, float] = field(default_factory=dict)
    # Requests still open at the end (issued - finished), for the conservation invariant.
    in_flight_at_end: int = 0
    issued: int = 0
    # Workers still held at the end for downstream calls already answered (leaked), one line
    # each, for the invariant that every answered call frees its worker.
    held_workers: list[str] = field(default_factory=list)
    # An app client's tries are requests rows of their own sharing the user request's id.
    client_tries: bool = False
    # One row per proxy instance when the run models proxy cost (``spec.proxy.cost``).
    proxy_cost: list[dict[str, object]] | None = None
    # Rows recorded per table (requests, calls, attempts), held here or streamed to sinks.
    counts: dict[str, int] = field(default_factory=dict)
    streamed: bool = False  # the rows went to sinks; the arrays above are empty
    # client proxy code -> workload code, as the requests' ``workload`` column maps them
    client_workload: dict[int, int] = field(default_factory=dict)
    # what the results read, kept online during the run (None: a recording built by hand)
    aggregates: Aggregates | None = None
    # (call id, dependency call id) per row of an app client inside a pod: its tries
    dependency_tries: np.ndarray = field(
        default_factory=lambda: np.zeros((0, 2), dtype=np.int64))
    # ids of the user requests a workload's app client finished (answered or gave up on)
    users_done: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def count(self, table: str) -> int:
        """Rows of ``table`` the run recorded, whether held here or streamed."""
        if table in self.counts:
            return self.counts[table]
        rows: dict[str, np.ndarray] = getattr(self, table)
        return len(rows.get("start", ()))


class Recorder:
    """Collects attempts, calls, requests, events and levels during one run."""

    def __init__(
        self, *, bucket: float = 1.0, record_attempts: bool = True,
        sinks: Sequence[ChunkSink] = (), keep_rows: bool = True, hold_attempts: bool = True,
    ) -> None:
        self.intern = Interner()
        self.bucket = bucket
        self.record_attempts = record_attempts
        self.attempts = Table(ATTEMPTS, "attempts", AttemptRows if COMPILED else None)
        self.calls = Table(CALLS, "calls", CallRows if COMPILED else None)
        self._call_rows = self.calls.rows
        self.events: list[tuple[float, str, str, str, str, str, str]] = []
        self._levels: dict[tuple[str, str, str], Level] = {}
        # Attempts of watched services are kept for live queries (rollout checks) even when
        # the run does not record attempts; they never reach the attempts frame.
        self._watched: set[int] = set()
        self._watch = Table(ATTEMPTS, "watched", AttemptRows if COMPILED else None)
        self._call_pending = self.calls.pending
        self._call_pack = self.calls.pack
        self._call_chunk = self.calls.chunk_bytes
        self.issued = 0
        self.sinks: list[ChunkSink] = []
        self.streaming = False
        self._hold_attempts = record_attempts  # attempts reach the frames
        self.finished_requests = 0  # depth-0 calls counted per flushed block
        self.client_workload: dict[int, int] = {}  # client proxy code -> workload code
        # (call id, id of the dependency call it tries): rows of app clients inside pods
        self.dependency_tries: list[tuple[int, int]] = []
        self.users_done: list[int] = []  # user requests an app client gave its last word on
        if sinks or not keep_rows or not hold_attempts:
            self.stream(sinks, keep_rows=keep_rows, hold_attempts=hold_attempts)

    def stream(
        self, sinks: Sequence[ChunkSink], *, keep_rows: bool = False, hold_attempts: bool = True,
    ) -> None:
        """Hand every flushed block of attempts and calls to ``sinks`` (call before the run).

        Without ``keep_rows`` no row stays in memory: :meth:`finish` returns the counts and
        the sinks only, and live queries (:meth:`watched_attempts`, ``calls``) see a bounded
        window set by :meth:`watch`. Attempts reach the sinks when ``record_attempts`` (the
        scenario's choice, so the aggregates are the same at every record level);
        ``hold_attempts`` says whether they are also held for the attempts frame.
        """
        self.sinks = list(sinks)
        self.streaming = not keep_rows
        folds = [sink.fold for sink in self.sinks]
        self.calls.stream([self._count_requests, *folds], keep=keep_rows)
        self._hold_attempts = keep_rows and self.record_attempts and hold_attempts
        self.attempts.stream(folds, keep=self._hold_attempts)
        if self.streaming:  # watched attempts of a run not recording attempts: a window only
            self._watch.stream([], keep=False)

    def _count_requests(self, table: str, block: dict[str, np.ndarray]) -> None:
        top = (block["depth"] == 0) & (block["mirror"] == 0)
        self.finished_requests += int(np.count_nonzero(top))

    # -- hot path -------------------------------------------------------------------------
    def attempt(  # noqa: PLR0913 - one positional per column: the cheapest call per attempt
        self, request_id: int, call_id: int, caller: int, service: int, subset: int, pod: int,
        attempt: int, start: float, end: float, status: int, flags: int, retry: bool,
        mirror: bool,
    ) -> None:
        if self.record_attempts:
            table = self.attempts
        elif service in self._watched:
            table = self._watch
        else:
            return
        if COMPILED:  # a C store per cell into the table's block
            rows = table.rows
            if rows.put(request_id, call_id, caller, service, subset, pod, attempt, start, end,
                        status, flags, retry, mirror):
                table.flush()
            return
        pending = table.pending
        pending += table.pack(request_id, call_id, caller, service, subset, pod, attempt, start,
                              end, status, flags, retry, mirror)
        if len(pending) >= table.chunk_bytes:
            table.flush()

    def call(  # noqa: PLR0913 - one positional per column: the cheapest call per call
        self, call_id: int, request_id: int, caller: int, service: int, subset: int,
        start: float, end: float, status: int, flags: int, attempts: int, depth: int,
        mirror: bool = False,
    ) -> None:
        if COMPILED:  # a C store per cell into the calls' block
            if self._call_rows.put(call_id, request_id, caller, service, subset, start, end,
                                   status, flags, attempts, depth, mirror):
                self.calls.flush()
            return
        pending = self._call_pending
        pending += self._call_pack(call_id, request_id, caller, service, subset, start, end,
                                   status, flags, attempts, depth, mirror)
        if len(pending) >= self._call_chunk:
            self.calls.flush()

    def level(self, name: str, service: str, subset: str) -> Level:
        """The level object to update directly from the engine (``level.change(now, ±1)``)."""
        key = (name, service, subset)
        lvl = self._levels.get(key)
        if lvl is None:
            lvl = self._levels[key] = Level(self.bucket)
        return lvl

    # -- cold path ------------------------------------------------------------------------
    def watch(self, service: int, horizon: float = float("inf")) -> None:
        """Keep ``service``'s attempts readable during the run (see :meth:`watched_attempts`);
        a streaming run holds only the last ``horizon`` seconds of them, and of the calls."""
        self._watched.add(service)
        if self.record_attempts and not self._hold_attempts:  # attempts pass through to sinks
            self.attempts.keep_window(horizon if self.streaming else float("inf"),
                                      sorted(self._watched))
        if self.streaming:
            self.calls.keep_window(horizon)
            self._watch.keep_window(horizon)

    def code_of(self, name: str) -> int | None:
        """The code of an interned string, without interning it (None: never recorded)."""
        return self.intern.code_of(name)

    def watched_attempts(self) -> Table:
        """The attempts recorded so far: all of them, or the watched services' when the run
        does not record attempts. Rows are in end-time order."""
        return self.attempts if self.record_attempts else self._watch

    def event(
        self, time: float, kind: str, *, proxy: str = "", service: str = "", subset: str = "",
        pod: str = "", detail: str = "",
    ) -> None:
        self.events.append((time, kind, proxy, service, subset, pod, detail))

    def nbytes(self) -> int:
        """Bytes of the rows held in memory (a streaming run holds only its window)."""
        return self.attempts.nbytes() + self.calls.nbytes()

    def finish(
        self, end_time: float, stats: dict[str, float] | None = None,
        client_workload: dict[int, int] | None = None,
    ) -> Recording:
        """Freeze the run; ``client_workload`` maps a client proxy code to its workload code.
        A streaming run flushes its last rows to the sinks and closes them."""
        workloads = dict(client_workload or self.client_workload)
        if self.streaming:
            return self._finish_streamed(end_time, stats, workloads)
        calls = self.calls.to_numpy()
        requests = derive_requests(calls, workloads)
        attempts = self.attempts.to_numpy()
        if not self._hold_attempts:  # only the watched services' window was held
            attempts = {name: values[:0] for name, values in attempts.items()}
        for sink in self.sinks:
            sink.close()
        return Recording(
            names=list(self.intern.names),
            attempts=attempts,
            calls=calls,
            requests=requests,
            events=sorted(self.events, key=lambda e: e[0]),
            levels={key: lvl.means(end_time) for key, lvl in self._levels.items()},
            end_time=end_time,
            bucket=self.bucket,
            stats=dict(stats or {}),
            in_flight_at_end=self.issued - len(requests["id"]),
            issued=self.issued,
            counts={"requests": len(requests["id"]), "calls": len(calls["start"]),
                    "attempts": self.attempts.total},  # rows the attempts table saw
            client_workload=workloads,
            aggregates=self.aggregates(),
            dependency_tries=np.array(self.dependency_tries, dtype=np.int64).reshape(-1, 2),
            users_done=np.array(self.users_done, dtype=np.int64),
        )

    def aggregates(self) -> Aggregates | None:
        """The online aggregates among the sinks (None: a recorder built without them)."""
        return next((s for s in self.sinks if isinstance(s, Aggregates)), None)

    def _finish_streamed(
        self, end_time: float, stats: dict[str, float] | None, workloads: dict[int, int],
    ) -> Recording:
        self.calls.flush()
        self.attempts.flush()
        for sink in self.sinks:
            sink.close()
        empty = {"calls": CALLS, "attempts": ATTEMPTS}
        rows = {name: {col: np.zeros(0, dtype=code) for col, code in schema.items()}
                for name, schema in empty.items()}
        requests = derive_requests(rows["calls"], {})
        return Recording(
            names=list(self.intern.names), attempts=rows["attempts"], calls=rows["calls"],
            requests=requests, events=sorted(self.events, key=lambda e: e[0]),
            levels={key: lvl.means(end_time) for key, lvl in self._levels.items()},
            end_time=end_time, bucket=self.bucket, stats=dict(stats or {}),
            in_flight_at_end=self.issued - self.finished_requests, issued=self.issued,
            counts={"requests": self.finished_requests, "calls": self.calls.total,
                    "attempts": self.attempts.total},
            streamed=True, client_workload=workloads, aggregates=self.aggregates(),
            dependency_tries=np.array(self.dependency_tries, dtype=np.int64).reshape(-1, 2),
            users_done=np.array(self.users_done, dtype=np.int64),
        )


def derive_requests(
    calls: dict[str, np.ndarray], client_workload: Mapping[int, int]
) -> dict[str, np.ndarray]:
    """End-to-end requests: the calls made by workload clients (depth 0)."""
    top = (calls["depth"] == 0) & (calls["mirror"] == 0)
    client = calls["caller"][top]
    lookup = np.zeros(max(0, max(client_workload, default=0)) + 1, dtype=np.int32)
    for code, workload in client_workload.items():
        lookup[code] = workload
    return {
        "id": calls["request_id"][top],
        "workload": lookup[client] if len(client) else np.zeros(0, dtype=np.int32),
        "client": client,
        "start": calls["start"][top],
        "end": calls["end"][top],
        "status": calls["status"][top],
        "flags": calls["flags"][top],
        "attempts": calls["attempts"][top],
    }
