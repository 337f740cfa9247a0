"""The prediction log's table in DuckDB or PostgreSQL: checked or created, appended to, read.

The log's columns come typed in lathe's words (``LOG_KINDS``); each engine's names for them are
data here, not branches. Every append is one transaction: a batch is in the log whole or not at
all, so a crash loses at most the batch being written and never leaves the log unreadable.

A DuckDB file is opened for each append and closed after it (which checkpoints it), so that
between appends other processes, ``lathe monitor`` among them, can open the file; a lock held by
another process is waited for, a little, before the append is given up for this time.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import duckdb
import ibis
import pyarrow as pa
from sqlglot import exp

from lathe.backends._databases import _guard, _table, connect, describe
from lathe.errors import (
    InvalidParameterError,
    SchemaMismatchError,
    SourceAccessError,
    SourceError,
    SourceNotFoundError,
    first_line,
)

LOG_KINDS = ("timestamp", "text", "integer", "bigint", "double", "boolean")
LOCK_WAIT = 10.0  # seconds a DuckDB append waits for another process's lock on the file
_POSTGRES = ("postgresql", "postgres")


@dataclass(frozen=True)
class _Engine:
    """One engine's names: its types for the log's kinds (as created), and as it lists them back."""

    dialect: str
    created: dict[str, str]
    listed: dict[str, str]

    @classmethod
    def of(cls, dialect: str, created: dict[str, str], aliases: dict[str, str]) -> _Engine:
        listed = {v.lower(): k for k, v in created.items()} | aliases
        return cls(dialect, created, listed)


_DUCKDB_TYPES = {"timestamp": "TIMESTAMP", "text": "VARCHAR", "integer": "INTEGER", "bigint": "BIGINT",
                 "double": "DOUBLE", "boolean": "BOOLEAN"}  # fmt: skip
_POSTGRES_TYPES = {"timestamp": "timestamp", "text": "text", "integer": "integer", "bigint": "bigint",
                   "double": "double precision", "boolean": "boolean"}  # fmt: skip
_ENGINES = {
    "duckdb": _Engine.of("duckdb", _DUCKDB_TYPES, {}),
    "postgres": _Engine.of("postgres", _POSTGRES_TYPES, {"timestamp without time zone": "timestamp"}),
}
_ARROW = {
    "timestamp": pa.timestamp("us"), "text": pa.string(), "integer": pa.int32(), "bigint": pa.int64(),
    "double": pa.float64(), "boolean": pa.bool_(),
}  # fmt: skip


def arrow_type(kind: str) -> pa.DataType:
    """The Arrow type a log column of ``kind`` is built with."""
    return _ARROW[kind]


def log_uri(uri: str) -> str:
    """``uri`` as a log destination: ``duckdb:///FILE`` (a bare path ending ``.duckdb`` is made
    one) or ``postgresql://...``; anything else is refused."""
    scheme = urlsplit(uri).scheme.lower() if "://" in uri else ""
    if not scheme and uri.endswith(".duckdb"):
        return f"duckdb://{os.path.abspath(uri)}"
    if scheme == "duckdb" or (scheme in _POSTGRES):
        return uri
    raise InvalidParameterError(
        f"{describe(uri)}: a prediction log is a DuckDB file (duckdb:///path/log.duckdb or a path ending .duckdb) "
        "or a PostgreSQL database (postgresql://host/db)"
    )


class LogTable:
    """The table ``table`` of the log at ``uri`` (see ``log_uri``)."""

    def __init__(self, uri: str, table: str) -> None:
        self.uri = log_uri(uri)
        self.table = table
        scheme = urlsplit(self.uri).scheme.lower()
        self.engine = _ENGINES["duckdb" if scheme == "duckdb" else "postgres"]
        self.where = f"{describe(self.uri)} (table {table})"

    @property
    def path(self) -> Path | None:
        """The DuckDB file; None for PostgreSQL."""
        if self.engine.dialect != "duckdb":
            return None
        parts = urlsplit(self.uri)
        return Path(unquote(parts.netloc + parts.path))

    def prepare(self, columns: list[tuple[str, str]]) -> None:
        """Check that the table has exactly ``columns`` (name, kind), creating it where absent.

        Raises ``SchemaMismatchError`` for a table with other columns, ``SourceAccessError`` or
        ``SourceNotFoundError`` where the log cannot be written, before any row is.
        """
        with self._session(create=True) as session:
            found = session.columns(self.table)
            if found is None:
                session.create(self.table, [(n, self.engine.created[k]) for n, k in columns])
            elif found != columns:
                raise SchemaMismatchError(_difference(self.where, found, columns))

    def append(self, batch: pa.Table) -> None:
        """Append ``batch`` (the table's columns, in order) in one transaction."""
        with self._session(create=False) as session:
            session.insert(self.table, batch)

    def read(self) -> ibis.Table:
        """The log as an Ibis table on its engine (DuckDB opened read-only)."""
        if self.path is not None and not self.path.is_file():
            raise SourceNotFoundError(f"{self.where}: no prediction log here; check the path (three slashes)")
        connection = _waiting(lambda: connect(self.uri))
        try:
            return _table(connection, self.uri, self.table)
        except BaseException:
            connection.disconnect()
            raise

    @contextmanager
    def _session(self, create: bool) -> Iterator[_Session]:
        if self.path is not None:
            self._check_folder(self.path, create)
            connection = _waiting(lambda: self._duckdb(self.path))  # type: ignore[arg-type]
            try:
                yield _DuckSession(connection, self)
            finally:
                connection.close()
            return
        backend = connect(self.uri)
        try:
            yield _PostgresSession(backend.con, self)
        finally:
            _guard(self.uri, backend.disconnect)

    def _check_folder(self, path: Path, create: bool) -> None:
        if not create and not path.is_file():
            raise SourceNotFoundError(f"{self.where}: the log file is gone; it was removed while lathe wrote to it")
        if path.is_dir():
            raise SourceAccessError(f"{self.where}: is a folder; name a file such as {path / 'predictions.duckdb'}")
        if not path.parent.is_dir():
            raise SourceAccessError(f"{self.where}: the folder {path.parent} does not exist or is not a folder; "
                                    "create it first or name another path")  # fmt: skip
        if not os.access(path if path.exists() else path.parent, os.W_OK):
            raise SourceAccessError(f"{self.where}: cannot be written (permission denied); name a writable path")

    def _duckdb(self, path: Path) -> duckdb.DuckDBPyConnection:
        try:
            return duckdb.connect(str(path))
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise _LockedError(first_line(exc)) from None
            raise SourceAccessError(f"{self.where}: cannot open it for writing ({first_line(exc)})") from None
        except duckdb.Error as exc:
            raise SourceAccessError(f"{self.where}: is not a DuckDB file it can write ({first_line(exc)})") from None


class _LockedError(Exception):
    """Another process holds the DuckDB file."""


def _waiting(action: Callable[[], Any]) -> Any:
    """``action``, retried while another process holds the DuckDB file, for up to ``LOCK_WAIT`` s."""
    deadline = time.monotonic() + LOCK_WAIT
    while True:
        try:
            return action()
        except _LockedError as exc:
            if time.monotonic() > deadline:
                raise SourceAccessError(f"the log file is held by another process ({exc}); try again later") from None
        except SourceError as exc:  # a reader's connection: a driver's error, translated
            if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                raise
        time.sleep(0.05)


def _difference(where: str, found: list[tuple[str, str]], wanted: list[tuple[str, str]]) -> str:
    names = [n for n, _ in found]
    extra = [n for n in names if n not in dict(wanted)]
    absent = [n for n, _ in wanted if n not in dict(found)]
    retyped = [f"{n} ({dict(found)[n]}, not {k})" for n, k in wanted if n in dict(found) and dict(found)[n] != k]
    parts = [f"it has {', '.join(extra)} too" if extra else "", f"it lacks {', '.join(absent)}" if absent else "",
             f"other types: {', '.join(retyped)}" if retyped else ""]  # fmt: skip
    said = "; ".join(p for p in parts if p) or "its columns are in another order"
    return (f"{where}: holds rows of another layout ({said}); log this model to another table with "
            "--log-table NAME, or to another log")  # fmt: skip


class _Session:
    def __init__(self, connection: Any, log: LogTable) -> None:
        self.connection, self.log = connection, log

    def name(self, table: str) -> str:
        parts = [exp.to_identifier(part, quoted=True) for part in table.split(".")]
        return ".".join(part.sql(dialect=self.log.engine.dialect) for part in parts)

    def columns(self, table: str) -> list[tuple[str, str]] | None:
        schema, _, name = table.rpartition(".")
        where = "table_name = ?" + (" AND table_schema = ?" if schema else " AND table_schema = current_schema()")
        rows = self.fetch(
            f"SELECT column_name, data_type FROM information_schema.columns WHERE {where} ORDER BY ordinal_position",
            [name, schema] if schema else [name],
        )
        if not rows:
            return None
        listed = self.log.engine.listed
        return [(str(n), listed.get(str(t).lower(), str(t).lower())) for n, t in rows]

    def create(self, table: str, columns: list[tuple[str, str]]) -> None:
        listed = ", ".join(f"{self.name(n)} {t}" for n, t in columns)
        self.run(f"CREATE TABLE IF NOT EXISTS {self.name(table)} ({listed})")

    def fetch(self, sql: str, parameters: list[Any]) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def run(self, sql: str) -> None:
        raise NotImplementedError

    def insert(self, table: str, batch: pa.Table) -> None:
        raise NotImplementedError


class _DuckSession(_Session):
    def fetch(self, sql: str, parameters: list[Any]) -> list[tuple[Any, ...]]:
        return list(self._guarded(lambda: self.connection.execute(sql, parameters).fetchall()))

    def run(self, sql: str) -> None:
        self._guarded(lambda: self.connection.execute(sql))

    def insert(self, table: str, batch: pa.Table) -> None:
        self.connection.register("lathe_log_batch", batch)
        try:
            self._guarded(
                lambda: self.connection.execute(f"INSERT INTO {self.name(table)} SELECT * FROM lathe_log_batch")
            )
        finally:
            self.connection.unregister("lathe_log_batch")

    def _guarded(self, action: Callable[[], Any]) -> Any:
        try:
            return action()
        except duckdb.Error as exc:
            raise SourceAccessError(f"{self.log.where}: cannot write the log ({first_line(exc)})") from None


class _PostgresSession(_Session):
    def fetch(self, sql: str, parameters: list[Any]) -> list[tuple[Any, ...]]:
        sql = sql.replace("?", "%s")
        return list(_guard(self.log.uri, lambda: self._fetched(sql, parameters)))

    def _fetched(self, sql: str, parameters: list[Any]) -> list[tuple[Any, ...]]:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, parameters)
            rows = cursor.fetchall()
        self.connection.commit()
        return [tuple(r) for r in rows]

    def run(self, sql: str) -> None:
        def execute() -> None:
            with self.connection.cursor() as cursor:
                cursor.execute(sql)
            self.connection.commit()

        _guard(self.log.uri, execute)

    def insert(self, table: str, batch: pa.Table) -> None:
        names = ", ".join(self.name(n) for n in batch.column_names)
        rows = batch.to_pylist()

        def copy() -> None:
            try:
                with (
                    self.connection.cursor() as cursor,
                    cursor.copy(f"COPY {self.name(table)} ({names}) FROM STDIN") as out,
                ):
                    for row in rows:
                        out.write_row(tuple(row.values()))
                self.connection.commit()
            except BaseException:
                self.connection.rollback()
                raise

        _guard(self.log.uri, copy)
