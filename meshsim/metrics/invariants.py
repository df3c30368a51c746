"""Invariants every recording must satisfy, whatever the scenario (DESIGN §7).

The test suite checks them after every simulation it runs, so a bookkeeping bug anywhere in
the engine shows up in whichever test happens to exercise it.
"""

from __future__ import annotations

import numpy as np

from meshsim.metrics.recorder import Recording


class InvariantError(AssertionError):
    """A recording that cannot be right."""


def check(recording: Recording) -> None:
    """Raise :class:`InvariantError` naming the first invariant that does not hold."""
    req, calls, att = recording.requests, recording.calls, recording.attempts
    finished = recording.count("requests")  # a streamed recording holds the counts only
    _require(
        recording.issued == finished + recording.in_flight_at_end,
        f"conservation: issued {recording.issued} != finished {finished} + in flight "
        f"{recording.in_flight_at_end}",
    )
    _require(recording.in_flight_at_end >= 0, "more requests finished than were issued")
    if not recording.client_tries:  # else each client try is a row with its request's id
        _require(len(np.unique(req["id"])) == len(req["id"]), "a request finished twice")
    _require(len(np.unique(calls["call_id"])) == len(calls["call_id"]), "a call finished twice")
    for name, table in (("calls", calls), ("attempts", att)):
        if len(table["start"]):
            _require(bool(np.all(table["end"] >= table["start"] - 1e-12)),
                     f"{name}: an end before its start")
            _require(bool(np.all(table["end"] <= recording.end_time + 1e-9)),
                     f"{name}: an end after the run")
    if len(att["call_id"]):
        # No call has more attempt rows than attempts it reports.
        ids, rows = np.unique(att["call_id"], return_counts=True)
        reported = dict(zip(calls["call_id"].tolist(), calls["attempts"].tolist(), strict=True))
        over = [c for c, n in zip(ids.tolist(), rows.tolist(), strict=True)
                if c in reported and n > reported[c]]
        _require(not over, f"calls with more attempt rows than attempts: {over[:5]}")
    _require(
        not recording.held_workers,
        f"{len(recording.held_workers)} worker(s) held by calls that have finished, e.g. "
        f"{recording.held_workers[:3]}",
    )
    for key, level in recording.levels.items():
        _require(bool(np.all(level >= -1e-9)), f"level {key} went negative")


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise InvariantError(message)
