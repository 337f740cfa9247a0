"""``lathe batch --engine spark``: Arrow batches through the bundle in Spark's executors, the same predictions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest

from lathe.cli import main
from lathe.testing import mixed_table, small_bundle
from tests.spark.conftest import MASTER


def test_batch_on_spark_gives_the_bundles_predictions(spark: Any, tmp_path: Path) -> None:
    task = "multiclass"  # a column per class: the widest output (the executors' Python takes ~10 s to start)
    rows = mixed_table(300, task, seed=3)
    rows.iloc[:150].to_parquet(tmp_path / "a.parquet", index=False)
    rows.iloc[150:].to_parquet(tmp_path / "b.parquet", index=False)
    bundle = small_bundle(task, "xgboost")
    bundle.save(tmp_path / "model")
    out = tmp_path / "scored"

    argv = ["batch", str(tmp_path / "model"), str(tmp_path / "*.parquet"), "--out", str(out)]
    assert main([*argv, "--engine", "spark", "--master", MASTER, "--chunk-rows", "64"]) == 0

    scored = pq.read_table(out).to_pandas().sort_values("customer_id").reset_index(drop=True)
    expected = bundle.predict(rows)
    pd.testing.assert_frame_equal(scored, expected, check_dtype=False)
    assert not list(tmp_path.glob(".scored*"))  # the folder was written whole


def test_batch_on_spark_refuses_several_sources_and_an_existing_folder(
    spark: Any, tmp_path: Path, parquet_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    small_bundle().save(tmp_path / "model")
    argv = ["batch", str(tmp_path / "model"), "--engine", "spark", "--out"]

    assert main([*argv, str(tmp_path / "new"), str(parquet_file), str(parquet_file)]) == 2
    assert "give one SOURCE" in capsys.readouterr().err
    assert main([*argv, str(tmp_path), str(parquet_file)]) == 2
    assert "exists" in capsys.readouterr().err
