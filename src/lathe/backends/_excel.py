"""Excel workbooks (.xlsx, .xlsm), read with openpyxl and held by DuckDB like any other file.

DuckDB's own Excel reader is an extension downloaded at run time, so lathe reads workbooks
itself: one sheet (the first, or the one named), the first row as the header, written-out
missing values ("NA", "null", "?", ...) as missing.
"""

from __future__ import annotations

import importlib.util
import zipfile

import pandas as pd

from lathe.errors import MissingDependencyError, SourceNotFoundError, SourceReadError, first_line

SUFFIXES = (".xlsx", ".xlsm")


def read_workbooks(uri: str, paths: list[str], sheet: str | None, missing: list[str]) -> pd.DataFrame:
    """The rows of ``sheet`` (default: the first) of every workbook in ``paths``, one after another;
    the values ``missing`` read as missing."""
    if importlib.util.find_spec("openpyxl") is None:  # pandas' engine, checked here to name the extra
        raise MissingDependencyError(f"{uri}: reading Excel needs openpyxl: pip install 'lathe[excel]'") from None
    return pd.concat([_read(path, sheet, missing) for path in paths], ignore_index=True)


def _read(path: str, sheet: str | None, missing: list[str]) -> pd.DataFrame:
    try:
        with pd.ExcelFile(path, engine="openpyxl") as book:
            names = [str(name) for name in book.sheet_names]
            if sheet is None or sheet in names:
                frame: pd.DataFrame = pd.read_excel(book, sheet or 0, na_values=missing, keep_default_na=False)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise SourceReadError(f"{path}: cannot be read as an Excel workbook ({first_line(exc)})") from None
    if sheet is not None and sheet not in names:
        raise SourceNotFoundError(f"{path}: has no sheet {sheet!r}; its sheets: {', '.join(names)}")
    unnamed = [str(c) for c in frame.columns if str(c).startswith("Unnamed: ")]
    if unnamed:
        raise SourceReadError(
            f"{path}: {len(unnamed)} column(s) without a header; the first row must name every column"
        )
    return frame
