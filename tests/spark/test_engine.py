"""``--engine auto`` keeps DuckDB and names Spark for a source large for the machine; needs no JVM."""

from __future__ import annotations

from pathlib import Path

import pytest

from lathe.backends import _spark, spark_advice
from lathe.cli import main


def test_auto_names_spark_only_for_a_source_large_for_the_machine(
    parquet_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert spark_advice(parquet_file) is None
    assert spark_advice(tmp_path / "missing.parquet") is None  # the reader says what is wrong
    monkeypatch.setattr(_spark, "ADVISED_BYTES", 1)  # as if the file weighed more than 100 GB

    assert main(["profile", str(parquet_file), "--out", str(tmp_path / "profile.html")]) == 0

    err = " ".join(capsys.readouterr().err.split())
    assert "GiB on disk" in err
    assert "add --engine spark" in err
    assert "Spark, local" not in err  # still read by DuckDB


def test_master_without_spark_exits_2_with_one_line(parquet_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profile", str(parquet_file), "--master", "local[2]"]) == 2

    assert "applies to --engine spark" in capsys.readouterr().err
