"""The latency sketch against exact numpy quantiles: within its stated relative error."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meshsim.metrics.sketch import ALPHA, KEY_BITS, LogMapping, Sketches, distinct

QS = (0.0, 0.25, 0.5, 0.9, 0.99, 0.999, 1.0)
TOLERANCE = ALPHA * (1 + 1e-9)  # the stated accuracy, plus float rounding


def _rng() -> np.random.Generator:
    return np.random.default_rng(20261207)


def _distributions() -> dict[str, np.ndarray]:
    rng = _rng()
    return {
        "lognormal": rng.lognormal(-4.0, 1.5, 50_000),
        "exponential": rng.exponential(0.02, 50_000),
        "bimodal": np.r_[rng.normal(0.005, 0.0005, 40_000), rng.normal(1.0, 0.05, 2_000)],
        "with zeros": np.r_[np.zeros(5_000), rng.exponential(0.1, 20_000)],
        "constant": np.full(1_000, 0.0421),
    }


def _relative_error(estimate: np.ndarray, exact: np.ndarray) -> float:
    scale = np.where(exact > 0, exact, 1.0)
    return float(np.max(np.abs(estimate - exact) / scale))


def _fill(values: np.ndarray, groups: np.ndarray, chunk: int = 4096) -> Sketches:
    sketches = Sketches()
    for i in range(0, len(values), chunk):
        sketches.add(groups[i : i + chunk], values[i : i + chunk])
    return sketches


@pytest.mark.parametrize("name", sorted(_distributions()))
def test_quantiles_within_the_stated_relative_error(name: str) -> None:
    values = np.abs(_distributions()[name])
    groups = _rng().integers(0, 4, len(values))
    ids, counts, estimates = _fill(values, groups).quantiles(QS)
    for row, group in enumerate(ids):
        mine = values[groups == group]
        assert counts[row] == len(mine)  # counts are exact
        assert _relative_error(estimates[row], np.quantile(mine, QS)) <= TOLERANCE


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=0.0, max_value=1e4, allow_nan=False), min_size=1,
                max_size=300), st.integers(1, 64))
def test_any_values_any_chunking(values: list[float], chunk: int) -> None:
    x = np.asarray(values)
    x = np.where(x < 1e-9, 0.0, x)  # below the sketch's smallest value a latency is 0
    _, _, estimates = _fill(x, np.zeros(len(x), dtype=np.int64), chunk).quantiles(QS)
    assert _relative_error(estimates[0], np.quantile(x, QS)) <= TOLERANCE


@pytest.mark.parametrize("spread", [1, 1 << 16, 1 << 30])
def test_the_store_counts_every_value_exactly(spread: int) -> None:
    """Per (group, bucket) the exact count, per group the exact min and max, whether a
    block's groups are close together (counted in a table) or far apart (sorted)."""
    rng = _rng()
    groups = rng.integers(0, 40, 20_000) * spread + rng.integers(0, 3, 20_000)
    values = np.where(rng.random(20_000) < 0.05, 0.0, rng.lognormal(-4.0, 2.0, 20_000))
    sketches = _fill(values, groups)
    sketches.compact()
    slots = sketches.mapping.slots(values)
    want_keys, want_counts = np.unique((groups << KEY_BITS) | slots, return_counts=True)
    assert np.array_equal(sketches.keys, want_keys)
    assert np.array_equal(sketches.counts, want_counts)
    ids = np.unique(groups)
    assert np.array_equal(sketches.groups, ids)
    assert sketches.low.tolist() == [values[groups == g].min() for g in ids]
    assert sketches.high.tolist() == [values[groups == g].max() for g in ids]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 2**40), min_size=1, max_size=200), st.integers(0, 3))
def test_distinct_ids_are_numpys_unique(ids: list[int], shift: int) -> None:
    x = np.asarray(ids, dtype=np.int64) >> (10 * shift)  # from narrow to wide ranges
    found, where = distinct(x)
    want, want_where = np.unique(x, return_inverse=True)
    assert np.array_equal(found, want) and np.array_equal(where, want_where)


def test_merge_equals_one_sketch_of_everything() -> None:
    rng = _rng()
    a, b = rng.lognormal(-3, 1, 10_000), rng.exponential(0.5, 7_000)
    left = _fill(a, np.zeros(len(a), dtype=np.int64))
    left.merge(_fill(b, np.zeros(len(b), dtype=np.int64)))
    both = np.r_[a, b]
    whole = _fill(both, np.zeros(len(both), dtype=np.int64))
    assert np.array_equal(left.quantiles(QS)[2], whole.quantiles(QS)[2])
    assert _relative_error(left.quantiles(QS)[2][0], np.quantile(both, QS)) <= TOLERANCE


def test_regroup_merges_groups() -> None:
    rng = _rng()
    values, groups = rng.exponential(0.1, 9_000), rng.integers(0, 6, 9_000)
    merged = _fill(values, groups).regroup(lambda g: np.where(g < 3, 0, 1))
    ids, counts, estimates = merged.quantiles(QS)
    assert list(ids) == [0, 1]
    for row, mine in enumerate((values[groups < 3], values[groups >= 3])):
        assert counts[row] == len(mine)
        assert _relative_error(estimates[row], np.quantile(mine, QS)) <= TOLERANCE


def test_split_takes_out_the_lower_groups() -> None:
    values = np.arange(1, 101, dtype=float)
    sketches = _fill(values, np.repeat(np.arange(10), 10))
    low = sketches.split(4)
    assert list(low.quantiles(QS)[0]) == [0, 1, 2, 3]
    assert list(sketches.quantiles(QS)[0]) == [4, 5, 6, 7, 8, 9]


def test_survives_json() -> None:
    values = np.r_[np.zeros(10), _rng().lognormal(-2, 1, 5_000)]
    sketches = _fill(values, np.repeat([3, 8], [2_000, 3_010]))
    again = Sketches.from_dict(json.loads(json.dumps(sketches.to_dict())))
    for got, want in zip(again.quantiles(QS), sketches.quantiles(QS), strict=True):
        assert np.array_equal(got, want)


def test_keys_are_ddsketchs() -> None:
    """The same bucket keys and representatives as Datadog's reference implementation."""
    mapping_module = pytest.importorskip("ddsketch.mapping")
    reference = mapping_module.LogarithmicMapping(ALPHA)
    ours = LogMapping(ALPHA)
    values = _rng().lognormal(-3, 3, 3_000)
    slots = ours.slots(values)
    offset = int(ours.slots(np.array([1.0]))[0]) - reference.key(1.0)
    assert [int(s) - offset for s in slots] == [reference.key(float(v)) for v in values]
    reps = ours.values(slots)
    expected = [reference.value(int(s) - offset) for s in slots]
    assert np.allclose(reps, expected, rtol=1e-12)


def test_rejects_bad_accuracy_and_groups() -> None:
    with pytest.raises(ValueError, match="relative accuracy"):
        LogMapping(1.5)
    with pytest.raises(ValueError, match="group ids"):
        Sketches().add(np.array([-1]), np.array([1.0]))
