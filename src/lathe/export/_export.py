"""``export``: write one format of a bundle's whole pipeline, checked before it is written."""

from __future__ import annotations

import importlib
import json
import os
import tempfile
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pandas as pd

from lathe import _display
from lathe.backends import BATCH_ROWS, column_types, describe
from lathe.bundle import Bundle, load_bundle, sha256
from lathe.errors import ExportError, InvalidParameterError, MissingDependencyError
from lathe.export._pipeline import Pipeline, pipeline_of
from lathe.export._sql import DIALECTS
from lathe.export._verify import check_rows, compare
from lathe.features import coerce_frame

FORMATS = ("onnx", "pmml", "sql")
FOLDER = "exports"
RECORD = "exports.json"  # what was exported, its checksum, and how it was checked
_SCHEMES = {"postgresql": "postgres", "postgres": "postgres", "mysql": "mysql", "mariadb": "mysql",
            "sqlite": "sqlite", "duckdb": "duckdb"}  # fmt: skip
_SERVERS = ("postgres", "mysql")  # dialects checked in a database the user names


def export(
    bundle: str | Path,
    format: str,
    dialect: str | None = None,
    table: str = "input",
    verify_in: str | None = None,
    typed: bool = False,
) -> Path:
    """Write ``format`` (onnx, pmml or sql) of the bundle in folder ``bundle`` to its ``exports/``
    folder, after checking that an independent engine scoring the export reproduces the bundle's
    predictions on its sample rows and edge cases; return the file written.

    For sql, ``dialect`` is one of ``DIALECTS`` and ``table`` names the table the SELECT reads.
    DuckDB and SQLite are checked in memory, Spark SQL in local mode; PostgreSQL and MySQL/MariaDB
    in the database ``verify_in`` names. The check's figures are recorded in ``exports/exports.json``.
    With ``typed``, the SQL reads the table's number inputs from numeric columns and its datetime
    inputs from timestamp columns as they are, without the text check for written-out missing
    values ("NA", "?"), which costs several times the rest of a linear model; a table holding
    such a column as text then fails to score (or in MySQL and SQLite, reads "NA" as 0).
    A format that cannot express a step, or an export that does not match, raises ``ExportError``
    and nothing is written.
    """
    if typed and format != "sql":
        raise InvalidParameterError(f"--typed is for the sql format, not {format}")
    return _export(bundle, format, dialect, table, verify_in, typed=typed)


def _export(
    bundle: str | Path,
    format: str,
    dialect: str | None,
    table: str,
    verify_in: str | None,
    typed: bool = False,
    types: Mapping[str, str] | None = None,
) -> Path:
    """``export``; the SQL reads the table's columns as ``types`` gives them (by default, with
    ``typed``, as ``typed_inputs`` assumes them, else all through the text check)."""
    if format not in FORMATS:
        raise InvalidParameterError(f"unknown export format {format!r}; choose one of {', '.join(FORMATS)}")
    folder = Path(bundle)
    loaded = load_bundle(folder)
    if loaded.sample is None:
        raise ExportError(
            f"{folder}: the bundle keeps no sample rows to check an export on; retrain it with this version of lathe"
        )
    pipeline = pipeline_of(loaded)
    started = time.perf_counter()
    facts: dict[str, Any] = {"format": format, "dialect": dialect, "table": table}
    if format == "sql":
        stored = dict(types) if types is not None else _format("sql").typed_inputs(pipeline) if typed else {}
        name, artifact, check = _sql_export(loaded, pipeline, dialect, table, verify_in, stored)
        facts["typed_columns"] = sorted(c.name for c in pipeline.inputs if stored.get(c.name, "text") != "text")
    else:
        if dialect is not None:
            raise InvalidParameterError(f"--dialect is for the sql format, not {format}")
        name, artifact, check = _model_export(loaded, pipeline, format)
    check["seconds"] = round(time.perf_counter() - started, 2)
    path = _write(folder, name, artifact, {**facts, "check": check})
    difference = check.get("max_abs_difference", check.get("max_relative_difference"))
    _display.status(
        f"wrote {path}: checked by {check['engine']} on {check['rows']:,} rows, largest difference {difference:.2g}"
    )
    return path


def score_in_database(
    bundle: str | Path,
    uri: str,
    table: str,
    into: str,
    view: bool = False,
    key: str | None = None,
    batch_rows: int = BATCH_ROWS,
) -> int:
    """Score the table ``table`` of the database at ``uri`` into its table ``into`` (or a view,
    with ``view``) by the bundle's SQL export, run by the database: no row leaves it. Return the
    rows scored.

    The SQL export for the database's dialect is written and checked first (see ``export``),
    reading each column the database types as a number, boolean or timestamp as it is stored
    (its kinds are read from the database's catalog; see ``lathe.backends.column_types``);
    ``uri`` may also be ``spark``, the active SparkSession (a local one where none runs). With
    ``key``, a numeric column, a table of more than ``batch_rows`` rows is scored in ranges of the
    key. ``into`` is written under a temporary name and renamed at the end: a failure leaves a
    table already there untouched.
    """
    dialect = dialect_of(uri)
    types = column_types(uri, table)
    _export(bundle, "sql", dialect, table, uri if dialect in _SERVERS else None, types=types)
    pipeline = pipeline_of(load_bundle(bundle))
    _display.status(f"scoring {table} into {into} inside {describe(uri)}")
    started = time.perf_counter()
    count = int(_format("sql").score_in_database(
        pipeline, uri, table, into, view=view, key=key, batch_rows=batch_rows, types=types
    ))  # fmt: skip
    made = "defined the view" if view else "wrote"
    _display.status(f"{made} {into}: {count:,} rows scored in the database in {time.perf_counter() - started:.1f} s")
    return count


def onnx_feed(bundle: Bundle, rows: pd.DataFrame) -> dict[str, Any]:
    """The input tensors of the bundle's ONNX export for raw ``rows``, for ``InferenceSession.run``:
    one per input column, coerced to its kind (see ``lathe.export._onnx``)."""
    return dict(_format("onnx").feed(coerce_frame(rows, bundle.plan.inputs), pipeline_of(bundle)))


def dialect_of(uri: str) -> str:
    """The SQL dialect of the database at ``uri`` (``spark``: Spark SQL)."""
    if uri == "spark":
        return "spark"
    scheme = urlsplit(uri).scheme.lower()
    if scheme not in _SCHEMES or "://" not in uri:
        raise InvalidParameterError(
            f"{describe(uri)}: not a database URI lathe can score in; use postgresql://, mysql://, sqlite:/// "
            "or duckdb:///, or spark"
        )
    return _SCHEMES[scheme]


def _model_export(bundle: Bundle, pipeline: Pipeline, format: str) -> tuple[str, bytes, dict[str, Any]]:
    rows = check_rows(pipeline, _sample(bundle))
    _display.status(f"building the {format.upper()} export and checking it on {len(rows):,} rows")
    writer = _format(format)
    if format == "onnx":
        model = writer.build(pipeline)
        return "model.onnx", model, compare(bundle, rows, writer.score(model, rows, pipeline), "onnxruntime")
    document = writer.build(pipeline)
    scored = writer.score(document, rows, pipeline)
    return "model.pmml", document.encode(), compare(bundle, rows, scored, "JPMML-Evaluator")


def _sql_export(
    bundle: Bundle, pipeline: Pipeline, dialect: str | None, table: str, verify_in: str | None, types: dict[str, str]
) -> tuple[str, bytes, dict[str, Any]]:
    if dialect not in DIALECTS:
        raise InvalidParameterError(f"the sql format needs --dialect, one of {', '.join(DIALECTS)}")
    if dialect in _SERVERS and verify_in is None:
        raise InvalidParameterError(
            f"name a {dialect} database to check the SQL in: --verify-in {dialect}ql://HOST/DB"
            if dialect == "postgres" else "name a MySQL or MariaDB database to check the SQL in: --verify-in mysql://HOST/DB"
        )  # fmt: skip
    if verify_in is not None and dialect_of(verify_in) != dialect:
        raise InvalidParameterError(f"{describe(verify_in)} is not a {dialect} database; the check must run in one")
    rows = check_rows(pipeline, _sample(bundle))
    memory = "Spark SQL, local mode" if dialect == "spark" else f"{dialect}, in memory"
    where = f"{dialect} at {describe(verify_in)}" if verify_in and verify_in != "spark" else memory
    _display.status(f"building the {dialect} SQL export and checking it on {len(rows):,} rows in {where}")
    writer = _format("sql")
    text = writer.build(pipeline, dialect, table, types=types)
    typed = {name for name, kind in types.items() if kind != "text"}
    scored = writer.score(text, rows, pipeline, dialect, verify_in, typed=typed)
    check = compare(bundle, rows, scored, where)
    return f"model.{dialect}.sql", text.encode(), check


def _format(name: str) -> Any:
    """The module writing format ``name``; its engine's libraries come with the export extra."""
    try:
        return importlib.import_module(f"lathe.export._{name}")
    except ImportError as exc:
        raise MissingDependencyError(f"exports need an optional extra: pip install 'lathe[export]' ({exc})") from None


def _sample(bundle: Bundle) -> pd.DataFrame:
    assert bundle.sample is not None
    return bundle.sample


def _write(folder: Path, name: str, artifact: bytes, facts: dict[str, Any]) -> Path:
    """Write ``exports/name`` and its entry in ``exports/exports.json``, each by an atomic rename."""
    exports = folder / FOLDER
    exports.mkdir(exist_ok=True)
    path = exports / name
    _replace(path, artifact)
    record_path = exports / RECORD
    record = json.loads(record_path.read_text()) if record_path.is_file() else {}
    record[name] = {
        **facts, "sha256": sha256(path), "bytes": len(artifact),
        "written": datetime.now(UTC).isoformat(timespec="seconds"),
    }  # fmt: skip
    _replace(record_path, json.dumps(record, indent=1).encode())
    return path


def _replace(path: Path, data: bytes) -> None:
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
