"""Reading files through DuckDB: every format, globs, and each bad input named clearly."""

from __future__ import annotations

from pathlib import Path

import ibis
import pandas as pd
import pytest

from lathe.backends import open_table, read_source, to_frame
from lathe.errors import EmptySourceError, SourceNotFoundError, SourceReadError


@pytest.mark.parametrize("fmt", ["csv", "tsv", "parquet", "json", "ndjson", "xlsx"])
def test_reads_every_format(tmp_path: Path, table: pd.DataFrame, fmt: str) -> None:
    path = tmp_path / f"data.{fmt}"
    small = table[["customer_id", "amount", "plan"]]
    writers = {
        "csv": lambda: small.to_csv(path, index=False),
        "tsv": lambda: small.to_csv(path, index=False, sep="\t"),
        "parquet": lambda: small.to_parquet(path, index=False),
        "json": lambda: small.to_json(path, orient="records"),
        "ndjson": lambda: small.to_json(path, orient="records", lines=True),
        "xlsx": lambda: small.to_excel(path, index=False, sheet_name="customers"),
    }
    writers[fmt]()
    read = to_frame(read_source(str(path)))
    assert list(read.columns) == ["customer_id", "amount", "plan"]
    assert len(read) == len(small)
    assert read["plan"].tolist() == small["plan"].tolist()


def test_glob_reads_all_files_in_order(tmp_path: Path, table: pd.DataFrame) -> None:
    table.iloc[:100].to_parquet(tmp_path / "part-1.parquet")
    table.iloc[100:].to_parquet(tmp_path / "part-2.parquet")
    read = to_frame(read_source(str(tmp_path / "part-*.parquet")))
    assert read["customer_id"].tolist() == table["customer_id"].tolist()


def test_excel_sheets_missing_tokens_and_globs(tmp_path: Path, table: pd.DataFrame) -> None:
    small = table[["customer_id", "plan"]].astype({"plan": object})
    small.loc[3, "plan"] = "N/A"
    for part, rows in (("1", small.iloc[:50]), ("2", small.iloc[50:])):
        with pd.ExcelWriter(tmp_path / f"book-{part}.xlsx") as writer:
            pd.DataFrame({"note": ["cover sheet"]}).to_excel(writer, sheet_name="about", index=False)
            rows.to_excel(writer, sheet_name="customers", index=False)

    _, read = open_table(str(tmp_path / "book-*.xlsx"), table="customers")
    frame = to_frame(read)

    assert frame["customer_id"].tolist() == small["customer_id"].tolist()
    assert frame["plan"].isna().sum() == 1
    assert to_frame(read_source(str(tmp_path / "book-1.xlsx")))["note"].tolist() == ["cover sheet"]
    with pytest.raises(SourceNotFoundError, match="has no sheet 'orders'; its sheets: about, customers"):
        read_source(str(tmp_path / "book-1.xlsx"), sheet="orders")


def test_a_broken_workbook_is_named(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    path.write_text("not a zip")

    with pytest.raises(SourceReadError, match=r"broken\.xlsx: cannot be read as an Excel workbook"):
        read_source(str(path))


def test_large_files_stay_a_view_streamed_on_every_query(
    tmp_path: Path, table: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lathe.backends import _duckdb

    monkeypatch.setattr(_duckdb, "LARGE_BYTES", 0)
    table.to_csv(tmp_path / "data.csv", index=False)
    read = read_source(str(tmp_path / "data.csv"))
    kinds = ibis.get_backend(read).raw_sql("SELECT table_type FROM information_schema.tables").fetchall()

    assert kinds == [("VIEW",)]
    assert to_frame(read)["customer_id"].tolist() == table["customer_id"].tolist()
    (tmp_path / "bad.csv").write_text("a,b\n" + "".join(f"{i},x\n" for i in range(5000)) + "1,2,3\n")
    with pytest.raises(SourceReadError, match="fields"):
        read_source(str(tmp_path / "bad.csv"))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError, match="no such file"):
        read_source(str(tmp_path / "nope.csv"))


def test_glob_matching_nothing(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError, match="no file matches"):
        read_source(str(tmp_path / "*.parquet"))


def test_malformed_csv_row(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("a,b\n1,2\n3,4,5\n6,7\n")
    with pytest.raises(SourceReadError, match="same number of fields"):
        read_source(str(path))


def test_malformed_row_deep_in_a_file_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("a,b\n" + "".join(f"{i},x\n" for i in range(5000)) + "1,2,3\n")
    with pytest.raises(SourceReadError, match="fields"):
        read_source(str(path))


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("name,city\nJosé,Bogotá\n".encode("latin-1"))
    with pytest.raises(SourceReadError, match="not UTF-8"):
        read_source(str(path))


@pytest.mark.parametrize("content", ["", "a,b\n"])
def test_empty_file(tmp_path: Path, content: str) -> None:
    path = tmp_path / "empty.csv"
    path.write_text(content)
    with pytest.raises(EmptySourceError, match="no rows"):
        read_source(str(path))


def test_unknown_extension(tmp_path: Path) -> None:
    path = tmp_path / "data.xyz"
    path.write_text("a\n1\n")
    with pytest.raises(SourceReadError, match="file format"):
        read_source(str(path))


def test_folder_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(SourceReadError, match="is a folder"):
        read_source(str(tmp_path))
