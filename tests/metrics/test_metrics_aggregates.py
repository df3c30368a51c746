"""The online aggregates' building blocks: exact group-bys and the open-request runs."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from meshsim.metrics.aggregates import (
    Cube,
    IdRuns,
    TimeCube,
    bucket_of,
    unique_rows,
    windows_for,
)
from meshsim.results.recovery import open_requests


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 3000), st.integers(0, 1)),
                min_size=1, max_size=200))
def test_unique_rows_is_an_exact_group_by(rows: list[tuple[int, int, int]]) -> None:
    cols = [np.array(c) for c in zip(*rows, strict=True)]
    unique, inverse = unique_rows(cols)
    assert list(map(tuple, unique.tolist())) == sorted(set(rows))  # distinct, in row order
    assert [tuple(unique[i]) for i in inverse] == rows


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 300), st.lists(st.sampled_from([1, 2, 7, 5000, 2**20, 2**40]),
                                     min_size=1, max_size=7), st.integers(0, 2**32))
def test_unique_rows_equals_numpys_for_any_ranges(n: int, ranges: list[int], seed: int) -> None:
    """Narrow columns take the table path, wide ones (and too many distinct rows for one
    integer key) a sort: the same rows and indexes as ``np.unique(axis=0)`` either way."""
    rng = np.random.default_rng(seed)
    cols = [rng.integers(0, top, n) for top in ranges]
    unique, inverse = unique_rows(cols)
    want, want_inverse = np.unique(np.column_stack(cols), axis=0, return_inverse=True)
    assert unique.dtype == np.int64 and np.array_equal(unique, want)
    assert np.array_equal(inverse, want_inverse.ravel())


def test_cube_sums_per_key_across_blocks() -> None:
    rng = np.random.default_rng(5)
    keys = rng.integers(0, 4, (3000, 2))
    values = rng.random(3000)
    cube = Cube(2, 2)
    for i in range(0, 3000, 700):
        cube.add([keys[i : i + 700, 0], keys[i : i + 700, 1]],
                 [np.ones(len(keys[i : i + 700])), values[i : i + 700]])
    got_keys, sums = cube.result()
    frame = pd.DataFrame({"a": keys[:, 0], "b": keys[:, 1], "v": values})
    want = frame.groupby(["a", "b"])["v"].agg(["size", "sum"])
    got = pd.DataFrame(sums, index=pd.MultiIndex.from_arrays(got_keys.T, names=["a", "b"]),
                       columns=["size", "sum"]).sort_index()
    assert np.array_equal(got["size"].to_numpy(), want["size"].to_numpy())
    assert np.allclose(got["sum"].to_numpy(), want["sum"].to_numpy(), rtol=1e-12)


def test_time_cube_counts_the_last_instant_in_the_last_bucket() -> None:
    cube = TimeCube(1, 1, 1.0)
    times = np.array([0.5, 1.0, 2.999, 3.0])
    cube.add_grouped(bucket_of(times, 1.0), np.zeros(4, dtype=np.int64),
                     np.zeros(1, dtype=np.int64), [np.zeros(1, dtype=np.int64)], [np.ones(4)])
    _, sums = cube.result(3)
    assert sums[:, 0, 0].tolist() == [1.0, 1.0, 2.0]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 300), st.data())
def test_open_requests_as_from_the_rows(issued: int, data: st.DataObject) -> None:
    """The ids never finished, bounded by the starts of the finished ids around them."""
    finished = np.array(sorted(data.draw(st.sets(st.integers(0, max(issued - 1, 0)),
                                                 max_size=issued))), dtype=np.int64)
    finished = finished[finished < issued]
    starts = finished * 0.1 + 0.05  # ids are issued in time order
    order = np.random.default_rng(issued).permutation(len(finished))  # finished in any order
    runs = IdRuns()
    for part in np.array_split(order, 4):
        runs.add(finished[part], starts[part])
    requests = pd.DataFrame({"id": finished, "start": starts})
    expected = open_requests(requests, issued, 99.0) if len(finished) else \
        (np.zeros(issued), np.full(issued, 99.0))  # none finished: anywhere in the run
    for got, want in zip(runs.open_requests(issued, 99.0), expected, strict=True):
        assert np.array_equal(got, want)


def test_windows_cover_the_summary_and_each_expectation() -> None:
    windows = windows_for(5.0, 60.0, [None, (10.0, 100.0), (70.0, 80.0)])
    assert windows == [(5.0, 60.0), (10.0, 60.0)]  # the last starts after the end
