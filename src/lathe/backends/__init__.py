"""The seam to the engines that hold the data; the only place that imports a driver."""

from lathe.backends._catalog import Catalog
from lathe.backends._databases import describe, is_database, read_database
from lathe.backends._duckdb import close, fetch, read_frame, read_source, sampled, to_frame
from lathe.backends._log import LogTable, arrow_type, log_uri
from lathe.backends._open import ENGINES, open_table
from lathe.backends._project import Project, is_project, read_project
from lathe.backends._spark import DEFAULT_MASTER, JDBC_JAR, read_spark, spark_advice, spark_session, write_scored
from lathe.backends._sql import BATCH_ROWS, column_types, create_scored, run_select, upload_kind
from lathe.backends._stream import chunks, count_rows

__all__ = [
    "BATCH_ROWS",
    "DEFAULT_MASTER",
    "ENGINES",
    "JDBC_JAR",
    "Catalog",
    "LogTable",
    "Project",
    "arrow_type",
    "chunks",
    "close",
    "column_types",
    "count_rows",
    "create_scored",
    "describe",
    "fetch",
    "is_database",
    "is_project",
    "log_uri",
    "open_table",
    "read_database",
    "read_frame",
    "read_project",
    "read_source",
    "read_spark",
    "run_select",
    "sampled",
    "spark_advice",
    "spark_session",
    "to_frame",
    "upload_kind",
    "write_scored",
]
