"""The recorder's chunk sinks: every row reaches them once, in order, and a streaming
recorder holds no rows (only the bounded window live queries read)."""

from __future__ import annotations

import numpy as np
import pytest

from meshsim.metrics import Recorder
from meshsim.metrics.columns import CHUNK
from meshsim.metrics.sinks import ChunkSink


class Collect:
    """A sink that keeps copies of every block it is given."""

    def __init__(self) -> None:
        self.blocks: dict[str, list[dict[str, np.ndarray]]] = {"attempts": [], "calls": []}
        self.closed = 0

    def fold(self, table: str, block: dict[str, np.ndarray]) -> None:
        self.blocks[table].append({k: v.copy() for k, v in block.items()})

    def close(self) -> None:
        self.closed += 1

    def column(self, table: str, name: str) -> np.ndarray:
        return np.concatenate([b[name] for b in self.blocks[table]])


def _record(rec: Recorder, n: int, service: int = 1) -> None:
    """``n`` requests of one hop each (one call, one attempt), ending at t = i/100 s."""
    for i in range(n):
        end = i / 100
        rec.attempt(i, i, 2, service, 0, 3, 1, end - 0.005, end, 200, 0, False, False)
        rec.call(i, i, 2, service, 0, end - 0.01, end, 200, 0, 1, 0)
        rec.issued += 1


def test_collect_is_a_chunk_sink() -> None:
    assert isinstance(Collect(), ChunkSink)


def test_every_row_reaches_the_sinks_once_in_order_and_none_is_held() -> None:
    sink = Collect()
    rec = Recorder(sinks=[sink], keep_rows=False)
    n = 3 * CHUNK + 17
    _record(rec, n)
    assert rec.nbytes() == 0  # nothing held between flushes
    recording = rec.finish(end_time=n / 100)
    assert sink.closed == 1
    for table in ("attempts", "calls"):
        ids = sink.column(table, "call_id")
        assert ids.tolist() == list(range(n))
        assert max(len(b["call_id"]) for b in sink.blocks[table]) <= CHUNK
    assert recording.streamed and len(recording.calls["start"]) == 0
    assert recording.counts == {"requests": n, "calls": n, "attempts": n}
    assert recording.in_flight_at_end == 0


def test_sinks_with_rows_kept_give_the_same_recording_as_without() -> None:
    plain, fed = Recorder(), Recorder(sinks=[Collect()], keep_rows=True)
    for rec in (plain, fed):
        _record(rec, CHUNK + 5)
    a, b = (r.finish(end_time=100.0, client_workload={2: 5}) for r in (plain, fed))
    for table in ("attempts", "calls", "requests"):
        for name, values in getattr(a, table).items():
            assert np.array_equal(values, getattr(b, table)[name]), (table, name)
    assert a.counts == b.counts


def test_a_streaming_recorder_keeps_only_the_watched_window() -> None:
    """Rollout checks read the last ``horizon`` seconds of the watched service; older rows
    and other services' rows leave memory, and the table's index offset stays stable."""
    rec = Recorder(sinks=[Collect()], keep_rows=False)
    rec.watch(1, horizon=5.0)
    _record(rec, 20 * CHUNK, service=1)
    _record(rec, 2 * CHUNK, service=7)
    attempts = rec.watched_attempts().columns
    ends = np.asarray(attempts["end"])
    assert len(ends) < 2 * CHUNK + 600  # 5 s of rows at 100/s plus at most a block or two
    assert set(np.asarray(attempts["service"]).tolist()) == {1}
    table = rec.watched_attempts()
    assert len(table) == 20 * CHUNK + 2 * CHUNK  # every row is counted, held or not
    first_held = int(np.asarray(attempts["request_id"])[0])
    assert first_held == table.dropped  # index + dropped = the row's place in the run


@pytest.mark.parametrize("keep_rows", [True, False])
def test_attempts_not_held_for_frames_still_reach_sinks(keep_rows: bool) -> None:
    """``--record requests``: attempt rows are not stored, but the aggregates still see them."""
    sink = Collect()
    rec = Recorder(sinks=[sink], keep_rows=keep_rows, hold_attempts=False)
    _record(rec, CHUNK + 1)
    recording = rec.finish(end_time=100.0, client_workload={2: 5})
    assert len(sink.column("attempts", "call_id")) == CHUNK + 1
    assert len(recording.attempts["start"]) == 0  # not kept for the frames
    assert recording.counts["attempts"] == CHUNK + 1


@pytest.mark.parametrize("keep_rows", [True, False])
def test_a_scenario_not_recording_attempts_sends_none_to_sinks(keep_rows: bool) -> None:
    """``record_attempts: false`` is the scenario's choice: the sinks (the aggregates) see
    the same rows at every record level, so summaries do not depend on the level."""
    sink = Collect()
    rec = Recorder(record_attempts=False, sinks=[sink], keep_rows=keep_rows)
    _record(rec, CHUNK + 1)
    recording = rec.finish(end_time=100.0, client_workload={2: 5})
    assert sink.blocks["attempts"] == []
    assert len(sink.column("calls", "call_id")) == CHUNK + 1
    assert len(recording.attempts["start"]) == 0
