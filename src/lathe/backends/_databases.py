"""Tables and queries in SQL databases, as Ibis tables whose work runs in the database.

One URI syntax: ``postgresql://user:password@host:port/database``, ``mysql://`` (or
``mariadb://``) likewise, ``sqlite:///path/to/file.db`` and ``duckdb:///path/to/file.duckdb``.
A password may also come from the environment (``PGPASSWORD``, ``MYSQL_PWD``) or the standard
password files (``~/.pgpass``, ``~/.my.cnf``). Passwords never appear in messages: ``describe``
gives the URI without one, and driver errors are scrubbed before they are raised again.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import ibis

from lathe.backends._quiet import library_noise
from lathe.errors import (
    ColumnNotFoundError,
    EmptySourceError,
    InvalidParameterError,
    MissingDependencyError,
    SourceAccessError,
    SourceNotFoundError,
    SourceReadError,
    SourceUnreachableError,
)

ENGINES = {"postgresql": "postgres", "postgres": "postgres", "mysql": "mysql", "mariadb": "mysql"}
FILES = {"sqlite": "sqlite", "duckdb": "duckdb"}
_EXTRAS = {"postgres": "postgres", "mysql": "mysql", "sqlite": "sqlite", "duckdb": "duckdb"}
T = TypeVar("T")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_REFUSED = ("password", "access denied", "authentication", "permission denied")
_MISSING = ("does not exist", "unknown database", "no such table", "unknown table")
_UNREACHABLE = ("connect", "refused", "timeout", "timed out", "could not translate host", "name or service")


def is_database(uri: str) -> bool:
    """Whether ``uri`` names a database rather than a file."""
    return urlsplit(uri).scheme.lower() in ENGINES | FILES and "://" in uri


def describe(uri: str) -> str:
    """``uri`` without its password, fit to print or save."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    return uri.replace(f":{parts.password}@", ":***@", 1)


def read_database(
    uri: str, table: str | None = None, query: str | None = None, connection: Any | None = None
) -> ibis.Table:
    """The table or the query result at database ``uri``; nothing is fetched yet.

    ``connection`` (from ``connect``) lets several tables share one, so that a join of them
    runs in the database; without it each gets its own.
    """
    if (table is None) == (query is None):
        raise InvalidParameterError(f"{describe(uri)}: name a --table or a --query for a database source (one of them)")
    own = connection is None
    connection = connect(uri) if connection is None else connection
    try:
        result = _table(connection, uri, table) if table is not None else _query(connection, uri, str(query))
        if _guard(uri, lambda: result.count().to_pyarrow().as_py()) == 0:
            raise EmptySourceError(f"{describe(uri)}: {table or 'the query'} holds no rows")
    except BaseException:
        if own:
            connection.disconnect()
        raise
    return result


def connect(uri: str) -> Any:
    """An Ibis connection to the database at ``uri``."""
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    engine = ENGINES.get(scheme) or FILES[scheme]
    backend = _backend(engine)
    if engine in FILES.values():
        path = Path(unquote(parts.netloc + parts.path))
        if not path.is_file():
            raise SourceNotFoundError(f"{uri}: no such database file; check the path (three slashes before it)")
        options: dict[str, Any] = {"database": str(path)} | ({"read_only": True} if engine == "duckdb" else {})
        return _guard(uri, lambda: backend.connect(**options))
    return _guard(uri, lambda: backend.connect(**_server_options(engine, parts)))


def _backend(engine: str) -> Any:
    try:
        return getattr(ibis, engine)
    except (ImportError, AttributeError) as exc:
        raise MissingDependencyError(
            f"reading {engine} needs an optional extra: pip install 'lathe[{_EXTRAS[engine]}]' ({exc})"
        ) from None


def _server_options(engine: str, parts: Any) -> dict[str, Any]:
    options: dict[str, Any] = {
        "host": parts.hostname or "localhost",
        "user": unquote(parts.username) if parts.username else None,
        "database": unquote(parts.path.lstrip("/")) or None,
    }
    if parts.port:
        options["port"] = parts.port
    password = unquote(parts.password) if parts.password is not None else None
    if engine == "mysql":
        password = password if password is not None else os.environ.get("MYSQL_PWD")
        cnf = Path.home() / ".my.cnf"
        if password is None and cnf.is_file():
            options["read_default_file"] = str(cnf)
    if password is not None:
        options["password"] = password
    return {k: v for k, v in options.items() if v is not None}


def _table(connection: Any, uri: str, name: str) -> ibis.Table:
    tables = _guard(uri, connection.list_tables)
    if name not in tables:
        raise SourceNotFoundError(str(ColumnNotFoundError.for_name(name, tables, what=f"{describe(uri)}: table")))
    return _guard(uri, lambda: connection.table(name))


def _query(connection: Any, uri: str, query: str) -> ibis.Table:
    return _guard(uri, lambda: connection.sql(query))


def _guard(uri: str, action: Callable[[], T]) -> T:
    """Run ``action``, turning a driver's error into lathe's, without the password."""
    try:
        with library_noise():
            return action()
    except (ImportError, MissingDependencyError):
        raise
    except Exception as exc:  # every driver raises its own kinds; each becomes one of ours here
        raise _translate(uri, exc) from None


def _translate(uri: str, exc: Exception) -> Exception:
    text = _ANSI.sub("", str(exc)).strip().replace("\n", " ")
    password = urlsplit(uri).password
    if password:
        text = text.replace(password, "***").replace(unquote(password), "***")
    where = describe(uri)
    lowered = text.lower()
    if any(word in lowered for word in _REFUSED):
        return SourceAccessError(f"{where}: the server refused the credentials ({text[:300]})")
    if any(word in lowered for word in _MISSING):
        return SourceNotFoundError(f"{where}: {text[:300]}")
    if any(word in lowered for word in _UNREACHABLE) and "syntax" not in lowered:
        return SourceUnreachableError(f"{where}: cannot reach the database server; is it running? ({text[:300]})")
    return SourceReadError(f"{where}: the database could not run this: {text[:300]}")
