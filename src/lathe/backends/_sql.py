"""SQL text run inside an engine: a SELECT over rows uploaded for it, and a table or view written
from a SELECT without a row leaving the database. The only place lathe runs SQL text in an engine.

An engine is named by a database URI (``postgresql://``, ``mysql://``, ``sqlite:///file``,
``duckdb:///file``), by ``sqlite`` or ``duckdb`` alone for a new in-memory database, or by
``spark`` for the active SparkSession (a local one is started where none is). The PostgreSQL,
MySQL/MariaDB, SQLite and DuckDB connections are Ibis's, used through their DB-API cursors (a
statement of megabytes is sent as text, never parsed by Ibis); Spark's is pyspark's, imported
only when asked for. Each session runs at UTC. Driver errors become lathe's, without passwords.

Every statement sent is logged (logger ``lathe.backends._sql``, level DEBUG) with the number of
rows each fetch brought back, so that a test can see what crossed the wire.
"""

from __future__ import annotations

import importlib
import itertools
import logging
import math
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlglot import exp

from lathe.backends._databases import ENGINES, FILES, T, _backend, _guard, connect, describe
from lathe.backends._quiet import library_noise
from lathe.backends._spark import spark_session
from lathe.errors import InvalidParameterError, SourceNotFoundError

logger = logging.getLogger(__name__)
BATCH_ROWS = 1_000_000


@dataclass(frozen=True)
class _Engine:
    """How one engine is spoken to: its dialect, column types, and how it replaces a table or view."""

    dialect: str
    types: dict[str, str]  # upload column kind -> DDL type
    placeholder: str  # the driver's parameter marker
    session: tuple[str, ...]  # statements that set the session to UTC
    batch_view: str  # the statement head that defines the view of one batch
    replace: str  # how a table or view takes the place of another: "transaction", "rename" or "drop first"
    upload: str = "TABLE"  # what an upload is (Spark: a temporary view)


_TYPES = {"integer": "BIGINT", "float": "DOUBLE", "boolean": "BOOLEAN", "datetime": "TIMESTAMP", "text": "TEXT"}
_ENGINES = {
    "postgres": _Engine(
        # JIT compiling a statement of megabytes takes far longer than running it (95 s against 8 s for 40,000 rows)
        "postgres", _TYPES | {"float": "DOUBLE PRECISION"}, "%s", ("SET TIME ZONE 'UTC'", "SET jit = off"),
        "CREATE TEMPORARY VIEW", "transaction",
    ),
    "mysql": _Engine(
        "mysql", _TYPES | {"datetime": "DATETIME(6)"}, "%s", ("SET time_zone = '+00:00'",),
        "CREATE VIEW", "rename",
    ),
    "sqlite": _Engine(
        "sqlite", _TYPES | {"float": "REAL", "boolean": "INTEGER", "datetime": "TEXT", "integer": "INTEGER"}, "?", (),
        "CREATE TEMPORARY VIEW", "transaction",
    ),
    "duckdb": _Engine(
        "duckdb", _TYPES, "?", ("SET TimeZone = 'UTC'",), "CREATE TEMPORARY VIEW", "transaction",
    ),
    "spark": _Engine("spark", _TYPES, "", (), "CREATE TEMPORARY VIEW", "drop first", upload="VIEW"),
}  # fmt: skip


def run_select(engine: str, sql: str, tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Upload each of ``tables`` as a temporary table of that name, run the SELECT ``sql`` over
    them in ``engine`` and return its rows (the uploads are dropped afterwards)."""
    with _session(engine) as session:
        try:
            for name, frame in tables.items():
                session.upload(name, frame)
            columns, rows = session.fetch(sql)
        finally:
            for name in tables:
                session.quietly(f"DROP {session.engine.upload} {session.name(name)}")
    return pd.DataFrame.from_records(rows, columns=columns)


def create_scored(
    engine: str,
    select: Callable[[str, str], str],
    source: str,
    into: str,
    *,
    view: bool = False,
    key: str | None = None,
    batch_rows: int = BATCH_ROWS,
) -> int:
    """Write the rows of ``select(dialect, table)`` (a SELECT in the engine's dialect reading
    ``table``) for the table ``source`` into the table ``into`` (or define the view ``into``),
    inside ``engine``; return the rows written (for a view, the rows of ``source``).

    No row leaves the database: the statements carry no values but the key's bounds, and the
    only results fetched are counts and bounds. With ``key`` (a numeric column) and more than
    ``batch_rows`` rows, the table is written in ranges of the key: CREATE TABLE from the first,
    INSERT ... SELECT for each next, each range a view of ``source`` with a WHERE on the key
    (rows with a NULL key go with the first). The table is written under a temporary name and
    renamed to ``into`` at the end, replacing one there; where anything fails, the temporary
    table is dropped and an existing ``into`` is left as it was (MySQL and Spark cannot rename in
    a transaction: there the old table is swapped out by one RENAME, or dropped just before).
    """
    if batch_rows < 1:
        raise InvalidParameterError(f"batch_rows must be at least 1, not {batch_rows}")
    with _session(engine) as session:
        if view:
            session.replace_view(into, select(session.engine.dialect, source))
            return session.count(source)
        ranges = session.ranges(source, key, batch_rows) if key is not None else [None]
        batch = f"lathe_batch_{uuid.uuid4().hex[:12]}"
        temporary = _sibling(into, f"lathe_tmp_{uuid.uuid4().hex[:12]}")
        statement = select(session.engine.dialect, source if ranges == [None] else batch)
        try:
            for number, where in enumerate(ranges):
                if where is not None:
                    session.run(f"DROP VIEW IF EXISTS {session.name(batch)}")
                    session.run(f"{session.engine.batch_view} {session.name(batch)} AS "
                                f"SELECT * FROM {session.name(source)} WHERE {where}")  # fmt: skip
                head = (
                    f"CREATE TABLE {session.name(temporary)} AS"
                    if number == 0
                    else f"INSERT INTO {session.name(temporary)}"
                )
                session.run(f"{head} {statement}")
            session.replace_table(temporary, into)
        except BaseException:
            session.quietly(f"DROP TABLE IF EXISTS {session.name(temporary)}")
            raise
        finally:
            if ranges != [None]:
                session.quietly(f"DROP VIEW IF EXISTS {session.name(batch)}")
        return session.count(into)


def column_types(engine: str, table: str) -> dict[str, str]:
    """The kind of each column of ``table`` in ``engine``, as the database declares it: integer
    (exact numbers, decimals too), float, boolean, datetime (timestamps and dates) or text (any
    other). Reads the catalog, no row. SQLite gives none: a column declared REAL may hold text."""
    if engine == "spark":
        with _spark_at_utc() as spark:
            fields = _guard("spark", lambda: _spark_quiet(lambda: spark.table(table).schema.fields))
            return {f.name: _SPARK_KINDS.get(f.dataType.typeName(), "text") for f in fields}
    dialect, backend = _connect(engine)
    try:
        if dialect == "sqlite":
            return {}
        *qualifier, name = table.split(".")
        where = dict(zip(("catalog", "database")[-len(qualifier) :], qualifier, strict=True)) if qualifier else {}
        schema = _guard(describe(engine), lambda: backend.get_schema(name, **where))
        return {column: _ibis_kind(dtype) for column, dtype in schema.items()}
    finally:
        _guard(describe(engine), backend.disconnect)


_SPARK_KINDS = {"byte": "integer", "short": "integer", "integer": "integer", "long": "integer", "decimal": "integer",
                "float": "float", "double": "float", "boolean": "boolean", "timestamp": "datetime",
                "timestamp_ntz": "datetime", "date": "datetime"}  # fmt: skip


def _ibis_kind(dtype: Any) -> str:
    if dtype.is_integer() or dtype.is_decimal():
        return "integer"
    if dtype.is_floating():
        return "float"
    if dtype.is_boolean():
        return "boolean"
    return "datetime" if dtype.is_timestamp() or dtype.is_date() else "text"


def _sibling(table: str, name: str) -> str:
    """``name`` in the schema of ``table``."""
    return ".".join([*table.split(".")[:-1], name])


# ---- sessions ------------------------------------------------------------------------------------


class _Session:
    """One connection to an engine, running statements through ``_guard`` and logging them."""

    def __init__(self, engine: _Engine, where: str, connection: Any) -> None:
        self.engine, self.where, self.connection = engine, where, connection

    def name(self, table: str) -> str:
        """``table`` (``schema.table`` allowed) quoted for the dialect."""
        parts = [exp.to_identifier(part, quoted=True) for part in table.split(".")]
        return ".".join(part.sql(dialect=self.engine.dialect) for part in parts)

    def run(self, statement: str) -> None:
        """Run a statement that returns no rows."""
        logger.debug("%s runs: %s", self.where, statement)
        _guard(self.where, lambda: self._close(self._execute(statement)))

    def fetch(self, statement: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run a query; its column names and rows."""
        logger.debug("%s runs: %s", self.where, statement)
        columns, rows = _guard(self.where, lambda: self._fetch(statement))
        logger.debug("%s fetched %d row(s)", self.where, len(rows))
        return columns, rows

    def quietly(self, statement: str) -> None:
        """Run a clean-up statement, whose failure would only hide the error being raised."""
        try:
            self.run(statement)
        except Exception:  # a clean-up after an error must not replace it
            logger.debug("%s could not clean up with: %s", self.where, statement)

    def count(self, table: str) -> int:
        """The rows of ``table``."""
        return int(self.fetch(f"SELECT COUNT(*) FROM {self.name(table)}")[1][0][0])

    def ranges(self, source: str, key: str, batch_rows: int) -> list[str | None]:
        """WHERE conditions splitting ``source`` into ranges of ``key`` of about ``batch_rows``."""
        column = self.name(key)
        low, high, rows = self.fetch(f"SELECT MIN({column}), MAX({column}), COUNT(*) FROM {self.name(source)}")[1][0]
        if int(rows) <= batch_rows or low is None or low == high:
            return [None]
        low, high = _number(low, key), _number(high, key)
        count = math.ceil(int(rows) / batch_rows)
        if isinstance(low, int) and isinstance(high, int):
            cuts: list[int | float] = sorted({low + (high - low + 1) * i // count for i in range(1, count)})
        else:
            cuts = sorted({low + (high - low) * i / count for i in range(1, count)})
        bounds = [_literal(cut) for cut in cuts]
        first = f"{column} < {bounds[0]} OR {column} IS NULL"
        middle = [f"{column} >= {a} AND {column} < {b}" for a, b in itertools.pairwise(bounds)]
        return [first, *middle, f"{column} >= {bounds[-1]}"]

    def replace_table(self, temporary: str, into: str) -> None:
        """Put the table ``temporary`` in the place of ``into``."""
        if self.engine.replace == "transaction":
            renamed = f"ALTER TABLE {self.name(temporary)} RENAME TO {self.name(into.split('.')[-1])}"
            self._in_transaction([f"DROP TABLE IF EXISTS {self.name(into)}", renamed])
        elif self.engine.replace == "rename":
            self._swap(temporary, into)
        else:  # Spark's catalog has no transactions
            self.run(f"DROP TABLE IF EXISTS {self.name(into)}")
            self.run(f"ALTER TABLE {self.name(temporary)} RENAME TO {self.name(into)}")

    def replace_view(self, into: str, sql: str) -> None:
        """Define the view ``into`` as ``sql``, replacing one there."""
        if self.engine.replace == "transaction":
            self._in_transaction([f"DROP VIEW IF EXISTS {self.name(into)}", f"CREATE VIEW {self.name(into)} AS {sql}"])
        else:
            self.run(f"CREATE OR REPLACE VIEW {self.name(into)} AS {sql}")

    def upload(self, name: str, frame: pd.DataFrame) -> None:
        """``frame`` as the temporary table ``name``: columns typed from their dtypes."""
        kinds = [upload_kind(frame[column]) for column in frame.columns]
        columns = ", ".join(
            f"{self.name(str(c))} {self.engine.types[k]}" for c, k in zip(frame.columns, kinds, strict=True)
        )
        self.run(f"CREATE TEMPORARY TABLE {self.name(name)} ({columns})")
        _guard(self.where, lambda: self._fill(name, frame, kinds))

    def _fill(self, name: str, frame: pd.DataFrame, kinds: list[str]) -> None:
        rows = _values(frame, kinds, self.engine.dialect)
        markers = ", ".join([self.engine.placeholder] * len(frame.columns))
        statement = f"INSERT INTO {self.name(name)} VALUES ({markers})"
        logger.debug("%s runs for %d row(s): %s", self.where, len(rows), statement)
        cursor = self.connection.cursor()
        try:
            cursor.executemany(statement, rows)
        finally:
            cursor.close()

    def _swap(self, temporary: str, into: str) -> None:
        """MySQL: one RENAME TABLE moves the old table out and the new one in, atomically."""
        schema = into.split(".")[0] if "." in into else None
        where = f"table_schema = {_quoted_text(schema)}" if schema else "table_schema = DATABASE()"
        named = f"table_name = {_quoted_text(into.split('.')[-1])}"
        found = self.fetch(f"SELECT table_type FROM information_schema.tables WHERE {where} AND {named}")[1]
        if not found:
            self.run(f"RENAME TABLE {self.name(temporary)} TO {self.name(into)}")
            return
        if found[0][0] != "BASE TABLE":
            raise InvalidParameterError(
                f"{into} is a {found[0][0].lower()}, not a table; drop it or name another table"
            )
        old = _sibling(into, f"lathe_old_{uuid.uuid4().hex[:12]}")
        self.run(f"RENAME TABLE {self.name(into)} TO {self.name(old)}, {self.name(temporary)} TO {self.name(into)}")
        self.run(f"DROP TABLE {self.name(old)}")

    def _in_transaction(self, statements: list[str]) -> None:
        self.run("BEGIN")
        try:
            for statement in statements:
                self.run(statement)
        except BaseException:
            self.quietly("ROLLBACK")
            raise
        self.run("COMMIT")

    def _execute(self, statement: str) -> Any:
        cursor = self.connection.cursor()
        cursor.execute(statement)
        return cursor

    def _fetch(self, statement: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        cursor = self._execute(statement)
        try:
            return [d[0] for d in cursor.description], [tuple(row) for row in cursor.fetchall()]
        finally:
            self._close(cursor)

    def _close(self, cursor: Any) -> None:
        cursor.close()


class _DuckDB(_Session):
    """DuckDB: a cursor is a new connection (without the session's temporary tables), so the
    connection runs every statement; uploads go in as Arrow (its ``executemany`` is slow)."""

    def _execute(self, statement: str) -> Any:
        return self.connection.execute(statement)

    def _fill(self, name: str, frame: pd.DataFrame, kinds: list[str]) -> None:
        del kinds  # Arrow carries the types; the table's columns cast them
        arrow = f"lathe_arrow_{uuid.uuid4().hex[:12]}"
        statement = f"INSERT INTO {self.name(name)} SELECT * FROM {self.name(arrow)}"
        logger.debug("%s runs for %d row(s) registered as %s: %s", self.where, len(frame), arrow, statement)
        self.connection.register(arrow, pa.Table.from_pandas(frame, preserve_index=False))
        try:
            self.connection.execute(statement)
        finally:
            self.connection.unregister(arrow)

    def _close(self, cursor: Any) -> None:
        del cursor  # the connection itself


class _Spark(_Session):
    """A SparkSession: statements through ``spark.sql``, uploads as temporary views."""

    def run(self, statement: str) -> None:
        logger.debug("%s runs: %s", self.where, statement)
        _guard(self.where, lambda: _spark_quiet(lambda: self.connection.sql(statement).collect()))

    def _fetch(self, statement: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        def collect() -> tuple[list[str], list[tuple[Any, ...]]]:
            frame = self.connection.sql(statement)
            return list(frame.columns), [tuple(row) for row in frame.collect()]

        return _spark_quiet(collect)

    def upload(self, name: str, frame: pd.DataFrame) -> None:
        types = _spark_quiet(lambda: importlib.import_module("pyspark.sql.types"))
        spark_types = {"integer": types.LongType(), "float": types.DoubleType(), "boolean": types.BooleanType(),
                       "datetime": types.TimestampNTZType(), "text": types.StringType()}  # fmt: skip
        kinds = [upload_kind(frame[column]) for column in frame.columns]
        schema = types.StructType(
            [types.StructField(str(c), spark_types[k]) for c, k in zip(frame.columns, kinds, strict=True)]
        )
        rows = _values(frame, kinds, "spark")
        logger.debug("%s uploads %d row(s) as the temporary view %s", self.where, len(rows), name)
        _guard(self.where, lambda: _spark_quiet(
            lambda: self.connection.createDataFrame(rows, schema).createOrReplaceTempView(name)))  # fmt: skip


@contextmanager
def _session(engine: str) -> Iterator[_Session]:
    """A session of ``engine``, set to UTC, closed afterwards."""
    if engine == "spark":
        with _spark_at_utc() as spark:
            yield _Spark(_ENGINES["spark"], "spark", spark)
        return
    dialect, backend = _connect(engine)
    where = describe(engine)
    session = (_DuckDB if dialect == "duckdb" else _Session)(_ENGINES[dialect], where, backend.con)
    if dialect == "sqlite":
        backend.con.isolation_level = None  # explicit transactions only
    try:
        for statement in session.engine.session:
            session.run(statement)
        yield session
    finally:
        _guard(where, backend.disconnect)


def _connect(engine: str) -> tuple[str, Any]:
    """The dialect and an Ibis connection (writable) for ``engine``."""
    if engine in FILES:
        return engine, _guard(engine, lambda: _backend(engine).connect())
    scheme = urlsplit(engine).scheme.lower()
    if scheme in ENGINES and "://" in engine:
        return ENGINES[scheme], connect(engine)
    if scheme in FILES and "://" in engine:
        parts = urlsplit(engine)
        path = unquote(parts.netloc + parts.path)
        if not Path(path).is_file():
            raise SourceNotFoundError(f"{engine}: no such database file; check the path (three slashes before it)")
        return FILES[scheme], _guard(engine, lambda: _backend(FILES[scheme]).connect(database=path))
    raise InvalidParameterError(
        f"{describe(engine)}: not an engine to run SQL in; use a postgresql://, mysql://, sqlite:/// or duckdb:/// "
        "URI, sqlite or duckdb (in memory), or spark"
    )


# ---- Spark ---------------------------------------------------------------------------------------


@contextmanager
def _spark_at_utc() -> Iterator[Any]:
    """The active SparkSession (a local one started where none is), set for the statements while
    in use: UTC, and no whole-stage code generation, which for a statement of megabytes only
    fills the driver's memory (a 650-tree model ran out of 1 GB) before Spark gives it up."""
    spark = spark_session()
    settings = {"spark.sql.session.timeZone": "UTC", "spark.sql.codegen.wholeStage": "false"}
    before = {name: spark.conf.get(name) for name in settings}
    for name, value in settings.items():
        spark.conf.set(name, value)
    try:
        yield spark
    finally:
        for name, value in before.items():
            spark.conf.set(name, value)


def _spark_quiet(action: Callable[[], T]) -> T:
    with library_noise():  # pyspark's warnings about pandas 3
        return action()


# ---- values --------------------------------------------------------------------------------------


def upload_kind(values: pd.Series) -> str:
    """The kind of column an upload makes of ``values``: integer, float, boolean, datetime or text."""
    if pd.api.types.is_bool_dtype(values):
        return "boolean"
    if pd.api.types.is_integer_dtype(values):
        return "integer"
    if pd.api.types.is_float_dtype(values):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(values):
        return "datetime"
    return "text"


def _values(frame: pd.DataFrame, kinds: list[str], dialect: str) -> list[tuple[Any, ...]]:
    """The rows of ``frame`` as driver values: None where missing, timestamps as naive datetimes
    (SQLite: ISO text with microseconds)."""
    columns = []
    for column, kind in zip(frame.columns, kinds, strict=True):
        values = frame[column]
        if kind == "datetime":
            stamps = values.dt.tz_convert("UTC").dt.tz_localize(None) if values.dt.tz is not None else values
            pythons = [None if pd.isna(v) else v.to_pydatetime() for v in stamps]
            cells = [v.isoformat(sep=" ", timespec="microseconds") if v is not None and dialect == "sqlite" else v
                     for v in pythons]  # fmt: skip
        elif kind == "float":
            cells = [None if math.isnan(v) else v for v in values.to_numpy(dtype="float64").tolist()]
        elif kind in ("integer", "boolean"):
            cells = values.to_numpy().tolist()
        else:
            cells = [None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v) for v in values]
        columns.append(cells)
    return list(zip(*columns, strict=True)) if columns else [() for _ in range(len(frame))]


def _number(value: Any, key: str) -> int | float:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise InvalidParameterError(f"batches need a numeric key; {key!r} holds {type(value).__name__} values")
    return value.item() if isinstance(value, np.number) else value


def _literal(value: int | float) -> str:
    return str(value) if isinstance(value, int) else repr(float(value))


def _quoted_text(value: str) -> str:
    return str(exp.Literal.string(value).sql(dialect="mysql"))
