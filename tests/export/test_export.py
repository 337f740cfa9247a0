"""``lathe export`` and ``lathe score --in-db``: files written only once checked, and recorded;
refusals that name the step; scoring inside a real database."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from lathe import cli
from lathe.bundle import load_bundle
from lathe.errors import ExportError
from lathe.export import _onnx, export, pipeline_of, score_in_database
from lathe.export._pipeline import Affine, Pipeline
from lathe.export._verify import check_rows, compare
from lathe.testing import mixed_table, small_bundle


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved binary LightGBM bundle of a table without free text (every format can express it)."""
    table = mixed_table(300, "binary").drop(columns=["note"])
    return small_bundle("binary", "lightgbm", table=table).save(tmp_path_factory.mktemp("b") / "late")


@pytest.mark.parametrize(("argv", "name"), [
    (["--format", "onnx"], "model.onnx"),
    (["--format", "pmml"], "model.pmml"),
    (["--format", "sql", "--dialect", "duckdb"], "model.duckdb.sql"),
    (["--format", "sql", "--dialect", "sqlite", "--table", "flights"], "model.sqlite.sql"),
])  # fmt: skip
def test_an_export_is_written_and_its_check_recorded(folder: Path, argv: list[str], name: str) -> None:
    assert cli.main(["export", str(folder), *argv]) == 0

    record = json.loads((folder / "exports" / "exports.json").read_text())[name]
    assert (folder / "exports" / name).stat().st_size == record["bytes"]
    assert record["check"]["rows"] > 300  # the sample and its edge cases
    assert record["check"].get("max_abs_difference", 1.0) <= 1e-6
    assert record["check"]["labels_differing"] == 0
    if "sqlite" in argv:
        assert '"flights"' in (folder / "exports" / name).read_text()


def test_the_bundle_still_loads_after_exports(folder: Path) -> None:
    export(folder, "onnx")
    assert load_bundle(folder).manifest["task"] == "binary"


def test_a_step_a_format_cannot_express_is_refused_by_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = small_bundle("binary", "linear").save(tmp_path / "b")  # a free-text column: its length, word count

    assert cli.main(["export", str(folder), "--format", "sql", "--dialect", "sqlite"]) == 2

    said = capsys.readouterr().err
    assert "text_stats" in said
    assert "note" in said
    assert "Traceback" not in said
    assert not (tmp_path / "b" / "exports" / "model.sqlite.sql").exists()


def test_an_export_that_does_not_match_is_not_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    table = mixed_table(300, "regression").drop(columns=["note"])
    saved = small_bundle("regression", "linear", table=table).save(tmp_path / "r")
    right = _onnx.build

    def off_by_a_little(pipeline: Pipeline) -> bytes:
        assert isinstance(pipeline.model, Affine)
        return right(dataclasses.replace(pipeline, model=Affine(pipeline.model.weights, pipeline.model.bias + 1e-3)))

    monkeypatch.setattr(_onnx, "build", off_by_a_little)
    with pytest.raises(ExportError, match="does not reproduce"):
        export(saved, "onnx")
    assert not (saved / "exports" / "model.onnx").exists()


def test_the_check_names_the_worst_row() -> None:
    bundle = small_bundle("multiclass", "lightgbm")
    assert bundle.sample is not None
    rows = check_rows(pipeline_of(bundle), bundle.sample)
    scored = bundle.predict(rows)
    scored.loc[7, "probability_b"] += 1e-5
    with pytest.raises(ExportError, match="row 7"):
        compare(bundle, rows, scored, "an engine")


def test_a_bundle_without_a_sample_is_refused(tmp_path: Path) -> None:
    bundle = small_bundle("binary", "linear")
    saved = bundle.__class__(bundle.manifest, bundle.plan, bundle.model, bundle.leaderboard).save(tmp_path / "old")
    with pytest.raises(ExportError, match="no sample rows"):
        export(saved, "pmml")


def test_sql_for_a_server_needs_a_database_to_check_in(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["export", str(folder), "--format", "sql", "--dialect", "postgres"]) == 2
    assert "--verify-in" in capsys.readouterr().err


def test_lathe_score_in_db_writes_a_table_in_postgres(folder: Path, postgres_uri: str) -> None:
    table = mixed_table(300, "binary").drop(columns=["note"])
    import ibis  # the test's own way in: the rows go in, and the scores are read back, apart from lathe

    con = ibis.connect(postgres_uri)
    con.create_table("lathe_cli_flights", pa.Table.from_pandas(table.drop(columns=["target"])), overwrite=True)
    try:
        argv = ["score", str(folder), "--in-db", postgres_uri, "--table", "lathe_cli_flights"]
        assert cli.main([*argv, "--into", "lathe_cli_out", "--key", "customer_id", "--batch-rows", "120"]) == 0
        scored = con.table("lathe_cli_out").to_pyarrow().to_pandas().sort_values("customer_id").reset_index(drop=True)
    finally:
        con.drop_table("lathe_cli_flights", force=True)
        con.drop_table("lathe_cli_out", force=True)
        con.disconnect()
    native = load_bundle(folder).predict(table)
    assert len(scored) == len(native)
    assert (scored["prediction"] == native["prediction"]).all()
    assert (scored["probability_yes"] - native["probability_yes"]).abs().max() <= 1e-6


def test_score_in_db_on_a_sqlite_file_as_a_view(folder: Path, tmp_path: Path) -> None:
    import sqlite3

    table = mixed_table(200, "binary", seed=3).drop(columns=["note", "target"])
    path = tmp_path / "rows.db"
    with sqlite3.connect(path) as con:
        table.assign(signup=table["signup"].astype(str)).to_sql("rows", con, index=False)
    assert score_in_database(folder, f"sqlite:///{path}", "rows", "scored", view=True) == 200
    with sqlite3.connect(path) as con:
        scored = pd.read_sql("SELECT * FROM scored ORDER BY customer_id", con)
    native = load_bundle(folder).predict(table)
    assert (scored["probability_yes"] - native["probability_yes"]).abs().max() <= 1e-6


def test_a_typed_sql_export_reads_numbers_and_timestamps_as_stored(folder: Path) -> None:
    assert cli.main(["export", str(folder), "--format", "sql", "--dialect", "duckdb", "--typed"]) == 0
    record = json.loads((folder / "exports" / "exports.json").read_text())["model.duckdb.sql"]
    assert record["typed_columns"] == ["amount", "signup"]  # numbers and datetimes; the flag keeps its check
    assert record["check"]["labels_differing"] == 0
    text = (folder / "exports" / "model.duckdb.sql").read_text()
    assert 'CAST("amount" AS TEXT)' not in text
    assert 'CAST("active" AS TEXT)' in text


def test_typed_is_for_the_sql_format(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["export", str(folder), "--format", "onnx", "--typed"]) == 2
    assert "--typed is for the sql format" in capsys.readouterr().err
