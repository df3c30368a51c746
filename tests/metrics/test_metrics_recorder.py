"""The recorder's hot methods, as the proxies call them (compiled with typed arguments in the
compiled build, plain Python in the fallback): every value lands in its column unchanged, the
packed rows move to the columns every CHUNK rows, and a run not recording attempts keeps only
the watched services' ones."""

from __future__ import annotations

from meshsim.metrics import Recorder
from meshsim.metrics.columns import CHUNK

BIG = 2**40 + 3  # ids past 32 bits: int64 columns


def test_an_attempt_and_a_call_land_in_their_columns_unchanged() -> None:
    rec = Recorder()
    uo = rec.intern("UO")
    rec.attempt(BIG, BIG + 1, 2, 3, 4, 5, 3, 0.1 + 0.2, 1 / 3, 503, uo, True, True)
    rec.call(BIG + 1, BIG, 2, 3, 4, 0.1, 2 / 3, 503, uo, 3, 2)
    rec.call(call_id=7, request_id=8, caller=2, service=3, subset=0, start=1.0, end=1.5,
             status=200, flags=0, attempts=1, depth=0, mirror=True)
    attempts, calls = rec.attempts.to_numpy(), rec.calls.to_numpy()
    assert {k: v.tolist() for k, v in attempts.items()} == {
        "request_id": [BIG], "call_id": [BIG + 1], "caller": [2], "service": [3], "subset": [4],
        "pod": [5], "attempt": [3], "start": [0.1 + 0.2], "end": [1 / 3], "status": [503],
        "flags": [uo], "retry": [1], "mirror": [1]}
    assert calls["call_id"].tolist() == [BIG + 1, 7]
    assert calls["end"].tolist() == [2 / 3, 1.5]
    assert calls["attempts"].tolist() == [3, 1] and calls["depth"].tolist() == [2, 0]
    assert calls["mirror"].tolist() == [0, 1]  # ``mirror`` defaults to False


def test_rows_move_to_the_columns_every_chunk() -> None:
    rec = Recorder()
    for i in range(CHUNK + 1):
        rec.call(i, i, 1, 2, 0, 0.0, float(i), 200, 0, 1, 0)
    table = rec.calls
    assert table.total == CHUNK  # one block flushed, one row still waiting
    assert len(table) == CHUNK + 1
    assert list(table.columns["end"])[-2:] == [CHUNK - 1.0, float(CHUNK)]


def test_a_run_not_recording_attempts_keeps_only_the_watched_ones() -> None:
    rec = Recorder(record_attempts=False)
    rec.watch(7)
    for service in (6, 7, 8, 7):
        rec.attempt(1, 1, 2, service, 0, 3, 1, 0.0, 1.0, 200, 0, False, False)
    assert list(rec.watched_attempts().columns["service"]) == [7, 7]
    assert len(rec.attempts) == 0
