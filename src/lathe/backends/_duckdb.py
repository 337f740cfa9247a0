"""Files read through the embedded DuckDB engine, as Ibis tables.

A file or glob is loaded once into an in-memory DuckDB table, so that a malformed row
or a wrong encoding is found at read time, where it can be named, and not in the
middle of training. Files larger than ``LARGE_BYTES`` in all are not loaded: they stay a
view that DuckDB streams on every query, within ``MEMORY_LIMIT`` (they are read through
once at open, to find bad rows then).
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import duckdb
import ibis
import pandas as pd
import pyarrow as pa

from lathe.backends._excel import SUFFIXES as EXCEL
from lathe.backends._excel import read_workbooks
from lathe.backends._quiet import library_noise
from lathe.errors import EmptySourceError, InvalidParameterError, SourceNotFoundError, SourceReadError, first_line

# Types DuckDB may give a CSV column. BOOLEAN is left out so that labels such as yes/no
# come back as written, not as true/false.
# Written-out missing values (as in lathe.features.MISSING_TOKENS) are read as NULL, in CSV and Excel.
WRITTEN_MISSING = ["", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None", "none", "?", "-"]
_CSV = (
    "header = true, strict_mode = true, auto_type_candidates = ['BIGINT', 'DOUBLE', 'DATE', 'TIMESTAMP', 'VARCHAR'], "
    f"nullstr = [{', '.join(repr(v) for v in WRITTEN_MISSING)}]"
)
T = TypeVar("T")
LARGE_BYTES = 1 << 30
MEMORY_LIMIT = "1GB"
_READERS: dict[str, str] = {
    ".csv": f"read_csv({{path}}, delim = ',', {_CSV})",
    ".tsv": f"read_csv({{path}}, delim = '\t', {_CSV})",
    ".txt": f"read_csv({{path}}, {_CSV})",
    ".parquet": "read_parquet({path})",
    ".pq": "read_parquet({path})",
    ".json": "read_json_auto({path})",
    ".ndjson": "read_json_auto({path}, format = 'newline_delimited')",
    ".jsonl": "read_json_auto({path}, format = 'newline_delimited')",
}

_HINTS: tuple[tuple[str, str], ...] = (
    (
        "invalid unicode",
        "the file is not UTF-8 encoded; re-save it as UTF-8 (for example `iconv -f latin1 -t utf-8`)",
    ),
    (
        "expected number of columns",
        "a row has a different number of fields than the header; fix or remove it",
    ),
    (
        "error when sniffing",
        "its rows do not all have the same number of fields, or its quoting is broken; "
        "every row must have as many fields as the header",
    ),
    ("csv error", "a row could not be parsed; fix or remove it"),
)


def read_source(uri: str, sheet: str | None = None) -> ibis.Table:
    """Read the file or glob ``uri`` into an Ibis table held by an in-memory DuckDB.

    ``sheet`` names the sheet of Excel workbooks (default: the first). Raises
    ``SourceNotFoundError`` when nothing matches, ``SourceReadError`` when the content
    cannot be parsed, and ``EmptySourceError`` when it holds no rows.
    """
    paths = _expand(uri)
    if _suffix(paths[0]) in EXCEL:
        return _held(read_workbooks(uri, paths, sheet, WRITTEN_MISSING), uri)
    if sheet is not None:
        raise InvalidParameterError(f"{uri}: --table names a sheet of an Excel workbook or a database table")
    reader = _reader_for(uri, paths[0])
    large = sum(os.path.getsize(p) for p in paths) > LARGE_BYTES
    con = in_memory({"memory_limit": MEMORY_LIMIT} if large else {})
    listed = "[" + ", ".join(_quote(p) for p in paths) + "]"
    kind = "VIEW" if large else "TABLE"
    _run(uri, lambda: con.execute(f"CREATE {kind} source AS SELECT * FROM {reader.format(path=listed)}"))
    return _checked(con, uri)


def read_frame(frame: pd.DataFrame) -> ibis.Table:
    """Copy an in-memory pandas frame into DuckDB, as ``read_source`` does with a file."""
    return _held(frame, "the frame")


def _held(frame: pd.DataFrame, where: str) -> ibis.Table:
    names = [str(name) for name in frame.columns]
    if len(set(names)) != len(names):
        raise SourceReadError(f"{where}: has duplicate column names; give every column its own name")
    con = in_memory()
    con.register("frame", frame.set_axis(names, axis=1))
    _run(where, lambda: con.execute("CREATE TABLE source AS SELECT * FROM frame"))
    con.unregister("frame")
    return _checked(con, where)


def in_memory(config: dict[str, str | bool | int | float | list[str]] | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection that draws no progress bar of its own (lathe draws its own)."""
    con = duckdb.connect(config=config or {})
    con.execute("SET enable_progress_bar = false")
    return con


def _checked(con: duckdb.DuckDBPyConnection, where: str) -> ibis.Table:
    count = _run(where, lambda: con.execute("SELECT count(*) FROM source").fetchone())
    if not count or count[0] == 0:
        raise EmptySourceError(f"{where}: the source holds no rows; check the file or the glob")
    return ibis.duckdb.from_connection(con).table("source")


def fetch(expression: ibis.Table) -> pa.Table:
    """Run ``expression`` where its data lives and bring back the (small) result as Arrow."""
    with library_noise():
        result: pa.Table = expression.to_pyarrow()
    return result


def sampled(table: ibis.Table, fraction: float, seed: int) -> ibis.Table:
    """About ``fraction`` of the rows of ``table``, drawn where the data lives: repeatable for a
    seed in DuckDB; elsewhere (PostgreSQL, MySQL, SQLite, Spark) a fresh draw, each row kept with
    probability ``fraction`` by a filter on a random number, which a view takes where PostgreSQL's
    TABLESAMPLE does not."""
    if ibis.get_backend(table).name == "duckdb":
        return table.sample(fraction, seed=seed)
    return table.filter(ibis.random() < fraction)


def to_frame(table: ibis.Table) -> pd.DataFrame:
    """All the rows of ``table`` as a pandas frame, through Arrow, in the table's order.

    The connection behind ``table`` is closed afterwards: run every query first.
    """
    with library_noise():
        frame: pd.DataFrame = table.to_pyarrow().to_pandas()
    close(table)
    return frame


def close(table: ibis.Table) -> None:
    """Close the connection behind ``table``; a SparkSession stays, shared by the process and slow to start."""
    backend = ibis.get_backend(table)
    if backend.name != "pyspark":
        backend.disconnect()


def _expand(uri: str) -> list[str]:
    if any(ch in uri for ch in "*?["):
        paths = sorted(glob.glob(uri, recursive=True))
        if not paths:
            raise SourceNotFoundError(f"{uri}: no file matches this pattern")
        return paths
    if not os.path.exists(uri):
        raise SourceNotFoundError(f"{uri}: no such file; check the path (current folder: {os.getcwd()})")
    if os.path.isdir(uri):
        raise SourceReadError(f"{uri}: is a folder; name a file, or a glob such as '{uri}/*.parquet'")
    return [uri]


def _suffix(path: str) -> str:
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] in (".gz", ".zst"):
        suffixes.pop()
    return suffixes[-1] if suffixes else ""


def _reader_for(uri: str, path: str) -> str:
    suffix = _suffix(path)
    if suffix not in _READERS:
        known = ", ".join(sorted([*_READERS, *EXCEL]))
        raise SourceReadError(
            f"{uri}: cannot tell the file format from {suffix or 'no extension'!r}; use one of {known}"
        )
    return _READERS[suffix]


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _run(uri: str, action: Callable[[], T]) -> T:
    try:
        return action()
    except duckdb.IOException as exc:
        raise SourceNotFoundError(f"{uri}: cannot open the file ({first_line(exc)})") from None
    except duckdb.Error as exc:
        raise SourceReadError(f"{uri}: cannot read it as a table: {_explain(exc)}") from None


def _explain(exc: Exception) -> str:
    lowered = str(exc).lower()
    hint = next((h for key, h in _HINTS if key in lowered), "")
    line = re.search(r"csv error on line: (\d+)", lowered)
    where = f" (line {line.group(1)})" if line else ""
    return f"{hint}{where}" if hint else first_line(exc)
