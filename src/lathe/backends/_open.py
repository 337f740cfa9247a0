"""One entry point for every kind of source: a file or glob, a DataFrame, a database, a project file."""

from __future__ import annotations

from pathlib import Path

import ibis
import pandas as pd

from lathe.backends._databases import describe, is_database, read_database
from lathe.backends._duckdb import read_frame, read_source
from lathe.backends._project import is_project, open_project, read_project
from lathe.backends._quiet import library_noise
from lathe.backends._spark import read_spark
from lathe.errors import InvalidParameterError

ENGINES = ("duckdb", "spark")


def open_table(
    source: str | Path | pd.DataFrame,
    table: str | None = None,
    query: str | None = None,
    *,
    engine: str = "duckdb",
    master: str | None = None,
) -> tuple[str, ibis.Table]:
    """A printable description of ``source`` (no password) and its rows as an Ibis table.

    ``table`` or ``query`` picks the rows of a database URI; ``table`` also names the sheet of
    an Excel workbook; neither applies to other files. ``engine`` is ``duckdb`` (the embedded
    engine, or the database itself) or ``spark`` (a SparkSession at ``master``; see ``read_spark``).
    """
    if engine not in ENGINES:
        raise InvalidParameterError(f"engine must be one of {', '.join(ENGINES)}; got {engine!r}")
    if isinstance(source, pd.DataFrame):
        return f"a DataFrame of {len(source):,} rows", read_frame(source)
    uri = str(source)
    if is_project(uri):
        if table is not None or query is not None:
            raise InvalidParameterError(f"{uri}: a project file names its own tables; leave out --table and --query")
        with library_noise():  # the keys are counted on the way
            return open_project(read_project(uri), engine, master)
    if engine == "spark":
        return read_spark(uri, table, query, master)
    if is_database(uri):
        what = f"table {table}" if table is not None else "a query"
        return f"{describe(uri)} ({what})", read_database(uri, table, query)
    if query is not None:
        raise InvalidParameterError(f"{uri}: --query applies to database sources, not to files")
    return uri, read_source(uri, sheet=table)
