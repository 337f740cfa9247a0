"""Apache Spark as an engine: files, globs and PostgreSQL tables read into a SparkSession, as Ibis tables.

The same Ibis expressions that profile, join and aggregate on DuckDB run here on Ibis's PySpark
backend, so a profile or a project's joined rows are computed where Spark holds the data. One
SparkSession serves the process (a JVM is slow to start): the active one, or one started for lathe
at ``master`` (``local[*]`` by default, ``spark://host:7077`` for a cluster) that logs errors only,
draws no progress bar and runs no web UI. PostgreSQL is read through JDBC with Debian's driver jar
(``libpostgresql-jdbc-java``), put on ``spark.jars`` when present: Spark cannot download packages
from Maven behind a firewall. pyspark is imported only when Spark is asked for.
"""

from __future__ import annotations

import functools
import importlib
import os
import re
import shutil
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import ibis
import pyarrow as pa

from lathe.backends._databases import ENGINES, describe, is_database
from lathe.backends._duckdb import _expand as expand
from lathe.backends._duckdb import _suffix as suffix
from lathe.backends._quiet import library_noise
from lathe.errors import (
    EmptySourceError,
    InvalidParameterError,
    MissingDependencyError,
    SourceNotFoundError,
    SourceReadError,
)

T = TypeVar("T")
DEFAULT_MASTER = "local[*]"
JDBC_JAR = Path("/usr/share/java/postgresql.jar")
_INSTALL = "pip install 'lathe[spark]'"
_JAVA = "Spark needs Java 17: install it (Debian: apt-get install -y openjdk-17-jre-headless) or set JAVA_HOME"
_LOG4J = Path(__file__).with_name("spark-log4j2.properties")
# Spark's reader and its options for each file suffix; JSON is read as lines first (see _read_files).
_FORMATS: dict[str, tuple[str, dict[str, str]]] = {
    ".parquet": ("parquet", {}),
    ".pq": ("parquet", {}),
    ".csv": ("csv", {"header": "true", "inferSchema": "true", "mode": "FAILFAST"}),
    ".tsv": ("csv", {"header": "true", "inferSchema": "true", "mode": "FAILFAST", "sep": "\t"}),
    ".json": ("json", {"mode": "FAILFAST"}),
    ".ndjson": ("json", {"mode": "FAILFAST"}),
    ".jsonl": ("json", {"mode": "FAILFAST"}),
}
_SETTINGS = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile=file:{_LOG4J}",
}
ADVISED_SHARE = 0.25  # of the machine's memory: above it, `--engine auto` names Spark
ADVISED_BYTES = 100 * 2**30  # on disk: published TPC-H runs show single-node engines faster below about this
_connections: dict[int, Any] = {}  # id(SparkSession) -> its Ibis backend, so that tables of one session join


def spark_session(master: str | None = None) -> Any:
    """The active SparkSession, or one started for lathe at ``master`` (default ``local[*]``);
    pyspark or Java missing raises ``MissingDependencyError`` with what to install."""
    module = _pyspark_sql()
    active = module.SparkSession.getActiveSession()
    if active is not None:
        return active
    if os.environ.get("JAVA_HOME") is None and shutil.which("java") is None:
        raise MissingDependencyError(_JAVA)
    builder = module.SparkSession.builder.master(master or DEFAULT_MASTER).appName("lathe")
    for name, value in _SETTINGS.items():
        builder = builder.config(name, value)
    if (master or DEFAULT_MASTER).startswith("local"):  # a cluster: adaptive execution, and its executors' Python
        builder = builder.config("spark.sql.shuffle.partitions", str(os.cpu_count() or 2))
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # the workers run lathe's Python, not `python3`
    if JDBC_JAR.is_file():
        builder = builder.config("spark.jars", str(JDBC_JAR))
    spark = _guarded(master or DEFAULT_MASTER, builder.getOrCreate)
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def read_spark(
    source: str, table: str | None = None, query: str | None = None, master: str | None = None
) -> tuple[str, ibis.Table]:
    """A description of ``source`` and its rows as an Ibis table of the SparkSession (see ``spark_session``).

    ``source`` is a file or glob (Parquet, CSV, TSV, JSON, NDJSON) or a ``postgresql://`` URI
    with ``table`` or ``query``, read through JDBC. Nothing is fetched but the count of rows.
    """
    session = spark_session(master)
    if is_database(source):
        frame, where = _read_jdbc(session, source, table, query), f"{describe(source)} through JDBC"
    elif table is not None or query is not None:
        raise InvalidParameterError(f"{source}: --table and --query apply to database sources, not to files")
    else:
        frame, where = _read_files(session, source), source
    if _guarded(where, frame.isEmpty):
        raise EmptySourceError(f"{where}: the source holds no rows; check the file, the glob or the table")
    name = f"lathe_{uuid.uuid4().hex}"
    frame.createOrReplaceTempView(name)
    return f"{where} (Spark, {session.sparkContext.master})", _connection(session).table(name)


def _connection(session: Any) -> Any:
    if id(session) not in _connections:
        _connections[id(session)] = _quiet(lambda: ibis.pyspark.connect(session))
    return _connections[id(session)]


def _read_files(session: Any, uri: str) -> Any:
    paths = [uri] if "://" in uri else expand(uri)  # a cluster's hdfs:// or s3a:// paths are Spark's to list
    kind = suffix(paths[0])
    if kind not in _FORMATS:
        raise SourceReadError(
            f"{uri}: Spark cannot read {kind or 'a file without an extension'}; "
            f"use one of {', '.join(sorted(_FORMATS))}"
        )
    reader, options = _FORMATS[kind]
    frame = _guarded(uri, lambda: session.read.format(reader).options(**options).load(paths))
    if reader == "json" and "_corrupt_record" in frame.columns:  # one JSON document (an array), not lines
        frame = _guarded(uri, lambda: session.read.options(multiLine="true", **options).json(paths))
    if reader != "csv":
        return frame
    # Whole numbers as 64 bits, as DuckDB reads a CSV file's (Spark infers 32 where they fit).
    return frame.selectExpr(*(_widened(name, kind) for name, kind in frame.dtypes))


def _widened(name: str, kind: str) -> str:
    quoted = "`" + name.replace("`", "``") + "`"
    return f"CAST({quoted} AS BIGINT) AS {quoted}" if kind in ("int", "smallint", "tinyint") else quoted


def _read_jdbc(session: Any, uri: str, table: str | None, query: str | None) -> Any:
    parts = urlsplit(uri)
    if ENGINES.get(parts.scheme.lower()) != "postgres":
        raise InvalidParameterError(
            f"{describe(uri)}: Spark reads databases through PostgreSQL's JDBC driver only; "
            "read this one with --engine duckdb"
        )
    if (table is None) == (query is None):
        raise InvalidParameterError(f"{describe(uri)}: name a --table or a --query for a database source (one of them)")
    if not JDBC_JAR.is_file():
        raise MissingDependencyError(
            f"reading PostgreSQL in Spark needs its JDBC driver at {JDBC_JAR}: "
            "apt-get install -y libpostgresql-jdbc-java"
        )
    database = unquote(parts.path.lstrip("/"))
    options = {
        "url": f"jdbc:postgresql://{parts.hostname or 'localhost'}:{parts.port or 5432}/{database}",
        "driver": "org.postgresql.Driver",
        "user": unquote(parts.username or os.environ.get("PGUSER", "")),
        "password": unquote(parts.password or os.environ.get("PGPASSWORD", "")),
    } | ({"dbtable": str(table)} if table is not None else {"query": str(query)})
    reader = session.read.format("jdbc").options(**{k: v for k, v in options.items() if v})
    return _guarded(uri, reader.load)


def _pyspark_sql() -> Any:
    try:
        return _quiet(lambda: importlib.import_module("pyspark.sql"))
    except ImportError as exc:
        raise MissingDependencyError(f"Spark needs an optional extra: {_INSTALL} ({exc})") from None


def _guarded(where: str, action: Callable[[], T]) -> T:
    """Run ``action``, turning Spark's errors (Java's, through py4j) into lathe's, without a password."""
    try:
        return _quiet(action)
    except Exception as exc:  # pyspark raises its own kinds, and py4j's for the JVM's
        text = " ".join(str(exc).split())
        password = urlsplit(where).password if "://" in where else None
        text = text.replace(password, "***") if password else text
        if "JAVA_GATEWAY_EXITED" in text or "Java gateway process exited" in text:
            raise MissingDependencyError(f"{_JAVA} ({text[:200]})") from None
        if "PATH_NOT_FOUND" in text or "does not exist" in text:
            raise SourceNotFoundError(f"{describe(where)}: {text[:300]}") from None
        raise SourceReadError(f"{describe(where)}: Spark failed: {_last_line(text)[:300]}") from None


def _last_line(text: str) -> str:
    """The Python error of a failed task (Spark's message ends with its traceback), or the message."""
    found = re.findall(r"(?:^|\s)(\w+(?:Error|Exception): .*?)(?= at org\.| File \"|$)", text)
    return str(found[-1]) if found else text


def _quiet(action: Callable[[], T]) -> T:
    with library_noise():
        return action()


def spark_advice(source: str | Path) -> str | None:
    """One line naming ``--engine spark`` when the files of ``source`` are large for this machine:
    more than ``ADVISED_SHARE`` of its memory or ``ADVISED_BYTES`` on disk; ``None`` otherwise."""
    uri = str(source)
    if is_database(uri) or "://" in uri or uri.endswith(".toml"):
        return None
    try:
        size = sum(os.path.getsize(path) for path in expand(uri))
    except (OSError, SourceNotFoundError, SourceReadError):
        return None  # the reader says what is wrong with it
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    if size <= ADVISED_SHARE * memory and size <= ADVISED_BYTES:
        return None
    return (
        f"{uri} is {size / 2**30:,.1f} GiB on disk, against {memory / 2**30:,.0f} GiB of memory here: "
        "Spark may serve it better than DuckDB (add --engine spark, and --master URL for a cluster)"
    )


def write_scored(
    table: ibis.Table, score: Callable[[pa.RecordBatch], pa.Table], schema: pa.Schema, out: Path, batch_rows: int
) -> None:
    """Score the rows of ``table`` (a Spark table) in Spark's executors, Arrow batches of at most
    ``batch_rows`` rows through ``score`` (``mapInArrow``; it must pickle), and write the results,
    of ``schema``, to the folder ``out`` as Parquet: whole, or not at all."""
    backend = ibis.get_backend(table)
    session = backend._session
    types = _quiet(lambda: importlib.import_module("pyspark.sql.pandas.types"))
    session.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(batch_rows))
    rows = session.sql(backend.compile(table))
    scored = rows.mapInArrow(functools.partial(_scored_batches, score, schema), types.from_arrow_schema(schema))
    partial = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(partial, ignore_errors=True)
    _guarded(str(out), lambda: scored.write.parquet(str(partial)))
    partial.rename(out)


def _scored_batches(
    score: Callable[[pa.RecordBatch], pa.Table], schema: pa.Schema, batches: Iterator[pa.RecordBatch]
) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        yield from score(batch).cast(schema).to_batches()
