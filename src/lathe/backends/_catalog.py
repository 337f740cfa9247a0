"""A small transactional database for lathe's own records (the registry): a SQLite file or PostgreSQL.

Statements are written once with ``?`` placeholders and run on either. Each ``transaction()``
opens its own connection and closes it (registry changes are rare; nothing is left to close),
and can hold the write lock from its first statement, so what it reads (the next version number)
is still true when it writes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lathe.backends._databases import describe
from lathe.errors import MissingDependencyError, RegistryError, SourceUnreachableError, first_line

Row = tuple[Any, ...]


class Catalog:
    """The catalog database at ``uri``; ``transaction()`` for every read and write."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.postgres = uri.startswith(("postgresql://", "postgres://"))

    @contextmanager
    def transaction(self, lock: str | None = None) -> Iterator[Transaction]:
        """A transaction, committed on success and rolled back on error; ``lock`` names a table
        to hold the write lock on from the start (serialising writers, not readers)."""
        connection = _connect_postgres(self.uri) if self.postgres else _connect_sqlite(self.uri)
        refused = _driver_error(self.postgres)
        cursor = connection.cursor()
        try:
            if self.postgres:
                if lock:
                    cursor.execute(f"LOCK TABLE {lock} IN SHARE ROW EXCLUSIVE MODE")
            else:
                cursor.execute("BEGIN IMMEDIATE" if lock else "BEGIN")
            yield Transaction(cursor, self.postgres)
            connection.commit()
        except refused as exc:
            connection.rollback()
            raise RegistryError(f"the registry at {describe(self.uri)} refused the change: {first_line(exc)}") from None
        except BaseException:
            connection.rollback()
            raise
        finally:
            cursor.close()
            connection.close()


class Transaction:
    """Statements inside one transaction."""

    def __init__(self, cursor: Any, postgres: bool) -> None:
        self._cursor = cursor
        self._postgres = postgres

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run ``sql`` (``?`` placeholders) and return its rows (none for a statement without)."""
        self._cursor.execute(sql.replace("?", "%s") if self._postgres else sql, tuple(params))
        return [tuple(row) for row in self._cursor.fetchall()] if self._cursor.description else []


def _connect_sqlite(uri: str) -> Any:
    path = Path(uri.removeprefix("sqlite:///"))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Transactions are begun explicitly; a busy writer is waited for rather than failed.
        connection = sqlite3.connect(path, timeout=60, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
    except (OSError, sqlite3.Error) as exc:
        raise SourceUnreachableError(f"cannot open the registry at {path}: {first_line(exc)}") from None
    return connection


def _driver_error(postgres: bool) -> type[Exception]:
    """The base class of the errors the database's driver raises."""
    if not postgres:
        return sqlite3.Error
    import psycopg

    return psycopg.Error


def _connect_postgres(uri: str) -> Any:
    try:
        import psycopg
    except ImportError:
        raise MissingDependencyError("a PostgreSQL registry needs the driver: pip install 'lathe[postgres]'") from None
    try:
        return psycopg.connect(uri.replace("postgres://", "postgresql://", 1), connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise SourceUnreachableError(f"cannot open the registry at {describe(uri)}: {first_line(exc)}") from None
