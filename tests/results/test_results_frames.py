"""Decoding the recording into the DESIGN §4 frames: columns, dtypes, codes, latency, ok."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from meshsim.results import Results

CONTRACT = {  # DESIGN §4: columns at least
    "requests": ["id", "workload", "start", "end", "latency", "status", "flags", "attempts", "ok"],
    "attempts": ["request_id", "caller", "service", "subset", "pod", "attempt", "start", "end",
                 "latency", "status", "flags", "retry", "mirror"],
    "events": ["time", "kind", "proxy", "service", "subset", "pod", "detail"],
}
DTYPES = {
    "requests": {
        "id": "int64", "workload": "category", "client": "category", "start": "float64",
        "end": "float64", "latency": "float64", "status": "int16", "flags": "category",
        "attempts": "int16", "ok": "bool",
    },
    "attempts": {
        "request_id": "int64", "call_id": "int64", "caller": "category", "service": "category",
        "subset": "category", "pod": "category", "attempt": "int16", "start": "float64",
        "end": "float64", "latency": "float64", "status": "int16", "flags": "category",
        "retry": "bool", "mirror": "bool", "ok": "bool",
    },
    "calls": {
        "call_id": "int64", "request_id": "int64", "caller": "category", "service": "category",
        "subset": "category", "start": "float64", "end": "float64", "latency": "float64",
        "status": "int16", "flags": "category", "attempts": "int16", "depth": "int16",
        "mirror": "bool",
        "ok": "bool",
    },
    "events": {
        "time": "float64", "kind": "category", "proxy": "category", "service": "category",
        "subset": "category", "pod": "category", "detail": "category",
    },
}


@pytest.mark.parametrize("which", ["results", "empty_results"])
@pytest.mark.parametrize("frame", sorted(DTYPES))
def test_frames_have_contract_columns_and_dtypes(
    which: str, frame: str, request: pytest.FixtureRequest
) -> None:
    results: Results = request.getfixturevalue(which)
    df = getattr(results, frame)
    assert {name: str(dtype) for name, dtype in df.dtypes.items()} == DTYPES[frame]
    assert set(CONTRACT.get(frame, [])) <= set(df.columns)
    assert (len(df) == 0) == (which == "empty_results")


def test_rows_match_what_was_recorded(results: Results) -> None:
    assert len(results.requests) == 6
    assert len(results.calls) == 11
    assert len(results.attempts) == 15
    assert len(results.events) == 6


def test_latency_is_end_minus_start(results: Results) -> None:
    for df in (results.requests, results.calls, results.attempts):
        np.testing.assert_allclose(df["latency"], df["end"] - df["start"])
    req = results.requests.set_index("id")
    assert req.loc[4, "latency"] == pytest.approx(2.0)
    assert req.loc[3, "latency"] == pytest.approx(0.5)


def test_ok_is_an_answer_below_500(book_factory, model_factory) -> None:
    statuses = [0, 1, 200, 404, 499, 500, 503, 599]
    book = book_factory()
    for i, status in enumerate(statuses, start=1):
        book.request(i, float(i), float(i) + 0.1, status)
        book.attempt(i, i, "users-0", "frontend", "", "frontend-0", 1, float(i),
                     float(i) + 0.1, status)
    results = Results(model_factory(), book.finish(), wall_time=0.0, scenario_meta={})
    expected = [False, True, True, True, True, False, False, False]
    assert results.requests["ok"].tolist() == expected
    assert results.calls["ok"].tolist() == expected
    assert results.attempts["ok"].tolist() == expected


def test_codes_decode_to_names_with_only_the_categories_used(results: Results) -> None:
    attempts = results.attempts
    assert list(attempts["service"].cat.categories) == ["frontend", "reviews"]
    assert list(results.calls["subset"].cat.categories) == ["", "v1", "v2"]
    assert set(attempts["pod"].astype(str)) == {
        "", "frontend-0", "frontend-1", "reviews-v1-0", "reviews-v2-0"
    }
    calls = results.calls.set_index("call_id")
    assert calls.loc[7, "flags"] == "URX"
    assert calls.loc[7, "caller"] == "frontend-0"
    assert calls.loc[2, "flags"] == ""  # no flags is the empty string, not NaN
    assert calls.loc[10, "depth"] == 1


def test_requests_carry_workload_and_client(results: Results) -> None:
    req = results.requests.set_index("id")
    assert req.loc[11, "workload"] == "admins"
    assert req.loc[11, "client"] == "admins-0"
    assert (req.drop(index=11)["workload"] == "users").all()
    assert req.loc[3, "attempts"] == 3


def test_attempt_retry_and_mirror_are_booleans_from_the_recording(results: Results) -> None:
    third = results.attempts[results.attempts["call_id"] == 3].sort_values("attempt")
    assert third["retry"].tolist() == [False, True, True]
    assert third["attempt"].tolist() == [1, 2, 3]
    assert not results.attempts["mirror"].any()


def test_events_frame_decodes_tuples_in_time_order(results: Results) -> None:
    events = results.events
    assert events["time"].is_monotonic_increasing
    assert events["kind"].astype(str).tolist() == [
        "eject", "fault-start", "fault-end", "eject", "eject", "uneject",
    ]
    row = events.iloc[3]
    assert (row["proxy"], row["service"], row["subset"], row["pod"], row["detail"]) == (
        "frontend-0", "reviews", "v2", "reviews-v2-0", "consecutive_5xx"
    )


def test_attempts_frame_is_empty_when_attempts_are_not_recorded(standard, model_factory) -> None:
    results = Results(model_factory(record_attempts=False), standard(False).finish(),
                      wall_time=0.0, scenario_meta={})
    assert results.attempts.empty
    assert list(results.attempts.columns) == list(DTYPES["attempts"])
    assert len(results.calls) == 11


def test_string_columns_are_compact(book_factory, model_factory) -> None:
    book = book_factory()
    n = 20_000
    for i in range(n):
        book.attempt(i, i, f"users-{i % 2}", "frontend", "", f"frontend-{i % 3}", 1 + i % 2,
                     float(i) / n, float(i) / n + 0.01, 200 if i % 7 else 503)
    results = Results(model_factory(), book.finish(), wall_time=0.0, scenario_meta={})
    per_row = results.attempts.memory_usage(deep=True, index=False).sum() / n
    assert per_row < 80  # one byte per string cell, not a Python object
    assert isinstance(results.attempts["pod"].dtype, pd.CategoricalDtype)
