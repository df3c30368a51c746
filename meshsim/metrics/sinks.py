"""Where flushed blocks of recorded rows go: the recorder's chunk sinks.

The recorder packs rows in the hot path and, every :data:`~meshsim.metrics.columns.CHUNK`
rows, hands the block to each sink as typed numpy columns. A sink folds the block into
whatever it keeps (Parquet files on disk, online aggregates) and the block leaves memory, so
what a run holds does not grow with its length. The work is per block, never per row.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

# The tables a sink receives: the recorder's ATTEMPTS and CALLS schemas.
SINK_TABLES = ("attempts", "calls")


@runtime_checkable
class ChunkSink(Protocol):
    """Receives every flushed block of ``attempts`` and ``calls`` rows during a run."""

    def fold(self, table: str, block: dict[str, np.ndarray]) -> None:
        """Take one block of ``table`` (``"attempts"`` or ``"calls"``): column name → array
        in the recorder's schema (codes index the recorder's interned names). The arrays
        are fresh copies (never views of the recorder's buffer) shared by every sink of the
        block: keep them if useful, never write into them."""
        ...

    def close(self) -> None:
        """The run has ended and every block has been folded."""
        ...
