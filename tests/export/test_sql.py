"""The SQL export, scored by the real engines: PostgreSQL and MariaDB (the local services),
SQLite and DuckDB in memory, Spark SQL in local mode; and scoring inside the database."""

from __future__ import annotations

import logging
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pandas as pd
import pytest

from lathe.backends import JDBC_JAR, column_types, create_scored, run_select, spark_session
from lathe.backends._quiet import library_noise
from lathe.bundle import Bundle
from lathe.errors import ExportError, InvalidParameterError, MissingDependencyError, SourceReadError
from lathe.export._pipeline import Pipeline, pipeline_of
from lathe.export._sql import DIALECTS, build, score, score_in_database
from lathe.export._verify import check_rows, compare
from lathe.features import DateParts, TextVector
from lathe.testing import mixed_table, reviews_table, shops_table, small_bundle
from tests.export._probe import feature_probe

TASKS = ("binary", "multiclass", "regression")
FAMILIES = ("linear", "lightgbm", "xgboost", "catboost", "blend")
SPARK_CASES = (("binary", "lightgbm"), ("multiclass", "linear"), ("regression", "lightgbm"))  # one per task: slow
_BUNDLES: dict[tuple[str, str, str, int], tuple[Bundle, Pipeline]] = {}


def _mixed(task: str) -> pd.DataFrame:
    return mixed_table(300, task)


def _dates(task: str) -> pd.DataFrame:
    """Timestamps to the millisecond (SQLite keeps no finer) over 1950-2030, before 1970 too."""
    frame = mixed_table(300, task)
    rng = np.random.default_rng(7)
    span = (pd.Timestamp("2030-12-31") - pd.Timestamp("1950-01-01")) // pd.Timedelta(milliseconds=1)
    frame["signup"] = pd.Timestamp("1950-01-01") + pd.to_timedelta(rng.integers(0, span, len(frame)), unit="ms")
    frame["signup"] = frame["signup"].where(rng.random(len(frame)) > 0.05)
    return frame


def _shops(task: str) -> pd.DataFrame:
    return shops_table(300, task)


def _reviews(task: str) -> pd.DataFrame:
    return reviews_table(400, task)


def _two_texts(task: str) -> pd.DataFrame:
    """Reviews with a title too: two text vectors."""
    frame = reviews_table(400, task)
    frame["title"] = frame["review"].shift(1)
    return frame


TABLES = {"mixed": _mixed, "dates": _dates, "shops": _shops, "reviews": _reviews, "two_texts": _two_texts}


def _bundle(
    task: str, family: str, table: str = "mixed", text: bool = True, rounds: int = 40
) -> tuple[Bundle, Pipeline]:
    """A bundle (and its pipeline) fitted once per test session on one of ``TABLES``, with or
    without its free text (SQLite cannot count words)."""
    if (task, family, table + str(text), rounds) not in _BUNDLES:
        frame = TABLES[table](task)
        bundle = small_bundle(task, family, table=frame if text else frame.drop(columns=["note"]), rounds=rounds)
        _BUNDLES[task, family, table + str(text), rounds] = bundle, pipeline_of(bundle)
    return _BUNDLES[task, family, table + str(text), rounds]


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One local SparkSession for the whole test session (it takes seconds to start), its tables
    in a temporary folder; ``spark_session`` finds it active."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
        sql = pytest.importorskip("pyspark.sql")
        builder = sql.SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
        if JDBC_JAR.is_file():  # as lathe's own session has it, for tests/spark's JDBC test in this session
            builder = builder.config("spark.jars", str(JDBC_JAR))
        warehouse = str(tmp_path_factory.mktemp("spark-warehouse"))
        session = builder.config("spark.sql.warehouse.dir", warehouse).getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    assert spark_session() is session
    yield session
    session.stop()


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> tuple[str, str | None]:
    """A dialect and the URI its rows are scored in (None: in memory, or local Spark)."""
    dialect = request.param
    if dialect == "spark":
        request.getfixturevalue("spark")
    uri = {"postgres": "postgres_uri", "mysql": "mariadb_uri"}.get(dialect)
    return dialect, request.getfixturevalue(uri) if uri else None


def _checked(
    dialect: str, uri: str | None, task: str, family: str, table: str = "mixed", rounds: int = 40
) -> dict[str, Any]:
    bundle, pipeline = _bundle(task, family, table, text=dialect != "sqlite", rounds=rounds)
    rows = check_rows(pipeline, bundle.sample)
    return compare(bundle, rows, score(build(pipeline, dialect), rows, pipeline, dialect, uri), dialect)


SERVERS_AND_DUCKDB = [(d, t, f) for d in ("postgres", "mysql", "duckdb") for t in TASKS for f in FAMILIES]


@pytest.mark.parametrize(("engine", "task", "family"), SERVERS_AND_DUCKDB, indirect=["engine"])
def test_the_engine_reproduces_the_bundle(engine: tuple[str, str | None], task: str, family: str) -> None:
    check = _checked(*engine, task, family)
    assert check["rows"] > 300


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("family", FAMILIES)
def test_sqlite_reproduces_the_bundle_without_text(task: str, family: str) -> None:
    _checked("sqlite", None, task, family)


@pytest.mark.usefixtures("spark")
@pytest.mark.parametrize(("task", "family"), SPARK_CASES)
def test_spark_reproduces_the_bundle(task: str, family: str) -> None:
    _checked("spark", None, task, family)


@pytest.mark.parametrize("engine", ["postgres", "mysql", "duckdb", "sqlite"], indirect=True)
@pytest.mark.parametrize("task", TASKS)
def test_a_category_of_many_levels_is_looked_up(engine: tuple[str, str | None], task: str) -> None:
    _checked(*engine, task, "lightgbm", table="shops")


@pytest.mark.usefixtures("spark")
def test_spark_looks_up_a_category_of_many_levels() -> None:
    _checked("spark", None, "multiclass", "lightgbm", table="shops")


@pytest.mark.parametrize("engine", ["postgres", "mysql", "duckdb", "sqlite"], indirect=True)
def test_seven_hundred_trees_are_added_in_two_steps(engine: tuple[str, str | None]) -> None:
    dialect, uri = engine
    _, pipeline = _bundle("binary", "lightgbm", text=dialect != "sqlite", rounds=700)
    assert "lathe_sums1" in build(pipeline, dialect)  # 700 trees: 28 sums of 25, then those 28 in two
    _checked(dialect, uri, "binary", "lightgbm", rounds=700)


@pytest.mark.parametrize("engine", ["postgres", "mysql", "duckdb"], indirect=True)
@pytest.mark.parametrize(
    ("task", "family"), [("binary", "lightgbm"), ("multiclass", "linear"), ("regression", "lightgbm")]
)
def test_a_text_vector_is_reproduced(engine: tuple[str, str | None], task: str, family: str) -> None:
    assert any(isinstance(step, TextVector) for step in _bundle(task, family, "reviews")[1].steps)
    _checked(*engine, task, family, table="reviews")


@pytest.mark.parametrize("engine", ["postgres", "duckdb"], indirect=True)
def test_two_text_vectors_take_a_step_each(engine: tuple[str, str | None]) -> None:
    dialect, _ = engine
    _, pipeline = _bundle("regression", "lightgbm", "two_texts")
    assert [s.column for s in pipeline.steps if isinstance(s, TextVector)] == ["review", "title"]
    assert "lathe_blocks1" in build(pipeline, dialect)
    _checked(*engine, "regression", "lightgbm", table="two_texts")


@pytest.mark.usefixtures("spark")
def test_spark_reproduces_a_text_vector() -> None:
    _checked("spark", None, "binary", "lightgbm", table="reviews")


@pytest.mark.parametrize("engine", ["postgres", "mysql", "duckdb"], indirect=True)
def test_a_text_vector_comes_out_to_the_last_bit(engine: tuple[str, str | None]) -> None:
    """Each text feature as the database computes it equals lathe's, bit for bit."""
    dialect, uri = engine
    bundle, pipeline = _bundle("binary", "linear", "reviews")
    rows = check_rows(pipeline, bundle.sample)
    (vector,) = [step for step in pipeline.steps if isinstance(step, TextVector)]
    native = bundle.plan.transform(rows)
    for name in vector.outputs:
        probe = feature_probe(pipeline, name)
        scored = score(build(probe, dialect), rows, probe, dialect, uri)["prediction"].to_numpy()
        np.testing.assert_array_equal(scored, native[:, pipeline.features.index(name)])


def test_sqlite_refuses_a_text_vector() -> None:
    _, pipeline = _bundle("binary", "lightgbm", "reviews")
    with pytest.raises(ExportError, match=r"text_vector transform of column 'review'.*sqlite"):
        build(pipeline, "sqlite")


def test_sqlite_refuses_word_counts() -> None:
    _, pipeline = _bundle("binary", "lightgbm")
    with pytest.raises(ExportError, match=r"text_stats.*'note'.*sqlite"):
        build(pipeline, "sqlite")


@pytest.mark.parametrize("engine", DIALECTS, indirect=True)
def test_dates_before_1970_read_alike_everywhere(engine: tuple[str, str | None]) -> None:
    dialect, uri = engine
    dates = next(s for s in _bundle("binary", "linear", "dates")[1].steps if s.column == "signup")
    assert isinstance(dates, DateParts)
    assert dates.reference is not None
    assert dates.reference < -7000  # days since 1970 of the earliest, in 1950
    for family in FAMILIES:
        _checked(dialect, uri, "binary", family, "dates")


def test_numbers_keep_every_digit() -> None:
    _, pipeline = _bundle("binary", "lightgbm")
    text = build(pipeline, "mysql")
    tree = pipeline.model.trees[0]  # type: ignore[union-attr]
    split = next(t for t, f in zip(tree.threshold, tree.feature, strict=True) if f >= 0 and t != 1.0000000180025095e-35)
    leaf = next(v for v, f in zip(tree.value, tree.feature, strict=True) if f < 0)
    assert repr(split) in text
    assert repr(leaf) in text


def test_an_unknown_dialect_is_named() -> None:
    _, pipeline = _bundle("binary", "linear")
    with pytest.raises(InvalidParameterError, match="Did you mean 'postgres'"):
        build(pipeline, "postgre")


# ---- scoring inside the database ----------------------------------------------------------------

_TYPES = {
    "postgres": {"id": "BIGINT", "text": "TEXT", "flag": "BOOLEAN", "time": "TIMESTAMP"},
    "mysql": {"id": "BIGINT", "text": "TEXT", "flag": "BOOLEAN", "time": "DATETIME(6)"},
    "duckdb": {"id": "BIGINT", "text": "TEXT", "flag": "BOOLEAN", "time": "TIMESTAMP"},
    "sqlite": {"id": "INTEGER", "text": "TEXT", "flag": "INTEGER", "time": "TEXT"},
}
_COLUMNS = {"customer_id": "id", "amount": "text", "plan": "text", "active": "flag", "signup": "time", "note": "text"}


def _raw_rows(with_text: bool) -> pd.DataFrame:
    """Rows as a database holds them: amounts as text with missing tokens, padded categories,
    one row without a key."""
    frame = mixed_table(400, "binary", seed=11)[[*_COLUMNS]]
    frame["amount"] = frame["amount"].map(lambda v: "NA" if np.isnan(v) else f" {v!r} ").astype(object)
    frame["plan"] = frame["plan"].where(frame.index % 7 != 0, " " + frame["plan"] + " ").astype(object)
    frame.loc[frame.index % 13 == 0, "plan"] = "n/a"
    frame["customer_id"] = frame["customer_id"].astype(object)
    frame.loc[5, "customer_id"] = None
    return frame if with_text else frame.drop(columns=["note"])


@contextmanager
def _connection(uri: str) -> Iterator[Any]:
    """An Ibis connection of the test's own, to set up and clear the database."""
    with library_noise():
        con = ibis.connect(uri)
    try:
        yield con
    finally:
        con.disconnect()


def _write(uri: str, dialect: str, name: str, frame: pd.DataFrame) -> None:
    """``frame`` as the table ``name`` of the database at ``uri``, in columns of its own types."""
    with _connection(uri) as con:
        cursor = con.con.cursor()
        marker = "?" if dialect in ("sqlite", "duckdb") else "%s"
        columns = ", ".join(f"{c} {_TYPES[dialect][_COLUMNS[c]]}" for c in frame.columns)
        cursor.execute(f"DROP TABLE IF EXISTS {name}")
        cursor.execute(f"CREATE TABLE {name} ({columns})")
        cursor.executemany(f"INSERT INTO {name} VALUES ({', '.join([marker] * len(frame.columns))})", _python(frame))
        if dialect == "sqlite":
            con.con.commit()


def _python(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    """The rows as Python values for a driver; timestamps as ISO text for SQLite (the table without
    the free text), which has no type for them."""
    iso = "note" not in frame

    def value(v: Any) -> Any:
        if isinstance(v, pd.Timestamp):
            return v.isoformat(sep=" ") if iso else v.to_pydatetime()
        return None if pd.isna(v) else bool(v) if isinstance(v, np.bool_) else v

    return [tuple(map(value, row)) for row in frame.astype(object).itertuples(index=False)]


def _read(uri: str, name: str) -> pd.DataFrame:
    """The rows of table or view ``name``, ordered by their key (the one without first)."""
    frame = run_select(uri, f"SELECT * FROM {name}", {})
    frame["customer_id"] = frame["customer_id"].astype("float64")
    return frame.sort_values("customer_id", na_position="first", kind="stable").reset_index(drop=True)


@pytest.fixture(params=["postgres", "mysql", "duckdb", "sqlite"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A database holding the table ``lathe_sql_source``: the two servers, DuckDB and SQLite files."""
    dialect = request.param
    if dialect in ("postgres", "mysql"):
        uri = request.getfixturevalue({"postgres": "postgres_uri", "mysql": "mariadb_uri"}[dialect])
    else:
        path = tmp_path / f"scores.{dialect}"
        if dialect == "duckdb":
            ibis.duckdb.connect(str(path)).disconnect()
        else:
            path.touch()
        uri = f"{dialect}:///{path}"
    _write(uri, dialect, "lathe_sql_source", _raw_rows(with_text=dialect != "sqlite"))
    yield dialect, uri
    with _connection(uri) as con:
        for statement in ("DROP VIEW IF EXISTS lathe_sql_view", "DROP TABLE IF EXISTS lathe_sql_scores",
                          "DROP TABLE IF EXISTS lathe_sql_source"):  # fmt: skip
            con.raw_sql(statement)


def _statements(records: list[logging.LogRecord]) -> tuple[list[str], list[int]]:
    """The statements sent (logged as "<where> runs: <statement>"), and the rows each fetch brought."""
    sent = [str(r.args[1]) for r in records if r.msg == "%s runs: %s" and isinstance(r.args, tuple)]
    fetched = [int(r.args[1]) for r in records if r.msg == "%s fetched %d row(s)" and isinstance(r.args, tuple)]
    return sent, fetched


def test_a_table_is_scored_in_key_ranges_without_a_row_leaving(
    database: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    dialect, uri = database
    bundle, pipeline = _bundle("binary", "lightgbm", text=dialect != "sqlite")
    with caplog.at_level(logging.DEBUG, logger="lathe.backends._sql"):
        written = score_in_database(
            pipeline, uri, "lathe_sql_source", "lathe_sql_scores", key="customer_id", batch_rows=150
        )
    sent, fetched = _statements(caplog.records)
    raw = _read(uri, "lathe_sql_source")
    assert written == len(raw) == 400
    assert sum(s.startswith(("CREATE TABLE", "INSERT INTO")) for s in sent) == 3  # three ranges
    assert max(fetched) == 1  # counts and bounds only
    values = {str(v).strip() for column in ("note", "amount") if column in raw for v in raw[column].dropna()}
    assert not [v for v in values if len(v) > 8 and any(v in s for s in sent)]  # no value went in a statement
    assert not any("VALUES" in s for s in sent)
    expected = bundle.predict(raw)
    scored = _read(uri, "lathe_sql_scores")
    assert scored["customer_id"].isna().sum() == 1
    assert (scored["prediction"].astype(str) == expected["prediction"].astype(str)).all()
    for column in ("probability_no", "probability_yes"):
        np.testing.assert_allclose(scored[column].to_numpy(float), expected[column].to_numpy(float), rtol=0, atol=1e-9)


def test_a_view_scores_the_table_as_it_is_read(database: tuple[str, str]) -> None:
    dialect, uri = database
    bundle, pipeline = _bundle("regression", "linear", text=dialect != "sqlite")
    assert score_in_database(pipeline, uri, "lathe_sql_source", "lathe_sql_view", view=True) == 400
    raw = _read(uri, "lathe_sql_source")
    scored = _read(uri, "lathe_sql_view")
    # The terms add up to values near 10; near zero, the engine's LN(1 + |x|) and numpy's log1p leave ulps of them.
    expected = bundle.predict(raw)["prediction"]
    np.testing.assert_allclose(scored["prediction"].to_numpy(float), expected, rtol=1e-12, atol=1e-12)


def test_a_failing_statement_leaves_the_existing_table(
    database: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    dialect, uri = database
    _, pipeline = _bundle("binary", "linear", text=dialect != "sqlite")
    score_in_database(pipeline, uri, "lathe_sql_source", "lathe_sql_scores")
    before = _read(uri, "lathe_sql_scores")
    errors = {  # what each engine refuses, row by row
        "postgres": "1 / (customer_id - customer_id)",
        "mysql": "1 / (customer_id - customer_id)",
        "duckdb": "CAST(CAST(customer_id AS TEXT) || 'x' AS INTEGER)",
        "sqlite": "ABS(-9223372036854775807 - 1 + customer_id - customer_id)",
    }

    def failing(d: str, table: str) -> str:  # fails in the second range of the key only
        return f"SELECT customer_id, CASE WHEN customer_id > 1200 THEN {errors[d]} ELSE 0 END AS x FROM {table}"

    with caplog.at_level(logging.DEBUG, logger="lathe.backends._sql"), pytest.raises(SourceReadError):
        create_scored(uri, failing, "lathe_sql_source", "lathe_sql_scores", key="customer_id", batch_rows=150)
    sent, _ = _statements(caplog.records)
    assert [s.split(" ", 2)[:2] for s in sent if s.startswith(("CREATE TABLE", "INSERT"))] == [
        ["CREATE", "TABLE"], ["INSERT", "INTO"]  # the first range was written, the second failed
    ]  # fmt: skip
    pd.testing.assert_frame_equal(_read(uri, "lathe_sql_scores"), before)
    with _connection(uri) as con, library_noise():
        assert not [t for t in con.list_tables() if t.startswith(("lathe_tmp_", "lathe_batch_"))]


def test_spark_scores_a_table_in_key_ranges(spark: Any) -> None:
    bundle, pipeline = _bundle("binary", "linear")
    raw = _raw_rows(with_text=True)
    schema = "customer_id BIGINT, amount STRING, plan STRING, active BOOLEAN, signup TIMESTAMP_NTZ, note STRING"
    spark.createDataFrame(_python(raw), schema).write.saveAsTable("lathe_sql_source")
    try:
        written = score_in_database(
            pipeline, "spark", "lathe_sql_source", "lathe_sql_scores", key="customer_id", batch_rows=150
        )
        scored = _read("spark", "lathe_sql_scores")
    finally:
        spark.sql("DROP TABLE IF EXISTS lathe_sql_source")
        spark.sql("DROP TABLE IF EXISTS lathe_sql_scores")
    assert written == 400
    expected = bundle.predict(raw.sort_values("customer_id", na_position="first", kind="stable"))
    np.testing.assert_allclose(scored["probability_yes"], expected["probability_yes"], rtol=0, atol=1e-9)


def test_spark_missing_names_its_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)  # import pyspark.sql now fails
    with pytest.raises(MissingDependencyError, match=r"pip install 'lathe\[spark\]'"):
        spark_session()


@pytest.mark.parametrize("engine", ["postgres", "mysql", "duckdb", "sqlite"], indirect=True)
def test_a_tuned_threshold_decides_the_label(engine: tuple[str, str | None]) -> None:
    dialect, uri = engine
    table = TABLES["mixed"]("binary")
    bundle = small_bundle("binary", "lightgbm", table=table.drop(columns=["note"]), threshold=0.3)
    pipeline = pipeline_of(bundle)
    rows = check_rows(pipeline, bundle.sample)
    compare(bundle, rows, score(build(pipeline, dialect), rows, pipeline, dialect, uri), dialect)


# ---- typed columns: read as they are stored, without the text check --------------------------------

_TYPED_CASES = [("binary", "lightgbm"), ("multiclass", "linear"), ("regression", "xgboost"), ("binary", "blend")]


def _with_infinities(rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` with a NaN, an infinity and a negative infinity in the amounts: missing, as lathe reads them."""
    rows = rows.copy()
    rows.loc[rows.index[:30], "amount"] = np.tile([np.nan, np.inf, -np.inf], 10)
    return rows


@pytest.mark.parametrize("engine", ["postgres", "mysql", "duckdb", "sqlite"], indirect=True)
@pytest.mark.parametrize(("task", "family"), _TYPED_CASES)
def test_typed_columns_give_the_text_checks_predictions(engine: tuple[str, str | None], task: str, family: str) -> None:
    """Every input read as the upload types it (numbers and booleans as doubles, timestamps): the
    same numbers, to the last bit, as through the text check, and the bundle's."""
    dialect, uri = engine
    bundle, pipeline = _bundle(task, family, "dates", text=dialect != "sqlite")
    rows = check_rows(pipeline, bundle.sample)
    typed = {c.name for c in pipeline.inputs}
    texts = score(build(pipeline, dialect), rows, pipeline, dialect, uri)
    stored = score(build(pipeline, dialect), rows, pipeline, dialect, uri, typed=typed)
    pd.testing.assert_frame_equal(stored, texts, check_exact=True)
    compare(bundle, rows, stored, dialect)


@pytest.mark.parametrize("engine", ["postgres", "duckdb", "spark"], indirect=True)
def test_a_floats_nan_and_infinities_are_missing(engine: tuple[str, str | None]) -> None:
    dialect, uri = engine
    bundle, pipeline = _bundle("binary", "lightgbm", "dates")
    rows = _with_infinities(check_rows(pipeline, bundle.sample))
    for typed in ({"amount"}, set()):  # read as a double, and through the text check (which reads "inf" too)
        compare(bundle, rows, score(build(pipeline, dialect), rows, pipeline, dialect, uri, typed=typed), dialect)


@pytest.mark.parametrize("engine", ["postgres", "mysql", "duckdb", "sqlite"], indirect=True)
def test_an_infinity_written_out_is_missing(engine: tuple[str, str | None]) -> None:
    dialect, uri = engine
    bundle, pipeline = _bundle("binary", "lightgbm", text=dialect != "sqlite")
    rows = check_rows(pipeline, bundle.sample)
    spelled = ["inf", " -Infinity ", "+INF", "infinity", "-inf", "+Infinity"]
    rows["amount"] = rows["amount"].map(repr).astype(object)
    rows.loc[rows.index[:30], "amount"] = spelled * 5
    compare(bundle, rows, score(build(pipeline, dialect), rows, pipeline, dialect, uri), dialect)


def test_the_typed_sql_has_no_text_check_for_a_typed_column() -> None:
    _, pipeline = _bundle("binary", "linear", "dates")
    types = {"amount": "float", "customer_id": "integer", "signup": "datetime", "active": "boolean"}
    typed = build(pipeline, "duckdb", types=types)
    text = build(pipeline, "duckdb")
    assert 'CAST("amount" AS TEXT)' in text
    assert 'CAST("amount" AS TEXT)' not in typed
    assert 'CAST("signup" AS TEXT)' not in typed
    assert 'CAST("active" AS TEXT)' not in typed
    assert 'CAST("plan" AS TEXT)' in typed  # a string keeps its check


_STORED = {
    "postgres": {"id": "BIGINT", "number": "DOUBLE PRECISION", "text": "TEXT", "flag": "BOOLEAN", "time": "TIMESTAMP"},
    "mysql": {"id": "BIGINT", "number": "DOUBLE", "text": "TEXT", "flag": "BOOLEAN", "time": "DATETIME(6)"},
    "duckdb": {"id": "BIGINT", "number": "DOUBLE", "text": "TEXT", "flag": "BOOLEAN", "time": "TIMESTAMP"},
    "sqlite": {"id": "INTEGER", "number": "REAL", "text": "TEXT", "flag": "INTEGER", "time": "TEXT"},
}
_STORED_COLUMNS = {"customer_id": "id", "amount": "number", "plan": "text", "active": "flag", "signup": "time",
                   "note": "text"}  # fmt: skip


@pytest.fixture(params=["postgres", "mysql", "duckdb", "sqlite"])
def typed_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str, pd.DataFrame]]:
    """A database holding ``lathe_sql_typed``: the mixed table in columns of its own types (amounts
    as doubles, flags as booleans, timestamps), and the rows it holds."""
    dialect = request.param
    if dialect in ("postgres", "mysql"):
        uri = request.getfixturevalue({"postgres": "postgres_uri", "mysql": "mariadb_uri"}[dialect])
    else:
        path = tmp_path / f"typed.{dialect}"
        if dialect == "duckdb":
            ibis.duckdb.connect(str(path)).disconnect()
        else:
            path.touch()
        uri = f"{dialect}:///{path}"
    frame = mixed_table(400, "binary", seed=5)[[*_STORED_COLUMNS]]
    frame = frame if dialect != "sqlite" else frame.drop(columns=["note"])
    with _connection(uri) as con:
        cursor = con.con.cursor()
        columns = ", ".join(f"{c} {_STORED[dialect][_STORED_COLUMNS[c]]}" for c in frame.columns)
        marker = "?" if dialect in ("sqlite", "duckdb") else "%s"
        cursor.execute("DROP TABLE IF EXISTS lathe_sql_typed")
        cursor.execute(f"CREATE TABLE lathe_sql_typed ({columns})")
        cursor.executemany(f"INSERT INTO lathe_sql_typed VALUES ({', '.join([marker] * len(frame.columns))})",
                           _python(frame))  # fmt: skip
        if dialect == "sqlite":
            con.con.commit()
    yield dialect, uri, frame
    with _connection(uri) as con:
        for table in ("lathe_sql_typed", "lathe_sql_typed_scores", "lathe_sql_text_scores"):
            con.raw_sql(f"DROP TABLE IF EXISTS {table}")


def test_the_database_says_its_column_types(typed_database: tuple[str, str, pd.DataFrame]) -> None:
    dialect, uri, _ = typed_database
    kinds = column_types(uri, "lathe_sql_typed")
    if dialect == "sqlite":
        assert kinds == {}  # a column declared REAL may hold text: SQLite's are read through the check
        return
    flag = "integer" if dialect == "mysql" else "boolean"  # MySQL's BOOLEAN is a TINYINT(1)
    assert kinds == {"customer_id": "integer", "amount": "float", "plan": "text", "active": flag,
                     "signup": "datetime", "note": "text"}  # fmt: skip


@pytest.mark.parametrize(("task", "family"), [("binary", "lightgbm"), ("regression", "linear")])
def test_a_typed_table_is_scored_in_the_database_as_through_the_check(
    typed_database: tuple[str, str, pd.DataFrame], task: str, family: str
) -> None:
    """``score_in_database`` reads the column types from the database: its typed statement scores
    as the text check does, and as the bundle."""
    dialect, uri, frame = typed_database
    bundle, pipeline = _bundle(task, family, text=dialect != "sqlite")
    score_in_database(pipeline, uri, "lathe_sql_typed", "lathe_sql_typed_scores")
    score_in_database(pipeline, uri, "lathe_sql_typed", "lathe_sql_text_scores", types={})
    typed, text = _read(uri, "lathe_sql_typed_scores"), _read(uri, "lathe_sql_text_scores")
    pd.testing.assert_frame_equal(typed, text, check_exact=True)
    expected = bundle.predict(frame.sort_values("customer_id", kind="stable"))
    column = "probability_yes" if task == "binary" else "prediction"
    np.testing.assert_allclose(typed[column].to_numpy(float), expected[column], rtol=1e-12, atol=1e-9)
