"""Spark reads files, globs, project files and PostgreSQL (JDBC); profiles, rows and plans match DuckDB's."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ibis
import pandas as pd
import pyarrow as pa
import pytest

import lathe
from lathe.backends import close, open_table, to_frame
from lathe.cli import main
from lathe.errors import InvalidParameterError, SourceNotFoundError
from lathe.features import plan_features
from lathe.profile import profile_in_detail, profile_table
from lathe.testing import mixed_table
from tests.spark.conftest import MASTER


def _both(source: Path | str, **options: Any) -> tuple[Any, Any]:
    return open_table(source, engine="spark", master=MASTER, **options)[1], open_table(source, **options)[1]


def _rounded(value: Any) -> Any:
    """``value`` with every float to 12 significant digits."""
    if isinstance(value, float):
        return float(f"{value:.12g}")
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(item) for item in value]
    return value


def _rows(table: Any, key: str) -> pd.DataFrame:
    return to_frame(table).sort_values(key).reset_index(drop=True)


def test_a_parquet_file_profiles_and_plans_as_on_duckdb(spark: Any, parquet_file: Path) -> None:
    on_spark, on_duckdb = _both(parquet_file)

    described = profile_in_detail(on_spark)
    assert described.to_dict() == profile_in_detail(on_duckdb).to_dict()
    profile = profile_table(on_spark, ["target"])
    assert profile.to_dict() == profile_table(on_duckdb, ["target"]).to_dict()
    rows, expected = _rows(on_spark, "customer_id"), _rows(on_duckdb, "customer_id")
    pd.testing.assert_frame_equal(rows, expected)
    plans = [plan_features(profile, frame, exclude=("target",)).to_dict() for frame in (rows, expected)]
    assert plans[0] == plans[1]


def test_a_glob_of_csv_files_reads_as_on_duckdb(spark: Any, tmp_path: Path) -> None:
    table = mixed_table(200).drop(columns=["active"])  # Spark reads True/False as booleans, DuckDB as text
    table.iloc[:100].to_csv(tmp_path / "a.csv", index=False)
    table.iloc[100:].to_csv(tmp_path / "b.csv", index=False)

    on_spark, on_duckdb = _both(str(tmp_path / "*.csv"))

    assert list(on_spark.schema().types) == [
        t.copy(scale=None) if t.is_timestamp() else t for t in on_duckdb.schema().types
    ]  # Spark's timestamps are microseconds, without saying so
    pd.testing.assert_frame_equal(_rows(on_spark, "customer_id"), _rows(on_duckdb, "customer_id"))


def test_json_lines_and_a_json_array_both_read(spark: Any, tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": [1, 2, 3], "y": ["a", "b", None]})
    frame.to_json(tmp_path / "lines.jsonl", orient="records", lines=True)
    frame.to_json(tmp_path / "array.json", orient="records")

    for name in ("lines.jsonl", "array.json"):
        rows = _rows(open_table(tmp_path / name, engine="spark", master=MASTER)[1], "x")
        assert rows["x"].tolist() == [1, 2, 3]
        assert rows["y"].tolist()[:2] == ["a", "b"]


@pytest.fixture
def postgres_table(postgres_uri: str, jdbc_jar: str) -> Iterator[str]:
    """PostgreSQL holding ``lathe_spark_rows`` (``mixed_table``)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Unable to set session timezone")
        connection = ibis.connect(postgres_uri)
    connection.create_table("lathe_spark_rows", pa.Table.from_pandas(mixed_table(300)), overwrite=True)
    yield postgres_uri
    connection.drop_table("lathe_spark_rows", force=True)
    connection.disconnect()


def test_a_postgresql_table_reads_through_jdbc_as_through_ibis(spark: Any, postgres_table: str) -> None:
    on_spark, on_postgres = _both(postgres_table, table="lathe_spark_rows")

    spark_profile, postgres_profile = profile_table(on_spark).to_dict(), profile_table(on_postgres).to_dict()
    close(on_postgres)
    assert _rounded(spark_profile) == _rounded(postgres_profile)  # the engines' sums differ in the last bit
    queried = open_table(postgres_table, query="SELECT customer_id FROM lathe_spark_rows", engine="spark")[1]
    assert _rows(queried, "customer_id")["customer_id"].tolist() == list(range(1000, 1300))


def test_a_project_joins_and_aggregates_in_spark_as_in_duckdb(spark: Any, tmp_path: Path) -> None:
    customers = pd.DataFrame({"customer_id": [1, 2, 3, 4], "plan_id": [1, 2, 1, 3], "churned": ["y", "n", "n", "y"]})
    plans = pd.DataFrame({"plan_id": [1, 2, 3], "price": [5.0, 15.0, 30.0]})
    calls = pd.DataFrame({"customer_id": [1, 1, 2, 4, 4, 4], "minutes": [3.0, 4.0, 10.0, 1.0, 2.0, 6.0]})
    for name, frame in (("customers", customers), ("plans", plans), ("calls", calls)):
        frame.to_parquet(tmp_path / f"{name}.parquet", index=False)
    project = tmp_path / "project.toml"
    project.write_text(
        "".join(f'[sources.{n}]\nuri = "{n}.parquet"\n' for n in ("customers", "plans", "calls"))
        + """
[[relationships]]
parent = "customers"
child = "plans"
on = ["plan_id"]
[[relationships]]
parent = "customers"
child = "calls"
on = ["customer_id"]
[target]
table = "customers"
column = "churned"
"""
    )

    on_spark, on_duckdb = _both(project)

    rows = _rows(on_spark, "customer_id")
    pd.testing.assert_frame_equal(rows, _rows(on_duckdb, "customer_id"))
    assert rows["plans_price"].tolist() == [5.0, 15.0, 5.0, 30.0]


def test_the_cli_trains_on_spark(spark: Any, parquet_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "model"
    argv = ["train", str(parquet_file), "--target", "target", "--engine", "spark", "--trials", "1", "--out", str(out)]
    assert main(argv) == 0
    assert "Spark" in (out / "manifest.json").read_text()


def test_bad_engine_arguments_are_refused_in_one_line(spark: Any, tmp_path: Path, parquet_file: Path) -> None:
    with pytest.raises(SourceNotFoundError, match="no such file"):
        open_table(tmp_path / "missing.parquet", engine="spark")
    with pytest.raises(InvalidParameterError, match="PostgreSQL's JDBC driver only"):
        open_table("mysql://root@127.0.0.1/test", table="t", engine="spark")
    with pytest.raises(InvalidParameterError, match=r"--master .* applies to --engine spark"):
        lathe.profile(parquet_file, None, engine="duckdb", master=MASTER)
