"""Columnar recording of everything a run produces, in the engine's hot path.

The engine passes interned codes and floats; nothing here knows pandas. ``finish`` hands the
columns to :mod:`meshsim.results` as numpy arrays (:class:`Recording`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from meshsim.metrics.aggregates import Aggregates
from meshsim.metrics.columns import Interner, Table
from meshsim.metrics.levels import Level
from meshsim.metrics.sinks import ChunkSink

# typecodes: q int64, i int32, h int16, b int8, d float64
ATTEMPTS = {
    "request_id": "q", "call_id": "q", "caller": "i", "service": "i", "subset": "i", "pod": "i",
    "attempt": "h", "start": "d", "end": "d", "status": "h", "flags": "i", "retry": "b",
    "mirror": "b",
}
CALLS = {
    "call_id": "q", "request_id": "q", "caller": "i", "service": "i", "subset": "i",
    "start": "d", "end": "d", "status": "h", "flags": "i", "attempts": "h", "depth": "h",
    "mirror": "b",
}
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
    # client proxy code -> workload code, as the requests' ``workload`` column maps them
    client_workload: dict[int, int] = field(default_factory=dict)
    # what the results read, kept online during the run (None: a recording built by hand)
    aggregates: Aggregates | None = None


class Recorder:
    """Collects attempts, calls, requests, events and levels during one run."""

    def __init__(
        self, *, bucket: float = 1.0, record_attempts: bool = True,
        sinks: Sequence[ChunkSink] = (),
    ) -> None:
        self.intern = Interner()
        self.bucket = bucket
        self.record_attempts = record_attempts
        self.attempts = Table(ATTEMPTS, "attempts")
        self.calls = Table(CALLS, "calls")
        self.sinks = list(sinks)  # every flushed block of attempts and calls is folded in
        self.attempts.sinks = self.calls.sinks = self.sinks
        self.events: list[tuple[float, str, str, str, str, str, str]] = []
        self._levels: dict[tuple[str, str, str], Level] = {}
        # Attempts of watched services are kept for live queries (rollout checks) even when
        # the run does not record attempts; they never reach the attempts frame.
        self._watched: set[int] = set()
        self._watch = Table(ATTEMPTS)
        self._call_pending = self.calls.pending
        self._call_pack = self.calls.pack
        self._call_chunk = self.calls.chunk_bytes
        self.issued = 0

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
    def watch(self, service: int) -> None:
        """Keep ``service``'s attempts readable during the run (see :meth:`watched_attempts`)."""
        self._watched.add(service)

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
        return self.attempts.nbytes() + self.calls.nbytes()

    def finish(
        self, end_time: float, stats: dict[str, float] | None = None,
        client_workload: dict[int, int] | None = None,
    ) -> Recording:
        """Freeze the run; ``client_workload`` maps a client proxy code to its workload code."""
        calls = self.calls.to_numpy()
        self.attempts.flush()
        for sink in self.sinks:
            sink.close()
        requests = _requests(calls, client_workload or {})
        return Recording(
            names=list(self.intern.names),
            attempts=self.attempts.to_numpy(),
            calls=calls,
            requests=requests,
            events=sorted(self.events, key=lambda e: e[0]),
            levels={key: lvl.means(end_time) for key, lvl in self._levels.items()},
            end_time=end_time,
            bucket=self.bucket,
            stats=dict(stats or {}),
            in_flight_at_end=self.issued - len(requests["id"]),
            issued=self.issued,
            client_workload=dict(client_workload or {}),
            aggregates=next((s for s in self.sinks if isinstance(s, Aggregates)), None),
        )


def _requests(
    calls: dict[str, np.ndarray], client_workload: dict[int, int]
) -> dict[str, np.ndarray]:
    """End-to-end requests: the calls made by workload clients (depth 0)."""
    top = (calls["depth"] == 0) & (calls["mirror"] == 0)
    client = calls["caller"][top]
    lookup = np.zeros(max([0, *client_workload.keys()]) + 1, dtype=np.int32)
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
