"""``meshsim query RUN "SQL"``: DuckDB SQL over a run directory's tables, without loading them.

Each stored table is a view of its name: ``requests``, ``calls``, ``attempts`` (the Parquet
datasets the record level stored), ``events``, ``timeseries`` and ``summary``. Exit codes:
0 answered, 2 bad input (not a run directory, SQL DuckDB cannot run), one line on stderr.
"""

from __future__ import annotations

import enum
import sys
from pathlib import Path
from typing import Annotated

import typer

import meshsim
from meshsim.cli.common import app, stderr, user_errors


class Format(enum.StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


@app.command()
def query(
    run_dir: Annotated[
        Path, typer.Argument(metavar="RUN", help="A run directory written by 'meshsim run'.",
                             show_default=False),
    ],
    sql: Annotated[
        str, typer.Argument(metavar="SQL", help="DuckDB SQL, e.g. \"SELECT service, "
                            "count(*) FROM attempts GROUP BY 1\".", show_default=False),
    ],
    output: Annotated[
        Format, typer.Option("--format", help="How to print the answer.",
                             case_sensitive=False),
    ] = Format.table,
) -> None:
    """Run SQL over a stored run's tables (DuckDB over its Parquet files)."""
    err = stderr()
    with user_errors(err):
        answer = meshsim.load_run(run_dir).sql(sql)
    if output == Format.csv:
        answer.to_csv(sys.stdout, index=False)
    elif output == Format.json:
        sys.stdout.write(answer.to_json(orient="records", date_format="iso") + "\n")
    else:
        sys.stdout.write(answer.to_string(index=False) + "\n")
