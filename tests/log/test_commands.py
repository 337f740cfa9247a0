"""``--log`` on ``lathe predict`` and ``lathe batch``, and what each refuses before writing anything."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from lathe.bundle import load_bundle
from lathe.cli import main
from lathe.log import checksum
from lathe.testing import mixed_table
from tests.log.conftest import logged


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "rows.parquet"
    mixed_table(250, "binary", seed=3).drop(columns="target").to_parquet(path)
    return path


def test_predict_logs_every_row_it_scores(tmp_path: Path, bundle_folder: Path, source: Path) -> None:
    log = tmp_path / "log.duckdb"
    assert (
        main(["predict", str(bundle_folder), str(source), "--out", str(tmp_path / "out.csv"), "--log", str(log)]) == 0
    )
    frame, scored = logged(str(log)), pd.read_csv(tmp_path / "out.csv")
    assert len(frame) == 250
    assert set(frame["model"]) == {"late"}
    assert frame["version"].isna().all()
    assert set(frame["model_checksum"]) == {checksum(load_bundle(bundle_folder))}
    assert frame["customer_id"].astype(int).tolist() == scored["customer_id"].tolist()
    assert frame["prediction"].tolist() == scored["prediction"].tolist()


def test_batch_logs_each_part_from_its_workers(tmp_path: Path, bundle_folder: Path, source: Path) -> None:
    log = f"duckdb:///{tmp_path / 'log.duckdb'}"
    arguments = ["batch", str(bundle_folder), str(source), "--out", str(tmp_path / "out"), "--chunk-rows", "100",
                 "--workers", "2", "--log", log, "--log-table", "scored"]  # fmt: skip
    assert main(arguments) == 0
    frame = logged(log, "scored").sort_values("customer_id")
    parts = pd.read_parquet(tmp_path / "out").sort_values("customer_id")
    assert frame["customer_id"].astype(int).tolist() == parts["customer_id"].tolist()
    assert frame["probability_yes"].to_numpy() == pytest.approx(parts["probability_yes"].to_numpy())
    assert main(arguments) == 0  # a rerun finds every part done: nothing is scored, nor logged again
    assert len(logged(log, "scored")) == 250


def _other_table(path: Path) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE lathe_predictions (id INTEGER, score DOUBLE)")


BAD = {
    "unwritable": (lambda tmp: f"{tmp / 'a-file' / 'log.duckdb'}", "does not exist or is not a folder"),
    "other columns": (lambda tmp: f"{tmp / 'other.duckdb'}", "--log-table"),
    "unknown scheme": (lambda tmp: "mysql://root@127.0.0.1/test", "a prediction log is a DuckDB file"),
}


@pytest.mark.parametrize("command", ["predict", "batch"])
@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_log_is_one_line_exit_2_and_nothing_written(
    tmp_path: Path, bundle_folder: Path, source: Path, command: str, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a-file").write_text("")
    _other_table(tmp_path / "other.duckdb")
    uri, said = BAD[case]
    out = tmp_path / ("out.csv" if command == "predict" else "out")
    assert main([command, str(bundle_folder), str(source), "--out", str(out), "--log", uri(tmp_path)]) == 2
    error = capsys.readouterr().err.strip()
    assert said in error
    assert len(error.splitlines()) == 1, error
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "other.duckdb", "rows.parquet"]
    with duckdb.connect(str(tmp_path / "other.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM lathe_predictions").fetchone() == (0,)
