"""A chunk sink that streams a run's rows to Parquet datasets in its run directory.

Each table (``requests``, ``calls``, ``attempts``) is a folder of ``part-NNNN.parquet`` files.
Blocks from the recorder are buffered up to :data:`ROW_GROUP` rows and written as one row
group; a file is closed and the next one opened after :data:`FILE_ROWS` rows, so what the
writer holds (one row group and the open file's footer) does not grow with the run.

Columns are those of the frames (DESIGN §4, :mod:`meshsim.results.frames`), ``latency`` and
``ok`` included; names (service, pod, flags, ...) are dictionary-encoded strings, so Parquet
readers and DuckDB see ``'ratings'``, not the recorder's codes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from meshsim.metrics.recorder import derive_requests
from meshsim.results import frames

ROW_GROUP = 65_536  # rows per Parquet row group: a few MB buffered at most
FILE_ROWS = 4 * 1024 * 1024  # rows per file before the next part is opened
ROW_TABLES = ("requests", "calls", "attempts")

_SCHEMAS = {
    "requests": (frames.REQUEST_SCHEMA, frames.REQUEST_COLUMNS),
    "calls": (frames.CALL_SCHEMA, frames.CALL_COLUMNS),
    "attempts": (frames.ATTEMPT_SCHEMA, frames.ATTEMPT_COLUMNS),
}
_NAME_TYPE = pa.dictionary(pa.int32(), pa.string())


def arrow_schema(table: str) -> pa.Schema:
    """The Arrow schema of ``table``'s Parquet files, in the frame's column order."""
    schema, order = _SCHEMAS[table]
    types: dict[str, pa.DataType] = {"latency": pa.float64(), "ok": pa.bool_()}
    for name, code in schema.items():
        if name in frames.STRING_CODES[table]:
            types[name] = _NAME_TYPE
        elif name in frames.BOOL_CODES:
            types[name] = pa.bool_()
        else:
            types[name] = pa.from_numpy_dtype(np.dtype(code))
    return pa.schema([(name, types[name]) for name in order])


def to_arrow(table: str, block: Mapping[str, np.ndarray], names: Sequence[str]) -> pa.RecordBatch:
    """One block of recorded columns as a record batch of ``table``'s schema."""
    schema = arrow_schema(table)
    dictionary = pa.array(list(names), type=pa.string())
    columns: list[pa.Array] = []
    for field in schema:
        if field.name == "latency":
            columns.append(pa.array(block["end"] - block["start"]))
        elif field.name == "ok":
            columns.append(pa.array(frames.is_ok(block["status"])))
        elif field.type == _NAME_TYPE:
            codes = pa.array(np.asarray(block[field.name], dtype=np.int32))
            columns.append(pa.DictionaryArray.from_arrays(codes, dictionary))
        else:
            columns.append(pa.array(np.asarray(block[field.name]).astype(
                field.type.to_pandas_dtype(), copy=False)))
    return pa.record_batch(columns, schema=schema)


class _Dataset:
    """One table's folder of part files, written row group by row group."""

    def __init__(self, folder: Path, table: str) -> None:
        self.folder, self.table = folder / table, table
        self.schema = arrow_schema(table)
        self.blocks: list[dict[str, np.ndarray]] = []
        self.buffered = 0
        self.rows = 0  # written to disk
        self.parts = 0
        self.in_file = 0
        self.writer: pq.ParquetWriter | None = None

    def add(self, block: dict[str, np.ndarray], names: Sequence[str]) -> None:
        size = len(block["start"])
        if size == 0:
            return
        self.blocks.append(dict(block))  # the recorder's fresh arrays: kept, not copied
        self.buffered += size
        if self.buffered >= ROW_GROUP:
            self.write(names)

    def write(self, names: Sequence[str]) -> None:
        """Write the buffered blocks as one row group."""
        if not self.blocks:
            return
        merged = {name: np.concatenate([b[name] for b in self.blocks]) for name in self.blocks[0]}
        self.blocks, self.buffered = [], 0
        batch = to_arrow(self.table, merged, names)
        writer = self._writer()
        writer.write_batch(batch, row_group_size=ROW_GROUP * 2)
        self.rows += batch.num_rows
        self.in_file += batch.num_rows
        if self.in_file >= FILE_ROWS:
            self._close_file()

    def _writer(self) -> pq.ParquetWriter:
        if self.writer is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            path = self.folder / f"part-{self.parts:04d}.parquet"
            self.writer = pq.ParquetWriter(path, self.schema, compression="zstd")
            self.parts += 1
            self.in_file = 0
        return self.writer

    def _close_file(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def close(self, names: Sequence[str]) -> None:
        self.write(names)
        if self.parts == 0:  # an empty table still has a file with its schema
            self._writer()
        self._close_file()


class ParquetRows:
    """The Parquet chunk sink (:class:`~meshsim.metrics.sinks.ChunkSink`) of one run.

    ``names`` is the recorder's growing string table (read at each write, never copied
    whole); ``workloads`` gives the client-code → workload-code map once the clients exist.
    """

    def __init__(
        self, folder: Path, names: Sequence[str], tables: Sequence[str] = ROW_TABLES,
        workloads: Callable[[], Mapping[int, int]] = dict,
    ) -> None:
        unknown = set(tables) - set(ROW_TABLES)
        if unknown:
            raise ValueError(f"unknown row tables {sorted(unknown)}")
        self.folder, self.names, self.workloads = Path(folder), names, workloads
        self.datasets = {table: _Dataset(self.folder, table) for table in tables}
        self._clients: Mapping[int, int] | None = None

    def fold(self, table: str, block: dict[str, np.ndarray]) -> None:
        if table in self.datasets:
            self.datasets[table].add(block, self.names)
        if table == "calls" and "requests" in self.datasets:
            if self._clients is None:
                self._clients = dict(self.workloads())
            self.datasets["requests"].add(derive_requests(block, self._clients), self.names)

    def close(self) -> None:
        for dataset in self.datasets.values():
            dataset.close(self.names)

    def rows(self) -> dict[str, int]:
        """Rows written per table."""
        return {table: dataset.rows for table, dataset in self.datasets.items()}


def write_recording(
    folder: Path, recording_tables: Mapping[str, Mapping[str, np.ndarray]],
    names: Sequence[str],
) -> None:
    """Write in-memory rows (a recording's ``requests``, ``calls``, ``attempts``) as the same
    datasets a streaming run writes."""
    for table, rows in recording_tables.items():
        dataset = _Dataset(folder, table)
        size = len(rows.get("start", ()))
        schema, _ = _SCHEMAS[table]
        cols = frames.recorded_columns(rows, schema)
        for lo in range(0, size, ROW_GROUP):
            dataset.add({name: values[lo:lo + ROW_GROUP] for name, values in cols.items()},
                        names)
        dataset.close(names)
