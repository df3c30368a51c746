"""A run's rows on disk: frames read lazily from its Parquet datasets, and SQL over them.

A run directory holds ``requests/``, ``calls/`` and ``attempts/`` (folders of
``part-NNNN.parquet``, :mod:`meshsim.results.parquet_rows`) and ``events.parquet``,
``timeseries.parquet``, ``summary.parquet``. :meth:`RowStore.frame` reads one table into
the same DataFrame the in-memory run gives; :meth:`RowStore.sql` runs DuckDB over the files
without loading them, each table a view of its name (``SELECT service, count(*) FROM
attempts GROUP BY 1``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from meshsim.errors import MeshsimError
from meshsim.results import frames
from meshsim.results.parquet_rows import ROW_TABLES, arrow_schema

FILE_TABLES = ("events", "timeseries", "summary")  # small tables: one file each
_ORDER = {
    "requests": frames.REQUEST_COLUMNS, "calls": frames.CALL_COLUMNS,
    "attempts": frames.ATTEMPT_COLUMNS,
}


class QueryError(MeshsimError):
    """SQL that DuckDB could not run over a run's tables."""


class RowStore:
    """The row datasets of one run directory (``folder``), read on demand."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def moved(self, folder: str | Path) -> None:
        """The directory was renamed (a staged run committed): read from there now."""
        self.folder = Path(folder)

    def has(self, table: str) -> bool:
        if table in ROW_TABLES:
            return bool(self._parts(table))
        return (self.folder / f"{table}.parquet").is_file()

    def count(self, table: str) -> int:
        """Rows of a row table on disk, from the files' footers (nothing is read)."""
        return sum(pq.ParquetFile(part).metadata.num_rows for part in self._parts(table))

    def _parts(self, table: str) -> list[Path]:
        parts = sorted((self.folder / table).glob("*.parquet"))
        single = self.folder / f"{table}.parquet"  # a run directory from before datasets
        return parts or ([single] if single.is_file() else [])

    def frame(self, table: str) -> pd.DataFrame:
        """``requests``, ``calls`` or ``attempts`` as the frame an in-memory run gives
        (empty, with its columns and types, when the run did not store the table)."""
        parts = self._parts(table)
        if not parts:
            return _from_arrow(table, arrow_schema(table).empty_table().to_pandas())
        data = pq.ParquetDataset(parts).read(use_threads=False)
        # Arrow buffers are freed column by column as pandas takes them: no second copy.
        frame = data.to_pandas(self_destruct=True, split_blocks=True, use_threads=False)
        del data
        return _from_arrow(table, frame)

    def sql(self, query: str) -> pd.DataFrame:
        """Run ``query`` (DuckDB SQL) with each stored table a view of its name."""
        import duckdb

        con = duckdb.connect()
        try:
            for table in (*ROW_TABLES, *FILE_TABLES):
                files = self._parts(table) if table in ROW_TABLES else [
                    self.folder / f"{table}.parquet"]
                if all(f.is_file() for f in files) and files:
                    paths = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
                    con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet([{paths}])")
            return con.execute(query).df()
        except duckdb.Error as exc:
            raise QueryError(f"{self.folder}: {_first_line(exc)}") from None
        finally:
            con.close()


def sql_over_frames(frames_by_name: Mapping[str, pd.DataFrame], query: str) -> pd.DataFrame:
    """DuckDB over in-memory frames (a run without a run directory), each a view of its name."""
    import duckdb

    con = duckdb.connect()
    try:
        for name, frame in frames_by_name.items():
            con.register(name, frame)
        return con.execute(query).df()
    except duckdb.Error as exc:
        raise QueryError(_first_line(exc)) from None
    finally:
        con.close()


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _from_arrow(table: str, data: pd.DataFrame) -> pd.DataFrame:
    """Dictionary columns back to the frames' categoricals (only the names used, sorted)."""
    for name in frames.STRING_CODES[table]:
        column = data[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            codes = np.asarray(column.cat.codes, dtype=np.int64)
            names = [str(c) for c in column.cat.categories]
        else:  # an empty table may come back as plain strings
            codes, names = np.zeros(len(column), dtype=np.int64), [""]
        data[name] = frames.decode_codes(codes, names)
    return data[list(_ORDER[table])]
