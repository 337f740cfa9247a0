"""Database sources against the real engines: PostgreSQL, MariaDB, SQLite and DuckDB files."""

from __future__ import annotations

import gc
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ibis
import pandas as pd
import pyarrow as pa
import pytest

import lathe
from lathe.backends import close, describe, open_table, sampled, to_frame
from lathe.cli import main
from lathe.errors import (
    InvalidParameterError,
    SourceAccessError,
    SourceNotFoundError,
    SourceReadError,
    SourceUnreachableError,
)
from lathe.profile import SemanticType, profile_in_detail, profile_table


def _connect(uri: str) -> Any:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Unable to set session timezone")
        return ibis.connect(uri.replace("mariadb://", "mysql://"))


@pytest.fixture(params=["postgres", "mariadb"])
def server(request: pytest.FixtureRequest, table: pd.DataFrame) -> Iterator[str]:
    """A server database holding ``table`` as ``lathe_customers``."""
    uri = request.getfixturevalue(f"{request.param}_uri")
    connection = _connect(uri)
    rows = table.drop(columns=["unused"]) if request.param == "mariadb" else table  # MySQL cannot store NaN
    connection.create_table("lathe_customers", pa.Table.from_pandas(rows), overwrite=True)
    yield uri
    connection.drop_table("lathe_customers", force=True)
    connection.disconnect()


@pytest.fixture(params=["sqlite", "duckdb"])
def database_file(request: pytest.FixtureRequest, tmp_path: Path, table: pd.DataFrame) -> str:
    """A database file holding ``table`` as ``lathe_customers``."""
    path = tmp_path / f"data.{request.param}"
    connection = getattr(ibis, request.param).connect(str(path))
    connection.create_table("lathe_customers", pa.Table.from_pandas(table.drop(columns=["unused"])))
    connection.disconnect()
    return f"{request.param}:///{path}"


def test_a_table_is_read_and_profiled_in_the_database(server: str, table: pd.DataFrame) -> None:
    where, rows = open_table(server, table="lathe_customers")
    profile = profile_table(rows)
    assert profile.rows == len(table)
    assert profile.column("plan").semantic_type is SemanticType.CATEGORICAL
    assert profile.column("customer_id").semantic_type is SemanticType.IDENTIFIER
    assert "lathe_customers" in where
    frame = to_frame(rows).sort_values("customer_id")
    assert frame["plan"].tolist() == table["plan"].tolist()


def test_a_query_is_read(server: str) -> None:
    _, rows = open_table(server, query="select customer_id, plan from lathe_customers where plan = 'pro'")
    frame = to_frame(rows)
    assert set(frame["plan"]) == {"pro"}
    assert list(frame.columns) == ["customer_id", "plan"]


def test_a_view_is_sampled_where_it_lives(server: str) -> None:
    connection = _connect(server)
    connection.raw_sql("CREATE OR REPLACE VIEW lathe_customers_view AS SELECT * FROM lathe_customers").close()
    try:
        _, rows = open_table(server, table="lathe_customers_view")
        drawn = to_frame(sampled(rows, 0.5, seed=0))  # PostgreSQL's TABLESAMPLE refuses a view
        assert 0 < len(drawn) < 400
        assert set(drawn.columns) >= {"customer_id", "plan"}
    finally:
        connection.raw_sql("DROP VIEW lathe_customers_view").close()
        connection.disconnect()


def test_database_files(database_file: str, table: pd.DataFrame) -> None:
    _, rows = open_table(database_file, table="lathe_customers")
    assert profile_table(rows).rows == len(table)
    assert len(to_frame(rows)) == len(table)


def test_train_on_a_server_table_and_predict_from_a_query(tmp_path: Path, server: str) -> None:
    model, scored = tmp_path / "model", tmp_path / "scored.csv"
    args = ["train", server, "--table", "lathe_customers", "--target", "target", "--trials", "2", "--out", str(model)]
    assert main(args) == 0
    query = "select * from lathe_customers where plan = 'basic'"
    assert main(["predict", str(model), server, "--query", query, "--out", str(scored)]) == 0
    out = pd.read_csv(scored)
    assert len(out) > 0
    assert list(out.columns) == ["customer_id", "prediction", "probability_no", "probability_yes"]


def test_a_password_never_reaches_the_bundle_or_the_output(
    tmp_path: Path, postgres_uri: str, capsys: pytest.CaptureFixture[str], table: pd.DataFrame
) -> None:
    connection = _connect(postgres_uri)
    connection.create_table("lathe_customers", pa.Table.from_pandas(table), overwrite=True)
    connection.disconnect()
    secret = "Planted-Secret-9"
    uri = postgres_uri.replace("postgres@", f"postgres:{secret}@")  # trust auth accepts any password
    lathe.train(uri, target="target", table="lathe_customers", trials=1, budget=None, out=tmp_path / "m")
    captured = capsys.readouterr()
    assert secret not in captured.out + captured.err
    for path in (tmp_path / "m").iterdir():
        assert secret not in path.read_text(errors="replace"), path.name
    assert describe(uri) == postgres_uri.replace("postgres@", "postgres:***@")


def test_unreachable_server() -> None:
    with pytest.raises(SourceUnreachableError, match=r"cannot reach the database server") as caught:
        open_table("postgresql://postgres:hunter2@127.0.0.1:1/test", table="t")
    assert "hunter2" not in str(caught.value)


def test_wrong_password(mariadb_uri: str) -> None:
    uri = mariadb_uri.replace("root@", "root:wrong-password@")
    with pytest.raises(SourceAccessError, match="refused the credentials") as caught:
        open_table(uri, table="t")
    assert "wrong-password" not in str(caught.value)


def test_missing_table_suggests_the_closest(server: str) -> None:
    with pytest.raises(SourceNotFoundError, match="Did you mean 'lathe_customers'"):
        open_table(server, table="lathe_customer")


def test_query_with_a_syntax_error(server: str) -> None:
    with pytest.raises(SourceReadError, match="could not run this"):
        open_table(server, query="selec * from lathe_customers")


def test_missing_database_file(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError, match="no such database file"):
        open_table(f"sqlite:///{tmp_path}/nope.db", table="t")


def test_table_or_query_is_required_and_only_for_databases(postgres_uri: str, csv_file: Path) -> None:
    with pytest.raises(InvalidParameterError, match="name a --table or a --query"):
        open_table(postgres_uri)
    with pytest.raises(InvalidParameterError, match="names a sheet of an Excel workbook or a database table"):
        open_table(str(csv_file), table="t")
    with pytest.raises(InvalidParameterError, match="--query applies to database sources"):
        open_table(str(csv_file), query="select 1")


def test_a_detailed_profile_runs_in_the_database(server: str, table: pd.DataFrame) -> None:
    _, rows = open_table(server, table="lathe_customers")
    profile = profile_in_detail(rows)
    close(rows)
    amount = profile.column("amount")
    assert sum(n for _, _, n in amount.histogram) == table["amount"].notna().sum()
    assert profile.column("plan").top[0] == ("basic", int((table["plan"] == "basic").sum()))
    assert profile.duplicate_rows == 0
    method = "linear" if server.startswith("postgresql") else "lower"  # percentile_cont, else the value below
    assert amount.quantiles == pytest.approx(
        [table["amount"].quantile(q, interpolation=method) for q in (0.25, 0.5, 0.75)]
    )


def test_a_table_larger_than_max_rows_is_sampled_in_the_database(server: str) -> None:
    bundle = lathe.train(server, target="target", table="lathe_customers", trials=1, max_rows=200, verbose=False)
    data = bundle.manifest["data"]

    assert data["rows"] == 400
    assert 120 < data["fetched_rows"] < 280  # drawn afresh each time: neither engine takes a seed through Ibis


def test_a_failed_train_closes_its_connection(server: str) -> None:
    with pytest.raises(lathe.errors.ColumnNotFoundError):
        lathe.train(server, target="nope", table="lathe_customers", trials=1, verbose=False)
    gc.collect()  # warnings are errors here: a connection left open warns when it is collected
