"""Decode a :class:`~meshsim.metrics.Recording` into the DataFrames of DESIGN §4.

The engine records interned string codes; here each code column becomes a pandas categorical
whose categories are only the names that column uses (sorted), so a million-row attempts frame
costs a byte or two per string cell instead of a Python object. Numeric columns are wrapped
without copying. ``ok`` is a non-5xx answer that arrived: status in [1, 499].
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from meshsim.metrics import ATTEMPTS, CALLS, Recording

# Column order of each frame: the DESIGN §4 contract first, then the extra columns.
REQUEST_COLUMNS = (
    "id", "workload", "client", "start", "end", "latency", "status", "flags", "attempts", "ok",
)
ATTEMPT_COLUMNS = (
    "request_id", "call_id", "caller", "service", "subset", "pod", "attempt", "start", "end",
    "latency", "status", "flags", "retry", "mirror", "ok",
)
CALL_COLUMNS = (
    "call_id", "request_id", "caller", "service", "subset", "start", "end", "latency", "status",
    "flags", "attempts", "depth", "mirror", "ok",
)
EVENT_COLUMNS = ("time", "kind", "proxy", "service", "subset", "pod", "detail")

# Recorded columns and their array typecodes (q int64, i int32, h int16, b int8, d float64):
# the recorder's own schemas, so a column added there reaches the frames with its type.
# Requests are derived from the depth-0 calls, with the workload beside the client.
REQUEST_SCHEMA = {
    "id": "q", "workload": "i", "client": "i", "start": "d", "end": "d", "status": "h",
    "flags": "i", "attempts": "h",
}
ATTEMPT_SCHEMA = ATTEMPTS
CALL_SCHEMA = CALLS

# Which recorded columns hold interned string codes, per table.
STRING_CODES = {
    "requests": ("workload", "client", "flags"),
    "attempts": ("caller", "service", "subset", "pod", "flags"),
    "calls": ("caller", "service", "subset", "flags"),
}
BOOL_CODES = ("retry", "mirror")


def is_ok(status: np.ndarray | pd.Series) -> np.ndarray:
    """A non-5xx answer that arrived (status 0 = the caller gave up before any answer)."""
    values = np.asarray(status)
    return (values >= 1) & (values <= 499)


def decode_codes(codes: np.ndarray, names: Sequence[str]) -> pd.Categorical:
    """Interned codes to a categorical holding only the names used, sorted, in O(n)."""
    if len(codes) == 0:
        return pd.Categorical.from_codes(
            np.zeros(0, dtype=np.int8), categories=pd.Index([], dtype=str)
        )
    used = np.flatnonzero(np.bincount(codes, minlength=len(names)))
    labels = np.asarray(names, dtype=object)[used]
    order = np.argsort(labels, kind="stable")
    remap = np.full(max(len(names), int(used[-1]) + 1), -1, dtype=np.int32)
    remap[used[order]] = np.arange(len(used), dtype=np.int32)
    dtype = np.int8 if len(used) < 2**7 else np.int16 if len(used) < 2**15 else np.int32
    return pd.Categorical.from_codes(
        remap[codes].astype(dtype), categories=pd.Index(labels[order], dtype=str)
    )


def empty_categorical() -> pd.Categorical:
    """A zero-length categorical of strings: the dtype string columns have when empty."""
    return pd.Categorical.from_codes(np.zeros(0, dtype=np.int8), categories=pd.Index([], dtype=str))


def recorded_columns(
    raw: Mapping[str, np.ndarray], schema: Mapping[str, str]
) -> dict[str, np.ndarray]:
    """Recorded columns in the schema's types; a column the recording lacks is all zeros."""
    rows = max((len(values) for values in raw.values()), default=0)
    return {
        name: np.asarray(raw[name]).astype(code, copy=False) if name in raw
        else np.zeros(rows, dtype=code)
        for name, code in schema.items()
    }


def _table(
    raw: Mapping[str, np.ndarray], schema: Mapping[str, str], table: str, names: Sequence[str],
    order: Sequence[str],
) -> pd.DataFrame:
    cols = recorded_columns(raw, schema)
    data: dict[str, object] = {}
    for name, values in cols.items():
        if name in STRING_CODES[table]:
            data[name] = decode_codes(values.astype(np.int64, copy=False), names)
        elif name in BOOL_CODES:
            data[name] = values.astype(bool)
        else:
            data[name] = values
    data["latency"] = cols["end"] - cols["start"]
    data["ok"] = is_ok(cols["status"])
    return pd.DataFrame({name: data[name] for name in order}, copy=False)


def requests_frame(recording: Recording) -> pd.DataFrame:
    """One row per end-to-end workload request."""
    return _table(recording.requests, REQUEST_SCHEMA, "requests", recording.names, REQUEST_COLUMNS)


def attempts_frame(recording: Recording) -> pd.DataFrame:
    """One row per attempt of one hop call; a retry is a new row."""
    return _table(recording.attempts, ATTEMPT_SCHEMA, "attempts", recording.names, ATTEMPT_COLUMNS)


def calls_frame(recording: Recording) -> pd.DataFrame:
    """One row per hop call (all its retries); the workload's request is a depth-0 call."""
    return _table(recording.calls, CALL_SCHEMA, "calls", recording.names, CALL_COLUMNS)


def events_frame(recording: Recording) -> pd.DataFrame:
    """One row per state change: eject, uneject, fault-start/end, canary steps."""
    rows = recording.events
    data: dict[str, object] = {
        "time": np.fromiter((row[0] for row in rows), dtype=np.float64, count=len(rows))
    }
    for i, name in enumerate(EVENT_COLUMNS[1:], start=1):
        data[name] = (
            pd.Categorical([str(row[i]) for row in rows]) if rows else empty_categorical()
        )
    return pd.DataFrame(data)
