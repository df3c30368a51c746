"""The block writers the compiled recorder fills (rows.py) give the very columns the packed
rows give, block for block: the same values, types and flushes after the same rows."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from meshsim.metrics import columns
from meshsim.metrics.columns import Table
from meshsim.metrics.rows import ATTEMPTS, CALLS, AttemptRows, CallRows, Rows

BIG = 2**40 + 3


def _attempt(i: int) -> tuple[object, ...]:
    return (BIG + i, i, 2, 3, 4, 5, i % 7, 0.1 * i, 1 / (i + 3), 503, i % 3, i % 2 == 0,
            i % 5 == 0)


def _call(i: int) -> tuple[object, ...]:
    return (i, BIG - i, 2, 3, 4, 0.1 * i, 2 / (i + 3), 200, i % 3, 1 + i % 4, i % 3, True)


@pytest.mark.parametrize(("schema", "writer", "row"), [
    (ATTEMPTS, AttemptRows, _attempt), (CALLS, CallRows, _call)])
def test_written_blocks_equal_packed_blocks(
    schema: dict[str, str], writer: Callable[[int], Rows], row: Callable[[int], tuple[object, ...]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    blocks: dict[str, list[dict[str, np.ndarray]]] = {"packed": [], "written": []}
    monkeypatch.setattr(columns, "CHUNK", 4)  # a block every 4 rows
    tables = {"packed": Table(schema, "t"), "written": Table(schema, "t", writer)}
    for name, table in tables.items():
        table.stream([lambda _t, block, name=name: blocks[name].append(block)], keep=True)
        for i in range(10):
            table.add(*row(i))
    assert [len(b["start"]) for b in blocks["written"]] == [4, 4]  # two rows still waiting
    assert len(tables["written"]) == 10
    for name, table in tables.items():
        blocks[name].append({k: np.asarray(v) for k, v in table.columns.items()})
    for packed, written in zip(blocks["packed"], blocks["written"], strict=True):
        assert list(written) == list(schema)
        for col in schema:
            assert written[col].dtype == packed[col].dtype
            assert written[col].tolist() == packed[col].tolist()


def test_a_writer_for_other_columns_is_refused() -> None:
    with pytest.raises(RuntimeError, match="columns"):
        Table(CALLS, "calls", AttemptRows)
